//! SPEC 4.6 set_required_actions.

use serde_json::json;
use tests::{DOMAIN, TestApi};

#[tokio::test]
async fn actions_are_a_union_without_duplicates() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    let body = json!({"user_id": "alice", "domain_id": DOMAIN, "actions": ["UPDATE_PASSWORD", "UPDATE_PASSWORD"]});
    assert_eq!(
        api.admin_call("set-required-actions", body.clone()).await.ok()["required_actions"],
        json!(["UPDATE_PASSWORD"])
    );
    assert_eq!(
        api.admin_call("set-required-actions", body).await.ok()["required_actions"],
        json!(["UPDATE_PASSWORD"])
    );
}

#[tokio::test]
async fn actions_are_required_and_must_be_known() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    for actions in [json!(null), json!([])] {
        let body = json!({"user_id": "alice", "domain_id": DOMAIN, "actions": actions});
        api.admin_call("set-required-actions", body)
            .await
            .err("ERROR_REQUIRED_PARAMETER", 400);
    }
    let body = json!({"user_id": "alice", "domain_id": DOMAIN, "actions": ["DANCE"]});
    assert!(
        api.admin_call("set-required-actions", body)
            .await
            .err("ERROR_INVALID_PARAMETER", 400)
            .contains("actions")
    );
}

#[tokio::test]
async fn external_users_cannot_be_asked_to_update_a_password() {
    let api = TestApi::new().await;
    api.admin_call(
        "create",
        json!({"user_id": "ext", "auth_type": "EXTERNAL", "permission_group": "DOMAIN", "domain_id": DOMAIN}),
    )
    .await
    .ok();
    let body = json!({"user_id": "ext", "domain_id": DOMAIN, "actions": ["UPDATE_PASSWORD"]});
    api.admin_call("set-required-actions", body)
        .await
        .err("ERROR_NOT_ALLOWED_ACTIONS", 400);
    assert_eq!(api.get("ext").await["required_actions"], json!([]));
}
