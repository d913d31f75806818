//! SPEC 4.1 create, and the UserInfo shape of section 2.

use serde_json::{Value, json};
use shared::model::{DomainId, UserId};
use tests::{DOMAIN, PASSWORD, TestApi, merge};

fn local(user_id: &str, extra: Value) -> Value {
    let mut body = json!({"user_id": user_id, "auth_type": "LOCAL", "permission_group": "DOMAIN", "domain_id": DOMAIN, "password": PASSWORD});
    merge(&mut body, extra);
    body
}

#[tokio::test]
async fn a_new_user_has_the_documented_defaults_and_exactly_the_userinfo_fields() {
    let api = TestApi::new().await;
    let user = api.admin_call("create", local("alice", json!({}))).await.ok();
    let keys: Vec<&str> = user.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "user_id",
            "name",
            "state",
            "email",
            "email_verified",
            "auth_type",
            "role_type",
            "mfa",
            "language",
            "timezone",
            "required_actions",
            "tags",
            "domain_id",
            "created_at",
            "last_accessed_at"
        ]
    );
    assert_eq!(user["state"], "ENABLED");
    assert_eq!(user["name"], "");
    assert_eq!(user["email"], "");
    assert_eq!(user["email_verified"], false);
    assert_eq!(user["role_type"], "USER");
    assert_eq!(user["mfa"], json!({"state": "DISABLED"}));
    assert_eq!(user["language"], "en");
    assert_eq!(user["timezone"], "UTC");
    assert_eq!(user["required_actions"], json!([]));
    assert_eq!(user["tags"], json!({}));
    assert_eq!(user["domain_id"], DOMAIN);
    assert_eq!(user["last_accessed_at"], Value::Null);
    let created = user["created_at"].as_str().unwrap();
    assert_eq!(created.len(), 24, "{created}");
    assert!(created.ends_with('Z') && created.as_bytes()[19] == b'.', "{created}");
}

#[tokio::test]
async fn fields_are_stored_trimmed_and_returned() {
    let api = TestApi::new().await;
    let extra = json!({"name": "  Alice  ", "email": " alice@example.com ", "language": "ko", "timezone": "Asia/Seoul", "tags": {"team": "core", "n": 1}});
    let user = api.admin_call("create", local("alice", extra)).await.ok();
    assert_eq!(user["name"], "Alice");
    assert_eq!(user["email"], "alice@example.com");
    assert_eq!(user["language"], "ko");
    assert_eq!(user["timezone"], "Asia/Seoul");
    assert_eq!(user["tags"], json!({"team": "core", "n": 1}));
    assert_eq!(api.get("alice").await, user);
}

#[tokio::test]
async fn the_password_is_stored_as_argon2id_and_never_returned() {
    let api = TestApi::new().await;
    let user = api.admin_call("create", local("alice", json!({}))).await.ok();
    assert!(!user.to_string().contains("argon2"));
    assert!(!user.to_string().contains(PASSWORD));
    let domain = DomainId::parse("d", DOMAIN.into()).unwrap();
    let stored = api
        .app
        .store
        .get_user(&domain, &UserId::parse("u", "alice".into()).unwrap())
        .await
        .unwrap()
        .unwrap();
    let hash = stored.item.password_hash.unwrap();
    assert!(hash.phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert!(hash.matches(PASSWORD));
}

#[tokio::test]
async fn required_fields_are_named() {
    let api = TestApi::new().await;
    for key in ["user_id", "auth_type", "permission_group", "domain_id"] {
        let mut body = local("alice", json!({}));
        body.as_object_mut().unwrap().remove(key);
        let message = api
            .admin_call("create", body)
            .await
            .err("ERROR_REQUIRED_PARAMETER", 400);
        assert!(message.contains(&format!("key = {key}")), "{message}");
    }
}

#[tokio::test]
async fn enums_and_bounds_are_checked() {
    let api = TestApi::new().await;
    let cases = [
        (json!({"auth_type": "local"}), "ERROR_INVALID_PARAMETER"),
        (json!({"permission_group": "PROJECT"}), "ERROR_INVALID_PARAMETER"),
        (json!({"user_id": "u".repeat(61)}), "ERROR_INVALID_PARAMETER"),
        (json!({"name": "n".repeat(129)}), "ERROR_INVALID_PARAMETER"),
        (json!({"email": "not-an-email"}), "ERROR_INCORRECT_EMAIL_FORMAT"),
        (
            json!({"email": format!("{}@example.com", "a".repeat(250))}),
            "ERROR_INVALID_PARAMETER",
        ),
        (json!({"language": "english!"}), "ERROR_INVALID_PARAMETER"),
        (json!({"timezone": "Asia/Nowhere"}), "ERROR_INVALID_PARAMETER"),
        (json!({"tags": "team=core"}), "ERROR_INVALID_PARAMETER"),
        (
            json!({"tags": (0..51).map(|i| (format!("k{i}"), json!(i))).collect::<serde_json::Map<_, _>>()}),
            "ERROR_INVALID_PARAMETER",
        ),
        (json!({"tags": {"big": "x".repeat(17_000)}}), "ERROR_INVALID_PARAMETER"),
        (json!({"reset_password": "no"}), "ERROR_INVALID_PARAMETER"),
    ];
    for (extra, code) in cases {
        let reply = api.admin_call("create", local("alice", extra.clone())).await;
        assert_eq!(reply.code(), code, "{extra}: {}", reply.body);
    }
    assert_eq!(
        api.admin_call("get", json!({"user_id": "alice", "domain_id": DOMAIN}))
            .await
            .code(),
        "ERROR_NOT_FOUND"
    );
}

#[tokio::test]
async fn local_users_need_a_password_that_meets_the_policy() {
    let api = TestApi::new().await;
    let mut body = local("alice", json!({}));
    body.as_object_mut().unwrap().remove("password");
    let message = api
        .admin_call("create", body)
        .await
        .err("ERROR_REQUIRED_PARAMETER", 400);
    assert!(message.contains("key = password"));
    for weak in ["Short1", "alllowercase1", "ALLUPPERCASE1", "NoDigitsHere"] {
        let message = api
            .admin_call("create", local("alice", json!({"password": weak})))
            .await
            .err("ERROR_INCORRECT_PASSWORD_FORMAT", 400);
        assert!(!message.contains(weak));
    }
}

#[tokio::test]
async fn external_users_have_no_password() {
    let api = TestApi::new().await;
    let external =
        json!({"user_id": "ext", "auth_type": "EXTERNAL", "permission_group": "DOMAIN", "domain_id": DOMAIN});
    let mut with_password = external.clone();
    merge(&mut with_password, json!({"password": PASSWORD}));
    api.admin_call("create", with_password)
        .await
        .err("ERROR_INVALID_PARAMETER", 400);
    let user = api.admin_call("create", external).await.ok();
    assert_eq!(user["auth_type"], "EXTERNAL");
    let domain = DomainId::parse("d", DOMAIN.into()).unwrap();
    let stored = api
        .app
        .store
        .get_user(&domain, &UserId::parse("u", "ext".into()).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(stored.item.password_hash.is_none());
}

#[tokio::test]
async fn reset_password_is_for_local_users_with_an_email() {
    let api = TestApi::new().await;
    let external = json!({"user_id": "ext", "auth_type": "EXTERNAL", "permission_group": "DOMAIN", "domain_id": DOMAIN, "reset_password": true, "email": "e@example.com"});
    api.admin_call("create", external)
        .await
        .err("ERROR_UNABLE_TO_RESET_PASSWORD_IN_EXTERNAL_AUTH", 400);
    api.admin_call("create", local("alice", json!({"reset_password": true})))
        .await
        .err("ERROR_UNABLE_TO_RESET_PASSWORD_WITHOUT_EMAIL", 400);
    assert!(api.mails().is_empty());
}

#[tokio::test]
async fn reset_password_mails_a_temporary_password_that_replaces_the_given_one() {
    let api = TestApi::new().await;
    let mut body = local(
        "alice",
        json!({"reset_password": true, "email": "alice@example.com", "language": "ja"}),
    );
    body["password"] = json!("weak");
    let user = api.admin_call("create", body).await.ok();
    assert_eq!(user["required_actions"], json!(["UPDATE_PASSWORD"]));
    let mails = api.mails_to("alice@example.com");
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["subject"], "[Cloudforet] パスワードが変更されました");
    let temporary = api.last_temporary_password("alice@example.com");
    assert!(mails[0]["html"].as_str().unwrap().contains(&temporary));
    // The stored password is the temporary one: setting it again is "not changed".
    let same = json!({"user_id": "alice", "domain_id": DOMAIN, "password": temporary});
    api.admin_call("update", same)
        .await
        .err("ERROR_PASSWORD_NOT_CHANGED", 400);
}

#[tokio::test]
async fn when_the_temporary_password_mail_fails_no_user_is_created() {
    let api = TestApi::new().await;
    api.set_mail_failing(true);
    let body = local("alice", json!({"reset_password": true, "email": "alice@example.com"}));
    api.admin_call("create", body.clone())
        .await
        .err("ERROR_UNAVAILABLE", 503);
    assert_eq!(
        api.admin_call("get", json!({"user_id": "alice", "domain_id": DOMAIN}))
            .await
            .code(),
        "ERROR_NOT_FOUND"
    );
    api.set_mail_failing(false);
    api.admin_call("create", body).await.ok();
}

#[tokio::test]
async fn duplicates_are_409_not_unique_and_other_domains_are_separate() {
    let api = TestApi::new().await;
    api.admin_call("create", local("alice", json!({}))).await.ok();
    api.admin_call("create", local("alice", json!({"name": "Other"})))
        .await
        .err("ERROR_NOT_UNIQUE", 409);
    assert_eq!(api.get("alice").await["name"], "");
    let other = api.token("domain-other", "root", shared::model::RoleType::DomainAdmin);
    let mut body = local("alice", json!({}));
    body["domain_id"] = json!("domain-other");
    api.call("create", &other, body).await.ok();
}

#[tokio::test]
async fn roles_bind_by_permission_group() {
    let api = TestApi::new().await;
    let cases: [(&str, Value, Result<&str, &str>); 8] = [
        ("a1", json!({"role_id": "managed-domain-admin"}), Ok("DOMAIN_ADMIN")),
        (
            "a2",
            json!({"permission_group": "WORKSPACE", "role_id": "managed-workspace-owner", "workspace_id": "ws-1"}),
            Ok("WORKSPACE_OWNER"),
        ),
        (
            "a3",
            json!({"permission_group": "WORKSPACE", "role_id": "managed-workspace-member", "workspace_id": "ws-1"}),
            Ok("WORKSPACE_MEMBER"),
        ),
        (
            "a4",
            json!({"permission_group": "WORKSPACE", "role_id": "managed-workspace-owner"}),
            Err("ERROR_REQUIRED_PARAMETER"),
        ),
        (
            "a5",
            json!({"role_id": "managed-workspace-member"}),
            Err("ERROR_INVALID_ROLE"),
        ),
        (
            "a6",
            json!({"permission_group": "WORKSPACE", "role_id": "managed-domain-admin", "workspace_id": "ws-1"}),
            Err("ERROR_INVALID_ROLE"),
        ),
        ("a7", json!({"role_id": "role-made-up"}), Err("ERROR_INVALID_ROLE")),
        (
            "a8",
            json!({"permission_group": "WORKSPACE", "workspace_id": "ws-1"}),
            Ok("USER"),
        ),
    ];
    for (user_id, extra, expected) in cases {
        let reply = api.admin_call("create", local(user_id, extra.clone())).await;
        match expected {
            Ok(role) => assert_eq!(reply.ok()["role_type"], role, "{extra}"),
            Err(code) => assert_eq!(reply.code(), code, "{extra}"),
        }
    }
    let reply = api
        .admin_call(
            "create",
            local(
                "a9",
                json!({"permission_group": "WORKSPACE", "role_id": "managed-workspace-owner"}),
            ),
        )
        .await;
    assert!(reply.message().contains("workspace_id"));
}

#[tokio::test]
async fn a_workspace_binding_records_the_workspace() {
    let api = TestApi::new().await;
    let extra = json!({"permission_group": "WORKSPACE", "role_id": "managed-workspace-member", "workspace_id": "ws-7"});
    api.admin_call("create", local("alice", extra)).await.ok();
    let domain = DomainId::parse("d", DOMAIN.into()).unwrap();
    let stored = api
        .app
        .store
        .get_user(&domain, &UserId::parse("u", "alice".into()).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.item.workspace_id.unwrap().as_str(), "ws-7");
    assert_eq!(stored.item.role_binding.unwrap().role_id, "managed-workspace-member");
}
