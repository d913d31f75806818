//! What the benchmarks share: an App on a store, with the outbox in a temporary folder, and
//! requests as API Gateway would hand them to `users::http::route`.

#![allow(dead_code)] // each bench uses its own part

use std::path::Path;
use std::sync::Arc;

use lambda_http::Body;
use serde_json::Value;
use users::App;
use users::auth::TokenVerifier;
use users::clock::SystemClock;
use users::deferred::Background;
use users::mail::MailComposer;
use users::mail::outbox::OutboxMailer;
use users::store::UserStore;

/// An App over `store`, mailing to `dir/outbox`, verifying tokens with `tokens`, its
/// handed-over work queued in the background (started by the bench if it wants it run).
pub fn app(store: Arc<dyn UserStore>, dir: &Path, tokens: TokenVerifier) -> App {
    let tokens = users::auth::Keyring::new(tokens, None);
    App {
        store,
        mailer: Arc::new(OutboxMailer::new(&dir.join("outbox")).expect("outbox")),
        composer: MailComposer {
            from: "b@x.io".into(),
            service_name: "bench".into(),
        },
        tokens,
        clock: Arc::new(SystemClock),
        deferred: Arc::new(Background::default()),
    }
}

/// A JSON POST to `path`, with a bearer token when one is given.
pub fn request(path: &str, token: Option<&str>, body: &Value) -> lambda_http::Request {
    let mut builder = lambda_http::http::Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json");
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    builder.body(Body::from(body.to_string())).expect("request")
}
