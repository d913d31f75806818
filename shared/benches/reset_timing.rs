//! Does the time to answer reset_password tell who exists? (SPEC 4.5; issue: hostile input.)
//!
//! `cargo bench -p shared --bench reset_timing` times reset_password through
//! `shared::http::route` (the code path of every binary) on the embedded store, with the
//! background worker running the handed-over work meanwhile, as on the local server:
//! - `eligible`: LOCAL users with a verified email, each reset once (each gets a mail);
//! - `unknown`: user ids that do not exist;
//!
//! interleaved, 400 of each. It prints each distribution (p10, median, p90, p99) and how well
//! the best single threshold on the time tells the two apart (50% is a coin toss, 100% is
//! every time). For comparison it also times the work itself (`ops::reset_password::apply`),
//! which the answer waited for before the hand-over (`inline`).

mod common;

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use serde_json::json;
use shared::auth::TokenVerifier;
use shared::deferred::ResetJob;
use shared::model::{DomainId, Timestamp, UserId};
use shared::store::embedded::EmbeddedStore;

const DOMAIN: &str = "domain-bench";
const EACH: usize = 400;

fn eligible_user(i: usize, prefix: &str) -> shared::model::User {
    common::verified_user(DOMAIN, &format!("{prefix}-{i:04}"), &format!("{prefix}{i}@example.com"))
}

fn reset_request(user_id: &str) -> lambda_http::Request {
    let body = json!({"user_id": user_id, "domain_id": DOMAIN});
    common::request("/identity/v2/user/reset-password", None, &body)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("dir");
    let store = EmbeddedStore::open(&dir.path().join("db")).expect("store");
    runtime.block_on(async {
        let users = (0..EACH)
            .map(|i| eligible_user(i, "user"))
            .chain((0..EACH).map(|i| eligible_user(i, "inline")))
            .collect();
        store.create_many(users).await.expect("users");
    });
    let app = Arc::new(common::app(
        Arc::new(store),
        dir.path(),
        TokenVerifier::trusting_no_key(),
    ));
    println!(
        "{} cores, {EACH} requests of each kind, interleaved, {}",
        std::thread::available_parallelism().map_or(1, usize::from),
        Utc::now().format("%Y-%m-%d")
    );
    runtime.block_on(async {
        shared::ops::start_background(&app);
        let time = |user_id: String| {
            let app = Arc::clone(&app);
            async move { common::time_answer(&app, reset_request(&user_id), 200).await }
        };
        let (mut eligible, mut unknown) = (Vec::new(), Vec::new());
        for i in 0..EACH {
            eligible.push(time(format!("user-{i:04}")).await);
            unknown.push(time(format!("ghost-{i:04}")).await);
        }
        app.deferred.settled().await;
        let mails = std::fs::read_dir(dir.path().join("outbox")).map_or(0, |d| d.count());
        println!("{}", common::summary("eligible", &mut eligible));
        println!("{}", common::summary("unknown", &mut unknown));
        println!(
            "best threshold tells them apart in {:.1}% of requests; {mails} mails sent",
            common::best_threshold_accuracy(&eligible, &unknown) * 100.0
        );

        // The work itself, which the answer waited for before the hand-over.
        let inline = |user_id: String| {
            let app = Arc::clone(&app);
            async move {
                let job = ResetJob {
                    domain_id: DomainId::parse("domain_id", DOMAIN.into()).expect("domain"),
                    user_id: UserId::parse("user_id", user_id).expect("id"),
                    requested_at: Timestamp::new(Utc::now()),
                };
                let started = Instant::now();
                shared::ops::reset_password::apply(&app, &job).await.expect("work");
                started.elapsed()
            }
        };
        let (mut eligible, mut unknown) = (Vec::new(), Vec::new());
        for i in 0..EACH / 4 {
            eligible.push(inline(format!("inline-{i:04}")).await);
            unknown.push(inline(format!("nobody-{i:04}")).await);
        }
        app.deferred.settled().await;
        println!("inline, as before ({} of each):", EACH / 4);
        println!("{}", common::summary("eligible", &mut eligible));
        println!("{}", common::summary("unknown", &mut unknown));
        println!(
            "best threshold tells them apart in {:.1}% of requests",
            common::best_threshold_accuracy(&eligible, &unknown) * 100.0
        );
    });
}
