//! Secrets stay secret: no password, hash, code or token in a response (logs are checked by
//! reading the handler's log lines in the local-server test).

use serde_json::json;
use tests::{DOMAIN, PASSWORD, TestApi};

#[tokio::test]
async fn no_response_of_a_full_flow_contains_a_secret() {
    let api = TestApi::new().await;
    let mut bodies = Vec::new();
    let create = json!({"user_id": "alice", "auth_type": "LOCAL", "permission_group": "DOMAIN", "domain_id": DOMAIN, "password": PASSWORD, "email": "a@example.com"});
    bodies.push(api.admin_call("create", create).await.body);
    // Minted after the user exists: a token issued before the second its user was created in
    // is refused (tests/api/deletion.rs, a_token_from_before_its_users_creation_second_is_refused).
    let me = api.user("alice");
    bodies.push(
        api.call("verify-email", &me, json!({"user_id": "alice", "domain_id": DOMAIN}))
            .await
            .body,
    );
    let code = api.last_code("a@example.com");
    bodies.push(
        api.call(
            "confirm-email",
            &me,
            json!({"user_id": "alice", "domain_id": DOMAIN, "verify_code": "000000"}),
        )
        .await
        .body,
    );
    bodies.push(
        api.call(
            "confirm-email",
            &me,
            json!({"user_id": "alice", "domain_id": DOMAIN, "verify_code": code}),
        )
        .await
        .body,
    );
    bodies.push(
        api.post(
            "/identity/v2/user/reset-password",
            None,
            json!({"user_id": "alice", "domain_id": DOMAIN}),
        )
        .await
        .body,
    );
    api.settle().await;
    let temporary = api.last_temporary_password("a@example.com");
    bodies.push(
        api.call(
            "update",
            &me,
            json!({"user_id": "alice", "domain_id": DOMAIN, "password": temporary}),
        )
        .await
        .body,
    );
    bodies.push(
        api.call(
            "update",
            &me,
            json!({"user_id": "alice", "domain_id": DOMAIN, "password": "short"}),
        )
        .await
        .body,
    );
    bodies.push(
        api.call("get", &me, json!({"user_id": "alice", "domain_id": DOMAIN}))
            .await
            .body,
    );
    let all = serde_json::to_string(&bodies).unwrap();
    for secret in [
        PASSWORD,
        code.as_str(),
        temporary.as_str(),
        "argon2",
        "short",
        me.as_str(),
    ] {
        assert!(!all.contains(secret), "a response contains {secret:?}: {all}");
    }
}
