//! The `lambda_http` adapter: a `Request` in, a `Response` out. Every binary — each Lambda
//! function and the local server — calls [`handle`] (or [`route`], which picks the operation
//! by path), so there is one code path for every request.
//!
//! Order of checks: method → body size (413) → token (401) → content type and JSON (400) →
//! the operation. One log line per request: method, status, latency, request id. Never a body,
//! a header value, or anything else that could hold a secret.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures_util::FutureExt;

use lambda_http::http::header::{ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use lambda_http::http::{HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::Value;

use crate::app::App;
use crate::error::ApiError;
use crate::input::Fields;
use crate::ops::{Operation, Served};

/// The largest accepted body.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Serves a request addressed to `op`. A panic while handling it is a bug, but never a dropped
/// connection: it is caught here (for the local server and every Lambda binary alike), logged
/// with the request id, and answered 500 ERROR_UNKNOWN naming that id.
pub async fn handle(app: &App, served: Served, request: Request) -> Response<Body> {
    let op = served.op;
    let started = Instant::now();
    let request_id = request_id(&request);
    // Nothing the request shares with others is left half-changed by an unwind: the store's
    // writes are transactions and the App holds no locks across awaits.
    let outcome = AssertUnwindSafe(respond(app, served, &request))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| {
            tracing::error!(method = op.name(), request_id, "request panicked");
            Err(ApiError::Unknown {
                request_id: String::new(),
            })
        });
    let mut response = finish(op.name(), outcome, &request_id, started);
    if op == Operation::Jwks && response.status() == StatusCode::OK {
        // Verifiers of other services may keep the public keys a while (SPEC section 9).
        response.headers_mut().insert(
            CACHE_CONTROL,
            lambda_http::http::HeaderValue::from_static("max-age=300"),
        );
    }
    response
}

/// Serves a request by its path, any operation; unknown paths are 404 ERROR_NOT_FOUND.
pub async fn route(app: &App, request: Request) -> Response<Body> {
    let served = Operation::from_path(request.uri().path()).map(Served::of);
    handle_or_404(app, served, request).await
}

/// [`route`] for a function that serves only `ops`: any other path is 404 ERROR_NOT_FOUND.
/// It never reaches [`Served::of`], so such a function links only the code of `ops`.
pub async fn route_among(app: &App, ops: &[Served], request: Request) -> Response<Body> {
    let served = Operation::from_path(request.uri().path()).and_then(|op| ops.iter().find(|s| s.op == op).copied());
    handle_or_404(app, served, request).await
}

async fn handle_or_404(app: &App, served: Option<Served>, request: Request) -> Response<Body> {
    match served {
        Some(served) => handle(app, served, request).await,
        None => {
            let started = Instant::now();
            let error = ApiError::NoSuchPath {
                path: request.uri().path().chars().take(200).collect(),
            };
            finish("unknown", Err(error), &request_id(&request), started)
        }
    }
}

/// The answer for a method a path is not served with (`allow` is the one it is).
pub fn method_not_allowed(method: &str, allow: &'static str) -> Response<Body> {
    error_response(&ApiError::MethodNotAllowed {
        method: method.chars().take(20).collect(),
        allow,
    })
}

/// The answer for a path nothing serves (404 ERROR_NOT_FOUND naming it), for the functions
/// that serve files rather than methods.
pub fn no_such_path(path: &str) -> Response<Body> {
    error_response(&ApiError::NoSuchPath {
        path: path.chars().take(200).collect(),
    })
}

/// The answer for a body too large to read at all (the local server stops reading early).
pub fn payload_too_large() -> Response<Body> {
    error_response(&ApiError::PayloadTooLarge { limit: MAX_BODY_BYTES })
}

async fn respond(app: &App, served: Served, request: &Request) -> Result<Value, ApiError> {
    let op = served.op;
    if request.method().as_str() != op.http_method() {
        return Err(ApiError::MethodNotAllowed {
            method: request.method().as_str().chars().take(20).collect(),
            allow: op.http_method(),
        });
    }
    let body: &[u8] = request.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge { limit: MAX_BODY_BYTES });
    }
    let caller = if op.needs_token() {
        let header = request.headers().get(AUTHORIZATION).map(|v| v.to_str());
        let header = match header {
            Some(Err(_)) => {
                return Err(ApiError::AuthenticateFailure {
                    reason: "malformed Authorization header",
                });
            }
            Some(Ok(text)) => Some(text),
            None => None,
        };
        Some(app.tokens.verify_header(header).await?)
    } else {
        None
    };
    if request.method() == Method::GET {
        return (served.code)(app, None, Fields::from_map(Default::default())).await;
    }
    check_content_type(request)?;
    let fields = crate::proto3::read(Fields::from_json(body)?, op.describe().request)?;
    (served.code)(app, caller.as_ref(), fields).await
}

/// JSON only. A missing Content-Type is taken as JSON (some clients omit it); anything else
/// is refused rather than guessed at.
fn check_content_type(request: &Request) -> Result<(), ApiError> {
    let Some(value) = request.headers().get(CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = value
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    if essence.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(ApiError::invalid("Content-Type", "must be application/json"))
    }
}

fn finish(method: &str, outcome: Result<Value, ApiError>, request_id: &str, started: Instant) -> Response<Body> {
    let response = match outcome {
        Ok(value) => json_response(StatusCode::OK, &value),
        Err(mut error) => {
            if let ApiError::Unknown { request_id: id } = &mut error {
                *id = request_id.to_string();
            }
            if error.status() >= 500 {
                tracing::error!(method, request_id, code = error.code(), "request failed");
            }
            error_response(&error)
        }
    };
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        method,
        status = response.status().as_u16(),
        latency_ms,
        request_id,
        "request"
    );
    response
}

fn error_response(error: &ApiError) -> Response<Body> {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json_response(status, &error.body());
    if let ApiError::MethodNotAllowed { allow, .. } = error {
        response.headers_mut().insert(ALLOW, HeaderValue::from_static(allow));
    }
    response
}

fn json_response(status: StatusCode, value: &Value) -> Response<Body> {
    let body = serde_json::to_string(value).unwrap_or_else(|_| "{}".into());
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        lambda_http::http::HeaderValue::from_static("application/json"),
    );
    // Responses describe users; no cache along the way should keep them.
    headers.insert(CACHE_CONTROL, lambda_http::http::HeaderValue::from_static("no-store"));
    response
}

/// Lambda's request id when running on Lambda; a random one locally.
fn request_id(request: &Request) -> String {
    if let Some(context) = request.lambda_context_ref() {
        return context.request_id.clone();
    }
    crate::secrets::random_hex(8)
}
