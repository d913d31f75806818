//! SPEC 4.2 update.

use serde_json::{Value, json};
use tests::{DOMAIN, PASSWORD, TestApi, merge};

fn update(user_id: &str, extra: Value) -> Value {
    let mut body = json!({"user_id": user_id, "domain_id": DOMAIN});
    merge(&mut body, extra);
    body
}

#[tokio::test]
async fn only_given_fields_change_and_tags_are_replaced_whole() {
    let api = TestApi::new().await;
    let before = api
        .create_user(
            "alice",
            json!({"name": "Alice", "email": "a@example.com", "tags": {"a": 1, "b": 2}}),
        )
        .await;
    let after = api
        .admin_call("update", update("alice", json!({"language": "ko", "tags": {"c": 3}})))
        .await
        .ok();
    assert_eq!(after["language"], "ko");
    assert_eq!(after["tags"], json!({"c": 3}));
    for same in ["name", "email", "timezone", "state", "created_at", "role_type", "mfa"] {
        assert_eq!(after[same], before[same], "{same}");
    }
    let after = api
        .admin_call(
            "update",
            update("alice", json!({"timezone": "Europe/Paris", "name": " Al "})),
        )
        .await
        .ok();
    assert_eq!(
        (
            after["timezone"].as_str(),
            after["name"].as_str(),
            after["language"].as_str()
        ),
        (Some("Europe/Paris"), Some("Al"), Some("ko"))
    );
}

#[tokio::test]
async fn a_changed_email_is_unverified_and_an_unchanged_one_stays_verified() {
    let api = TestApi::new().await;
    api.create_verified("alice", "a@example.com").await;
    let same = api
        .admin_call("update", update("alice", json!({"email": "a@example.com"})))
        .await
        .ok();
    assert_eq!(same["email_verified"], true);
    let changed = api
        .admin_call("update", update("alice", json!({"email": "b@example.com"})))
        .await
        .ok();
    assert_eq!(
        (changed["email"].as_str(), changed["email_verified"].as_bool()),
        (Some("b@example.com"), Some(false))
    );
    let cleared = api
        .admin_call("update", update("alice", json!({"email": ""})))
        .await
        .ok();
    assert_eq!(cleared["email"], "");
}

#[tokio::test]
async fn the_user_can_update_itself() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    let me = api.user("alice");
    assert_eq!(
        api.call("update", &me, update("alice", json!({"name": "Me"})))
            .await
            .ok()["name"],
        "Me"
    );
}

#[tokio::test]
async fn a_new_password_is_checked_and_clears_update_password() {
    let api = TestApi::new().await;
    api.admin_call("create", json!({"user_id": "alice", "auth_type": "LOCAL", "permission_group": "DOMAIN", "domain_id": DOMAIN, "reset_password": true, "email": "a@example.com"})).await.ok();
    api.admin_call("update", update("alice", json!({"password": "weakpass"})))
        .await
        .err("ERROR_INCORRECT_PASSWORD_FORMAT", 400);
    let user = api
        .admin_call("update", update("alice", json!({"password": "BrandNew123"})))
        .await
        .ok();
    assert_eq!(user["required_actions"], json!([]));
    api.admin_call("update", update("alice", json!({"password": "BrandNew123"})))
        .await
        .err("ERROR_PASSWORD_NOT_CHANGED", 400);
}

#[tokio::test]
async fn the_same_password_is_not_a_change() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    api.admin_call("update", update("alice", json!({"password": PASSWORD})))
        .await
        .err("ERROR_PASSWORD_NOT_CHANGED", 400);
}

#[tokio::test]
async fn external_users_cannot_get_a_password() {
    let api = TestApi::new().await;
    api.admin_call(
        "create",
        json!({"user_id": "ext", "auth_type": "EXTERNAL", "permission_group": "DOMAIN", "domain_id": DOMAIN}),
    )
    .await
    .ok();
    api.admin_call("update", update("ext", json!({"password": "Another123"})))
        .await
        .err("ERROR_UNABLE_TO_RESET_PASSWORD_IN_EXTERNAL_AUTH", 400);
    api.admin_call("update", update("ext", json!({"reset_password": true})))
        .await
        .err("ERROR_UNABLE_TO_RESET_PASSWORD_IN_EXTERNAL_AUTH", 400);
}

#[tokio::test]
async fn reset_password_needs_a_stored_verified_email_and_no_new_one() {
    let api = TestApi::new().await;
    api.create_user("noemail", json!({})).await;
    api.admin_call("update", update("noemail", json!({"reset_password": true})))
        .await
        .err("ERROR_UNABLE_TO_RESET_PASSWORD_WITHOUT_EMAIL", 400);
    api.create_user("unverified", json!({"email": "u@example.com"})).await;
    api.admin_call("update", update("unverified", json!({"reset_password": true})))
        .await
        .err("ERROR_VERIFICATION_UNAVAILABLE", 400);
    api.create_verified("alice", "a@example.com").await;
    api.admin_call(
        "update",
        update("alice", json!({"reset_password": true, "email": "new@example.com"})),
    )
    .await
    .err("ERROR_VERIFICATION_UNAVAILABLE", 400);
    assert!(api.mails().is_empty());
}

#[tokio::test]
async fn reset_password_mails_a_temporary_password_to_the_stored_email() {
    let api = TestApi::new().await;
    api.create_verified("alice", "a@example.com").await;
    let user = api
        .admin_call(
            "update",
            update("alice", json!({"reset_password": true, "name": "Alice"})),
        )
        .await
        .ok();
    assert_eq!(user["required_actions"], json!(["UPDATE_PASSWORD"]));
    assert_eq!(user["name"], "Alice");
    let temporary = api.last_temporary_password("a@example.com");
    api.admin_call("update", update("alice", json!({"password": temporary})))
        .await
        .err("ERROR_PASSWORD_NOT_CHANGED", 400);
}

#[tokio::test]
async fn when_the_reset_mail_fails_nothing_changes() {
    let api = TestApi::new().await;
    let before = api.create_verified("alice", "a@example.com").await;
    api.set_mail_failing(true);
    api.admin_call(
        "update",
        update("alice", json!({"reset_password": true, "name": "Changed"})),
    )
    .await
    .err("ERROR_UNAVAILABLE", 503);
    api.set_mail_failing(false);
    assert_eq!(api.get("alice").await, before);
    // The old password is still the password.
    api.admin_call("update", update("alice", json!({"password": PASSWORD})))
        .await
        .err("ERROR_PASSWORD_NOT_CHANGED", 400);
}

#[tokio::test]
async fn unknown_users_are_404() {
    let api = TestApi::new().await;
    api.admin_call("update", update("ghost", json!({"name": "x"})))
        .await
        .err("ERROR_NOT_FOUND", 404);
}
