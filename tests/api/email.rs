//! SPEC 4.3 verify_email, 4.4 confirm_email, and the code rules of section 6.

use serde_json::{Value, json};
use shared::model::{DomainId, Timestamp, UserId};
use shared::store::CodePurpose;
use tests::{DOMAIN, TestApi, merge, wrong};

fn body(extra: Value) -> Value {
    let mut body = json!({"user_id": "alice", "domain_id": DOMAIN});
    merge(&mut body, extra);
    body
}

async fn confirm(api: &TestApi, code: &str) -> tests::Reply {
    api.call("confirm-email", &api.user("alice"), body(json!({"verify_code": code})))
        .await
}

#[tokio::test]
async fn a_mailed_code_verifies_the_email_once() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({"language": "ko"})).await;
    let me = api.user("alice");
    assert_eq!(
        api.call("verify-email", &me, body(json!({"email": "alice@example.com"})))
            .await
            .ok(),
        json!({})
    );
    let user = api.get("alice").await;
    assert_eq!(
        (user["email"].as_str(), user["email_verified"].as_bool()),
        (Some("alice@example.com"), Some(false))
    );
    let mail = &api.mails_to("alice@example.com")[0];
    assert_eq!(mail["subject"], "[Cloudforet] 알림 이메일을 인증해 주세요");
    let code = api.last_code("alice@example.com");
    assert!(mail["html"].as_str().unwrap().contains(&code));
    assert_eq!(confirm(&api, &code).await.ok()["email_verified"], true);
    confirm(&api, &code).await.err("ERROR_INVALID_VERIFY_CODE", 400);
}

#[tokio::test]
async fn the_stored_email_is_used_when_none_is_given_and_one_is_required() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    let message = api
        .admin_call("verify-email", body(json!({})))
        .await
        .err("ERROR_REQUIRED_PARAMETER", 400);
    assert!(message.contains("key = email"));
    api.admin_call("update", body(json!({"email": "a@example.com"})))
        .await
        .ok();
    api.admin_call("verify-email", body(json!({}))).await.ok();
    assert_eq!(api.mails_to("a@example.com").len(), 1);
}

#[tokio::test]
async fn verify_email_resets_a_verified_email() {
    let api = TestApi::new().await;
    api.create_verified("alice", "a@example.com").await;
    api.admin_call("verify-email", body(json!({}))).await.ok();
    assert_eq!(api.get("alice").await["email_verified"], false);
}

#[tokio::test]
async fn force_verifies_without_mail() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    api.admin_call("verify-email", body(json!({"force": true, "email": "f@example.com"})))
        .await
        .ok();
    let user = api.get("alice").await;
    assert_eq!(
        (user["email"].as_str(), user["email_verified"].as_bool()),
        (Some("f@example.com"), Some(true))
    );
    assert!(api.mails().is_empty());
}

#[tokio::test]
async fn a_wrong_code_is_refused_without_revealing_the_code() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({"email": "a@example.com"})).await;
    api.admin_call("verify-email", body(json!({}))).await.ok();
    let code = api.last_code("a@example.com");
    let reply = confirm(&api, &wrong(&code)).await;
    reply.err("ERROR_INVALID_VERIFY_CODE", 400);
    assert!(!reply.body.to_string().contains(&code));
    for junk in ["12345", "abcdef", "1234567"] {
        confirm(&api, junk).await.err("ERROR_INVALID_VERIFY_CODE", 400);
    }
    // Malformed guesses spend no attempt, and one wrong guess leaves the code usable.
    confirm(&api, &code).await.ok();
}

#[tokio::test]
async fn five_wrong_attempts_invalidate_the_code() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({"email": "a@example.com"})).await;
    api.admin_call("verify-email", body(json!({}))).await.ok();
    let code = api.last_code("a@example.com");
    for _ in 0..4 {
        confirm(&api, &wrong(&code)).await.err("ERROR_INVALID_VERIFY_CODE", 400);
    }
    // Four wrong guesses: the fifth attempt may still be the right one...
    let api2 = TestApi::new().await;
    api2.create_user("alice", json!({"email": "a@example.com"})).await;
    api2.admin_call("verify-email", body(json!({}))).await.ok();
    let code2 = api2.last_code("a@example.com");
    for _ in 0..4 {
        confirm(&api2, &wrong(&code2))
            .await
            .err("ERROR_INVALID_VERIFY_CODE", 400);
    }
    confirm(&api2, &code2).await.ok();
    // ...but after five wrong ones even the right code fails.
    confirm(&api, &wrong(&code)).await.err("ERROR_INVALID_VERIFY_CODE", 400);
    confirm(&api, &code).await.err("ERROR_INVALID_VERIFY_CODE", 400);
    assert_eq!(api.get("alice").await["email_verified"], false);
}

#[tokio::test]
async fn codes_expire_after_an_hour() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({"email": "a@example.com"})).await;
    api.admin_call("verify-email", body(json!({}))).await.ok();
    api.clock.advance(3599);
    let code = api.last_code("a@example.com");
    confirm(&api, &code).await.ok();

    api.admin_call("verify-email", body(json!({}))).await.ok();
    api.clock.advance(3601);
    confirm(&api, &api.last_code("a@example.com"))
        .await
        .err("ERROR_INVALID_VERIFY_CODE", 400);
}

#[tokio::test]
async fn a_new_code_replaces_the_previous_one() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({"email": "a@example.com"})).await;
    api.admin_call("verify-email", body(json!({}))).await.ok();
    let first = api.last_code("a@example.com");
    api.admin_call("verify-email", body(json!({}))).await.ok();
    let second = api.last_code("a@example.com");
    if first != second {
        confirm(&api, &first).await.err("ERROR_INVALID_VERIFY_CODE", 400);
    }
    confirm(&api, &second).await.ok();
}

#[tokio::test]
async fn a_code_only_verifies_the_address_it_was_sent_to() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({"email": "mine@example.com"})).await;
    let me = api.user("alice");
    api.call("verify-email", &me, body(json!({}))).await.ok();
    let code = api.last_code("mine@example.com");
    api.call("update", &me, body(json!({"email": "someone-else@example.com"})))
        .await
        .ok();
    confirm(&api, &code).await.err("ERROR_INVALID_VERIFY_CODE", 400);
    assert_eq!(api.get("alice").await["email_verified"], false);
}

#[tokio::test]
async fn when_the_mail_fails_no_code_is_stored_and_the_email_is_unchanged() {
    let api = TestApi::new().await;
    let before = api.create_user("alice", json!({"email": "old@example.com"})).await;
    api.set_mail_failing(true);
    api.admin_call("verify-email", body(json!({"email": "new@example.com"})))
        .await
        .err("ERROR_UNAVAILABLE", 503);
    assert_eq!(api.get("alice").await, before);
    let domain = DomainId::parse("d", DOMAIN.into()).unwrap();
    let user = UserId::parse("u", "alice".into()).unwrap();
    let now = Timestamp::new(chrono::Utc::now());
    assert!(
        api.app
            .store
            .take_code_attempt(&domain, &user, CodePurpose::VerifyEmail, now)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn confirm_without_a_pending_code_is_invalid() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({"email": "a@example.com"})).await;
    confirm(&api, "123456").await.err("ERROR_INVALID_VERIFY_CODE", 400);
    api.admin_call("confirm-email", body(json!({})))
        .await
        .err("ERROR_REQUIRED_PARAMETER", 400);
}

/// A user whose id is six digits still gets a mail whose only six-digit run is the code, in
/// both bodies; and that code confirms.
#[tokio::test]
async fn the_code_is_the_only_six_digit_run_even_when_the_user_id_is_one() {
    let api = TestApi::new().await;
    api.create_user("123456", json!({})).await;
    let target = json!({"user_id": "123456", "domain_id": DOMAIN, "email": "n@example.com"});
    api.admin_call("verify-email", target).await.ok();
    let mail = &api.mails_to("n@example.com")[0];
    for body in ["text", "html"] {
        let text = mail[body].as_str().unwrap_or_default();
        let runs: Vec<&str> = text
            .split(|c: char| !c.is_ascii_digit())
            .filter(|r| r.len() == 6)
            .collect();
        assert_eq!(runs.len(), 1, "{body}: {text}");
        assert_ne!(runs[0], "123456", "{body}: {text}");
    }
    let code = api.last_code("n@example.com");
    let confirm = json!({"user_id": "123456", "domain_id": DOMAIN, "verify_code": code});
    assert_eq!(
        api.admin_call("confirm-email", confirm).await.ok()["email_verified"],
        true
    );
}
