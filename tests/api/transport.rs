//! SPEC sections 1 and 3: paths, bodies, the error shape, the order of checks.

use lambda_http::Body;
use lambda_http::http::{Method, Request};
use serde_json::json;
use tests::{ADMIN, DOMAIN, TestApi};

fn request(
    method: Method,
    path: &str,
    content_type: Option<&str>,
    token: &str,
    body: impl Into<Body>,
) -> lambda_http::Request {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"));
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    builder.body(body.into()).unwrap()
}

#[tokio::test]
async fn every_path_is_served() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    for method in [
        "create",
        "update",
        "verify-email",
        "confirm-email",
        "reset-password",
        "set-required-actions",
        "enable-mfa",
        "disable-mfa",
        "confirm-mfa",
        "enable",
        "disable",
        "delete",
        "get",
    ] {
        let reply = api.admin_call(method, json!({})).await;
        assert_ne!(reply.status, 404, "{method} must exist: {:?}", reply.body);
        assert_eq!(reply.code(), "ERROR_REQUIRED_PARAMETER", "{method}");
    }
    let reply = api
        .post(
            "/identity/v2/user/list",
            Some(&api.admin()),
            json!({"domain_id": DOMAIN}),
        )
        .await;
    assert_eq!(reply.ok()["total_count"], 1);
    for path in ["/identity/v1/user/stat", "/identity/v2/user/stat"] {
        let query = json!({"domain_id": DOMAIN, "query": {"aggregate": [{"count": {"name": "n"}}]}});
        assert_eq!(
            api.post(path, Some(&api.admin()), query).await.ok(),
            json!({"results": [{"n": 1}]})
        );
    }
}

#[tokio::test]
async fn empty_responses_are_an_empty_object() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    let body = api
        .admin_call("delete", json!({"user_id": "alice", "domain_id": DOMAIN}))
        .await
        .ok();
    assert_eq!(body, json!({}));
}

#[tokio::test]
async fn unknown_path_is_404_and_other_methods_are_405() {
    let api = TestApi::new().await;
    let reply = api.post("/identity/v2/user/nope", Some(&api.admin()), json!({})).await;
    reply.err("ERROR_NOT_FOUND", 404);
    let reply = api
        .send(request(
            Method::GET,
            "/identity/v2/user/get",
            None,
            &api.admin(),
            Body::Empty,
        ))
        .await;
    assert_eq!(reply.status, 405);
}

#[tokio::test]
async fn bodies_over_256_kib_are_413() {
    let api = TestApi::new().await;
    let padding = "x".repeat(256 * 1024);
    let body = json!({"user_id": "a", "domain_id": DOMAIN, "name": padding}).to_string();
    let reply = api
        .send(request(
            Method::POST,
            "/identity/v2/user/get",
            Some("application/json"),
            &api.admin(),
            body,
        ))
        .await;
    reply.err("ERROR_PAYLOAD_TOO_LARGE", 413);
}

#[tokio::test]
async fn malformed_bodies_are_400_never_500() {
    let api = TestApi::new().await;
    for body in ["{", "[1,2]", "\"text\"", "42", "null", "", "{\"user_id\": }"] {
        let reply = api
            .send(request(
                Method::POST,
                "/identity/v2/user/get",
                Some("application/json"),
                &api.admin(),
                body,
            ))
            .await;
        reply.err("ERROR_INVALID_PARAMETER", 400);
    }
}

#[tokio::test]
async fn content_type_must_be_json_but_may_be_omitted() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    let body = json!({"user_id": "alice", "domain_id": DOMAIN}).to_string();
    let wrong = request(
        Method::POST,
        "/identity/v2/user/get",
        Some("text/plain"),
        &api.admin(),
        body.clone(),
    );
    let message = api.send(wrong).await.err("ERROR_INVALID_PARAMETER", 400);
    assert!(message.contains("Content-Type"), "{message}");
    let charset = request(
        Method::POST,
        "/identity/v2/user/get",
        Some("application/json; charset=utf-8"),
        &api.admin(),
        body.clone(),
    );
    api.send(charset).await.ok();
    let missing = request(Method::POST, "/identity/v2/user/get", None, &api.admin(), body);
    api.send(missing).await.ok();
}

#[tokio::test]
async fn unknown_fields_and_wrong_types_name_the_key() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    let reply = api
        .admin_call("get", json!({"user_id": "alice", "domain_id": DOMAIN, "colour": "red"}))
        .await;
    assert!(reply.err("ERROR_INVALID_PARAMETER", 400).contains("colour"));
    let reply = api
        .admin_call("update", json!({"user_id": "alice", "domain_id": DOMAIN, "name": 7}))
        .await;
    assert!(reply.err("ERROR_INVALID_PARAMETER", 400).contains("key = name"));
    let reply = api
        .admin_call(
            "disable-mfa",
            json!({"user_id": "alice", "domain_id": DOMAIN, "force": "yes"}),
        )
        .await;
    assert!(reply.err("ERROR_INVALID_PARAMETER", 400).contains("force"));
}

#[tokio::test]
async fn null_and_absent_optional_fields_are_not_given() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({"name": "Alice"})).await;
    let body = api
        .admin_call("update", json!({"user_id": "alice", "domain_id": DOMAIN, "name": null}))
        .await
        .ok();
    assert_eq!(body["name"], "Alice");
}

#[tokio::test]
async fn errors_have_the_detail_shape_and_json_content_type() {
    let api = TestApi::new().await;
    let response = shared::http::route(
        &api.app,
        request(
            Method::POST,
            "/identity/v2/user/get",
            Some("application/json"),
            &api.admin(),
            r#"{"domain_id": "domain-test"}"#,
        ),
    )
    .await;
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    assert_eq!(
        body,
        json!({"detail": {"code": "ERROR_REQUIRED_PARAMETER", "message": "Required parameter. (key = user_id)"}})
    );
}

#[tokio::test]
async fn user_id_with_spaces_or_control_characters_is_invalid() {
    let api = TestApi::new().await;
    for user_id in [" alice", "alice ", "al\u{0}ice", "ali\nce"] {
        let reply = api
            .admin_call("get", json!({"user_id": user_id, "domain_id": DOMAIN}))
            .await;
        reply.err("ERROR_INVALID_PARAMETER", 400);
    }
}

#[tokio::test]
async fn checks_run_in_the_specs_order() {
    let api = TestApi::new().await;
    // 401 before 400: no token and a bad body.
    let reply = api.post("/identity/v2/user/get", None, json!({"bogus": 1})).await;
    reply.err("ERROR_AUTHENTICATE_FAILURE", 401);
    // 400 before 403: another domain's admin with a bad body.
    let other = api.token("domain-other", ADMIN, shared::model::RoleType::DomainAdmin);
    let reply = api.call("get", &other, json!({"domain_id": DOMAIN})).await;
    reply.err("ERROR_REQUIRED_PARAMETER", 400);
    // 403 before 404: another domain's admin asking for a missing user.
    let reply = api
        .call("get", &other, json!({"user_id": "ghost", "domain_id": DOMAIN}))
        .await;
    reply.err("ERROR_PERMISSION_DENIED", 403);
    // 404 before the method's rules.
    let reply = api
        .admin_call(
            "confirm-email",
            json!({"user_id": "ghost", "domain_id": DOMAIN, "verify_code": "123456"}),
        )
        .await;
    assert_eq!(
        reply.err("ERROR_NOT_FOUND", 404),
        "Resource cannot be found or access is denied. (user_id = ghost)"
    );
}
