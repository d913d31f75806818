//! Start-up of a Lambda function: configuration, keys, store and mail client are built once per
//! execution environment (before the first request, during Lambda's init phase), then every
//! invocation runs `users::http::handle` for the function's one operation. The two
//! event-driven functions start the same way: [`provision`] applies SQS batches of commands
//! (`crate::queue`), [`publish_events`] turns change-stream batches into events
//! (`crate::stream`).

use aws_lambda_events::event::dynamodb::Event as StreamBatch;
use aws_lambda_events::event::sqs::SqsEvent;
use lambda_http::{LambdaEvent, service_fn};
use users::app::JwksSource;
use users::auth::TokenVerifier;
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
    // Work handed over must not run after the answer here (Lambda freezes the environment):
    // it goes to the provisioning queue.
    if op.hands_over_work() && config.provision_queue_url.is_none() {
        return Err(format!("PROVISION_QUEUE_URL must be set for the {} function", op.name()).into());
    }
    let (verifier, _) = config.token_keys()?;
    let keys_ms = started.elapsed().as_secs_f64() * 1000.0;
    // Only the functions that mail build a mail client (and only they may use SES).
    let app = config.build_for(verifier, op.sends_mail()).await?;
    let init_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(keys_ms, init_ms, "function initialised");
    Ok(app)
}

/// The provisioning function: each invocation applies one SQS batch of commands.
pub async fn provision() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    // Authority comes from the queue's IAM policy: this function takes no tokens.
    let app: &'static App = Box::leak(Box::new(config.build(TokenVerifier::trusting_no_key()).await?));
    tracing::info!("provisioning function initialised");
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, std::convert::Infallible>(crate::queue::apply_batch(app, event.payload).await)
    }))
    .await
}

/// The event publisher: each invocation publishes the events of one change-stream batch.
pub async fn publish_events() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let bus = Config::from_env()?.event_bus().await?;
    let bus: &'static _ = Box::leak(Box::new(bus));
    tracing::info!("event publisher initialised");
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<StreamBatch>| async move {
        Ok::<_, std::convert::Infallible>(crate::stream::publish_batch(bus, event.payload).await)
    }))
    .await
}
