//! The local HTTP server: hyper on 127.0.0.1, each request turned into a `lambda_http::Request`
//! and answered by `shared::http::route`, the code path the Lambda functions run.
//!
//! What a server facing hostile clients needs (SPEC section 1): request headers and bodies must
//! arrive within the read timeout (30 s) or the connection is closed; an answer given before
//! the body was read (413, a body that timed out) says `Connection: close`; an accept error
//! (out of file descriptors) backs off instead of spinning; SIGTERM or SIGINT stops accepting,
//! lets in-flight requests and handed-over work finish for up to the drain timeout (10 s), and
//! returns, so the process exits 0.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use lambda_http::http::header::{CONNECTION, CONTENT_TYPE};
use lambda_http::http::{HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};
use shared::App;
use shared::http::{MAX_BODY_BYTES, payload_too_large, route};
use tokio::net::TcpListener;

pub struct ServeOptions {
    pub port: u16,
    /// How long request headers, and then the body, may take to arrive.
    pub read_timeout: Duration,
    /// How long a shutdown waits for in-flight requests and handed-over work.
    pub drain_timeout: Duration,
}

impl ServeOptions {
    pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
    pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
}

/// Serves until SIGTERM or SIGINT, then drains. `ready` is called once the socket is bound,
/// with its address.
pub async fn serve(app: App, options: ServeOptions, ready: impl FnOnce(SocketAddr)) -> std::io::Result<()> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, options.port)).await?;
    let shutdown = shutdown_signal()?;
    ready(listener.local_addr()?);
    let app = Arc::new(app);
    shared::ops::start_background(&app);
    let connections = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.read_timeout)
        .max_buf_size(MAX_HEADER_BYTES);
    let mut backoff = AcceptBackoff::default();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    backoff.wait(&error).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        backoff.reset();
        let app = Arc::clone(&app);
        let read_timeout = options.read_timeout;
        let service = service_fn(move |request| {
            let app = Arc::clone(&app);
            async move { Ok::<_, std::convert::Infallible>(answer(&app, request, read_timeout).await) }
        });
        let io = TokioIo::new(HeadersTooLargeAnswer::new(stream));
        let connection = connections.watch(http.serve_connection(io, service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection closed with an error");
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down: no new connections; draining");
    let drained = tokio::time::timeout(options.drain_timeout, async {
        connections.shutdown().await;
        app.deferred.settled().await;
    })
    .await;
    match drained {
        Ok(()) => tracing::info!("drained; bye"),
        Err(_) => tracing::warn!(
            seconds = options.drain_timeout.as_secs(),
            "drain timed out; stopping with work in flight"
        ),
    }
    Ok(())
}

/// The most bytes of request headers hyper buffers before it refuses them (its default, about
/// 408 KiB; SPEC section 1 asks for a limit between 16 KiB and 1 MiB).
pub const MAX_HEADER_BYTES: usize = 8192 + 4096 * 100;

/// A connection whose 431 answer carries the error body (SPEC section 1). hyper answers request
/// headers over its buffer itself, before any service runs, with a bare
/// `431 Request Header Fields Too Large` and no body, then closes; it has no hook for that
/// answer. This adapter passes everything through, except that answer, which it replaces with
/// the same status, the SPEC's error body and `Connection: close`. The service never answers
/// 431 itself, so that status line can only be hyper's. Writes are not vectored, so hyper hands
/// each flush over as one buffer and a response's head always starts a write.
struct HeadersTooLargeAnswer<S> {
    inner: S,
    /// The replacement still to be written, and the length of hyper's answer it stands for;
    /// `None` before (and after) it.
    replacing: Option<(Vec<u8>, usize)>,
}

impl<S> HeadersTooLargeAnswer<S> {
    fn new(inner: S) -> Self {
        Self { inner, replacing: None }
    }

    fn answer() -> Vec<u8> {
        let error = shared::ApiError::invalid(
            "headers",
            format!("the request headers are larger than {MAX_HEADER_BYTES} bytes"),
        );
        let body = error.body().to_string();
        let head = format!(
            "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        [head.into_bytes(), body.into_bytes()].concat()
    }
}

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for HeadersTooLargeAnswer<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for HeadersTooLargeAnswer<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        use std::task::Poll;
        let this = &mut *self;
        if this.replacing.is_none() && buf.starts_with(b"HTTP/1.1 431 ") {
            this.replacing = Some((Self::answer(), buf.len()));
        }
        let Some((pending, stands_for)) = this.replacing.as_mut() else {
            return std::pin::Pin::new(&mut this.inner).poll_write(cx, buf);
        };
        // hyper calls again with the same buffer until this answers Ready.
        while !pending.is_empty() {
            match std::pin::Pin::new(&mut this.inner).poll_write(cx, pending) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    pending.drain(..n);
                }
                other => return other,
            }
        }
        let written = (*stands_for).min(buf.len());
        this.replacing = None;
        Poll::Ready(Ok(written))
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Resolves on the first SIGTERM or SIGINT.
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
    })
}

/// Pauses after a failed accept (typically EMFILE: out of file descriptors), doubling from
/// 10 ms up to 1 s while failures go on, and logs once per run of failures, not once per try.
#[derive(Default)]
struct AcceptBackoff {
    failures: u32,
}

impl AcceptBackoff {
    async fn wait(&mut self, error: &std::io::Error) {
        if self.failures == 0 {
            tracing::warn!(%error, "accept failed; backing off until it works again");
        }
        self.failures = self.failures.saturating_add(1);
        tokio::time::sleep(Self::pause(self.failures)).await;
    }

    fn pause(failures: u32) -> Duration {
        let doublings = failures.clamp(1, 8) - 1;
        Duration::from_millis((10u64 << doublings).min(1000))
    }

    fn reset(&mut self) {
        if self.failures > 0 {
            tracing::info!(failures = self.failures, "accepting again");
        }
        self.failures = 0;
    }
}

/// Reads at most the allowed body within the read timeout, then hands over to the shared
/// handler.
async fn answer(app: &App, request: hyper::Request<Incoming>, read_timeout: Duration) -> Response<Body> {
    let (parts, body) = request.into_parts();
    if let Some(page) = crate::web::answer(&parts) {
        return page;
    }
    // One byte over the limit is enough to know it is too large; the rest is never read.
    let read = tokio::time::timeout(read_timeout, Limited::new(body, MAX_BODY_BYTES + 1).collect()).await;
    let bytes = match read {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(_)) => return closing(payload_too_large()),
        Err(_) => return closing(body_timed_out(read_timeout)),
    };
    let body = if bytes.is_empty() {
        Body::Empty
    } else {
        Body::Binary(bytes.to_vec())
    };
    route(app, Request::from_parts(parts, body)).await
}

/// An answer given before the body was read: the rest of the body is still on the wire, so
/// the connection cannot carry another request, and the client is told so.
fn closing(mut response: Response<Body>) -> Response<Body> {
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

fn body_timed_out(read_timeout: Duration) -> Response<Body> {
    let body = serde_json::json!({"detail": {
        "code": "ERROR_REQUEST_TIMEOUT",
        "message": format!("The request body did not arrive within {} s.", read_timeout.as_secs()),
    }});
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_backoff_doubles_to_a_second() {
        let pauses: Vec<u64> = (1..=9).map(|n| AcceptBackoff::pause(n).as_millis() as u64).collect();
        assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
    }
}
