//! A counting proxy in front of the emulator: forwards every request to it
//! unchanged and counts them by AWS operation (`Action=` of the query
//! protocols, `X-Amz-Target` of the JSON ones, else method and path), so a
//! benchmark can show how many calls of each kind a run makes.
//!
//! Hooks cover what the emulator does not do, at the HTTP level: an
//! [`Answer`] replies to a request in the emulator's stead (ElastiCache's
//! `CopySnapshot` export, which moto does not implement), a [`Rewrite`]
//! edits the emulator's answer (a copy still `pending`, where moto makes
//! every copy available at once).

use crate::error::KitError;
use crate::http::{read_request, Request};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Replies in the emulator's stead: `(status line, body)`, or `None` to forward.
pub type Answer = Arc<dyn Fn(&Request) -> Option<(String, String)> + Send + Sync>;
/// Edits the emulator's response body: `Some(new body)`, or `None` to keep it.
pub type Rewrite = Arc<dyn Fn(&Request, &str) -> Option<String> + Send + Sync>;

/// A [`Rewrite`] for S3 replication configurations. moto (5.1) keeps a
/// bucket's replication configuration but answers `GetBucketReplication`
/// with only its rules' ID, priority, status, prefix, destination bucket
/// and role, and always `DeleteMarkerReplication` Disabled: the replica
/// key (`EncryptionConfiguration`), `Metrics`, `SourceSelectionCriteria`
/// and the storage class are dropped. This keeps the document of each
/// `PutBucketReplication` moto accepted (it still checks versioning) and
/// answers `GetBucketReplication` with it, as S3 does; a
/// `DeleteBucketReplication` forgets it.
pub fn s3_replication_as_put() -> Rewrite {
    let kept: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
    Arc::new(move |r: &Request, body: &str| {
        let (path, query) = r.path.split_once('?')?;
        if !query
            .split('&')
            .any(|p| p == "replication" || p.starts_with("replication="))
        {
            return None;
        }
        let bucket = path.trim_start_matches('/').split('/').next()?.to_string();
        let mut kept = kept.lock().expect("replication lock");
        match r.method.as_str() {
            "PUT" if !body.contains("<Error>") => {
                kept.insert(bucket, String::from_utf8_lossy(&r.body).to_string());
                None
            }
            "DELETE" => {
                kept.remove(&bucket);
                None
            }
            "GET" if body.contains("<ReplicationConfiguration") => kept.get(&bucket).cloned(),
            _ => None,
        }
    })
}

/// Replaces the body of a raw HTTP/1.1 response (fixing Content-Length).
fn replace_body(raw: &[u8], body: &str) -> Vec<u8> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut out = String::new();
    for line in head.split("\r\n") {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("content-length:") || lower.starts_with("transfer-encoding:") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    out.push_str(body);
    out.into_bytes()
}

fn body_of(raw: &[u8]) -> String {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
        .unwrap_or(raw.len());
    String::from_utf8_lossy(&raw[split..]).to_string()
}

pub struct CountingProxy {
    addr: String,
    counts: Arc<Mutex<BTreeMap<String, usize>>>,
    /// When each request arrived, by operation (with a latency only).
    arrivals: Arc<Mutex<Vec<(std::time::Instant, String)>>>,
    /// Requests by the Rempart function that made them (`app/<function>`
    /// in the User-Agent), `-` for none.
    by_app: Arc<Mutex<BTreeMap<String, usize>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The AWS operation a request calls, as `service:Operation` (the service
/// from the SigV4 credential scope).
pub fn operation(r: &Request) -> String {
    let service = r
        .header("authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or("?");
    let op = if let Some(t) = r.header("x-amz-target") {
        t.rsplit('.').next().unwrap_or(t).to_string()
    } else {
        let body = String::from_utf8_lossy(&r.body);
        match body.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
            Some(action) => action.to_string(),
            None => format!("{} {}", r.method, r.path.split('?').next().unwrap_or("")),
        }
    };
    format!("{service}:{op}")
}

/// The Rempart function a request comes from: `app/<function>` in its
/// User-Agent (each function's `Deps::new` sets the SDK's app name), `-`
/// for none.
pub fn app_of(r: &Request) -> String {
    r.header("user-agent")
        .and_then(|ua| ua.split(' ').find_map(|p| p.strip_prefix("app/")))
        .unwrap_or("-")
        .to_string()
}

async fn forward(req: &Request, upstream: &str) -> std::io::Result<Vec<u8>> {
    let mut up = TcpStream::connect(upstream).await?;
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.path);
    for (k, v) in &req.headers {
        if !k.eq_ignore_ascii_case("connection") {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str("Connection: close\r\n\r\n");
    up.write_all(head.as_bytes()).await?;
    up.write_all(&req.body).await?;
    let mut response = Vec::new();
    up.read_to_end(&mut response).await?;
    Ok(response)
}

impl CountingProxy {
    /// Starts a proxy to `upstream` (`http://127.0.0.1:<port>`).
    pub async fn start(upstream: &str) -> Result<CountingProxy, KitError> {
        Self::with_hooks(upstream, None, None).await
    }

    /// Starts a proxy to `upstream` with hooks.
    pub async fn with_hooks(
        upstream: &str,
        answer: Option<Answer>,
        rewrite: Option<Rewrite>,
    ) -> Result<CountingProxy, KitError> {
        Self::with_latency(upstream, answer, rewrite, std::time::Duration::ZERO).await
    }

    /// Starts a proxy to `upstream` that holds every request `latency`
    /// before forwarding it (AWS's round trip, where moto answers at once),
    /// and notes when each arrived ([`CountingProxy::peak_per_second`]).
    pub async fn with_latency(
        upstream: &str,
        answer: Option<Answer>,
        rewrite: Option<Rewrite>,
        latency: std::time::Duration,
    ) -> Result<CountingProxy, KitError> {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(KitError::io("binding the proxy"))?;
        let addr = listener
            .local_addr()
            .map_err(KitError::io("proxy address"))?
            .to_string();
        let counts = Arc::new(Mutex::new(BTreeMap::new()));
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let by_app = Arc::new(Mutex::new(BTreeMap::new()));
        let (c, arr, apps) = (counts.clone(), arrivals.clone(), by_app.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (c, arr, apps, upstream) =
                    (c.clone(), arr.clone(), apps.clone(), upstream.clone());
                let (answer, rewrite) = (answer.clone(), rewrite.clone());
                tokio::spawn(async move {
                    let (r, mut w) = stream.into_split();
                    let mut r = BufReader::new(r);
                    // One request per connection: the upstream closes after
                    // answering, and so does the forwarded response.
                    if let Some(req) = read_request(&mut r).await {
                        let op = operation(&req);
                        if !latency.is_zero() {
                            arr.lock()
                                .expect("proxy lock")
                                .push((std::time::Instant::now(), op.clone()));
                            tokio::time::sleep(latency).await;
                        }
                        *c.lock().expect("proxy lock").entry(op).or_insert(0) += 1;
                        *apps
                            .lock()
                            .expect("proxy lock")
                            .entry(app_of(&req))
                            .or_insert(0) += 1;
                        if let Some((status, body)) = answer.as_ref().and_then(|a| a(&req)) {
                            let _ = w
                                .write_all(
                                    crate::http::response(
                                        &status,
                                        // One request per connection: say so,
                                        // or the client reuses it and retries.
                                        &[("Connection", "close".to_string())],
                                        &body,
                                    )
                                    .as_bytes(),
                                )
                                .await;
                            return;
                        }
                        if let Ok(mut resp) = forward(&req, &upstream).await {
                            if let Some(rw) = &rewrite {
                                if let Some(body) = rw(&req, &body_of(&resp)) {
                                    resp = replace_body(&resp, &body);
                                }
                            }
                            let _ = w.write_all(&resp).await;
                        }
                    }
                });
            }
        });
        Ok(CountingProxy {
            addr,
            counts,
            arrivals,
            by_app,
            task,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The most requests that arrived within one second (a sliding window
    /// over the arrival times), over all operations or those `only` accepts.
    pub fn peak_per_second(&self, only: impl Fn(&str) -> bool) -> usize {
        let mut at: Vec<std::time::Instant> = self
            .arrivals
            .lock()
            .expect("proxy lock")
            .iter()
            .filter(|(_, op)| only(op))
            .map(|(t, _)| *t)
            .collect();
        at.sort();
        let (mut best, mut start) = (0, 0);
        for end in 0..at.len() {
            while at[end] - at[start] >= std::time::Duration::from_secs(1) {
                start += 1;
            }
            best = best.max(end - start + 1);
        }
        best
    }

    /// Calls so far, by the function that made them; and resets the counts.
    pub fn take_by_app(&self) -> BTreeMap<String, usize> {
        std::mem::take(&mut *self.by_app.lock().expect("proxy lock"))
    }

    /// Calls so far, by operation; and resets the counts.
    pub fn take(&self) -> BTreeMap<String, usize> {
        std::mem::take(&mut *self.counts.lock().expect("proxy lock"))
    }
}
