//! Does the time to answer a failed sign-in tell who exists? (SPEC section 9: every failure
//! takes the same time; an unknown user costs a dummy Argon2 verification.)
//!
//! `cargo bench -p shared --bench sign_in_timing` times token issue through
//! `shared::http::route` (the code path of every binary) on the embedded store, interleaved,
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

use chrono::Utc;
use serde_json::json;
use shared::auth::TokenVerifier;
use shared::secrets::Password;
use shared::store::embedded::EmbeddedStore;

const DOMAIN: &str = "domain-bench";
const EACH: usize = 200;

fn user(i: usize, hash: &shared::secrets::PasswordHash) -> shared::model::User {
    shared::model::User {
        password_hash: Some(hash.clone()),
        ..common::verified_user(DOMAIN, &format!("user-{i:04}"), &format!("u{i}@example.com"))
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
            async move { common::time_answer(&app, issue(&user_id), 401).await }
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
