//! SPEC 4.5 reset_password: no token, no enumeration, one mail per minute.

use serde_json::json;
use tests::{DOMAIN, PASSWORD, TestApi};

/// A reset_password request alone: answered, its work handed over and not run yet.
async fn request_reset(api: &TestApi, user_id: &str) -> tests::Reply {
    api.post(
        "/identity/v2/user/reset-password",
        None,
        json!({"user_id": user_id, "domain_id": DOMAIN}),
    )
    .await
}

/// A reset_password request, then the work it handed over (which the local server's
/// background worker runs after the answer).
async fn reset(api: &TestApi, user_id: &str) -> tests::Reply {
    let reply = request_reset(api, user_id).await;
    api.settle().await;
    reply
}

#[tokio::test]
async fn a_local_user_with_a_verified_email_gets_a_temporary_password() {
    let api = TestApi::new().await;
    api.create_verified("alice", "a@example.com").await;
    assert_eq!(reset(&api, "alice").await.ok(), json!({}));
    assert_eq!(api.get("alice").await["required_actions"], json!(["UPDATE_PASSWORD"]));
    let mail = &api.mails_to("a@example.com")[0];
    assert_eq!(mail["subject"], "[Cloudforet] Your password has been changed");
    let temporary = api.last_temporary_password("a@example.com");
    let same = json!({"user_id": "alice", "domain_id": DOMAIN, "password": temporary});
    api.admin_call("update", same)
        .await
        .err("ERROR_PASSWORD_NOT_CHANGED", 400);
}

#[tokio::test]
async fn every_other_case_answers_the_same_and_changes_nothing() {
    let api = TestApi::new().await;
    let unverified = api.create_user("unverified", json!({"email": "u@example.com"})).await;
    let no_email = api.create_user("noemail", json!({})).await;
    api.admin_call("create", json!({"user_id": "ext", "auth_type": "EXTERNAL", "permission_group": "DOMAIN", "domain_id": DOMAIN, "email": "e@example.com"})).await.ok();
    api.admin_call(
        "verify-email",
        json!({"user_id": "ext", "domain_id": DOMAIN, "force": true}),
    )
    .await
    .ok();
    let ext = api.get("ext").await;
    for user_id in ["ghost", "unverified", "noemail", "ext"] {
        let reply = reset(&api, user_id).await;
        assert_eq!((reply.status, reply.body.clone()), (200, json!({})), "{user_id}");
    }
    assert!(api.mails().is_empty());
    assert_eq!(api.get("unverified").await, unverified);
    assert_eq!(api.get("noemail").await, no_email);
    assert_eq!(api.get("ext").await, ext);
}

#[tokio::test]
async fn malformed_requests_are_400() {
    let api = TestApi::new().await;
    api.post("/identity/v2/user/reset-password", None, json!({"domain_id": DOMAIN}))
        .await
        .err("ERROR_REQUIRED_PARAMETER", 400);
    api.post(
        "/identity/v2/user/reset-password",
        None,
        json!({"user_id": "a", "domain_id": DOMAIN, "x": 1}),
    )
    .await
    .err("ERROR_INVALID_PARAMETER", 400);
}

#[tokio::test]
async fn at_most_one_reset_mail_per_user_per_minute() {
    let api = TestApi::new().await;
    api.create_verified("alice", "a@example.com").await;
    reset(&api, "alice").await.ok();
    let temporary = api.last_temporary_password("a@example.com");
    api.clock.advance(59);
    reset(&api, "alice").await.ok();
    assert_eq!(api.mails_to("a@example.com").len(), 1);
    // The second call changed nothing: the first temporary password is still the password.
    let same = json!({"user_id": "alice", "domain_id": DOMAIN, "password": temporary});
    api.admin_call("update", same)
        .await
        .err("ERROR_PASSWORD_NOT_CHANGED", 400);
    api.clock.advance(2);
    reset(&api, "alice").await.ok();
    assert_eq!(api.mails_to("a@example.com").len(), 2);
}

#[tokio::test]
async fn update_with_reset_password_does_not_count_toward_the_limit() {
    let api = TestApi::new().await;
    api.create_verified("alice", "a@example.com").await;
    api.admin_call(
        "update",
        json!({"user_id": "alice", "domain_id": DOMAIN, "reset_password": true}),
    )
    .await
    .ok();
    reset(&api, "alice").await.ok();
    assert_eq!(api.mails_to("a@example.com").len(), 2);
}

#[tokio::test]
async fn a_failed_mail_changes_nothing_and_does_not_block_the_next_try() {
    let api = TestApi::new().await;
    let before = api.create_verified("alice", "a@example.com").await;
    api.set_mail_failing(true);
    assert_eq!(reset(&api, "alice").await.ok(), json!({}));
    assert_eq!(api.get("alice").await, before);
    api.admin_call(
        "update",
        json!({"user_id": "alice", "domain_id": DOMAIN, "password": PASSWORD}),
    )
    .await
    .err("ERROR_PASSWORD_NOT_CHANGED", 400);
    api.set_mail_failing(false);
    reset(&api, "alice").await.ok();
    assert_eq!(api.mails_to("a@example.com").len(), 1);
}

#[tokio::test]
async fn the_answer_comes_before_the_work_and_is_the_same_for_everyone() {
    let api = TestApi::new().await;
    api.create_verified("alice", "a@example.com").await;
    let before = api.get("alice").await;
    for user_id in ["alice", "ghost"] {
        let reply = request_reset(&api, user_id).await;
        assert_eq!((reply.status, reply.body), (200, json!({})), "{user_id}");
    }
    // Answered, and nothing done yet: no hash, no mail, no write on the request path.
    assert!(api.mails().is_empty());
    assert_eq!(api.get("alice").await, before);
    api.settle().await;
    assert_eq!(api.mails_to("a@example.com").len(), 1);
    assert_eq!(api.get("alice").await["required_actions"], json!(["UPDATE_PASSWORD"]));
}

#[tokio::test]
async fn the_window_counts_from_the_request_not_from_when_the_work_runs() {
    let api = TestApi::new().await;
    api.create_verified("alice", "a@example.com").await;
    // Two requests 59 s apart, whose work runs only later: the second changes nothing.
    request_reset(&api, "alice").await.ok();
    api.clock.advance(59);
    request_reset(&api, "alice").await.ok();
    api.clock.advance(120);
    api.settle().await;
    assert_eq!(api.mails_to("a@example.com").len(), 1);
}
