//! Does the time to answer a failed sign-in tell who exists? (SPEC section 9: every failure
//! takes the same time; an unknown user costs a dummy Argon2 verification.)
//!
//! `cargo bench -p users-shared --bench sign_in_timing` times token issue through
//! `users::http::route` (the code path of every binary) on the embedded store, interleaved,
//! 200 of each:
//! - `known`: an existing LOCAL user, a wrong password (each user tried once, so none locks);
//! - `unknown`: a user_id that does not exist;
//!
//! and prints each distribution (p10, median, p90, p99) and how well the best single
//! threshold on the time tells the two apart (50% is a coin toss, 100% is every time). For
//! comparison, `no dummy` times what an unknown user would cost without the dummy hash: the
//! same request's store work alone (a locked user_id, whose password is never checked).

mod common;

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use serde_json::json;
use users::auth::TokenVerifier;
use users::model::{
    AuthType, DomainId, Email, Language, Mfa, Name, RoleType, State, Tags, Timestamp, Timezone, User, UserId,
};
use users::secrets::Password;
use users::store::embedded::EmbeddedStore;

const DOMAIN: &str = "domain-bench";
const EACH: usize = 200;

fn user(i: usize, hash: &users::secrets::PasswordHash) -> User {
    User {
        domain_id: DomainId::parse("domain_id", DOMAIN.into()).expect("domain"),
        user_id: UserId::parse("user_id", format!("user-{i:04}")).expect("id"),
        name: Name::parse("name", "Person").expect("name"),
        state: State::Enabled,
        email: Some(Email::parse("email", &format!("u{i}@example.com")).expect("email")),
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
        created_at: Timestamp::new(Utc::now()),
        last_accessed_at: None,
        password_hash: Some(hash.clone()),
        token_generation: 0,
        tokens_revoked_at: None,
    }
}

fn issue(user_id: &str) -> lambda_http::Request {
    let body = json!({"credentials": {"user_id": user_id, "password": "Wrong-guess-1"}, "domain_id": DOMAIN});
    common::request("/identity/v2/token/issue", None, &body)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("dir");
    let store = EmbeddedStore::open(&dir.path().join("db")).expect("store");
    runtime.block_on(async {
        let password = Password::parse("Secret123".into()).expect("password");
        let hash = password.hash().await.expect("hash");
        let users = (0..EACH).map(|i| user(i, &hash)).collect();
        store.create_many(users).await.expect("users");
    });
    let app = Arc::new(common::app(
        Arc::new(store),
        dir.path(),
        TokenVerifier::trusting_no_key(),
    ));
    println!(
        "{} cores, {EACH} failed sign-ins of each kind, interleaved, {}",
        std::thread::available_parallelism().map_or(1, usize::from),
        Utc::now().format("%Y-%m-%d")
    );
    runtime.block_on(async {
        let time = |user_id: String| {
            let app = Arc::clone(&app);
            async move {
                let started = Instant::now();
                let response = users::http::route(&app, issue(&user_id)).await;
                let took = started.elapsed();
                assert_eq!(response.status(), 401);
                took
            }
        };
        let (mut known, mut unknown) = (Vec::new(), Vec::new());
        for i in 0..EACH {
            known.push(time(format!("user-{i:04}")).await);
            unknown.push(time(format!("ghost-{i:04}")).await);
        }
        println!("{}", common::summary("known", &mut known));
        println!("{}", common::summary("unknown", &mut unknown));
        println!(
            "best threshold tells them apart in {:.1}% of requests",
            common::best_threshold_accuracy(&known, &unknown) * 100.0
        );
        // Without a password check at all: a locked user_id (five failures first).
        for _ in 0..5 {
            time("locked".into()).await;
        }
        let mut skipped = Vec::new();
        for _ in 0..EACH {
            skipped.push(time("locked".into()).await);
        }
        println!("{}", common::summary("no dummy", &mut skipped));
        println!(
            "without the dummy hash, an unknown user would be told apart in {:.1}% of requests",
            common::best_threshold_accuracy(&known, &skipped) * 100.0
        );
    });
}
