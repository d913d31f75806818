//! SPEC section 10, MFA an admin requires: `enforce_mfa_state` / `enforce_mfa_type` on create and
//! update, the ENFORCE_MFA bookkeeping, and the restricted token while it is pending.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};
use tests::{DOMAIN, PASSWORD, TestApi, merge};

fn body(user_id: &str, extra: Value) -> Value {
    let mut body = json!({"user_id": user_id, "domain_id": DOMAIN});
    merge(&mut body, extra);
    body
}

fn enforce(kind: &str) -> Value {
    json!({"enforce_mfa_state": "ENABLED", "enforce_mfa_type": kind})
}

async fn sign_in(api: &TestApi, user_id: &str, extra: Value) -> Value {
    let mut body = json!({"credentials": {"user_id": user_id, "password": PASSWORD}, "domain_id": DOMAIN});
    merge(&mut body, extra);
    api.post("/identity/v2/token/issue", None, body).await.ok()
}

fn permissions(token: &Value) -> Value {
    let payload = token.as_str().and_then(|t| t.split('.').nth(1)).expect("a JWT");
    let claims: Value = serde_json::from_slice(&B64.decode(payload).expect("base64url")).expect("claims");
    claims["permissions"].clone()
}

/// Enrols and confirms OTP as the user itself; returns the URI.
async fn set_up_otp(api: &TestApi, user_id: &str) -> String {
    let me = api.user(user_id);
    let user = api
        .call("enable-mfa", &me, body(user_id, json!({"mfa_type": "OTP"})))
        .await
        .ok();
    let uri = user["mfa"]["options"]["otp_qrcode_uri"]
        .as_str()
        .expect("a URI")
        .to_string();
    let code = api.authenticator_code(&uri, 0);
    api.call("confirm-mfa", &me, body(user_id, json!({"verify_code": code})))
        .await
        .ok();
    api.clock.advance(30);
    uri
}

#[tokio::test]
async fn a_user_created_with_mfa_required_signs_in_restricted_until_it_sets_mfa_up() {
    let api = TestApi::new().await;
    let user = api.create_user("alice", enforce("OTP")).await;
    assert_eq!(
        user["mfa"],
        json!({"state": "DISABLED", "mfa_type": "OTP", "options": {"enforce": true}})
    );
    assert_eq!(user["required_actions"], json!(["ENFORCE_MFA"]));
    let tokens = sign_in(&api, "alice", json!({})).await;
    assert_eq!(permissions(&tokens["access_token"]), json!(["identity:UserProfile"]));
    // The restricted token acts as the user itself only: it may set MFA up.
    let restricted = tokens["access_token"].as_str().unwrap().to_string();
    api.call("list", &restricted, json!({"domain_id": DOMAIN}))
        .await
        .err("ERROR_PERMISSION_DENIED", 403);
    let user = api
        .call("enable-mfa", &restricted, body("alice", json!({"mfa_type": "OTP"})))
        .await
        .ok();
    assert_eq!(user["mfa"]["options"]["enforce"], true);
    let uri = user["mfa"]["options"]["otp_qrcode_uri"].as_str().unwrap().to_string();
    let code = api.authenticator_code(&uri, 0);
    let user = api
        .call("confirm-mfa", &restricted, body("alice", json!({"verify_code": code})))
        .await
        .ok();
    assert_eq!(
        user["mfa"],
        json!({"state": "ENABLED", "mfa_type": "OTP", "options": {"enforce": true}})
    );
    assert_eq!(user["required_actions"], json!([]));
    api.clock.advance(30);
    let code = api.authenticator_code(&uri, 0);
    let tokens = sign_in(&api, "alice", json!({"verify_code": code})).await;
    assert_eq!(permissions(&tokens["access_token"]), Value::Null, "unrestricted");
}

#[tokio::test]
async fn the_two_fields_are_checked_and_only_admins_give_them() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    let cases = [
        (
            json!({"enforce_mfa_state": "ENABLED"}),
            "ERROR_REQUIRED_PARAMETER",
            "enforce_mfa_type",
        ),
        (
            json!({"enforce_mfa_type": "OTP"}),
            "ERROR_INVALID_PARAMETER",
            "enforce_mfa_type",
        ),
        (
            json!({"enforce_mfa_state": "DISABLED", "enforce_mfa_type": "EMAIL"}),
            "ERROR_INVALID_PARAMETER",
            "enforce_mfa_type",
        ),
        (
            json!({"enforce_mfa_state": "ENABLED", "enforce_mfa_type": "SMS"}),
            "ERROR_INVALID_PARAMETER",
            "enforce_mfa_type",
        ),
    ];
    for (extra, code, key) in cases {
        let message = api
            .admin_call("update", body("alice", extra.clone()))
            .await
            .err(code, 400);
        assert!(message.contains(key), "{extra}: {message}");
    }
    let message = api
        .admin_call(
            "create",
            json!({"user_id": "ext", "auth_type": "EXTERNAL", "permission_group": "DOMAIN",
                   "domain_id": DOMAIN, "enforce_mfa_state": "ENABLED", "enforce_mfa_type": "OTP"}),
        )
        .await
        .err("ERROR_INVALID_PARAMETER", 400);
    assert!(message.contains("enforce_mfa_state"), "{message}");
    // The user itself may not, even to release it.
    for extra in [enforce("OTP"), json!({"enforce_mfa_state": "DISABLED"})] {
        api.call("update", &api.user("alice"), body("alice", extra))
            .await
            .err("ERROR_PERMISSION_DENIED", 403);
    }
    // proto3 JSON: camelCase names and enum numbers (MFAState ENABLED = 1, MFAType OTP = 1).
    let user = api
        .admin_call(
            "update",
            body("alice", json!({"enforceMfaState": 1, "enforceMfaType": 1})),
        )
        .await
        .ok();
    assert_eq!(user["mfa"]["mfa_type"], "OTP");
    assert_eq!(user["mfa"]["options"]["enforce"], true);
}

#[tokio::test]
async fn requiring_another_type_resets_mfa_and_enable_keeps_to_the_required_type() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    let me = api.user("alice");
    api.call(
        "enable-mfa",
        &me,
        body(
            "alice",
            json!({"mfa_type": "EMAIL", "options": {"email": "m@example.com"}}),
        ),
    )
    .await
    .ok();
    let code = api.last_code("m@example.com");
    api.call("confirm-mfa", &me, body("alice", json!({"verify_code": code})))
        .await
        .ok();
    let user = api.admin_call("update", body("alice", enforce("OTP"))).await.ok();
    assert_eq!(
        user["mfa"],
        json!({"state": "DISABLED", "mfa_type": "OTP", "options": {"enforce": true}})
    );
    assert_eq!(user["required_actions"], json!(["ENFORCE_MFA"]));
    let message = api
        .call(
            "enable-mfa",
            &me,
            body(
                "alice",
                json!({"mfa_type": "EMAIL", "options": {"email": "m@example.com"}}),
            ),
        )
        .await
        .err("ERROR_INVALID_PARAMETER", 400);
    assert!(message.contains("mfa_type"), "{message}");
    // Sign-in needs no code now (MFA is off), and is restricted.
    let tokens = sign_in(&api, "alice", json!({})).await;
    assert_eq!(permissions(&tokens["access_token"]), json!(["identity:UserProfile"]));
}

#[tokio::test]
async fn a_user_with_the_required_type_on_has_nothing_to_do() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    set_up_otp(&api, "alice").await;
    let user = api.admin_call("update", body("alice", enforce("OTP"))).await.ok();
    assert_eq!(
        user["mfa"],
        json!({"state": "ENABLED", "mfa_type": "OTP", "options": {"enforce": true}})
    );
    assert_eq!(user["required_actions"], json!([]));
}

#[tokio::test]
async fn a_disable_puts_enforce_mfa_back_and_releasing_leaves_mfa_as_it_is() {
    let api = TestApi::new().await;
    api.create_user("alice", enforce("OTP")).await;
    set_up_otp(&api, "alice").await;
    let user = api
        .admin_call("disable-mfa", body("alice", json!({"force": true})))
        .await
        .ok();
    assert_eq!(
        user["mfa"],
        json!({"state": "DISABLED", "mfa_type": "OTP", "options": {"enforce": true}})
    );
    assert_eq!(user["required_actions"], json!(["ENFORCE_MFA"]));

    set_up_otp(&api, "alice").await;
    let user = api
        .admin_call("update", body("alice", json!({"enforce_mfa_state": "DISABLED"})))
        .await
        .ok();
    assert_eq!(
        user["mfa"],
        json!({"state": "ENABLED", "mfa_type": "OTP", "options": {}})
    );
    assert_eq!(user["required_actions"], json!([]));
}

#[tokio::test]
async fn the_users_own_disable_puts_enforce_mfa_back_too() {
    let api = TestApi::new().await;
    api.create_user("alice", enforce("OTP")).await;
    let uri = set_up_otp(&api, "alice").await;
    let me = api.user("alice");
    api.call("disable-mfa", &me, body("alice", json!({}))).await.ok();
    let code = api.authenticator_code(&uri, 0);
    let user = api
        .call("confirm-mfa", &me, body("alice", json!({"verify_code": code})))
        .await
        .ok();
    assert_eq!(
        user["mfa"],
        json!({"state": "DISABLED", "mfa_type": "OTP", "options": {"enforce": true}})
    );
    assert_eq!(user["required_actions"], json!(["ENFORCE_MFA"]));
}

/// The restriction of a pending ENFORCE_MFA carries over to every grant (SPEC section 10, as
/// for UPDATE_PASSWORD), and an admin may require MFA of itself.
#[tokio::test]
async fn the_restriction_carries_through_grants_and_an_admin_may_enforce_on_itself() {
    let api = TestApi::new().await;
    api.create_admin("boss").await;
    let boss = api.user("boss");
    let own = api.call("update", &boss, body("boss", enforce("OTP"))).await;
    // A USER token of boss is not an admin's: 403. With boss's admin token it works.
    own.err("ERROR_PERMISSION_DENIED", 403);
    let admin_token = api.token(tests::DOMAIN, "boss", shared::model::RoleType::DomainAdmin);
    let user = api
        .call("update", &admin_token, body("boss", enforce("OTP")))
        .await
        .ok();
    assert_eq!(user["required_actions"], json!(["ENFORCE_MFA"]));
    let tokens = sign_in(&api, "boss", json!({})).await;
    for scope in ["DOMAIN", "USER"] {
        let granted = api
            .post(
                "/identity/v2/token/grant",
                None,
                json!({"grant_type": "REFRESH_TOKEN", "token": tokens["refresh_token"], "scope": scope, "domain_id": DOMAIN}),
            )
            .await
            .ok();
        assert_eq!(
            permissions(&granted["access_token"]),
            json!(["identity:UserProfile"]),
            "{scope}"
        );
    }
}
