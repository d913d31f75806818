//! SPEC 4.10 enable, disable, delete (with the last-admin rule) and 4.11 get.

use serde_json::json;
use tests::{DOMAIN, TestApi};

fn target(user_id: &str) -> serde_json::Value {
    json!({"user_id": user_id, "domain_id": DOMAIN})
}

#[tokio::test]
async fn disable_and_enable_change_the_state() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    assert_eq!(
        api.admin_call("disable", target("alice")).await.ok()["state"],
        "DISABLED"
    );
    assert_eq!(api.get("alice").await["state"], "DISABLED");
    assert_eq!(api.admin_call("enable", target("alice")).await.ok()["state"], "ENABLED");
}

#[tokio::test]
async fn the_last_enabled_admin_cannot_be_disabled_or_deleted() {
    let api = TestApi::new().await;
    api.create_admin("boss").await;
    api.admin_call("disable", target("boss"))
        .await
        .err("ERROR_LAST_ADMIN_CANNOT_DISABLED_DELETED", 400);
    api.admin_call("delete", target("boss"))
        .await
        .err("ERROR_LAST_ADMIN_CANNOT_DISABLED_DELETED", 400);
    assert_eq!(api.get("boss").await["state"], "ENABLED");

    api.create_admin("deputy").await;
    api.admin_call("disable", target("boss")).await.ok();
    api.admin_call("delete", target("deputy"))
        .await
        .err("ERROR_LAST_ADMIN_CANNOT_DISABLED_DELETED", 400);
    // A disabled admin is not counted, and may be deleted.
    api.admin_call("delete", target("boss")).await.ok();
    api.admin_call("disable", target("deputy"))
        .await
        .err("ERROR_LAST_ADMIN_CANNOT_DISABLED_DELETED", 400);
}

#[tokio::test]
async fn re_enabling_an_admin_counts_it_again() {
    let api = TestApi::new().await;
    api.create_admin("a").await;
    api.create_admin("b").await;
    api.admin_call("disable", target("a")).await.ok();
    api.admin_call("enable", target("a")).await.ok();
    api.admin_call("disable", target("b")).await.ok();
    api.admin_call("disable", target("a"))
        .await
        .err("ERROR_LAST_ADMIN_CANNOT_DISABLED_DELETED", 400);
}

#[tokio::test]
async fn admins_are_counted_per_domain() {
    let api = TestApi::new().await;
    api.create_admin("boss").await;
    let other = api.token("domain-other", "root", shared::model::RoleType::DomainAdmin);
    let create = json!({"user_id": "boss", "auth_type": "EXTERNAL", "permission_group": "DOMAIN", "role_id": "managed-domain-admin", "domain_id": "domain-other"});
    api.call("create", &other, create).await.ok();
    api.admin_call("disable", target("boss"))
        .await
        .err("ERROR_LAST_ADMIN_CANNOT_DISABLED_DELETED", 400);
}

#[tokio::test]
async fn delete_removes_the_user_and_its_pending_codes() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({"email": "a@example.com"})).await;
    api.admin_call("verify-email", target("alice")).await.ok();
    let code = api.last_code("a@example.com");
    assert_eq!(api.admin_call("delete", target("alice")).await.ok(), json!({}));
    api.admin_call("get", target("alice")).await.err("ERROR_NOT_FOUND", 404);
    api.admin_call("delete", target("alice"))
        .await
        .err("ERROR_NOT_FOUND", 404);
    // A user created again under the same id does not inherit the old code.
    api.create_user("alice", json!({"email": "a@example.com"})).await;
    let confirm = json!({"user_id": "alice", "domain_id": DOMAIN, "verify_code": code});
    api.admin_call("confirm-email", confirm)
        .await
        .err("ERROR_INVALID_VERIFY_CODE", 400);
}

#[tokio::test]
async fn every_method_answers_404_for_a_missing_user() {
    let api = TestApi::new().await;
    let cases = [
        ("update", json!({"name": "x"})),
        ("verify-email", json!({"email": "x@example.com"})),
        ("confirm-email", json!({"verify_code": "123456"})),
        ("set-required-actions", json!({"actions": ["UPDATE_PASSWORD"]})),
        ("disable-mfa", json!({})),
        ("enable", json!({})),
        ("disable", json!({})),
        ("delete", json!({})),
        ("get", json!({})),
    ];
    for (method, extra) in cases {
        let mut body = target("ghost");
        tests::merge(&mut body, extra);
        let message = api.admin_call(method, body).await.err("ERROR_NOT_FOUND", 404);
        assert_eq!(
            message, "Resource cannot be found or access is denied. (user_id = ghost)",
            "{method}"
        );
    }
    let me = api.user("ghost");
    let enable =
        json!({"user_id": "ghost", "domain_id": DOMAIN, "mfa_type": "EMAIL", "options": {"email": "g@example.com"}});
    api.call("enable-mfa", &me, enable).await.err("ERROR_NOT_FOUND", 404);
    let confirm = json!({"user_id": "ghost", "domain_id": DOMAIN, "verify_code": "123456"});
    api.call("confirm-mfa", &me, confirm).await.err("ERROR_NOT_FOUND", 404);
}

#[tokio::test]
async fn get_returns_the_user_to_itself() {
    let api = TestApi::new().await;
    let created = api.create_user("alice", json!({"name": "Alice"})).await;
    assert_eq!(api.call("get", &api.user("alice"), target("alice")).await.ok(), created);
}

#[tokio::test]
async fn data_survives_a_restart_of_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let store = shared::store::embedded::EmbeddedStore::open(&path).unwrap();
        let api = TestApi::with_store(tempfile::tempdir().unwrap(), std::sync::Arc::new(store));
        api.create_admin("boss").await;
    }
    let store = shared::store::embedded::EmbeddedStore::open(&path).unwrap();
    let api = TestApi::with_store(tempfile::tempdir().unwrap(), std::sync::Arc::new(store));
    assert_eq!(api.get("boss").await["role_type"], "DOMAIN_ADMIN");
    // The admin count survived too.
    api.admin_call("disable", target("boss"))
        .await
        .err("ERROR_LAST_ADMIN_CANNOT_DISABLED_DELETED", 400);
}
