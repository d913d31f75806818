//! Start-up of a Lambda function: configuration, keys, store and mail client are built once per
//! execution environment (before the first request, during Lambda's init phase), then every
//! invocation runs `users::http::handle` for the function's one operation.

use users::app::JwksSource;
use users::ops::Operation;
use users::{App, Config};

/// Runs the function for `op` until the Lambda runtime stops it.
pub async fn run(op: Operation) -> Result<(), lambda_http::Error> {
    // JSON or text, as the function's LoggingConfig asks (AWS_LAMBDA_LOG_FORMAT).
    lambda_http::tracing::init_default_subscriber();
    let app: &'static App = Box::leak(Box::new(build(op).await?));
    lambda_http::run(lambda_http::service_fn(move |request| async move {
        Ok::<_, std::convert::Infallible>(users::http::handle(app, op, request).await)
    }))
    .await
}

async fn build(op: Operation) -> Result<App, lambda_http::Error> {
    let started = std::time::Instant::now();
    let config = Config::from_env()?;
    // A dev key would be made afresh in each execution environment's /tmp: tokens could not
    // be verified across them. On Lambda the keys must come from the identity service.
    if config.jwks == JwksSource::DevKey {
        return Err("IDENTITY_JWKS or IDENTITY_JWKS_FILE must be set for a Lambda function".into());
    }
    let (verifier, _) = config.token_keys()?;
    let keys_ms = started.elapsed().as_secs_f64() * 1000.0;
    // Only the functions that mail build a mail client (and only they may use SES).
    let app = config.build_for(verifier, op.sends_mail()).await?;
    let init_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(keys_ms, init_ms, "function initialised");
    Ok(app)
}
