//! A local Lambda runtime API (the protocol `provided.al2023` speaks to a
//! custom runtime), enough to run a built function binary as Lambda would:
//! `GET /2018-06-01/runtime/invocation/next` hands out queued events,
//! `POST …/invocation/<id>/response` and `…/<id>/error` record the outcome,
//! `POST …/init/error` records an initialisation failure.
//!
//! Used by the integration tests (the built binary, not just the handler)
//! and by the benchmark (time from exec to the first poll).

use crate::error::KitError;
use crate::http::{read_request, response as http};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// What a function answered.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Response(Value),
    Error(Value),
}

#[derive(Default)]
struct State {
    queue: VecDeque<(String, Value)>,
    outcomes: HashMap<String, Outcome>,
    init_error: Option<Value>,
    first_poll: Option<Instant>,
    counter: u64,
}

/// A runtime API server on 127.0.0.1, stopped when dropped.
pub struct RuntimeApi {
    addr: String,
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RuntimeApi {
    pub async fn start() -> Result<RuntimeApi, KitError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(KitError::io("binding the runtime API"))?;
        let addr = listener
            .local_addr()
            .map_err(KitError::io("runtime API address"))?
            .to_string();
        let state = Arc::new(Mutex::new(State::default()));
        let changed = Arc::new(Notify::new());
        let (s, c) = (state.clone(), changed.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, s.clone(), c.clone()));
            }
        });
        Ok(RuntimeApi {
            addr,
            state,
            changed,
            task,
        })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Queues an event; returns its request id.
    pub fn push(&self, event: Value) -> String {
        let id = {
            let mut st = self.state.lock().expect("state lock");
            st.counter += 1;
            let id = format!("00000000-0000-4000-8000-{:012}", st.counter);
            st.queue.push_back((id.clone(), event));
            id
        };
        self.changed.notify_waiters();
        id
    }

    /// When the function first asked for an event (it had finished its
    /// initialisation).
    pub fn first_poll(&self) -> Option<Instant> {
        self.state.lock().expect("state lock").first_poll
    }

    /// Waits for the outcome of request `id`, or an init error, up to `timeout`.
    pub async fn outcome(&self, id: &str, timeout: Duration) -> Result<Outcome, KitError> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            {
                let st = self.state.lock().expect("state lock");
                if let Some(o) = st.outcomes.get(id) {
                    return Ok(o.clone());
                }
                if let Some(e) = &st.init_error {
                    return Err(KitError::LocalStack(format!(
                        "function failed to initialise: {e}"
                    )));
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || tokio::time::timeout(left, notified).await.is_err() {
                return Err(KitError::LocalStack(format!(
                    "no answer to request {id} within {timeout:?}"
                )));
            }
        }
    }

    /// The environment Lambda gives a custom runtime.
    pub fn lambda_env(&self, function: &str) -> Vec<(String, String)> {
        vec![
            ("AWS_LAMBDA_RUNTIME_API".into(), self.addr.clone()),
            ("AWS_LAMBDA_FUNCTION_NAME".into(), function.into()),
            ("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(), "128".into()),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME".into(),
                format!("/aws/lambda/{function}"),
            ),
            ("AWS_LAMBDA_LOG_STREAM_NAME".into(), "local".into()),
        ]
    }

    /// Starts `binary` as Lambda would, with `env` added.
    pub fn spawn(
        &self,
        binary: &Path,
        function: &str,
        env: &[(String, String)],
    ) -> Result<tokio::process::Child, KitError> {
        tokio::process::Command::new(binary)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(self.lambda_env(function))
            .envs(env.iter().cloned())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(KitError::io(format!("starting {}", binary.display())))
    }
}

async fn serve(stream: TcpStream, state: Arc<Mutex<State>>, changed: Arc<Notify>) {
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    while let Some(req) = read_request(&mut r).await {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let response = route(&req.method, &req.path, body, &state, &changed).await;
        if w.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

async fn route(
    method: &str,
    path: &str,
    body: Value,
    state: &Arc<Mutex<State>>,
    changed: &Arc<Notify>,
) -> String {
    const PREFIX: &str = "/2018-06-01/runtime/";
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return http("404 Not Found", &[], "{}");
    };
    match (method, rest) {
        ("GET", "invocation/next") => {
            state
                .lock()
                .expect("state lock")
                .first_poll
                .get_or_insert_with(Instant::now);
            loop {
                let notified = changed.notified();
                if let Some((id, event)) = state.lock().expect("state lock").queue.pop_front() {
                    let deadline = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_millis() + 900_000)
                        .unwrap_or_default();
                    let headers = [
                        ("Lambda-Runtime-Aws-Request-Id", id),
                        ("Lambda-Runtime-Deadline-Ms", deadline.to_string()),
                        (
                            "Lambda-Runtime-Invoked-Function-Arn",
                            "arn:aws:lambda:eu-west-1:123456789012:function:local".to_string(),
                        ),
                        (
                            "Lambda-Runtime-Trace-Id",
                            "Root=1-00000000-000000000000000000000000".to_string(),
                        ),
                    ];
                    return http("200 OK", &headers, &event.to_string());
                }
                notified.await;
            }
        }
        ("POST", "init/error") => {
            state.lock().expect("state lock").init_error = Some(body);
            changed.notify_waiters();
            http("202 Accepted", &[], "{}")
        }
        ("POST", rest) if rest.starts_with("invocation/") => {
            let mut segs = rest.trim_start_matches("invocation/").splitn(2, '/');
            let (id, what) = (segs.next().unwrap_or(""), segs.next().unwrap_or(""));
            let outcome = match what {
                "response" => Outcome::Response(body),
                "error" => Outcome::Error(body),
                _ => return http("404 Not Found", &[], "{}"),
            };
            state
                .lock()
                .expect("state lock")
                .outcomes
                .insert(id.to_string(), outcome);
            changed.notify_waiters();
            http("202 Accepted", &[], "{}")
        }
        _ => http("404 Not Found", &[], "{}"),
    }
}
