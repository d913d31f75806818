//! A small domain with users that differ in every way the query tests need.

use serde_json::{Value, json};
use tests::{DOMAIN, TestApi};

/// The users, created one day apart in this order:
/// - alice: "Alice", LOCAL, alice@example.com, tags {team: core, level: 3}
/// - bob: "Bob", EXTERNAL, bob@corp.io, DISABLED, tags {team: edge, level: 5}
/// - carol: "carol", LOCAL, DOMAIN_ADMIN, no email, required_actions [UPDATE_PASSWORD]
/// - dave: "", EXTERNAL, workspace member of ws-1, tags {level: "high"}
/// - erin: "Erin", LOCAL, workspace owner of ws-2, erin@example.com, Asia/Seoul, language ko
pub async fn domain() -> TestApi {
    let api = TestApi::new().await;
    let users = [
        json!({"user_id": "alice", "name": "Alice", "email": "alice@example.com", "tags": {"team": "core", "level": 3}}),
        json!({"user_id": "bob", "name": "Bob", "auth_type": "EXTERNAL", "email": "bob@corp.io", "tags": {"team": "edge", "level": 5}}),
        json!({"user_id": "carol", "name": "carol", "role_id": "managed-domain-admin"}),
        json!({"user_id": "dave", "auth_type": "EXTERNAL", "permission_group": "WORKSPACE", "role_id": "managed-workspace-member", "workspace_id": "ws-1", "tags": {"level": "high"}}),
        json!({"user_id": "erin", "name": "Erin", "email": "erin@example.com", "timezone": "Asia/Seoul", "language": "ko", "permission_group": "WORKSPACE", "role_id": "managed-workspace-owner", "workspace_id": "ws-2"}),
    ];
    for mut user in users {
        let mut body = json!({"auth_type": "LOCAL", "password": tests::PASSWORD, "permission_group": "DOMAIN", "domain_id": DOMAIN});
        if user["auth_type"] == "EXTERNAL" {
            body.as_object_mut().unwrap().remove("password");
        }
        tests::merge(&mut body, user.take());
        api.admin_call("create", body).await.ok();
        api.clock.advance(86_400);
    }
    api.admin_call("disable", json!({"user_id": "bob", "domain_id": DOMAIN}))
        .await
        .ok();
    api.admin_call(
        "set-required-actions",
        json!({"user_id": "carol", "domain_id": DOMAIN, "actions": ["UPDATE_PASSWORD"]}),
    )
    .await
    .ok();
    api
}

pub async fn list(api: &TestApi, query: Value) -> tests::Reply {
    api.admin_call("list", json!({"domain_id": DOMAIN, "query": query}))
        .await
}

pub async fn stat(api: &TestApi, query: Value) -> tests::Reply {
    api.post(
        "/identity/v1/user/stat",
        Some(&api.admin()),
        json!({"domain_id": DOMAIN, "query": query}),
    )
    .await
}

/// The user_ids of a list response, in order.
pub fn ids(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["user_id"].as_str().unwrap().to_string())
        .collect()
}
