//! SPEC section 5, authorization: every row of the role table, for every kind of caller.

use serde_json::{Value, json};
use shared::model::RoleType;
use tests::{ADMIN, DOMAIN, TestApi};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Admin,
    Itself,
    ItselfAsOwner,
    OtherUser,
    OtherDomainAdmin,
}

const EVERYONE: [Who; 5] = [
    Who::Admin,
    Who::Itself,
    Who::ItselfAsOwner,
    Who::OtherUser,
    Who::OtherDomainAdmin,
];

fn token(api: &TestApi, who: Who, target: &str) -> String {
    match who {
        Who::Admin => api.admin(),
        Who::Itself => api.token(DOMAIN, target, RoleType::User),
        Who::ItselfAsOwner => api.token(DOMAIN, target, RoleType::WorkspaceOwner),
        Who::OtherUser => api.token(DOMAIN, "carol", RoleType::WorkspaceMember),
        Who::OtherDomainAdmin => api.token("domain-other", ADMIN, RoleType::DomainAdmin),
    }
}

/// A request body for `method` on user `bob` that passes validation.
fn body(method: &str) -> Value {
    let mut body = json!({"user_id": "bob", "domain_id": DOMAIN});
    let extra = match method {
        "create" => {
            json!({"user_id": "newbie", "auth_type": "EXTERNAL", "permission_group": "DOMAIN"})
        }
        "update" => json!({"name": "Bobby"}),
        "confirm-email" | "confirm-mfa" => json!({"verify_code": "123456"}),
        "set-required-actions" => json!({"actions": ["UPDATE_PASSWORD"]}),
        "enable-mfa" => json!({"mfa_type": "EMAIL", "options": {"email": "bob@example.com"}}),
        "list" => json!({"user_id": null}),
        "stat" => json!({"query": {"aggregate": [{"count": {"name": "n"}}]}}),
        _ => json!({}),
    };
    tests::merge(&mut body, extra);
    body
}

fn target_of(method: &str) -> &'static str {
    if method == "create" { "newbie" } else { "bob" }
}

async fn fresh_api() -> TestApi {
    let api = TestApi::new().await;
    api.create_verified("bob", "bob@example.com").await;
    api.create_user("carol", json!({})).await;
    api
}

/// Whether `who` gets past authorization for `method`: anything but 401/403 counts.
async fn allowed(method: &str, who: Who, extra: Value) -> bool {
    let api = fresh_api().await;
    let mut request = body(method);
    if method == "stat" {
        request.as_object_mut().unwrap().remove("user_id");
    }
    tests::merge(&mut request, extra);
    let path = match method {
        "stat" => "/identity/v1/user/stat".to_string(),
        m => format!("/identity/v2/user/{m}"),
    };
    let reply = api
        .post(&path, Some(&token(&api, who, target_of(method))), request)
        .await;
    assert_ne!(reply.status, 401, "{method} as {who:?}: {}", reply.body);
    if reply.status == 403 {
        assert_eq!(reply.code(), "ERROR_PERMISSION_DENIED");
    }
    reply.status != 403
}

async fn check_row(method: &str, expected_allowed: &[Who], extra: Value) {
    for who in EVERYONE {
        let expected = expected_allowed.contains(&who);
        assert_eq!(
            allowed(method, who, extra.clone()).await,
            expected,
            "{method} {extra} as {who:?}"
        );
    }
}

#[tokio::test]
async fn admin_only_methods() {
    for method in [
        "create",
        "set-required-actions",
        "enable",
        "disable",
        "delete",
        "list",
        "stat",
    ] {
        check_row(method, &[Who::Admin], json!({})).await;
    }
}

#[tokio::test]
async fn admin_or_the_user_itself() {
    for method in ["update", "confirm-email", "get", "verify-email"] {
        check_row(method, &[Who::Admin, Who::Itself, Who::ItselfAsOwner], json!({})).await;
    }
}

#[tokio::test]
async fn force_is_for_admins_only() {
    check_row("verify-email", &[Who::Admin], json!({"force": true})).await;
    check_row("disable-mfa", &[Who::Admin], json!({"force": true})).await;
}

#[tokio::test]
async fn disable_mfa_without_force_is_admin_or_itself() {
    check_row("disable-mfa", &[Who::Admin, Who::Itself, Who::ItselfAsOwner], json!({})).await;
}

#[tokio::test]
async fn mfa_setup_is_the_user_itself_only() {
    for method in ["enable-mfa", "confirm-mfa"] {
        check_row(method, &[Who::Itself, Who::ItselfAsOwner], json!({})).await;
    }
}

#[tokio::test]
async fn an_admin_acting_on_its_own_account_counts_as_the_user_itself() {
    let api = TestApi::new().await;
    api.create_admin("boss").await;
    let own = api.token(DOMAIN, "boss", RoleType::DomainAdmin);
    let body =
        json!({"user_id": "boss", "domain_id": DOMAIN, "mfa_type": "EMAIL", "options": {"email": "boss@example.com"}});
    api.call("enable-mfa", &own, body).await.ok();
}

#[tokio::test]
async fn reset_password_needs_no_token() {
    let api = fresh_api().await;
    let body = api
        .post(
            "/identity/v2/user/reset-password",
            None,
            json!({"user_id": "bob", "domain_id": DOMAIN}),
        )
        .await
        .ok();
    assert_eq!(body, json!({}));
}

#[tokio::test]
async fn the_admin_token_need_not_be_a_user() {
    let api = TestApi::new().await;
    assert_eq!(
        api.admin_call("get", json!({"user_id": ADMIN, "domain_id": DOMAIN}))
            .await
            .code(),
        "ERROR_NOT_FOUND"
    );
    api.create_user("first", json!({})).await;
}
