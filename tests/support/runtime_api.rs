//! A fake Lambda Runtime API on 127.0.0.1 — the HTTP interface a Lambda execution environment
//! offers a custom runtime (`/2018-06-01/runtime/...`). A function binary started with
//! `AWS_LAMBDA_RUNTIME_API` pointing here polls it for invocations exactly as on AWS, so tests
//! can invoke the real binaries and the cold-start benchmark can time their init.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc, oneshot};

const PREFIX: &str = "/2018-06-01/runtime";

/// What the function reported for one invocation (or for its init).
#[derive(Debug)]
pub enum Outcome {
    Response { request_id: String, body: Value },
    Error { path: String, body: Value },
}

struct Shared {
    invocations: Mutex<mpsc::Receiver<(String, Value)>>,
    outcomes: mpsc::Sender<Outcome>,
    first_poll: std::sync::Mutex<Option<oneshot::Sender<Instant>>>,
}

pub struct RuntimeApi {
    pub addr: SocketAddr,
    invoke: mpsc::Sender<(String, Value)>,
    outcomes: mpsc::Receiver<Outcome>,
    first_poll: Option<oneshot::Receiver<Instant>>,
    task: tokio::task::JoinHandle<()>,
    next_id: u64,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RuntimeApi {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let (invoke, invocations) = mpsc::channel(16);
        let (outcome_tx, outcomes) = mpsc::channel(16);
        let (poll_tx, poll_rx) = oneshot::channel();
        let shared = Arc::new(Shared {
            invocations: Mutex::new(invocations),
            outcomes: outcome_tx,
            first_poll: std::sync::Mutex::new(Some(poll_tx)),
        });
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let shared = Arc::clone(&shared);
                        async move { Ok::<_, Infallible>(answer(&shared, request).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            invoke,
            outcomes,
            first_poll: Some(poll_rx),
            task,
            next_id: 0,
        }
    }

    /// The environment Lambda gives a function, pointing at this Runtime API.
    pub fn lambda_env(&self, function: &str) -> Vec<(String, String)> {
        [
            ("AWS_LAMBDA_RUNTIME_API", self.addr.to_string()),
            ("AWS_LAMBDA_FUNCTION_NAME", function.to_string()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{function}")),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "local".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Starts `binary` as Lambda would, with `env` on top of the Lambda variables; what it
    /// prints (its logs) goes to `log`.
    pub fn spawn(&self, binary: &Path, function: &str, env: &[(String, String)], log: &Path) -> Child {
        let log = std::fs::File::create(log).expect("log file");
        Command::new(binary)
            .env_clear()
            .envs(self.lambda_env(function))
            .envs(env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("log file")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start the function binary")
    }

    /// When the function first asked for an invocation: the end of its init.
    pub async fn first_poll(&mut self, timeout: Duration) -> Option<Instant> {
        let poll = self.first_poll.take()?;
        tokio::time::timeout(timeout, poll).await.ok()?.ok()
    }

    /// Hands the function one event and waits for what it reports.
    pub async fn invoke(&mut self, event: Value, timeout: Duration) -> Option<Outcome> {
        self.next_id += 1;
        let id = format!("req-{}", self.next_id);
        self.invoke.send((id, event)).await.ok()?;
        tokio::time::timeout(timeout, self.outcomes.recv()).await.ok()?
    }
}

async fn answer(shared: &Shared, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_string();
    if path == format!("{PREFIX}/invocation/next") {
        if let Some(tx) = shared.first_poll.lock().ok().and_then(|mut first| first.take()) {
            let _ = tx.send(Instant::now());
        }
        // Long poll, like Lambda: the request stays open until there is an event.
        let next = shared.invocations.lock().await.recv().await;
        let Some((id, event)) = next else {
            return reply(StatusCode::GONE, "{}".into());
        };
        let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
        let mut response = reply(StatusCode::OK, event.to_string());
        let headers = response.headers_mut();
        let header = |v: String| hyper::header::HeaderValue::from_str(&v).expect("header");
        headers.insert("lambda-runtime-aws-request-id", header(id));
        headers.insert("lambda-runtime-deadline-ms", header(deadline.to_string()));
        headers.insert(
            "lambda-runtime-invoked-function-arn",
            header("arn:aws:lambda:us-east-1:000000000000:function:test".into()),
        );
        return response;
    }
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let outcome = match path.strip_prefix(&format!("{PREFIX}/invocation/")) {
        Some(rest) if rest.ends_with("/response") => Outcome::Response {
            request_id: rest.trim_end_matches("/response").to_string(),
            body,
        },
        _ => Outcome::Error { path, body },
    };
    let _ = shared.outcomes.send(outcome).await;
    reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#.into())
}

fn reply(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
}
