//! The SES v2 transport: mail goes out through moto's SES, and a provider that fails or
//! throttles makes the operation answer 503 with nothing half-done.

use std::sync::Arc;

use serde_json::json;
use shared::mail::ses::SesMailer;
use shared::model::{DomainId, Timestamp, UserId};
use shared::store::CodePurpose;
use tests::failing::{FailingEndpoint, Failure};
use tests::{DOMAIN, TestApi, moto, six_digit_number};

const SENDER: &str = "no-reply@test.local";

async fn api_mailing_through(endpoint: &str) -> TestApi {
    let mut api = TestApi::new().await;
    api.use_mailer(Arc::new(SesMailer::new(moto::sesv2(endpoint))));
    api
}

fn unique_address() -> String {
    format!("{}@example.com", moto::unique_id())
}

#[tokio::test]
async fn verify_email_is_sent_through_ses_and_its_code_confirms_the_address() {
    let ses = moto::sesv2(moto::endpoint());
    ses.create_email_identity()
        .email_identity(SENDER)
        .send()
        .await
        .expect("verified sender on moto");
    let api = api_mailing_through(moto::endpoint()).await;
    let address = unique_address();
    api.create_user("alice", json!({"email": address})).await;
    api.admin_call("verify-email", json!({"user_id": "alice", "domain_id": DOMAIN}))
        .await
        .ok();

    let sent = moto::sent_mails(&address).await;
    assert_eq!(sent.len(), 1, "one mail through SES: {sent:?}");
    assert_eq!(sent[0]["source"], SENDER);
    assert_eq!(sent[0]["subject"], "[Cloudforet] Verify your notification email");
    let code = six_digit_number(sent[0]["body"].as_str().unwrap_or_default()).expect("a code in the HTML body");
    let user = api
        .admin_call(
            "confirm-email",
            json!({"user_id": "alice", "domain_id": DOMAIN, "verify_code": code}),
        )
        .await
        .ok();
    assert_eq!(user["email_verified"], true);
}

#[tokio::test]
async fn a_rejected_sender_is_503_and_stores_no_code() {
    // moto refuses senders that are not verified identities, as SES does (MessageRejected).
    let mut api = api_mailing_through(moto::endpoint()).await;
    let address = unique_address();
    api.app.composer.from = format!("unverified-{address}");
    api.create_user("alice", json!({"email": address})).await;
    api.admin_call("verify-email", json!({"user_id": "alice", "domain_id": DOMAIN}))
        .await
        .err("ERROR_UNAVAILABLE", 503);
    assert_no_code(&api, "alice").await;
}

async fn assert_no_code(api: &TestApi, user_id: &str) {
    let domain = DomainId::parse("domain_id", DOMAIN.into()).expect("domain");
    let user = UserId::parse("user_id", user_id.into()).expect("user");
    let now = Timestamp::new(chrono::Utc::now());
    let code = api
        .app
        .store
        .take_code_attempt(&domain, &user, CodePurpose::VerifyEmail, now)
        .await
        .expect("store");
    assert!(code.is_none(), "a code was stored although its mail failed");
}

async fn provider_failure_leaves_nothing_half_done(failure: Failure) {
    let endpoint = FailingEndpoint::start(failure).await;
    let api = api_mailing_through(&endpoint.url).await;

    // create + reset_password: the temporary-password mail fails, so no user exists.
    let create = json!({
        "user_id": "bob", "auth_type": "LOCAL", "permission_group": "DOMAIN", "domain_id": DOMAIN,
        "reset_password": true, "email": unique_address(),
    });
    let message = api.admin_call("create", create).await.err("ERROR_UNAVAILABLE", 503);
    assert!(!message.contains("test failure"), "provider detail leaked: {message}");
    assert_eq!(
        api.admin_call("get", json!({"user_id": "bob", "domain_id": DOMAIN}))
            .await
            .code(),
        "ERROR_NOT_FOUND"
    );
    // The SDK retried before giving up.
    assert_eq!(endpoint.requests(), 3, "standard retry: three attempts");

    // verify_email: the code mail fails, so no code is stored and the user is unchanged.
    let before = api.create_user("alice", json!({"email": unique_address()})).await;
    api.admin_call("verify-email", json!({"user_id": "alice", "domain_id": DOMAIN}))
        .await
        .err("ERROR_UNAVAILABLE", 503);
    assert_no_code(&api, "alice").await;
    assert_eq!(api.get("alice").await, before);
}

#[tokio::test]
async fn a_failing_provider_is_503_and_nothing_is_half_done() {
    provider_failure_leaves_nothing_half_done(Failure::ServerError).await;
}

#[tokio::test]
async fn a_throttling_provider_is_503_and_nothing_is_half_done() {
    provider_failure_leaves_nothing_half_done(Failure::Throttling).await;
}
