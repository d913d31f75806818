//! Start-up of a Lambda function: configuration, keys, store and mail client are built once per
//! execution environment (before the first request, during Lambda's init phase), then every
//! invocation runs `shared::http::handle` for the function's one operation (its `Served`). The two
//! event-driven functions start the same way: [`provision`] applies SQS batches of commands
//! (`crate::queue`), [`publish_events`] turns change-stream batches into events
//! (`crate::stream`).
//!
//! Every function also writes what it counted during an invocation (`shared::telemetry`) as
//! CloudWatch Embedded Metric Format lines, before the invocation's answer ([`counted`]).

use aws_lambda_events::event::dynamodb::Event as StreamBatch;
use aws_lambda_events::event::sqs::SqsEvent;
use lambda_http::{LambdaEvent, service_fn};
use shared::app::MailerOnAws;
use shared::auth::{Keyring, TokenVerifier};
use shared::ops::Served;
use shared::{App, Config};

/// Runs the function of `served`, an operation that sends no mail, until the Lambda runtime stops
/// it. Its binary links no SES client.
pub async fn run(served: Served) -> Result<(), lambda_http::Error> {
    let op = served.op;
    start();
    // Work handed over must not run after the answer here (Lambda freezes the environment).
    if op.hands_over_work() {
        return Err(wrong_start(op, "hands work over", "run_handing_over"));
    }
    if op.sends_mail() {
        return Err(wrong_start(op, "sends mail", "run_mailing"));
    }
    let config = Config::from_env()?;
    serve(served, build(&config, None).await?).await
}

/// Runs the function of an operation that sends mail: the only start that builds (and so
/// links) the SES client.
pub async fn run_mailing(served: Served) -> Result<(), lambda_http::Error> {
    let op = served.op;
    start();
    if !op.sends_mail() {
        return Err(wrong_start(op, "sends no mail", "run"));
    }
    let config = Config::from_env()?;
    serve(served, build(&config, Some(shared::app::ses_mailer)).await?).await
}

/// What every function does first: logs (JSON or text, as the function's LoggingConfig asks:
/// AWS_LAMBDA_LOG_FORMAT) and the metrics recorder.
fn start() {
    lambda_http::tracing::init_default_subscriber();
    let namespace = std::env::var("METRICS_NAMESPACE").unwrap_or_else(|_| DEFAULT_NAMESPACE.into());
    if namespace.is_empty() {
        return;
    }
    match metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(namespace)
        .init()
    {
        Ok(collector) => {
            let _ = METRICS.set(collector);
            shared::telemetry::describe();
        }
        Err(error) => tracing::warn!(%error, "no metrics: the recorder could not be installed"),
    }
}

/// The metrics namespace when METRICS_NAMESPACE is not set (the template sets it per stack;
/// set it empty for no metrics).
const DEFAULT_NAMESPACE: &str = "UserApi";

static METRICS: std::sync::OnceLock<&'static metrics_cloudwatch_embedded::Collector> = std::sync::OnceLock::new();

/// Runs one invocation's `work`, then writes what it counted as Embedded Metric Format lines
/// (one per dimension combination) to stdout, before the answer goes back: after it, Lambda
/// may freeze the environment. The lines are written whole, so no log line cuts into one.
async fn counted<T>(work: impl std::future::Future<Output = T>) -> T {
    let answer = work.await;
    if let Some(collector) = METRICS.get() {
        let mut lines = Vec::new();
        match collector.flush(&mut lines) {
            Ok(()) if !lines.is_empty() => {
                use std::io::Write;
                let _ = std::io::stdout().lock().write_all(&lines);
            }
            Ok(()) => {}
            Err(error) => tracing::warn!(%error, "metrics could not be written"),
        }
    }
    answer
}

fn wrong_start(op: shared::ops::Operation, what: &str, start: &str) -> lambda_http::Error {
    format!("the {} function {what}: start it with {start}", op.name()).into()
}

/// Runs a function that serves several operations, routed by path (the key publication:
/// `token-keys` serves the JWKS and `domain/get-public-key`). Other paths are 404.
pub async fn run_routes(ops: &'static [Served]) -> Result<(), lambda_http::Error> {
    start();
    let config = Config::from_env()?;
    let app: &'static App = Box::leak(Box::new(build(&config, None).await?));
    lambda_http::run(lambda_http::service_fn(
        move |request: lambda_http::Request| async move {
            Ok::<_, std::convert::Infallible>(counted(shared::http::route_among(app, ops, request)).await)
        },
    ))
    .await
}

/// Runs the `users-console` function: the console's files and the API's documentation
/// (`crate::web`), as the local server serves them. It reads no configuration and holds no
/// key, table or client: nothing it answers depends on who asks. Other paths are 404.
pub async fn run_web() -> Result<(), lambda_http::Error> {
    start();
    lambda_http::run(lambda_http::service_fn(|request: lambda_http::Request| async move {
        let (parts, _) = request.into_parts();
        let answer = crate::web::answer(&parts).unwrap_or_else(|| shared::http::no_such_path(parts.uri.path()));
        Ok::<_, std::convert::Infallible>(answer)
    }))
    .await
}

/// Runs the function of an operation that hands work over (reset_password): the work goes to
/// the provisioning queue. A function of its own, so that only this binary links the SQS client.
pub async fn run_handing_over(served: Served) -> Result<(), lambda_http::Error> {
    start();
    let config = Config::from_env()?;
    let mut app = build(&config, None).await?;
    app.deferred = std::sync::Arc::new(config.provision_queue().await?);
    serve(served, app).await
}

async fn serve(served: Served, app: App) -> Result<(), lambda_http::Error> {
    let app: &'static App = Box::leak(Box::new(app));
    lambda_http::run(lambda_http::service_fn(move |request| async move {
        Ok::<_, std::convert::Infallible>(counted(shared::http::handle(app, served, request)).await)
    }))
    .await
}

async fn build(config: &Config, mail: Option<MailerOnAws>) -> Result<App, lambda_http::Error> {
    let started = std::time::Instant::now();
    // A dev key would be made afresh in each execution environment's /tmp: tokens could not
    // be verified across them. On Lambda the keys come from the identity service (a JWKS)
    // and this project's KMS key; the KMS public key is read on first use, once.
    let configured = config.jwks_verifier()?;
    let issuer = config.kms_issuer().await;
    if configured.is_empty() && issuer.is_none() {
        return Err("IDENTITY_JWKS, IDENTITY_JWKS_FILE or TOKEN_SIGNING_KEY must be set for a Lambda function".into());
    }
    let keys_ms = started.elapsed().as_secs_f64() * 1000.0;
    let app = config.build_on_aws(Keyring::new(configured, issuer), mail).await?;
    let init_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(keys_ms, init_ms, "function initialised");
    Ok(app)
}

/// The provisioning function: each invocation applies one SQS batch of commands.
pub async fn provision() -> Result<(), lambda_http::Error> {
    start();
    let config = Config::from_env()?;
    // Authority comes from the queue's IAM policy: this function takes no tokens.
    let app: &'static App = Box::leak(Box::new(
        config
            .build_on_aws(
                Keyring::new(TokenVerifier::trusting_no_key(), None),
                Some(shared::app::ses_mailer),
            )
            .await?,
    ));
    tracing::info!("provisioning function initialised");
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, std::convert::Infallible>(counted(crate::queue::apply_batch(app, event.payload)).await)
    }))
    .await
}

/// The event publisher: each invocation publishes the events of one change-stream batch.
pub async fn publish_events() -> Result<(), lambda_http::Error> {
    start();
    let bus = Config::from_env()?.event_bus().await?;
    let bus: &'static _ = Box::leak(Box::new(bus));
    tracing::info!("event publisher initialised");
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<StreamBatch>| async move {
        Ok::<_, std::convert::Infallible>(counted(crate::stream::publish_batch(bus, event.payload)).await)
    }))
    .await
}
