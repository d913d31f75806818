//! An HTTP endpoint on 127.0.0.1 that answers every request with the same error, and counts
//! the requests: a provider outage or throttling, for the "nothing half-done" tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub struct FailingEndpoint {
    pub url: String,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

/// What the endpoint answers.
#[derive(Clone, Copy)]
pub enum Failure {
    /// 500 with an InternalFailure error type.
    ServerError,
    /// 400 with a ThrottlingException error type (what SES answers over its sending rate).
    Throttling,
}

impl Failure {
    fn response(self) -> String {
        let (status, error_type) = match self {
            Failure::ServerError => ("500 Internal Server Error", "InternalFailure"),
            Failure::Throttling => ("400 Bad Request", "ThrottlingException"),
        };
        let body = format!(r#"{{"__type":"{error_type}","message":"test failure"}}"#);
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\nx-amzn-errortype: {error_type}\r\nx-amzn-requestid: test\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    }
}

impl FailingEndpoint {
    pub async fn start(failure: Failure) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&requests);
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    read_request(&mut socket).await;
                    let _ = socket.write_all(failure.response().as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self { url, requests, task }
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for FailingEndpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request (head and a Content-Length body) so the client sees a clean exchange.
async fn read_request(socket: &mut tokio::net::TcpStream) {
    let mut data = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        let Ok(read) = socket.read(&mut buffer).await else {
            return;
        };
        if read == 0 {
            return;
        }
        data.extend_from_slice(&buffer[..read]);
        let Some(head_end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&data[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if data.len() >= head_end + 4 + length {
            return;
        }
    }
}

/// GETs a URL on 127.0.0.1 and returns the body (for moto's introspection API).
pub async fn get(url: &str) -> String {
    request("GET", url, &[], "").await
}

/// POSTs `body` with `headers` to a URL on 127.0.0.1 and returns the response body.
pub async fn post_json(url: &str, headers: &[(&str, &str)], body: &str) -> String {
    request("POST", url, headers, body).await
}

async fn request(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> String {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut socket = tokio::net::TcpStream::connect(host).await.expect("connect");
    let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\ncontent-length: {}\r\n{extra}\r\n{body}",
        body.len()
    );
    socket.write_all(request.as_bytes()).await.expect("send");
    let mut response = Vec::new();
    socket.read_to_end(&mut response).await.expect("read");
    let text = String::from_utf8_lossy(&response).into_owned();
    text.split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default()
}
