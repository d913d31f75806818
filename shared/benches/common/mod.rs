//! What the benchmarks share: an App on a store, with the outbox in a temporary folder, and
//! requests as API Gateway would hand them to `shared::http::route`.

#![allow(dead_code)] // each bench uses its own part

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use lambda_http::Body;
use serde_json::Value;
use shared::App;
use shared::auth::TokenVerifier;
use shared::clock::SystemClock;
use shared::deferred::Background;
use shared::mail::MailComposer;
use shared::mail::outbox::OutboxMailer;
use shared::model::{
    AuthType, DomainId, Email, Language, Mfa, Name, RoleType, State, Tags, Timestamp, Timezone, User, UserId,
};
use shared::store::UserStore;

/// A token `key` signs for `root`, an admin of `domain`, valid for an hour.
pub fn admin_token(key: &shared::auth::DevKey, domain: &str) -> String {
    let request = shared::auth::TokenRequest {
        domain_id: domain,
        user_id: "root",
        role: RoleType::DomainAdmin,
        ttl_seconds: 3600,
    };
    key.sign(&request).expect("the bench's admin token")
}

/// An App over `store`, mailing to `dir/outbox`, verifying tokens with `tokens`, its
/// handed-over work queued in the background (started by the bench if it wants it run).
pub fn app(store: Arc<dyn UserStore>, dir: &Path, tokens: TokenVerifier) -> App {
    // The dev key in `dir` signs, as on the local server.
    let key = Arc::new(shared::auth::DevKey::load_or_create(dir).expect("dev key"));
    let issuer = shared::auth::Issuer::new(key, vec![], "users".into(), 1800, 10800);
    let tokens = shared::auth::Keyring::new(tokens, Some(Arc::new(issuer)));
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
        vault: Arc::new(shared::vault::local::KeyFile::load_or_create(dir).expect("MFA secret key")),
        otp_issuer: "bench".into(),
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

pub fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn summary(name: &str, samples: &mut [Duration]) -> String {
    samples.sort();
    let at = |q: f64| millis(samples[((samples.len() as f64 - 1.0) * q).round() as usize]);
    format!(
        "{name:>9}: p10 {:.3} ms, median {:.3} ms, p90 {:.3} ms, p99 {:.3} ms",
        at(0.10),
        at(0.50),
        at(0.90),
        at(0.99)
    )
}

/// The share of all samples the best threshold classifies right ("slower than t ⇒ eligible",
/// or the reverse), over every threshold between samples.
pub fn best_threshold_accuracy(eligible: &[Duration], unknown: &[Duration]) -> f64 {
    let mut all: Vec<(Duration, bool)> = eligible
        .iter()
        .map(|d| (*d, true))
        .chain(unknown.iter().map(|d| (*d, false)))
        .collect();
    all.sort();
    let total = all.len() as f64;
    // Before any sample: everything is "above" the threshold.
    let (mut eligible_below, mut unknown_below) = (0usize, 0usize);
    let mut best: f64 = 0.0;
    for i in 0..=all.len() {
        let right = eligible.len() - eligible_below + unknown_below;
        let accuracy = right as f64 / total;
        best = best.max(accuracy).max(1.0 - accuracy);
        if let Some((_, is_eligible)) = all.get(i) {
            if *is_eligible {
                eligible_below += 1;
            } else {
                unknown_below += 1;
            }
        }
    }
    best
}

/// An ENABLED LOCAL user of `domain` with a verified `email` and no password.
pub fn verified_user(domain: &str, user_id: &str, email: &str) -> User {
    User {
        domain_id: DomainId::parse("domain_id", domain.into()).expect("domain"),
        user_id: UserId::parse("user_id", user_id.into()).expect("id"),
        name: Name::parse("name", "Person").expect("name"),
        state: State::Enabled,
        email: Some(Email::parse("email", email).expect("email")),
        email_verified: true,
        auth_type: AuthType::Local,
        role_type: RoleType::User,
        role_binding: None,
        workspace_id: None,
        mfa: Mfa::default(),
        language: Language::parse("language", "en").expect("language"),
        timezone: Timezone::default(),
        required_actions: vec![],
        tags: Tags::parse("tags", serde_json::Map::new()).expect("tags"),
        created_at: Timestamp::new(chrono::Utc::now()),
        last_accessed_at: None,
        password_hash: None,
        token_generation: 0,
        tokens_revoked_at: None,
        mfa_enforced: false,
        otp: None,
    }
}

/// How long `app` takes to answer `request`, which must answer `status`.
pub async fn time_answer(app: &App, request: lambda_http::Request, status: u16) -> Duration {
    let started = std::time::Instant::now();
    let response = shared::http::route(app, request).await;
    let took = started.elapsed();
    assert_eq!(response.status(), status);
    took
}

/// User `i` of a synthetic domain: names, states, auth types, languages and two tags vary
/// with `i`, as a real domain's would.
pub fn synthetic_user(domain: &str, i: usize) -> User {
    let teams = ["core", "edge", "data", "infra", "web"];
    let mut tags = serde_json::Map::new();
    tags.insert("team".into(), Value::from(teams[i % teams.len()]));
    tags.insert("level".into(), Value::from((i % 7) as i64));
    User {
        domain_id: DomainId::parse("domain_id", domain.into()).unwrap(),
        user_id: UserId::parse("user_id", format!("user-{i:06}")).unwrap(),
        name: Name::parse("name", &format!("Person {}", (i * 7919) % 100_000)).unwrap(),
        state: if i.is_multiple_of(10) {
            State::Disabled
        } else {
            State::Enabled
        },
        email: Some(Email::parse("email", &format!("user{i}@example.com")).unwrap()),
        email_verified: i.is_multiple_of(3),
        auth_type: if i.is_multiple_of(4) {
            AuthType::External
        } else {
            AuthType::Local
        },
        role_type: RoleType::User,
        role_binding: None,
        workspace_id: None,
        mfa: Mfa::default(),
        language: Language::parse("language", ["en", "ko", "ja"][i % 3]).unwrap(),
        timezone: Timezone::default(),
        required_actions: vec![],
        tags: Tags::parse("tags", tags).unwrap(),
        created_at: Timestamp::new(chrono::Utc::now()),
        last_accessed_at: None,
        password_hash: None,
        token_generation: 0,
        tokens_revoked_at: None,
        mfa_enforced: false,
        otp: None,
    }
}

pub mod latency_dynamo;
