//! Every Lambda binary, as a process, against a fake Lambda Runtime API: each is given its
//! sample event from `events/` (with a fresh token, and the code mailed through SES where the
//! event confirms one) and must answer 200. The functions run as deployed: DynamoDB store and
//! SES mail (both on moto), keys from IDENTITY_JWKS, configuration from the environment.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use shared::auth::{DevKey, TokenRequest};
use shared::model::RoleType;
use tests::moto::{self, RequestCounter};
use tests::runtime_api::{Outcome, RuntimeApi};

const SENDER: &str = "no-reply@example.com";
const ALICE_EMAIL: &str = "alice@example.com";

/// Who calls: the domain admin, alice herself (MFA is self-service), or nobody.
#[derive(Clone, Copy)]
enum Caller {
    Admin,
    Alice,
    Anonymous,
}

/// The sample events in an order that makes each succeed, with the binary that serves it.
const SEQUENCE: [(&str, &str, Caller); 15] = [
    ("create", env!("CARGO_BIN_EXE_user-create"), Caller::Admin),
    ("get", env!("CARGO_BIN_EXE_user-get"), Caller::Admin),
    ("update", env!("CARGO_BIN_EXE_user-update"), Caller::Admin),
    (
        "set-required-actions",
        env!("CARGO_BIN_EXE_user-set-required-actions"),
        Caller::Admin,
    ),
    ("verify-email", env!("CARGO_BIN_EXE_user-verify-email"), Caller::Admin),
    ("confirm-email", env!("CARGO_BIN_EXE_user-confirm-email"), Caller::Admin),
    ("enable-mfa", env!("CARGO_BIN_EXE_user-enable-mfa"), Caller::Alice),
    ("confirm-mfa", env!("CARGO_BIN_EXE_user-confirm-mfa"), Caller::Alice),
    ("disable-mfa", env!("CARGO_BIN_EXE_user-disable-mfa"), Caller::Alice),
    (
        "reset-password",
        env!("CARGO_BIN_EXE_user-reset-password"),
        Caller::Anonymous,
    ),
    ("disable", env!("CARGO_BIN_EXE_user-disable"), Caller::Admin),
    ("enable", env!("CARGO_BIN_EXE_user-enable"), Caller::Admin),
    ("list", env!("CARGO_BIN_EXE_user-list"), Caller::Admin),
    ("stat", env!("CARGO_BIN_EXE_user-stat"), Caller::Admin),
    ("delete", env!("CARGO_BIN_EXE_user-delete"), Caller::Admin),
];

fn event(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(format!("{name}.json"));
    serde_json::from_slice(&std::fs::read(&path).expect("sample event")).expect("event JSON")
}

fn token(key: &DevKey, caller: Caller) -> Option<String> {
    let (user_id, role) = match caller {
        Caller::Admin => ("root", RoleType::DomainAdmin),
        Caller::Alice => ("alice", RoleType::User),
        Caller::Anonymous => return None,
    };
    let request = TokenRequest {
        domain_id: "domain-local",
        user_id,
        role,
        ttl_seconds: 600,
    };
    Some(key.sign(&request).expect("sign"))
}

/// The code in the latest mail moto's SES accepted for alice.
async fn latest_code() -> String {
    let mails = moto::sent_mails(ALICE_EMAIL).await;
    let last = mails.last().expect("a mail to alice");
    tests::six_digit_number(last["body"].as_str().unwrap_or_default()).expect("a code")
}

fn prepare(mut event: Value, token: Option<String>, code: Option<String>) -> Value {
    if let Some(token) = token {
        event["headers"]["authorization"] = Value::String(format!("Bearer {token}"));
    }
    if let Some(code) = code {
        let mut body: Value = serde_json::from_str(event["body"].as_str().unwrap_or("{}")).expect("body");
        body["verify_code"] = Value::String(code);
        event["body"] = Value::String(body.to_string());
    }
    event
}

/// A function's environment as the template gives it, on moto: `table`, SES from SENDER, JSON
/// logs, and the one variable its kind of function needs.
fn function_env(table: &str, (name, value): (&str, &str)) -> Vec<(String, String)> {
    [
        ("USERS_TABLE", table),
        ("AWS_ENDPOINT_URL", moto::endpoint()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("MAIL_TRANSPORT", "ses"),
        ("MAIL_FROM", SENDER),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        (name, value),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_function_binary_serves_its_sample_event() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = DevKey::load_or_create(dir.path()).expect("key");
    let dynamodb = moto::dynamodb(&RequestCounter::default());
    let table = moto::fresh_table(&dynamodb).await;
    moto::sesv2(moto::endpoint())
        .create_email_identity()
        .email_identity(SENDER)
        .send()
        .await
        .expect("sender identity");
    let env = function_env(&table, ("IDENTITY_JWKS", key.jwks_json()));
    let mut queue = tests::pipeline::CommandQueue::create().await;

    for (name, binary, caller) in SEQUENCE {
        let mut env = env.clone();
        if name == "reset-password" {
            env.push(("PROVISION_QUEUE_URL".into(), queue.url.clone()));
        }
        let code = if name.starts_with("confirm-") {
            Some(latest_code().await)
        } else {
            None
        };
        let event = prepare(event(name), token(&key, caller), code);
        let (body, payload, logs) = invoke(binary, &format!("user-{name}"), &env, event, dir.path()).await;
        assert_eq!(body["statusCode"], 200, "{name}: {body}\nlogs:\n{logs}");
        assert!(payload.is_object(), "{name}: {payload}");
        // Logs are JSON lines (one per request at least).
        assert!(logs.contains(r#""status":200"#), "{name}: no request log line:\n{logs}");
        for line in logs.lines() {
            assert!(
                serde_json::from_str::<Value>(line).is_ok(),
                "{name}: not a JSON log line: {line}"
            );
        }
        if name == "reset-password" {
            apply_the_handed_over_reset(&mut queue, &env, dir.path()).await;
        }
    }
}

/// reset-password answered without doing the work: it left one `reset_password` command on
/// the provisioning queue, which `users-provision` applies (the mail goes out then).
async fn apply_the_handed_over_reset(queue: &mut tests::pipeline::CommandQueue, env: &[(String, String)], dir: &Path) {
    let mails_before = moto::sent_mails(ALICE_EMAIL).await.len();
    let delivery = queue.receive_batch().await.expect("the handed-over reset");
    assert_eq!(delivery.event.records.len(), 1);
    let command: Value =
        serde_json::from_str(delivery.event.records[0].body.as_deref().unwrap_or_default()).expect("a command");
    assert_eq!(command["action"], "reset_password");
    assert_eq!(command["params"]["user_id"], "alice");
    let event = serde_json::to_value(&delivery.event).expect("an SQS event");
    run_clean(
        env!("CARGO_BIN_EXE_users-provision"),
        env,
        event,
        &dir.join("reset-work.log"),
    )
    .await;
    queue.delete_succeeded(&delivery, &[]).await;
    let mails = moto::sent_mails(ALICE_EMAIL).await;
    assert_eq!(mails.len(), mails_before + 1, "the temporary password mail");
    // alice reads Korean (events/update.json): the temporary-password mail in her language.
    let expected = shared::mail::MailComposer {
        from: SENDER.into(),
        service_name: "Cloudforet".into(),
    }
    .compose(
        &shared::mail::Mail::TemporaryPassword { password: "x" },
        "ko",
        "alice",
        ALICE_EMAIL,
    )
    .expect("a mail")
    .subject;
    assert_eq!(
        mails[mails_before]["subject"],
        expected.as_str(),
        "{}",
        mails[mails_before]["subject"]
    );
}

/// Runs an event-driven function `binary` under a fake Runtime API with `env` and one event;
/// it must report no failed item. Returns its logs.
async fn run_clean(binary: &str, env: &[(String, String)], event: Value, log: &Path) -> String {
    let function = Path::new(binary)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("function");
    let mut runtime = RuntimeApi::start().await;
    let mut child = runtime.spawn(Path::new(binary), function, env, log);
    let outcome = runtime.invoke(event, Duration::from_secs(30)).await;
    let _ = child.kill();
    let _ = child.wait();
    let logs = std::fs::read_to_string(log).unwrap_or_default();
    match outcome {
        Some(Outcome::Response { body, .. }) => {
            assert_eq!(body, serde_json::json!({"batchItemFailures": []}), "{function}: {logs}");
        }
        other => panic!("{function}: no response ({other:?}); logs:\n{logs}"),
    }
    logs
}

/// The event-driven functions as deployed: `users-provision` applies its sample SQS batch
/// (DynamoDB and SES on moto, no keys: it takes no tokens), then `users-publish-events` turns
/// the table's stream records into events on an EventBridge bus (moto), read through a rule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_functions_apply_their_sample_batches() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dynamodb = moto::dynamodb(&RequestCounter::default());
    let table = moto::fresh_table(&dynamodb).await;
    let tap = tests::pipeline::EventTap::create().await;
    let env = function_env(&table, ("EVENT_BUS_NAME", tap.bus.as_str()));

    let provision = env!("CARGO_BIN_EXE_users-provision");
    let publish = env!("CARGO_BIN_EXE_users-publish-events");
    let log = |name: &str| dir.path().join(format!("{name}.log"));
    let logs = run_clean(provision, &env, event("provision"), &log("provision")).await;
    let applied = |logs: &str, outcome| {
        let documents = tests::emf::documents(logs);
        tests::emf::total(&documents, "UserApi", "ProvisionCommands", &[("outcome", outcome)])
    };
    assert_eq!(applied(&logs, "applied"), 2.0, "{logs}");
    // The same batch again (a redelivery): both commands are already done.
    let logs = run_clean(provision, &env, event("provision"), &log("provision-again")).await;
    assert_eq!(logs.matches("AlreadyDone").count(), 2, "{logs}");
    assert_eq!(applied(&logs, "already_done"), 2.0, "{logs}");
    assert_eq!(applied(&logs, "applied"), 0.0, "{logs}");

    let batches = tests::pipeline::stream_batches(&dynamodb, &table, None, 100).await;
    let records = serde_json::to_value(&batches[0]).expect("a stream event");
    let logs = run_clean(publish, &env, records, &log("publish")).await;
    assert_eq!(tap.detail_types().await, ["User Created", "User Disabled"]);
    let documents = tests::emf::documents(&logs);
    let published = tests::emf::total(&documents, "UserApi", "EventsPublished", &[("outcome", "published")]);
    assert_eq!(published, 2.0, "{logs}");

    // The sample stream event (a recorded INSERT and MODIFY) publishes the same two kinds.
    run_clean(publish, &env, event("publish-events"), &log("publish-sample")).await;
    assert_eq!(tap.detail_types().await, ["User Created", "User Disabled"]);
}

/// Invokes `binary` once with `event` and `env`: its response, the response's JSON body, and
/// its logs, which never carry a token, a password or a password hash, even at the most an
/// operator can ask for. At TRACE, lambda_runtime would log each raw event (passwords in
/// clear) and the SDK each request it sends (hashes): tracing is built with TRACE compiled out.
async fn invoke(
    binary: &str,
    name: &str,
    env: &[(String, String)],
    event: Value,
    dir: &Path,
) -> (Value, Value, String) {
    let mut runtime = RuntimeApi::start().await;
    let log: PathBuf = dir.join(format!("{name}.log"));
    let mut env = env.to_vec();
    env.push(("AWS_LAMBDA_LOG_LEVEL".into(), "TRACE".into()));
    let mut child = runtime.spawn(Path::new(binary), name, &env, &log);
    let outcome = runtime.invoke(event, Duration::from_secs(30)).await;
    let _ = child.kill();
    let _ = child.wait();
    let logs = std::fs::read_to_string(&log).unwrap_or_default();
    let Some(Outcome::Response { body, .. }) = outcome else {
        panic!("{name}: no response ({outcome:?}); logs:\n{logs}");
    };
    for line in logs.lines() {
        assert!(!has_jwt(line), "{name}: a token in the logs: {line}");
        assert!(!line.contains("Wonderland1"), "{name}: a password in the logs: {line}");
        assert!(!line.contains("$argon2"), "{name}: a password hash in the logs: {line}");
    }
    let payload: Value = serde_json::from_str(body["body"].as_str().unwrap_or_default()).expect("JSON body");
    (body, payload, logs)
}

/// Whether `line` holds a JWT: a base64url JSON header (`eyJ`…) followed by a dot. A bare
/// `eyJ` is not enough: moto's random request ids contain it now and then.
fn has_jwt(line: &str) -> bool {
    line.match_indices("eyJ").any(|(start, _)| {
        let rest = &line[start..];
        let header = rest
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
            .count();
        rest.as_bytes().get(header) == Some(&b'.')
    })
}

#[test]
fn a_jwt_is_told_from_a_request_id() {
    assert!(has_jwt(
        r#"{"authorization":"Bearer eyJhbGciOiJSUzI1NiJ9.eyJkaWQiOiJ4In0.c2ln"}"#
    ));
    assert!(!has_jwt(
        r#"{"request_id":"e8HQZqYMvqOfRBBNUU0ieyJJahRVX56CddLRlLaZ6b7NHgdNAKAH"}"#
    ));
}

/// The Token API's binaries as deployed: DynamoDB and a KMS key on moto, no JWKS. alice signs
/// in (token-issue), her refresh token becomes a DOMAIN token (token-grant), token-keys
/// publishes the key on both paths, and the DOMAIN token works on user-get with no JWKS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_functions_sign_in_with_a_kms_key() {
    use shared::store::UserStore;
    let dir = tempfile::tempdir().expect("temp dir");
    let dynamodb = moto::dynamodb(&RequestCounter::default());
    let table = moto::fresh_table(&dynamodb).await;
    let store = shared::store::dynamo::DynamoStore::new(dynamodb, &table);
    let mut alice = tests::conformance::user("domain-local", "alice", RoleType::DomainAdmin);
    alice.auth_type = shared::model::AuthType::Local;
    let password = shared::secrets::Password::parse("Wonderland1".into()).expect("password");
    alice.password_hash = Some(password.hash().await.expect("hash"));
    store.create_user(&alice).await.expect("alice");
    let key_id = moto::signing_key(&moto::kms(&RequestCounter::default()), "ECC_NIST_P256").await;
    let env = function_env(&table, ("TOKEN_SIGNING_KEY", &key_id));

    let (response, tokens, _) = invoke(
        env!("CARGO_BIN_EXE_token-issue"),
        "token-issue",
        &env,
        event("token-issue"),
        dir.path(),
    )
    .await;
    assert_eq!(response["statusCode"], 200, "{response}");
    let refresh = tokens["refresh_token"].as_str().expect("a refresh token");
    let mut grant = event("token-grant");
    let body = grant["body"]
        .as_str()
        .unwrap_or_default()
        .replace("REPLACE_WITH_REFRESH_TOKEN", refresh);
    grant["body"] = Value::String(body);
    let (response, granted, _) = invoke(
        env!("CARGO_BIN_EXE_token-grant"),
        "token-grant",
        &env,
        grant,
        dir.path(),
    )
    .await;
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(granted["role_type"], "DOMAIN_ADMIN");
    let access = granted["access_token"].as_str().expect("an access token").to_string();

    let keys = env!("CARGO_BIN_EXE_token-keys");
    let (response, jwks, _) = invoke(keys, "token-keys", &env, event("token-keys-jwks"), dir.path()).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(response["headers"]["cache-control"], "max-age=300", "{response}");
    assert_eq!(jwks["keys"][0]["kid"], key_id.as_str());
    let (response, public, _) = invoke(keys, "token-keys", &env, event("token-keys-public-key"), dir.path()).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    let jwk: Value = serde_json::from_str(public["public_key"].as_str().expect("a string")).expect("a JWK");
    assert_eq!(jwk, jwks["keys"][0]);
    // token-keys serves only its two paths.
    let (response, _, _) = invoke(keys, "token-keys", &env, event("get"), dir.path()).await;
    assert_eq!(response["statusCode"], 404, "{response}");

    let get = prepare(event("get"), Some(access), None);
    let (response, user, _) = invoke(env!("CARGO_BIN_EXE_user-get"), "user-get", &env, get, dir.path()).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    assert!(user["last_accessed_at"].as_str().is_some(), "{user}");
}

/// Authenticator-app MFA through the binaries as deployed (SPEC section 10): the secret sealed
/// by a KMS key on moto (MFA_SECRET_KEY), alice enrols with user-enable-mfa, confirms with
/// user-confirm-mfa and signs in with token-issue, each with a code of the URI she was given.
/// No log line of any of them, at the most an operator can ask for, holds the secret or its URI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_otp_functions_enrol_and_sign_in_with_a_kms_sealed_secret() {
    use shared::store::UserStore;
    let dir = tempfile::tempdir().expect("temp dir");
    let key = DevKey::load_or_create(dir.path()).expect("key");
    let dynamodb = moto::dynamodb(&RequestCounter::default());
    let table = moto::fresh_table(&dynamodb).await;
    let store = shared::store::dynamo::DynamoStore::new(dynamodb, &table);
    let mut alice = tests::conformance::user("domain-local", "alice", RoleType::User);
    alice.auth_type = shared::model::AuthType::Local;
    let password = shared::secrets::Password::parse("Wonderland1".into()).expect("password");
    alice.password_hash = Some(password.hash().await.expect("hash"));
    // Created a second back, so that alice's dev-key token is not from before her creation.
    alice.start_tokens(shared::model::Timestamp::new(
        chrono::Utc::now() - chrono::TimeDelta::seconds(2),
    ));
    store.create_user(&alice).await.expect("alice");
    let kms = moto::kms(&RequestCounter::default());
    let signing_key = moto::signing_key(&kms, "ECC_NIST_P256").await;
    let mfa_key = kms
        .create_key()
        .send()
        .await
        .expect("a symmetric key")
        .key_metadata
        .expect("metadata")
        .key_id;
    let mut env = function_env(&table, ("IDENTITY_JWKS", key.jwks_json()));
    env.push(("TOKEN_SIGNING_KEY".into(), signing_key));
    env.push(("MFA_SECRET_KEY".into(), mfa_key));
    let body = |extra: Value| {
        let mut body = serde_json::json!({"user_id": "alice", "domain_id": "domain-local"});
        tests::merge(&mut body, extra);
        body
    };
    let request = |name: &str, body: Value, token: Option<String>| {
        let mut event = event(name);
        event["body"] = Value::String(body.to_string());
        prepare(event, token, None)
    };
    let mut logs = String::new();
    let (response, enabled, log) = invoke(
        env!("CARGO_BIN_EXE_user-enable-mfa"),
        "user-enable-mfa-otp",
        &env,
        request(
            "enable-mfa",
            body(serde_json::json!({"mfa_type": "OTP"})),
            token(&key, Caller::Alice),
        ),
        dir.path(),
    )
    .await;
    assert_eq!(response["statusCode"], 200, "{response}\n{log}");
    logs.push_str(&log);
    let uri = enabled["mfa"]["options"]["otp_qrcode_uri"]
        .as_str()
        .expect("a URI")
        .to_string();
    let secret = tests::otp_secret(&uri);
    let now = u64::try_from(chrono::Utc::now().timestamp()).expect("after 1970");
    // The step before now for the enrolment, then now's for the sign-in: each step once.
    let (enrol, sign_in) = (
        tests::authenticator_code_at(&uri, now - 30),
        tests::authenticator_code_at(&uri, now),
    );
    let (response, confirmed, log) = invoke(
        env!("CARGO_BIN_EXE_user-confirm-mfa"),
        "user-confirm-mfa-otp",
        &env,
        request(
            "confirm-mfa",
            body(serde_json::json!({"verify_code": enrol})),
            token(&key, Caller::Alice),
        ),
        dir.path(),
    )
    .await;
    assert_eq!(response["statusCode"], 200, "{response}\n{log}");
    assert_eq!(confirmed["mfa"]["state"], "ENABLED");
    logs.push_str(&log);
    let mut issue = event("token-issue");
    let mut credentials: Value = serde_json::from_str(issue["body"].as_str().unwrap()).expect("body");
    credentials["verify_code"] = Value::String(sign_in);
    issue["body"] = Value::String(credentials.to_string());
    let (response, tokens, log) = invoke(
        env!("CARGO_BIN_EXE_token-issue"),
        "token-issue-otp",
        &env,
        issue,
        dir.path(),
    )
    .await;
    assert_eq!(response["statusCode"], 200, "{response}\n{log}");
    assert!(tokens["access_token"].is_string());
    logs.push_str(&log);
    assert!(!logs.is_empty());
    for line in logs.lines() {
        assert!(!line.contains(&secret), "the secret in a log line: {line}");
        assert!(!line.contains("otpauth"), "the URI in a log line: {line}");
    }
}

/// A function binary kept running across invocations, as in one warm execution environment.
struct Warm {
    runtime: RuntimeApi,
    child: std::process::Child,
    log: PathBuf,
}

impl Warm {
    fn start(binary: &str, name: &str, env: &[(String, String)], dir: &Path) -> Warm {
        let runtime = futures_block(RuntimeApi::start());
        let log = dir.join(format!("{name}.log"));
        let child = runtime.spawn(Path::new(binary), name, env, &log);
        Warm { runtime, child, log }
    }

    /// One invocation: the response's status and JSON body.
    async fn call(&mut self, event: Value) -> (u64, Value) {
        match self.runtime.invoke(event, Duration::from_secs(30)).await {
            Some(Outcome::Response { body, .. }) => {
                let payload = serde_json::from_str(body["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
                (body["statusCode"].as_u64().unwrap_or_default(), payload)
            }
            other => panic!(
                "no response ({other:?}): {}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            ),
        }
    }

    /// Stops the function: its logs.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn futures_block<F: std::future::Future>(future: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(future))
}

/// The metrics the functions write (docs/operations.md, "Metrics"): a scripted sequence
/// through token-issue, user-list and user-get, each kept warm across its invocations, and
/// the Embedded Metric Format lines in their logs, every one valid by the specification,
/// must add up to what the sequence did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_functions_count_a_scripted_sequence_in_embedded_metric_lines() {
    use shared::model::{Email, MfaState, MfaType};
    use shared::store::{CodeChange, UserStore};
    const NAMESPACE: &str = "UserApi/test";
    let dir = tempfile::tempdir().expect("temp dir");
    let key = DevKey::load_or_create(dir.path()).expect("key");
    let dynamodb = moto::dynamodb(&RequestCounter::default());
    let table = moto::fresh_table(&dynamodb).await;
    let store = shared::store::dynamo::DynamoStore::new(dynamodb, &table);
    moto::sesv2(moto::endpoint())
        .create_email_identity()
        .email_identity(SENDER)
        .send()
        .await
        .expect("sender identity");
    let password = shared::secrets::Password::parse("Wonderland1".into()).expect("password");
    let hash = password.hash().await.expect("hash");
    let created = shared::model::Timestamp::new(chrono::Utc::now() - chrono::TimeDelta::seconds(2));
    for (user_id, mfa) in [("alice", false), ("bob", true)] {
        let mut user = tests::conformance::user("domain-local", user_id, RoleType::User);
        user.auth_type = shared::model::AuthType::Local;
        user.password_hash = Some(hash.clone());
        user.start_tokens(created);
        if mfa {
            user.mfa.state = MfaState::Enabled;
            user.mfa.mfa_type = Some(MfaType::Email);
            user.mfa.email = Some(Email::parse("mfa.email", "bob@example.com").expect("email"));
        }
        store.create_user(&user).await.expect("a user");
    }
    let signing_key = moto::signing_key(&moto::kms(&RequestCounter::default()), "ECC_NIST_P256").await;
    let mut env = function_env(&table, ("TOKEN_SIGNING_KEY", &signing_key));
    env.push(("IDENTITY_JWKS".into(), key.jwks_json().to_string()));
    env.push(("METRICS_NAMESPACE".into(), NAMESPACE.into()));
    let sign_in = |user_id: &str, password: &str, code: Option<&str>| {
        let mut event = event("token-issue");
        let mut body = serde_json::json!({
            "domain_id": "domain-local",
            "credentials": {"user_id": user_id, "password": password},
        });
        if let Some(code) = code {
            body["verify_code"] = Value::String(code.into());
            body["auth_type"] = Value::String("MFA".into());
        }
        event["body"] = Value::String(body.to_string());
        event
    };

    let mut issue = Warm::start(env!("CARGO_BIN_EXE_token-issue"), "token-issue", &env, dir.path());
    let (status, tokens) = issue.call(sign_in("alice", "Wonderland1", None)).await;
    assert_eq!(status, 200, "{tokens}");
    let alice_token = tokens["access_token"].as_str().expect("a token").to_string();
    // Five wrong passwords: the fifth locks; then the right one is refused unlooked-at.
    for _ in 0..5 {
        assert_eq!(issue.call(sign_in("alice", "Wonderland2", None)).await.0, 401);
    }
    assert_eq!(issue.call(sign_in("alice", "Wonderland1", None)).await.0, 401);
    // bob's second factor: a code mailed, then a wrong one.
    let (status, answer) = issue.call(sign_in("bob", "Wonderland1", None)).await;
    assert_ne!(status, 200, "{answer}");
    let mails = moto::sent_mails("bob@example.com").await;
    let code =
        tests::six_digit_number(mails.last().expect("a mail")["body"].as_str().unwrap_or_default()).expect("a code");
    let wrong = if code == "123456" { "654321" } else { "123456" };
    assert_eq!(issue.call(sign_in("bob", "Wonderland1", Some(wrong))).await.0, 401);
    let mut logs = issue.stop();

    // Two lists by the domain admin: the first reads the domain whole, the second its copy.
    let mut list = Warm::start(env!("CARGO_BIN_EXE_user-list"), "user-list", &env, dir.path());
    for _ in 0..2 {
        let (status, users) = list
            .call(prepare(event("list"), token(&key, Caller::Admin), None))
            .await;
        assert_eq!(status, 200, "{users}");
    }
    logs.push_str(&list.stop());

    // alice's tokens revoked: her token from before is refused.
    let alice = store
        .get_user(
            &shared::model::DomainId::parse("domain_id", "domain-local".into()).expect("domain"),
            &shared::model::UserId::parse("user_id", "alice".into()).expect("id"),
        )
        .await
        .expect("read")
        .expect("alice");
    let mut revoked = alice.item.clone();
    revoked.revoke_tokens(shared::model::Timestamp::new(chrono::Utc::now()));
    store
        .save_user(&alice, &revoked, CodeChange::None)
        .await
        .expect("revoke");
    let mut get = Warm::start(env!("CARGO_BIN_EXE_user-get"), "user-get", &env, dir.path());
    let mut own = event("get");
    own["body"] = Value::String(serde_json::json!({"user_id": "alice", "domain_id": "domain-local"}).to_string());
    let (status, answer) = get.call(prepare(own, Some(alice_token), None)).await;
    assert_eq!(status, 401, "{answer}");
    logs.push_str(&get.stop());

    let documents = tests::emf::documents(&logs);
    let count = |name: &str, dimensions: &[(&str, &str)]| tests::emf::total(&documents, NAMESPACE, name, dimensions);
    let outcome = |o| [("outcome", o)];
    assert_eq!(count("SignIns", &outcome("succeeded")), 1.0, "{logs}");
    assert_eq!(count("SignIns", &outcome("failed")), 6.0, "{logs}");
    assert_eq!(count("SignIns", &outcome("locked")), 1.0, "{logs}");
    assert_eq!(count("SignIns", &outcome("mfa_required")), 1.0, "{logs}");
    assert_eq!(count("SignIns", &outcome("error")), 0.0, "{logs}");
    assert_eq!(count("Lockouts", &[]), 1.0, "{logs}");
    assert_eq!(count("CodesIssued", &[("kind", "sign_in")]), 1.0, "{logs}");
    assert_eq!(count("CodeAttemptsFailed", &[("kind", "sign_in")]), 1.0, "{logs}");
    assert_eq!(count("MailsSent", &[("kind", "mfa_code")]), 1.0, "{logs}");
    assert_eq!(count("MailsSent", &[]), 1.0, "{logs}");
    assert_eq!(count("MailsFailed", &[]), 0.0, "{logs}");
    assert_eq!(count("DomainCopyColdReads", &[]), 1.0, "{logs}");
    assert_eq!(count("DomainCopyHits", &[]), 1.0, "{logs}");
    assert!(count("DomainCopyBytesRead", &[]) > 0.0, "{logs}");
    assert_eq!(count("TokensRefused", &[("reason", "revoked")]), 1.0, "{logs}");
    // Units as the catalog gives them; no user, domain or request in a dimension.
    for document in &documents {
        for directive in document["_aws"]["CloudWatchMetrics"].as_array().into_iter().flatten() {
            for metric in directive["Metrics"].as_array().into_iter().flatten() {
                let name = metric["Name"].as_str().unwrap_or_default();
                let expected = if name == "DomainCopyBytesRead" {
                    "Bytes"
                } else {
                    "Count"
                };
                assert_eq!(metric["Unit"], expected, "{name}");
            }
            for key in directive["Dimensions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_array)
                .flatten()
            {
                assert!(
                    ["outcome", "kind", "reason"].contains(&key.as_str().unwrap_or_default()),
                    "{key}"
                );
            }
        }
    }
}

/// The users-console function, as deployed: the console's page (gzipped for a client that
/// takes gzip, plain for one that does not), with the headers `users-local serve` sends, and
/// the API document; other paths are the API's 404.
#[tokio::test]
async fn the_console_function_serves_the_page_and_the_document() {
    use base64::Engine;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut runtime = RuntimeApi::start().await;
    let log = dir.path().join("users-console.log");
    let mut child = runtime.spawn(
        Path::new(env!("CARGO_BIN_EXE_users-console")),
        "users-console",
        &[],
        &log,
    );
    let mut answer = async |event: Value| match runtime.invoke(event, Duration::from_secs(30)).await {
        Some(Outcome::Response { body, .. }) => body,
        other => panic!(
            "no response ({other:?}): {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        ),
    };
    let bytes = |response: &Value| {
        let body = response["body"].as_str().unwrap_or_default();
        if response["isBase64Encoded"] == true {
            base64::engine::general_purpose::STANDARD.decode(body).expect("base64")
        } else {
            body.as_bytes().to_vec()
        }
    };

    let gzipped = answer(event("console")).await;
    assert_eq!(gzipped["statusCode"], 200, "{gzipped}");
    let headers = &gzipped["headers"];
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["content-encoding"], "gzip");
    assert_eq!(headers["cache-control"], "no-cache");
    assert_eq!(
        headers["content-security-policy"],
        functions::web::console::CONTENT_SECURITY
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(&bytes(&gzipped)[..2], [0x1f, 0x8b], "a gzip stream");

    let mut plain_request = event("console");
    plain_request["headers"]
        .as_object_mut()
        .expect("headers")
        .remove("accept-encoding");
    plain_request["rawPath"] = "/console/".into();
    let plain = answer(plain_request).await;
    assert_eq!(plain["statusCode"], 200, "{plain}");
    assert!(plain["headers"]["content-encoding"].is_null(), "{plain}");
    let page = String::from_utf8(bytes(&plain)).expect("UTF-8");
    assert!(page.contains("<div id=\"app\"></div>"), "{page}");

    let document = answer(event("openapi")).await;
    assert_eq!(document["statusCode"], 200, "{document}");
    assert_eq!(document["headers"]["content-type"], "application/json");
    let openapi: Value = serde_json::from_slice(&bytes(&document)).expect("JSON");
    assert!(openapi["paths"]["/identity/v2/user/create"].is_object());

    let mut elsewhere = event("openapi");
    elsewhere["rawPath"] = "/identity/v2/user/get".into();
    let missing = answer(elsewhere).await;
    assert_eq!(missing["statusCode"], 404, "{missing}");
    let error: Value = serde_json::from_slice(&bytes(&missing)).expect("JSON");
    assert_eq!(error["detail"]["code"], "ERROR_NOT_FOUND");
    let _ = child.kill();
    let _ = child.wait();
}
