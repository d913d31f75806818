//! SPEC section 3: requests as the official generated clients write them (proto3 JSON):
//! lowerCamelCase names at every level, enums by number, integers as strings; both spellings
//! of one field is a 400; user data keeps its keys; responses use the proto names.

use serde_json::{Value, json};
use tests::{DOMAIN, TestApi};

#[tokio::test]
async fn every_method_takes_camel_case_names() {
    let api = TestApi::new().await;
    let admin = api.admin();
    // create: enums by number (auth_type 1 = LOCAL, permission_group 1 = DOMAIN).
    let created = api
        .call(
            "create",
            &admin,
            json!({"userId": "alice", "domainId": DOMAIN, "authType": 1, "permissionGroup": 1,
                   "password": "Secret123", "resetPassword": false, "email": "a@example.com",
                   "tags": {"cost_center": "x", "costCenter": "y"}}),
        )
        .await
        .ok();
    assert_eq!(created["auth_type"], "LOCAL");
    // Responses use the proto names; user data keeps its keys exactly.
    assert!(created.get("userId").is_none() && created["user_id"] == "alice");
    assert_eq!(created["tags"], json!({"cost_center": "x", "costCenter": "y"}));
    let me = api.user("alice");
    let target = json!({"userId": "alice", "domainId": DOMAIN});
    let with = |extra: Value| {
        let mut body = target.clone();
        tests::merge(&mut body, extra);
        body
    };
    api.call("get", &admin, target.clone()).await.ok();
    let updated = api
        .call("update", &admin, with(json!({"name": "Alice", "resetPassword": false})))
        .await
        .ok();
    assert_eq!(updated["name"], "Alice");
    api.call("verify-email", &me, with(json!({}))).await.ok();
    let code = api.last_code("a@example.com");
    let confirmed = api
        .call("confirm-email", &me, with(json!({"verifyCode": code})))
        .await
        .ok();
    assert_eq!(confirmed["email_verified"], true);
    let actions = api
        .call("set-required-actions", &admin, with(json!({"actions": [0]})))
        .await
        .ok();
    assert_eq!(actions["required_actions"], json!(["UPDATE_PASSWORD"]));
    api.call(
        "enable-mfa",
        &me,
        with(json!({"mfaType": "EMAIL", "options": {"email": "a@example.com"}})),
    )
    .await
    .ok();
    let code = api.last_code("a@example.com");
    let mfa = api
        .call("confirm-mfa", &me, with(json!({"verifyCode": code})))
        .await
        .ok();
    assert_eq!(mfa["mfa"]["state"], "ENABLED");
    api.call("disable-mfa", &admin, with(json!({"force": true}))).await.ok();
    api.call("disable", &admin, target.clone()).await.ok();
    api.call("enable", &admin, target.clone()).await.ok();
    api.post("/identity/v2/user/reset-password", None, target.clone())
        .await
        .ok();
    // list: a camelCase query, shortcut enums by number (state 1 = ENABLED, auth_type 1 = LOCAL),
    // integers as strings.
    let listed = api
        .call(
            "list",
            &admin,
            json!({"domainId": DOMAIN, "state": 1, "authType": 1, "query": {
                "filterOr": [{"k": "user_id", "v": "alice", "o": "eq"}],
                "sort": {"keys": [{"key": "name", "desc": true}]},
                "page": {"start": "1", "limit": "20"}, "countOnly": false,
            }}),
        )
        .await
        .ok();
    assert_eq!(listed["total_count"], 1);
    // stat: camelCase down to the stages.
    let stat = api
        .call(
            "stat",
            &admin,
            json!({"domainId": DOMAIN, "query": {
                "filterOr": [{"key": "state", "value": "ENABLED", "operator": "eq"}],
                "aggregate": [
                    {"group": {"keys": [{"key": "created_at", "name": "day", "dateFormat": "%Y"}],
                               "fields": [{"name": "n", "operator": "count",
                                           "conditions": [{"key": "auth_type", "value": "LOCAL", "operator": "eq"}]}]}},
                    {"project": {"fields": [{"key": "n", "name": "users"}], "excludeKeys": true}},
                    {"limit": "10"},
                ],
                "page": {"limit": "5"},
            }}),
        )
        .await
        .ok();
    assert_eq!(stat["results"], json!([{"users": 1}]));
    assert_eq!(stat["total_count"], 1);
    api.call("delete", &admin, target).await.ok();
}

#[tokio::test]
async fn both_spellings_of_a_field_are_a_400_naming_it() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    let reply = api
        .admin_call(
            "get",
            json!({"user_id": "alice", "userId": "alice", "domain_id": DOMAIN}),
        )
        .await;
    let message = reply.err("ERROR_INVALID_PARAMETER", 400);
    assert!(message.contains("user_id") && message.contains("userId"), "{message}");
    let nested = json!({"domain_id": DOMAIN, "query": {"aggregate": [
        {"group": {"keys": [{"key": "created_at", "name": "d", "date_format": "%Y", "dateFormat": "%Y"}]}}
    ]}});
    let message = api.admin_call("stat", nested).await.err("ERROR_INVALID_PARAMETER", 400);
    assert!(
        message.contains("query.aggregate[0].group.keys[0].date_format"),
        "{message}"
    );
}

#[tokio::test]
async fn unknown_fields_are_named_as_spelled_and_bad_numbers_refused() {
    let api = TestApi::new().await;
    let message = api
        .admin_call(
            "get",
            json!({"user_id": "alice", "userID": "alice", "domain_id": DOMAIN}),
        )
        .await
        .err("ERROR_INVALID_PARAMETER", 400);
    assert!(message.contains("userID"), "{message}");
    let message = api
        .admin_call("list", json!({"domain_id": DOMAIN, "query": {"countONLY": true}}))
        .await
        .err("ERROR_DB_QUERY", 400);
    assert!(message.contains("countONLY"), "{message}");
    let message = api
        .admin_call(
            "create",
            json!({"userId": "bob", "domainId": DOMAIN, "authType": 9, "permissionGroup": 1}),
        )
        .await
        .err("ERROR_INVALID_PARAMETER", 400);
    assert!(message.contains("authType"), "{message}");
    api.admin_call(
        "list",
        json!({"domain_id": DOMAIN, "query": {"page": {"limit": "many"}}}),
    )
    .await
    .err("ERROR_INVALID_PARAMETER", 400);
}

/// Defaults as proto3 clients may send them: `""` is "not given" in update's language and
/// time zone and in stat's distinct (as everywhere else), and an integer may be written as an
/// integral number with a fraction (`20.0`), as proto3 JSON parsers and JSON Schema read it.
/// schemathesis found each of these refused although the document allowed them.
#[tokio::test]
async fn empty_strings_are_defaults_and_integral_numbers_are_integers() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({"language": "ko", "timezone": "Asia/Seoul"}))
        .await;
    let updated = api
        .admin_call(
            "update",
            json!({"user_id": "alice", "domain_id": DOMAIN, "language": "", "timezone": "", "name": "A"}),
        )
        .await
        .ok();
    assert_eq!(
        (updated["language"].as_str(), updated["timezone"].as_str()),
        (Some("ko"), Some("Asia/Seoul"))
    );
    let stat = api
        .post(
            "/identity/v1/user/stat",
            Some(&api.admin()),
            json!({"domain_id": DOMAIN, "query": {"distinct": "", "aggregate": [{"count": {"name": "n"}}]}}),
        )
        .await
        .ok();
    assert_eq!(stat["results"], json!([{"n": 1}]));
    let listed = api
        .admin_call(
            "list",
            json!({"domain_id": DOMAIN, "query": {"page": {"start": 1.0, "limit": 1e1}}}),
        )
        .await
        .ok();
    assert_eq!(listed["total_count"], 1);
    let refused = api
        .admin_call(
            "list",
            json!({"domain_id": DOMAIN, "query": {"page": {"start": 1, "limit": 1.5}}}),
        )
        .await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
}
