//! Does the time to answer a failed sign-in tell who exists? (SPEC section 9: every failure
//! takes the same time; an unknown user costs a dummy Argon2 verification.)
//!
//! `cargo bench -p shared --bench sign_in_timing` times token issue through
//! `shared::http::route` (the code path of every binary) on the embedded store, in pairs whose
//! order alternates, 400 of each (200 users, twice):
//! - `known`: an existing LOCAL user, a wrong password (each user tried once, so none locks);
//! - `unknown`: a user_id that does not exist;
//!
//! and prints each distribution (p10, median, p90, p99) and how well the best single
//! threshold on the time tells the two apart (50% is a coin toss, 100% is every time). For
//! comparison, `no dummy` times what an unknown user would cost without the dummy hash: the
//! same request's store work alone (a locked user_id, whose password is never checked).
//!
//! Then authenticator-app MFA (SPEC section 10), the same way:
//! - `otp known`: a user with OTP on, a wrong password and a code, against `otp unknown`, a
//!   user_id that does not exist with the same body;
//! - `password` and `password+otp`: 200 successful sign-ins each, of users without MFA and of
//!   users with OTP on (the current code, each user once), to price the second factor.

mod common;

use std::sync::Arc;

use chrono::Utc;
use serde_json::json;
use shared::auth::TokenVerifier;
use shared::model::{Mfa, MfaState, MfaType, User};
use shared::otp::{OtpKey, OtpSecret};
use shared::secrets::Password;
use shared::store::embedded::EmbeddedStore;
use shared::vault::local::KeyFile;
use shared::vault::{Owner, Vault};

const DOMAIN: &str = "domain-bench";
const EACH: usize = 200;
/// Failed sign-ins per known user (fewer than five: none locks).
const ROUNDS: usize = 2;

fn user(i: usize, hash: &shared::secrets::PasswordHash) -> shared::model::User {
    shared::model::User {
        password_hash: Some(hash.clone()),
        ..common::verified_user(DOMAIN, &format!("user-{i:04}"), &format!("u{i}@example.com"))
    }
}

fn issue(user_id: &str) -> lambda_http::Request {
    sign_in(user_id, "Wrong-guess-1", None)
}

fn sign_in(user_id: &str, password: &str, code: Option<&str>) -> lambda_http::Request {
    let mut body = json!({"credentials": {"user_id": user_id, "password": password}, "domain_id": DOMAIN});
    if let Some(code) = code {
        body["verify_code"] = code.into();
    }
    common::request("/identity/v2/token/issue", None, &body)
}

/// An OTP user: MFA ENABLED with `secret` sealed by the vault of the bench's App (the key file
/// in `dir`), as confirm_mfa leaves it.
async fn otp_user(i: usize, hash: &shared::secrets::PasswordHash, secret: &OtpSecret, dir: &std::path::Path) -> User {
    let mut user = shared::model::User {
        password_hash: Some(hash.clone()),
        ..common::verified_user(DOMAIN, &format!("otp-{i:04}"), &format!("o{i}@example.com"))
    };
    let vault = KeyFile::load_or_create(dir).expect("MFA secret key");
    let owner = Owner {
        domain_id: &user.domain_id,
        user_id: &user.user_id,
    };
    let sealed = vault.seal(owner, secret).await.expect("sealed");
    user.mfa = Mfa {
        state: MfaState::Enabled,
        mfa_type: Some(MfaType::Otp),
        email: None,
    };
    user.otp = Some(OtpKey { sealed, last_step: 0 });
    user
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("dir");
    let store = EmbeddedStore::open(&dir.path().join("db")).expect("store");
    let secret = OtpSecret::generate().expect("a secret");
    runtime.block_on(async {
        let password = Password::parse("Secret123".into()).expect("password");
        let hash = password.hash().await.expect("hash");
        let mut users: Vec<User> = (0..EACH).map(|i| user(i, &hash)).collect();
        for i in 0..2 * EACH {
            users.push(otp_user(i, &hash, &secret, dir.path()).await);
        }
        store.create_many(users).await.expect("users");
    });
    let app = Arc::new(common::app(
        Arc::new(store),
        dir.path(),
        TokenVerifier::trusting_no_key(),
    ));
    println!(
        "{} cores, {} failed sign-ins of each kind, in pairs of alternating order, {}",
        std::thread::available_parallelism().map_or(1, usize::from),
        EACH * ROUNDS,
        Utc::now().format("%Y-%m-%d")
    );
    runtime.block_on(async {
        let time = |user_id: String| {
            let app = Arc::clone(&app);
            async move { common::time_answer(&app, issue(&user_id), 401).await }
        };
        // Pairs in alternating order (known first, then unknown first), so that whatever the
        // second request of a pair gains or loses falls on both kinds alike; every known user
        // twice (two failures: none locks).
        let (mut known, mut unknown) = (Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            for i in 0..EACH {
                let (k, u) = (format!("user-{i:04}"), format!("ghost-{round}-{i:04}"));
                if i % 2 == 0 {
                    known.push(time(k).await);
                    unknown.push(time(u).await);
                } else {
                    unknown.push(time(u).await);
                    known.push(time(k).await);
                }
            }
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

        // Authenticator-app MFA. A code of now (each OTP user signs in once, so it is new).
        let now = || u64::try_from(Utc::now().timestamp()).expect("after 1970");
        let code = || secret.code_at(now()).expect("a code");
        let timed = |request: lambda_http::Request, status: u16| {
            let app = Arc::clone(&app);
            async move { common::time_answer(&app, request, status).await }
        };
        let (mut otp_known, mut otp_unknown) = (Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            for i in 0..EACH {
                let known = || sign_in(&format!("otp-{i:04}"), "Wrong-guess-1", Some(&code()));
                let unknown = || sign_in(&format!("ghost-otp-{round}-{i:04}"), "Wrong-guess-1", Some(&code()));
                if i % 2 == 0 {
                    otp_known.push(timed(known(), 401).await);
                    otp_unknown.push(timed(unknown(), 401).await);
                } else {
                    otp_unknown.push(timed(unknown(), 401).await);
                    otp_known.push(timed(known(), 401).await);
                }
            }
        }
        println!("{}", common::summary("otp known", &mut otp_known));
        println!("{}", common::summary("otp unknown", &mut otp_unknown));
        println!(
            "OTP users: the best threshold tells them from unknown users in {:.1}% of requests",
            common::best_threshold_accuracy(&otp_known, &otp_unknown) * 100.0
        );
        let (mut password_only, mut with_otp) = (Vec::new(), Vec::new());
        for i in 0..EACH {
            let password = || sign_in(&format!("user-{i:04}"), "Secret123", None);
            let otp_user = format!("otp-{:04}", EACH + i);
            let otp = || sign_in(&otp_user, "Secret123", Some(&code()));
            if i % 2 == 0 {
                password_only.push(timed(password(), 200).await);
                with_otp.push(timed(otp(), 200).await);
            } else {
                with_otp.push(timed(otp(), 200).await);
                password_only.push(timed(password(), 200).await);
            }
        }
        println!("{}", common::summary("password", &mut password_only));
        println!("{}", common::summary("password+otp", &mut with_otp));
    });
}
