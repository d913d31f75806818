//! The local HTTP server: hyper on 127.0.0.1, each request turned into a `lambda_http::Request`
//! and answered by `users::http::route`, the code path the Lambda functions run.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_http::{Body, Request, Response};
use tokio::net::TcpListener;
use users::App;
use users::http::{MAX_BODY_BYTES, payload_too_large, route};

pub struct ServeOptions {
    pub port: u16,
}

/// Serves until Ctrl-C. `ready` is called once the socket is bound, with its address.
pub async fn serve(app: App, options: ServeOptions, ready: impl FnOnce(SocketAddr)) -> std::io::Result<()> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, options.port)).await?;
    ready(listener.local_addr()?);
    let app = Arc::new(app);
    let shutdown = tokio::signal::ctrl_c();
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    continue;
                }
            },
            _ = &mut shutdown => return Ok(()),
        };
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let app = Arc::clone(&app);
                async move { Ok::<_, std::convert::Infallible>(answer(&app, request).await) }
            });
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%error, "connection closed with an error");
            }
        });
    }
}

/// Reads at most the allowed body, then hands over to the shared handler.
async fn answer(app: &App, request: hyper::Request<Incoming>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    // One byte over the limit is enough to know it is too large; the rest is never read.
    let bytes = match Limited::new(body, MAX_BODY_BYTES + 1).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return payload_too_large(),
    };
    let body = if bytes.is_empty() {
        Body::Empty
    } else {
        Body::Binary(bytes.to_vec())
    };
    route(app, Request::from_parts(parts, body)).await
}
