//! SPEC 4.7 enable_mfa, 4.8 disable_mfa, 4.9 confirm_mfa.

use serde_json::{Value, json};
use tests::{DOMAIN, TestApi, merge, wrong};

fn body(extra: Value) -> Value {
    let mut body = json!({"user_id": "alice", "domain_id": DOMAIN});
    merge(&mut body, extra);
    body
}

fn enable_body() -> Value {
    body(json!({"mfa_type": "EMAIL", "options": {"email": "mfa@example.com"}}))
}

async fn setup() -> (TestApi, String) {
    let api = TestApi::new().await;
    api.create_user("alice", json!({"email": "a@example.com"})).await;
    let me = api.user("alice");
    (api, me)
}

/// Enables MFA end to end.
async fn enabled() -> (TestApi, String) {
    let (api, me) = setup().await;
    api.call("enable-mfa", &me, enable_body()).await.ok();
    let code = api.last_code("mfa@example.com");
    api.call("confirm-mfa", &me, body(json!({"verify_code": code})))
        .await
        .ok();
    (api, me)
}

#[tokio::test]
async fn enable_stores_the_settings_disabled_and_mails_a_code() {
    let (api, me) = setup().await;
    let user = api.call("enable-mfa", &me, enable_body()).await.ok();
    assert_eq!(
        user["mfa"],
        json!({"state": "DISABLED", "mfa_type": "EMAIL", "options": {"email": "mfa@example.com"}})
    );
    let mail = &api.mails_to("mfa@example.com")[0];
    assert_eq!(mail["subject"], "[Cloudforet] Verify your MFA email");
    let code = api.last_code("mfa@example.com");
    let user = api
        .call("confirm-mfa", &me, body(json!({"verify_code": code})))
        .await
        .ok();
    assert_eq!(
        user["mfa"],
        json!({"state": "ENABLED", "mfa_type": "EMAIL", "options": {"email": "mfa@example.com"}})
    );
}

#[tokio::test]
async fn enable_checks_type_and_options() {
    let (api, me) = setup().await;
    let cases = [
        (
            json!({"mfa_type": "SMS", "options": {"email": "m@example.com"}}),
            "ERROR_NOT_SUPPORTED_MFA_TYPE",
        ),
        (
            json!({"options": {"email": "m@example.com"}}),
            "ERROR_REQUIRED_PARAMETER",
        ),
        (json!({"mfa_type": "EMAIL"}), "ERROR_REQUIRED_PARAMETER"),
        (json!({"mfa_type": "EMAIL", "options": {}}), "ERROR_REQUIRED_PARAMETER"),
        (
            json!({"mfa_type": "EMAIL", "options": {"email": "nope"}}),
            "ERROR_INCORRECT_EMAIL_FORMAT",
        ),
        (
            json!({"mfa_type": "EMAIL", "options": {"email": "m@example.com", "phone": "1"}}),
            "ERROR_INVALID_PARAMETER",
        ),
        (
            json!({"mfa_type": "EMAIL", "options": "m@example.com"}),
            "ERROR_INVALID_PARAMETER",
        ),
    ];
    for (extra, code) in cases {
        let reply = api.call("enable-mfa", &me, body(extra.clone())).await;
        assert_eq!(reply.code(), code, "{extra}: {}", reply.body);
    }
    let reply = api
        .call("enable-mfa", &me, body(json!({"mfa_type": "EMAIL", "options": {}})))
        .await;
    assert!(reply.message().contains("options.email"));
    assert!(api.mails().is_empty());
}

#[tokio::test]
async fn enable_twice_is_refused_once_enabled() {
    let (api, me) = enabled().await;
    api.call("enable-mfa", &me, enable_body())
        .await
        .err("ERROR_MFA_ALREADY_ENABLED", 400);
}

#[tokio::test]
async fn disable_mails_a_code_and_stays_enabled_until_confirmed() {
    let (api, me) = enabled().await;
    let user = api.call("disable-mfa", &me, body(json!({}))).await.ok();
    assert_eq!(user["mfa"]["state"], "ENABLED");
    assert_eq!(api.mails_to("mfa@example.com").len(), 2);
    let code = api.last_code("mfa@example.com");
    let user = api
        .call("confirm-mfa", &me, body(json!({"verify_code": code})))
        .await
        .ok();
    assert_eq!(user["mfa"], json!({"state": "DISABLED"}));
}

#[tokio::test]
async fn disable_when_not_enabled_is_refused() {
    let (api, me) = setup().await;
    api.call("disable-mfa", &me, body(json!({})))
        .await
        .err("ERROR_MFA_ALREADY_DISABLED", 400);
    // Set up but not confirmed is not enabled either.
    api.call("enable-mfa", &me, enable_body()).await.ok();
    api.call("disable-mfa", &me, body(json!({})))
        .await
        .err("ERROR_MFA_ALREADY_DISABLED", 400);
    api.admin_call("disable-mfa", body(json!({"force": true})))
        .await
        .err("ERROR_MFA_ALREADY_DISABLED", 400);
}

#[tokio::test]
async fn an_admin_can_force_mfa_off_at_once() {
    let (api, me) = enabled().await;
    api.call("disable-mfa", &me, body(json!({"force": true})))
        .await
        .err("ERROR_PERMISSION_DENIED", 403);
    let mails = api.mails().len();
    let user = api.admin_call("disable-mfa", body(json!({"force": true}))).await.ok();
    assert_eq!(user["mfa"], json!({"state": "DISABLED"}));
    assert_eq!(api.mails().len(), mails);
}

#[tokio::test]
async fn confirm_needs_mfa_set_up_and_the_right_code() {
    let (api, me) = setup().await;
    api.call("confirm-mfa", &me, body(json!({"verify_code": "123456"})))
        .await
        .err("ERROR_MFA_NOT_ENABLED", 400);
    api.call("enable-mfa", &me, enable_body()).await.ok();
    let code = api.last_code("mfa@example.com");
    api.call("confirm-mfa", &me, body(json!({"verify_code": wrong(&code)})))
        .await
        .err("ERROR_INVALID_VERIFY_CODE", 400);
    assert_eq!(api.get("alice").await["mfa"]["state"], "DISABLED");
    api.call("confirm-mfa", &me, body(json!({"verify_code": code})))
        .await
        .ok();
}

#[tokio::test]
async fn mfa_codes_expire_after_five_minutes() {
    let (api, me) = setup().await;
    api.call("enable-mfa", &me, enable_body()).await.ok();
    api.clock.advance(301);
    let code = api.last_code("mfa@example.com");
    api.call("confirm-mfa", &me, body(json!({"verify_code": code})))
        .await
        .err("ERROR_INVALID_VERIFY_CODE", 400);
}

#[tokio::test]
async fn mfa_codes_allow_five_attempts() {
    let (api, me) = setup().await;
    api.call("enable-mfa", &me, enable_body()).await.ok();
    let code = api.last_code("mfa@example.com");
    for _ in 0..5 {
        api.call("confirm-mfa", &me, body(json!({"verify_code": wrong(&code)})))
            .await
            .err("ERROR_INVALID_VERIFY_CODE", 400);
    }
    api.call("confirm-mfa", &me, body(json!({"verify_code": code})))
        .await
        .err("ERROR_INVALID_VERIFY_CODE", 400);
}

#[tokio::test]
async fn a_forced_disable_voids_a_pending_disable_code() {
    let (api, me) = enabled().await;
    api.call("disable-mfa", &me, body(json!({}))).await.ok();
    let code = api.last_code("mfa@example.com");
    api.admin_call("disable-mfa", body(json!({"force": true}))).await.ok();
    api.call("enable-mfa", &me, enable_body()).await.ok();
    let fresh = api.last_code("mfa@example.com");
    if fresh != code {
        api.call("confirm-mfa", &me, body(json!({"verify_code": code})))
            .await
            .err("ERROR_INVALID_VERIFY_CODE", 400);
    }
    api.call("confirm-mfa", &me, body(json!({"verify_code": fresh})))
        .await
        .ok();
}

#[tokio::test]
async fn when_the_mfa_mail_fails_nothing_changes() {
    let (api, me) = setup().await;
    let before = api.get("alice").await;
    api.set_mail_failing(true);
    api.call("enable-mfa", &me, enable_body())
        .await
        .err("ERROR_UNAVAILABLE", 503);
    assert_eq!(api.get("alice").await, before);
}
