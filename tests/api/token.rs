//! SPEC section 9, the Token API (issue, grant, keys), and the revocation and `permissions`
//! rules it brings to section 5.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use lambda_http::Body;
use lambda_http::http::Method;
use serde_json::{Value, json};
use tests::{DOMAIN, PASSWORD, Reply, TestApi, merge, wrong};

const WRONG: &str = "Wrong12345";

async fn issue(api: &TestApi, user_id: &str, password: &str, extra: Value) -> Reply {
    let mut body = json!({"credentials": {"user_id": user_id, "password": password}, "domain_id": DOMAIN});
    merge(&mut body, extra);
    api.post("/identity/v2/token/issue", None, body).await
}

/// Signs in and returns (access token, refresh token).
async fn sign_in(api: &TestApi, user_id: &str, password: &str) -> (String, String) {
    let body = issue(api, user_id, password, json!({})).await.ok();
    let text = |k: &str| body[k].as_str().expect("a token").to_string();
    (text("access_token"), text("refresh_token"))
}

async fn grant(api: &TestApi, refresh: &str, scope: &str, extra: Value) -> Reply {
    let mut body = json!({"grant_type": "REFRESH_TOKEN", "token": refresh, "scope": scope, "domain_id": DOMAIN});
    merge(&mut body, extra);
    api.post("/identity/v2/token/grant", None, body).await
}

/// A token's claims (its signature is checked elsewhere).
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&B64.decode(payload).expect("base64url")).expect("JSON claims")
}

fn header(token: &str) -> Value {
    let part = token.split('.').next().expect("a JWT");
    serde_json::from_slice(&B64.decode(part).expect("base64url")).expect("JSON header")
}

async fn get_as(api: &TestApi, token: &str, user_id: &str) -> Reply {
    api.call("get", token, json!({"user_id": user_id, "domain_id": DOMAIN}))
        .await
}

async fn get_request(api: &TestApi, path: &str) -> (u16, Option<String>, Value) {
    let request = lambda_http::http::Request::builder()
        .method(Method::GET)
        .uri(path)
        .body(Body::Empty)
        .expect("request");
    let response = shared::http::route(&api.app, request).await;
    let cache = response
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = serde_json::from_slice(response.body().as_ref()).expect("JSON");
    (response.status().as_u16(), cache, body)
}

#[tokio::test]
async fn issue_signs_in_with_the_reference_claims_and_records_the_access() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    assert_eq!(api.get("alice").await["last_accessed_at"], Value::Null);
    let (access, refresh) = sign_in(&api, "alice", PASSWORD).await;
    let c = claims(&access);
    for (claim, value) in [
        ("rol", "USER"),
        ("aud", "alice"),
        ("did", DOMAIN),
        ("typ", "ACCESS_TOKEN"),
        ("ver", "2.0"),
        ("iss", "users"),
    ] {
        assert_eq!(c[claim], value, "{claim}");
    }
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 1800);
    // The generation starts at the account's creation, in microseconds (SPEC section 5).
    let generation = c["gen"].as_i64().expect("gen");
    let micros = chrono::Utc::now().timestamp_micros();
    assert!((micros - 60_000_000..=micros).contains(&generation), "{generation}");
    assert!(c["jti"].as_str().is_some_and(|j| j.len() >= 16));
    assert!(c.get("permissions").is_none());
    assert_eq!(header(&access)["alg"], "ES256");
    let r = claims(&refresh);
    assert_eq!(
        (r["typ"].as_str(), r["aud"].as_str(), r["gen"].as_i64()),
        (Some("REFRESH_TOKEN"), Some("alice"), Some(generation))
    );
    assert_eq!(r["exp"].as_i64().unwrap() - r["iat"].as_i64().unwrap(), 10800);
    // The access token works on the User API; the refresh token does not.
    let me = get_as(&api, &access, "alice").await.ok();
    assert!(me["last_accessed_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    get_as(&api, &refresh, "alice")
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    // timeout sets the access token's lifetime, a string too (proto3 JSON), at most 7 days.
    let body = issue(&api, "alice", PASSWORD, json!({"timeout": "60"})).await.ok();
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 60);
    issue(&api, "alice", PASSWORD, json!({"timeout": 604_801}))
        .await
        .err("ERROR_INVALID_PARAMETER", 400);
}

#[tokio::test]
async fn every_failure_is_the_same_401() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    api.create_user("ext", json!({"auth_type": "EXTERNAL", "password": null}))
        .await;
    api.create_user("off", json!({})).await;
    api.admin_call("disable", json!({"user_id": "off", "domain_id": DOMAIN}))
        .await
        .ok();
    let mut messages = Vec::new();
    for (user, password, domain) in [
        ("nobody", PASSWORD, DOMAIN),
        ("alice", WRONG, DOMAIN),
        ("alice", PASSWORD, "domain-other"),
        ("ext", PASSWORD, DOMAIN),
        ("off", PASSWORD, DOMAIN),
    ] {
        let reply = issue(&api, user, password, json!({"domain_id": domain})).await;
        messages.push(reply.err("ERROR_AUTHENTICATE_FAILURE", 401));
    }
    messages.dedup();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(!messages[0].contains("alice") && !messages[0].contains(PASSWORD));
}

#[tokio::test]
async fn malformed_requests_are_400_naming_the_key() {
    let api = TestApi::new().await;
    let cases = [
        (json!({"domain_id": DOMAIN}), "ERROR_REQUIRED_PARAMETER", "credentials"),
        (
            json!({"credentials": {"user_id": "alice"}, "domain_id": DOMAIN}),
            "ERROR_REQUIRED_PARAMETER",
            "credentials.password",
        ),
        (
            json!({"credentials": {"user_id": "alice", "password": PASSWORD, "otp": 1}, "domain_id": DOMAIN}),
            "ERROR_INVALID_PARAMETER",
            "credentials.otp",
        ),
        (
            json!({"credentials": {"user_id": "alice", "password": PASSWORD}, "domain_id": DOMAIN, "auth_type": "EXTERNAL"}),
            "ERROR_INVALID_PARAMETER",
            "auth_type",
        ),
        (
            json!({"credentials": {"user_id": "alice", "password": PASSWORD}, "domain_id": DOMAIN, "extra": 1}),
            "ERROR_INVALID_PARAMETER",
            "extra",
        ),
    ];
    for (body, code, key) in cases {
        let message = api.post("/identity/v2/token/issue", None, body).await.err(code, 400);
        assert!(message.contains(key), "{message}");
    }
    // The official client's camelCase and enum numbers are read too.
    api.create_user("alice", json!({})).await;
    let body = json!({"credentials": {"user_id": "alice", "password": PASSWORD}, "domainId": DOMAIN, "authType": 1});
    api.post("/identity/v2/token/issue", None, body).await.ok();
}

#[tokio::test]
async fn five_failures_lock_the_sign_in_for_fifteen_minutes() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    // A success resets the count: four failures, a success, four more and a success.
    for _ in 0..2 {
        for _ in 0..4 {
            issue(&api, "alice", WRONG, json!({}))
                .await
                .err("ERROR_AUTHENTICATE_FAILURE", 401);
        }
        sign_in(&api, "alice", PASSWORD).await;
    }
    for _ in 0..5 {
        issue(&api, "alice", WRONG, json!({}))
            .await
            .err("ERROR_AUTHENTICATE_FAILURE", 401);
    }
    let locked = issue(&api, "alice", PASSWORD, json!({})).await;
    let wrong_message = issue(&api, "alice", WRONG, json!({}))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    assert_eq!(locked.err("ERROR_AUTHENTICATE_FAILURE", 401), wrong_message);
    // Locking never changes the user's state.
    assert_eq!(api.get("alice").await["state"], "ENABLED");
    api.clock.advance(15 * 60 - 5);
    issue(&api, "alice", PASSWORD, json!({}))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    api.clock.advance(10);
    sign_in(&api, "alice", PASSWORD).await;
}

#[tokio::test]
async fn parallel_guesses_cannot_exceed_five() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    let guesses = (0..50).map(|i| {
        let api = &api;
        async move { issue(api, "alice", &format!("Guess{i:04}x"), json!({})).await }
    });
    for reply in futures_util::future::join_all(guesses).await {
        reply.err("ERROR_AUTHENTICATE_FAILURE", 401);
    }
    issue(&api, "alice", PASSWORD, json!({}))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
}

/// alice with MFA on, its codes mailed to mfa@example.com.
async fn mfa_user() -> TestApi {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    let me = api.user("alice");
    let body =
        json!({"user_id": "alice", "domain_id": DOMAIN, "mfa_type": "EMAIL", "options": {"email": "mfa@example.com"}});
    api.call("enable-mfa", &me, body).await.ok();
    let code = api.last_code("mfa@example.com");
    api.call(
        "confirm-mfa",
        &me,
        json!({"user_id": "alice", "domain_id": DOMAIN, "verify_code": code}),
    )
    .await
    .ok();
    api
}

#[tokio::test]
async fn mfa_mails_a_code_and_the_second_call_signs_in_with_it() {
    let api = mfa_user().await;
    let before = api.mails_to("mfa@example.com").len();
    let message = issue(&api, "alice", PASSWORD, json!({}))
        .await
        .err("ERROR_MFA_REQUIRED", 401);
    assert!(message.contains("m***@example.com"), "{message}");
    assert!(!message.contains("mfa@example.com"), "{message}");
    let mails = api.mails_to("mfa@example.com");
    assert_eq!(mails.len(), before + 1);
    assert_eq!(mails[before]["subject"], "[Cloudforet] Verify your MFA email");
    let code = api.last_code("mfa@example.com");
    // A wrong password with the right code: the code is not even looked at.
    issue(&api, "alice", WRONG, json!({"verify_code": code}))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    // A wrong code is the generic failure and spends an attempt; the right one still works.
    let generic = issue(&api, "alice", WRONG, json!({}))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    let wrong_code = issue(&api, "alice", PASSWORD, json!({"verify_code": wrong(&code)})).await;
    assert_eq!(wrong_code.err("ERROR_AUTHENTICATE_FAILURE", 401), generic);
    let body = issue(&api, "alice", PASSWORD, json!({"verify_code": code})).await.ok();
    assert!(body["access_token"].is_string());
    // Single use.
    issue(&api, "alice", PASSWORD, json!({"verify_code": code}))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
}

/// Wrong codes are failed attempts of the sign-in too: the mail and four wrong codes make five,
/// and then even the right code is refused (locked), so a code cannot be guessed at by
/// re-mailing it.
#[tokio::test]
async fn wrong_codes_count_until_the_sign_in_locks() {
    let api = mfa_user().await;
    issue(&api, "alice", PASSWORD, json!({}))
        .await
        .err("ERROR_MFA_REQUIRED", 401);
    let code = api.last_code("mfa@example.com");
    for _ in 0..4 {
        issue(&api, "alice", PASSWORD, json!({"verify_code": wrong(&code)}))
            .await
            .err("ERROR_AUTHENTICATE_FAILURE", 401);
    }
    issue(&api, "alice", PASSWORD, json!({"verify_code": code}))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    api.clock.advance(15 * 60 + 1);
    // After the lock, the old code has expired too: a new one is mailed.
    issue(&api, "alice", PASSWORD, json!({"verify_code": code}))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    issue(&api, "alice", PASSWORD, json!({}))
        .await
        .err("ERROR_MFA_REQUIRED", 401);
    let fresh = api.last_code("mfa@example.com");
    issue(&api, "alice", PASSWORD, json!({"verify_code": fresh})).await.ok();
}

#[tokio::test]
async fn a_sign_in_code_expires_after_five_minutes() {
    let api = mfa_user().await;
    issue(&api, "alice", PASSWORD, json!({}))
        .await
        .err("ERROR_MFA_REQUIRED", 401);
    let code = api.last_code("mfa@example.com");
    api.clock.advance(301);
    issue(&api, "alice", PASSWORD, json!({"verify_code": code}))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
}

#[tokio::test]
async fn grant_gives_each_scope_its_role() {
    let api = TestApi::new().await;
    api.create_admin("root-user").await;
    api.create_user("alice", json!({})).await;
    api.create_user(
        "wsm",
        json!({"permission_group": "WORKSPACE", "role_id": "managed-workspace-member", "workspace_id": "ws-1"}),
    )
    .await;
    let (_, admin_refresh) = sign_in(&api, "root-user", PASSWORD).await;
    let (_, alice_refresh) = sign_in(&api, "alice", PASSWORD).await;
    let (_, member_refresh) = sign_in(&api, "wsm", PASSWORD).await;

    let body = grant(&api, &admin_refresh, "DOMAIN", json!({})).await.ok();
    assert_eq!(body["role_type"], "DOMAIN_ADMIN");
    let domain_token = body["access_token"].as_str().unwrap().to_string();
    assert_eq!(claims(&domain_token)["rol"], "DOMAIN_ADMIN");
    api.call("list", &domain_token, json!({"domain_id": DOMAIN})).await.ok();
    grant(&api, &alice_refresh, "DOMAIN", json!({}))
        .await
        .err("ERROR_PERMISSION_DENIED", 403);

    let body = grant(&api, &member_refresh, "WORKSPACE", json!({"workspace_id": "ws-1"}))
        .await
        .ok();
    assert_eq!(body["role_type"], "WORKSPACE_MEMBER");
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(
        (c["rol"].as_str(), c["wid"].as_str()),
        (Some("WORKSPACE_MEMBER"), Some("ws-1"))
    );
    grant(&api, &member_refresh, "WORKSPACE", json!({"workspace_id": "ws-2"}))
        .await
        .err("ERROR_PERMISSION_DENIED", 403);
    grant(&api, &alice_refresh, "WORKSPACE", json!({"workspace_id": "ws-1"}))
        .await
        .err("ERROR_PERMISSION_DENIED", 403);
    let body = grant(&api, &admin_refresh, "WORKSPACE", json!({"workspace_id": "ws-9"}))
        .await
        .ok();
    assert_eq!(body["role_type"], "WORKSPACE_OWNER");

    let body = grant(&api, &member_refresh, "USER", json!({})).await.ok();
    assert_eq!(body["role_type"], "USER");
    assert_eq!(claims(body["access_token"].as_str().unwrap())["rol"], "USER");
    let body = grant(&api, &alice_refresh, "USER", json!({"timeout": 120})).await.ok();
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 120);
}

#[tokio::test]
async fn grant_refuses_what_is_not_a_live_refresh_token_of_this_issuer() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    let (access, refresh) = sign_in(&api, "alice", PASSWORD).await;
    grant(&api, &access, "USER", json!({}))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    grant(&api, "not.a.token", "USER", json!({}))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    // A token of another issuer (a configured JWKS) is no refresh token here.
    let mut other = tests::tokens::claims(DOMAIN, "alice", "USER");
    other["typ"] = json!("REFRESH_TOKEN");
    let mut api_with_jwks = api;
    api_with_jwks.set_verifier(
        shared::auth::TokenVerifier::from_jwks_json(&tests::tokens::jwks(&[tests::tokens::rsa_jwk()])).unwrap(),
    );
    let api = api_with_jwks;
    let foreign = tests::tokens::sign_rs256(Some(tests::tokens::RSA_KID), &other);
    grant(&api, &foreign, "USER", json!({}))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    for (extra, code) in [
        (json!({"grant_type": "AUTHORIZATION_CODE"}), "ERROR_INVALID_PARAMETER"),
        (json!({"scope": "SYSTEM"}), "ERROR_INVALID_PARAMETER"),
        (json!({"scope": "WORKSPACE"}), "ERROR_REQUIRED_PARAMETER"),
        (json!({"grant_type": null}), "ERROR_REQUIRED_PARAMETER"),
    ] {
        grant(&api, &refresh, "USER", extra).await.err(code, 400);
    }
    grant(&api, &refresh, "USER", json!({"domain_id": "domain-other"}))
        .await
        .err("ERROR_PERMISSION_DENIED", 403);
    // A deleted user's refresh token is dead.
    api.admin_call("delete", json!({"user_id": "alice", "domain_id": DOMAIN}))
        .await
        .ok();
    grant(&api, &refresh, "USER", json!({}))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
}

#[tokio::test]
async fn a_pending_password_change_restricts_every_token_to_the_user_itself() {
    let api = TestApi::new().await;
    api.create_admin("root-user").await;
    api.create_user("bob", json!({})).await;
    api.admin_call(
        "set-required-actions",
        json!({"user_id": "root-user", "domain_id": DOMAIN, "actions": ["UPDATE_PASSWORD"]}),
    )
    .await
    .ok();
    let (access, refresh) = sign_in(&api, "root-user", PASSWORD).await;
    assert_eq!(claims(&access)["permissions"], json!(["identity:UserProfile"]));
    let domain = grant(&api, &refresh, "DOMAIN", json!({})).await.ok();
    let domain_token = domain["access_token"].as_str().unwrap().to_string();
    assert_eq!(claims(&domain_token)["permissions"], json!(["identity:UserProfile"]));
    // Whatever its rol says, it may act only as itself.
    get_as(&api, &domain_token, "bob")
        .await
        .err("ERROR_PERMISSION_DENIED", 403);
    api.call("list", &domain_token, json!({"domain_id": DOMAIN}))
        .await
        .err("ERROR_PERMISSION_DENIED", 403);
    get_as(&api, &domain_token, "root-user").await.ok();
    // Changing the password lifts the restriction (and revokes these tokens).
    api.call(
        "update",
        &domain_token,
        json!({"user_id": "root-user", "domain_id": DOMAIN, "password": "Changed123"}),
    )
    .await
    .ok();
    let (_, refresh) = sign_in(&api, "root-user", "Changed123").await;
    let domain = grant(&api, &refresh, "DOMAIN", json!({})).await.ok();
    let token = domain["access_token"].as_str().unwrap().to_string();
    assert!(claims(&token).get("permissions").is_none());
    get_as(&api, &token, "bob").await.ok();
}

#[tokio::test]
async fn disabling_a_user_revokes_its_tokens_even_after_it_is_enabled_again() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    let (access, refresh) = sign_in(&api, "alice", PASSWORD).await;
    get_as(&api, &access, "alice").await.ok();
    let body = json!({"user_id": "alice", "domain_id": DOMAIN});
    api.admin_call("disable", body.clone()).await.ok();
    get_as(&api, &access, "alice")
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    grant(&api, &refresh, "USER", json!({}))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    api.admin_call("enable", body).await.ok();
    get_as(&api, &access, "alice")
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    grant(&api, &refresh, "USER", json!({}))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    let (fresh, _) = sign_in(&api, "alice", PASSWORD).await;
    let before = claims(&access)["gen"].as_u64().expect("gen");
    assert!(claims(&fresh)["gen"].as_u64().expect("gen") > before);
    get_as(&api, &fresh, "alice").await.ok();
}

#[tokio::test]
async fn a_password_change_revokes_older_tokens_and_a_new_sign_in_works_at_once() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    let (access, refresh) = sign_in(&api, "alice", PASSWORD).await;
    api.call(
        "update",
        &access,
        json!({"user_id": "alice", "domain_id": DOMAIN, "password": "Changed123"}),
    )
    .await
    .ok();
    get_as(&api, &access, "alice")
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    grant(&api, &refresh, "USER", json!({}))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    // The very same second: the new generation is what counts, not the time.
    let (access, refresh) = sign_in(&api, "alice", "Changed123").await;
    get_as(&api, &access, "alice").await.ok();
    grant(&api, &refresh, "USER", json!({})).await.ok();
}

#[tokio::test]
async fn a_password_reset_revokes_tokens_too() {
    let api = TestApi::new().await;
    api.create_verified("alice", "alice@example.com").await;
    let (access, refresh) = sign_in(&api, "alice", PASSWORD).await;
    api.admin_call(
        "update",
        json!({"user_id": "alice", "domain_id": DOMAIN, "reset_password": true}),
    )
    .await
    .ok();
    get_as(&api, &access, "alice")
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    grant(&api, &refresh, "USER", json!({}))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    let temporary = api.last_temporary_password("alice@example.com");
    let (access, _) = sign_in(&api, "alice", &temporary).await;
    assert_eq!(claims(&access)["permissions"], json!(["identity:UserProfile"]));
    // The unauthenticated reset (handed over, then run) revokes as well.
    api.post(
        "/identity/v2/user/reset-password",
        None,
        json!({"user_id": "alice", "domain_id": DOMAIN}),
    )
    .await
    .ok();
    api.settle().await;
    get_as(&api, &access, "alice")
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
}

#[tokio::test]
async fn tokens_of_other_issuers_are_revoked_by_the_second_of_the_change() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    // A token of another issuer (no gen), issued after alice's creation second and before the
    // change's.
    tests::next_second().await;
    let claims = tests::tokens::claims(DOMAIN, "alice", "USER");
    let old = tests::tokens::sign_es256(&api.dev_key_pem(), Some(tests::tokens::DEV_KID), &claims);
    get_as(&api, &old, "alice").await.ok();
    tests::next_second().await;
    api.admin_call("disable", json!({"user_id": "alice", "domain_id": DOMAIN}))
        .await
        .ok();
    api.admin_call("enable", json!({"user_id": "alice", "domain_id": DOMAIN}))
        .await
        .ok();
    get_as(&api, &old, "alice").await.err("ERROR_AUTHENTICATE_FAILURE", 401);
    // One issued now (the second of the change, or later) stands.
    get_as(&api, &api.user("alice"), "alice").await.ok();
}

#[tokio::test]
async fn a_disabled_admin_cannot_act_on_others() {
    let api = TestApi::new().await;
    api.create_admin("first").await;
    api.create_admin("second").await;
    api.create_user("bob", json!({})).await;
    let (_, refresh) = sign_in(&api, "second", PASSWORD).await;
    let token = grant(&api, &refresh, "DOMAIN", json!({})).await.ok()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    get_as(&api, &token, "bob").await.ok();
    api.admin_call("disable", json!({"user_id": "second", "domain_id": DOMAIN}))
        .await
        .ok();
    get_as(&api, &token, "bob").await.err("ERROR_AUTHENTICATE_FAILURE", 401);
    api.call("list", &token, json!({"domain_id": DOMAIN}))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    api.call(
        "create",
        &token,
        json!({"user_id": "carol", "auth_type": "EXTERNAL", "permission_group": "DOMAIN", "domain_id": DOMAIN}),
    )
    .await
    .err("ERROR_AUTHENTICATE_FAILURE", 401);
}

#[tokio::test]
async fn the_published_key_verifies_issued_tokens() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    let (access, _) = sign_in(&api, "alice", PASSWORD).await;
    let (status, cache, jwks) = get_request(&api, "/.well-known/jwks.json").await;
    assert_eq!((status, cache.as_deref()), (200, Some("max-age=300")));
    let jwk: Jwk = serde_json::from_value(jwks["keys"][0].clone()).expect("a JWK");
    assert_eq!(jwk.common.key_id.as_deref(), header(&access)["kid"].as_str());
    let mut validation = Validation::new(Algorithm::ES256);
    validation.validate_aud = false;
    let verified = jsonwebtoken::decode::<Value>(&access, &DecodingKey::from_jwk(&jwk).unwrap(), &validation)
        .expect("the published key verifies the token");
    assert_eq!(verified.claims["aud"], "alice");

    let body = api
        .post("/identity/v2/domain/get-public-key", None, json!({"domain_id": DOMAIN}))
        .await
        .ok();
    assert_eq!(body["domain_id"], DOMAIN);
    let public: Value = serde_json::from_str(body["public_key"].as_str().expect("a JSON string")).expect("JWK JSON");
    assert_eq!(public, jwks["keys"][0]);
    assert!(public.get("d").is_none(), "never the private part");
    api.post("/identity/v2/domain/get-public-key", None, json!({}))
        .await
        .err("ERROR_REQUIRED_PARAMETER", 400);
    // The JWKS is read with GET; the Token API's methods with POST.
    api.post("/.well-known/jwks.json", None, json!({}))
        .await
        .err("ERROR_METHOD_NOT_ALLOWED", 405);
    let (status, _, _) = get_request(&api, "/identity/v2/token/issue").await;
    assert_eq!(status, 405);
}
