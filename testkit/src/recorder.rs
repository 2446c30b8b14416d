//! A local HTTP server that records every request it receives: the stand-in
//! for Slack's webhooks and for an SNS HTTP subscriber (answering 200), and,
//! with a responder, a replay server that answers with recorded AWS
//! responses (for what the emulator does not do: pagination, throttling,
//! snapshots still `pending`).

use crate::error::KitError;
use crate::http::{read_request, response, Request};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Computes the answer to a request: status line and body. The status line
/// may carry header lines after it, separated by `\r\n`
/// (`"429 Too Many Requests\r\nRetry-After: 1"`).
pub type Responder = Arc<dyn Fn(&Request) -> (String, String) + Send + Sync>;

pub struct Recorder {
    addr: String,
    requests: Arc<Mutex<Vec<Request>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Recorder {
    /// A recorder that answers `200 ok` to everything.
    pub async fn start() -> Result<Recorder, KitError> {
        Self::with_responder(Arc::new(|_| ("200 OK".to_string(), "ok".to_string()))).await
    }

    /// A recorder that answers with `responder`.
    pub async fn with_responder(responder: Responder) -> Result<Recorder, KitError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(KitError::io("binding the recorder"))?;
        let addr = listener
            .local_addr()
            .map_err(KitError::io("recorder address"))?
            .to_string();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let reqs = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let reqs = reqs.clone();
                let responder = responder.clone();
                tokio::spawn(async move {
                    let (r, mut w) = stream.into_split();
                    let mut r = BufReader::new(r);
                    while let Some(req) = read_request(&mut r).await {
                        let (status, body) = responder(&req);
                        reqs.lock().expect("recorder lock").push(req);
                        if w.write_all(response(&status, &[], &body).as_bytes())
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        Ok(Recorder {
            addr,
            requests,
            task,
        })
    }

    /// `http://127.0.0.1:<port><path>`
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request received so far, in order.
    pub fn all(&self) -> Vec<Request> {
        self.requests.lock().expect("recorder lock").clone()
    }

    /// Requests received so far on `path`, in order.
    pub fn received(&self, path: &str) -> Vec<Request> {
        self.requests
            .lock()
            .expect("recorder lock")
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }
}
