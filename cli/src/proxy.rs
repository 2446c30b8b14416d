//! A counting proxy in front of the emulator: forwards every request to it
//! unchanged and counts them by AWS operation (`Action=` of the query
//! protocols, `X-Amz-Target` of the JSON ones, else method and path), so a
//! benchmark can show how many calls of each kind a run makes.

use crate::error::CliError;
use crate::http::{read_request, Request};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

pub struct CountingProxy {
    addr: String,
    counts: Arc<Mutex<BTreeMap<String, usize>>>,
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
    pub async fn start(upstream: &str) -> Result<CountingProxy, CliError> {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(CliError::io("binding the proxy"))?;
        let addr = listener
            .local_addr()
            .map_err(CliError::io("proxy address"))?
            .to_string();
        let counts = Arc::new(Mutex::new(BTreeMap::new()));
        let c = counts.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (c, upstream) = (c.clone(), upstream.clone());
                tokio::spawn(async move {
                    let (r, mut w) = stream.into_split();
                    let mut r = BufReader::new(r);
                    // One request per connection: the upstream closes after
                    // answering, and so does the forwarded response.
                    if let Some(req) = read_request(&mut r).await {
                        *c.lock()
                            .expect("proxy lock")
                            .entry(operation(&req))
                            .or_insert(0) += 1;
                        if let Ok(resp) = forward(&req, &upstream).await {
                            let _ = w.write_all(&resp).await;
                        }
                    }
                });
            }
        });
        Ok(CountingProxy { addr, counts, task })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Calls so far, by operation; and resets the counts.
    pub fn take(&self) -> BTreeMap<String, usize> {
        std::mem::take(&mut *self.counts.lock().expect("proxy lock"))
    }
}
