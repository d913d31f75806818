//! SPEC section 5, authentication: which tokens are accepted. Every failure is 401.

use serde_json::{Value, json};
use shared::auth::TokenVerifier;
use tests::tokens::{self, DEV_KID, RSA_KID};
use tests::{DOMAIN, TestApi};

async fn get_with(api: &TestApi, token: &str) -> tests::Reply {
    api.call("get", token, json!({"user_id": "alice", "domain_id": DOMAIN}))
        .await
}

async fn api_with_keys(keys: &[Value]) -> TestApi {
    let mut api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    api.set_verifier(TokenVerifier::from_jwks_json(&tokens::jwks(keys)).unwrap());
    api
}

fn admin_claims() -> Value {
    tokens::claims(DOMAIN, "root", "DOMAIN_ADMIN")
}

#[tokio::test]
async fn es256_and_rs256_tokens_verify_against_their_keys() {
    let dev = TestApi::new().await;
    let api = api_with_keys(&[tokens::rsa_jwk(), dev.dev_jwk()]).await;
    get_with(&api, &tokens::sign_rs256(Some(RSA_KID), &admin_claims()))
        .await
        .ok();
    get_with(
        &api,
        &tokens::sign_es256(&dev.dev_key_pem(), Some(DEV_KID), &admin_claims()),
    )
    .await
    .ok();
}

#[tokio::test]
async fn missing_or_malformed_headers_are_401() {
    let api = TestApi::new().await;
    for header in [
        None,
        Some("Basic abc"),
        Some("Bearer"),
        Some("Bearer not.a.jwt"),
        Some("Bearer a.b"),
    ] {
        let mut builder = lambda_http::http::Request::builder()
            .method("POST")
            .uri("/identity/v2/user/get");
        if let Some(h) = header {
            builder = builder.header("authorization", h);
        }
        let request = builder
            .body(lambda_http::Body::from(r#"{"user_id":"a","domain_id":"domain-test"}"#))
            .unwrap();
        api.send(request).await.err("ERROR_AUTHENTICATE_FAILURE", 401);
    }
}

#[tokio::test]
async fn expiry_is_required_and_checked_with_60_seconds_leeway() {
    let api = api_with_keys(&[tokens::rsa_jwk()]).await;
    let now = chrono::Utc::now().timestamp();
    let mut claims = admin_claims();
    claims["exp"] = json!(now - 30);
    get_with(&api, &tokens::sign_rs256(Some(RSA_KID), &claims)).await.ok();
    claims["exp"] = json!(now - 120);
    get_with(&api, &tokens::sign_rs256(Some(RSA_KID), &claims))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    claims.as_object_mut().unwrap().remove("exp");
    get_with(&api, &tokens::sign_rs256(Some(RSA_KID), &claims))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
}

#[tokio::test]
async fn alg_none_and_hs256_with_the_public_key_are_refused() {
    let api = api_with_keys(&[tokens::rsa_jwk()]).await;
    get_with(&api, &tokens::unsigned(&admin_claims()))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    get_with(&api, &tokens::sign_hs256_with_public_key(&admin_claims()))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
}

#[tokio::test]
async fn kid_selects_the_key_and_mismatches_are_refused() {
    let dev = TestApi::new().await;
    let api = api_with_keys(&[tokens::rsa_jwk(), dev.dev_jwk()]).await;
    let claims = admin_claims();
    // Unknown kid.
    get_with(&api, &tokens::sign_rs256(Some("nope"), &claims))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    // No kid while the set has two keys.
    get_with(&api, &tokens::sign_rs256(None, &claims))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    // ES256 token naming the RSA key: key/alg mismatch.
    get_with(&api, &tokens::sign_es256(&dev.dev_key_pem(), Some(RSA_KID), &claims))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    // RS256 token naming the EC key.
    get_with(&api, &tokens::sign_rs256(Some(DEV_KID), &claims))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
}

#[tokio::test]
async fn a_token_without_kid_uses_the_only_key() {
    let api = api_with_keys(&[tokens::rsa_jwk()]).await;
    get_with(&api, &tokens::sign_rs256(None, &admin_claims())).await.ok();
}

#[tokio::test]
async fn a_tampered_payload_fails_the_signature() {
    let api = api_with_keys(&[tokens::rsa_jwk()]).await;
    let token = tokens::sign_rs256(Some(RSA_KID), &tokens::claims(DOMAIN, "alice", "USER"));
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    let forged = tokens::sign_rs256(Some(RSA_KID), &admin_claims());
    parts[1] = forged.split('.').nth(1).unwrap().to_string();
    get_with(&api, &parts.join("."))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
}

#[tokio::test]
async fn typ_ver_and_rol_must_be_cloudforet_access_token_values() {
    let api = api_with_keys(&[tokens::rsa_jwk()]).await;
    for (claim, value) in [
        ("typ", json!("REFRESH_TOKEN")),
        ("ver", json!("1.0")),
        ("rol", json!("GOD")),
        ("did", json!("")),
    ] {
        let mut claims = admin_claims();
        claims[claim] = value;
        let reply = get_with(&api, &tokens::sign_rs256(Some(RSA_KID), &claims)).await;
        reply.err("ERROR_AUTHENTICATE_FAILURE", 401);
    }
}

#[tokio::test]
async fn iss_and_wid_are_not_checked() {
    let api = api_with_keys(&[tokens::rsa_jwk()]).await;
    let mut claims = admin_claims();
    claims["iss"] = json!("somewhere.else");
    claims["wid"] = json!("workspace-123");
    get_with(&api, &tokens::sign_rs256(Some(RSA_KID), &claims)).await.ok();
}

#[tokio::test]
async fn failures_never_echo_the_token() {
    let api = api_with_keys(&[tokens::rsa_jwk()]).await;
    let token = tokens::sign_rs256(Some("nope"), &admin_claims());
    let reply = get_with(&api, &token).await;
    assert!(!reply.body.to_string().contains(&token[..20]));
}
