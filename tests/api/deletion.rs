//! SPEC section 5, "Deletion does not end revocation, and a new account is not its
//! predecessor": tombstones, the creation-second rule, and `gen` tokens of users that do not
//! exist. The two attack stories of issue 21 are the first two tests, as written.

use serde_json::{Value, json};
use shared::model::RoleType;
use tests::tokens::{self, DEV_KID};

use super::fixture::ids;
use tests::{DOMAIN, PASSWORD, Reply, TestApi, next_second};

/// A token's claims (its signature is checked elsewhere).
fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

fn target(user_id: &str) -> Value {
    json!({"user_id": user_id, "domain_id": DOMAIN})
}

async fn sign_in(api: &TestApi, user_id: &str) -> (String, String) {
    let body = json!({"credentials": {"user_id": user_id, "password": PASSWORD}, "domain_id": DOMAIN});
    let answer = api.post("/identity/v2/token/issue", None, body).await.ok();
    let text = |k: &str| answer[k].as_str().expect("a token").to_string();
    (text("access_token"), text("refresh_token"))
}

async fn grant(api: &TestApi, refresh: &str, scope: &str) -> Reply {
    let body = json!({"grant_type": "REFRESH_TOKEN", "token": refresh, "scope": scope, "domain_id": DOMAIN});
    api.post("/identity/v2/token/grant", None, body).await
}

#[tokio::test]
async fn a_disabled_then_deleted_admin_does_not_come_back() {
    let api = TestApi::new().await;
    api.create_admin("adm1").await;
    api.create_admin("adm2").await;
    let (_, refresh) = sign_in(&api, "adm2").await;
    let t = grant(&api, &refresh, "DOMAIN").await.ok()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    api.call("list", &t, json!({"domain_id": DOMAIN})).await.ok();
    api.admin_call("disable", target("adm2")).await.ok();
    api.call("list", &t, json!({"domain_id": DOMAIN}))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    api.admin_call("delete", target("adm2")).await.ok();
    // Before issue 21, the record gone, T fell under the bootstrap rule and worked again.
    api.call("list", &t, json!({"domain_id": DOMAIN}))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    let new_admin = json!({"user_id": "evil", "auth_type": "LOCAL", "password": PASSWORD,
        "permission_group": "DOMAIN", "role_id": "managed-domain-admin", "domain_id": DOMAIN});
    api.call("create", &t, new_admin)
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    api.call("delete", &t, target("adm1"))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    assert_eq!(api.get("adm1").await["state"], "ENABLED");
    // Nor does re-creating adm2 as a plain USER let T back in, nor its refresh token.
    api.create_user("adm2", json!({})).await;
    api.call("list", &t, json!({"domain_id": DOMAIN}))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    api.call("get", &t, target("adm2"))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    grant(&api, &refresh, "USER")
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
}

#[tokio::test]
async fn a_new_account_does_not_inherit_the_old_ones_tokens() {
    let api = TestApi::new().await;
    api.create_user("bob", json!({"name": "Bob One"})).await;
    let (at, rt) = sign_in(&api, "bob").await;
    api.call("get", &at, target("bob")).await.ok();
    api.admin_call("delete", target("bob")).await.ok();
    // Deleted: this API's tokens need their user.
    api.call("get", &at, target("bob"))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    grant(&api, &rt, "USER").await.err("ERROR_AUTHENTICATE_FAILURE", 401);
    // Created again (within the same second, so only `gen` tells the accounts apart).
    api.create_user("bob", json!({"name": "Bob Two"})).await;
    api.call("get", &at, target("bob"))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    let update = json!({"user_id": "bob", "domain_id": DOMAIN, "name": "taken over"});
    api.call("update", &at, update)
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    grant(&api, &rt, "USER").await.err("ERROR_AUTHENTICATE_FAILURE", 401);
    assert_eq!(api.get("bob").await["name"], "Bob Two");
    // The new bob signs in and works at once.
    let (fresh, fresh_refresh) = sign_in(&api, "bob").await;
    api.call("get", &fresh, target("bob")).await.ok();
    grant(&api, &fresh_refresh, "USER").await.ok();
}

#[tokio::test]
async fn another_issuers_token_of_a_deleted_user_stays_refused() {
    let api = TestApi::new().await;
    api.create_admin("adm1").await;
    api.create_admin("adm2").await;
    // A token without `gen` (the dev key stands for another Cloudforet issuer).
    let t = api.token(DOMAIN, "adm2", RoleType::DomainAdmin);
    next_second().await;
    api.admin_call("delete", target("adm2")).await.ok();
    api.call("list", &t, json!({"domain_id": DOMAIN}))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    // One issued after the deletion's second is a new bootstrap admin's, as for a user that
    // never existed.
    next_second().await;
    let later = api.token(DOMAIN, "adm2", RoleType::DomainAdmin);
    api.call("list", &later, json!({"domain_id": DOMAIN})).await.ok();
    let never = api.token(DOMAIN, "never-a-user", RoleType::DomainAdmin);
    api.call("list", &never, json!({"domain_id": DOMAIN})).await.ok();
}

#[tokio::test]
async fn a_token_from_before_its_users_creation_second_is_refused() {
    let api = TestApi::new().await;
    let early = api.user("carol");
    next_second().await;
    api.create_user("carol", json!({})).await;
    api.call("get", &early, target("carol"))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    // A token from the creation's second on works.
    let now = api.user("carol");
    api.call("get", &now, target("carol")).await.ok();
}

#[tokio::test]
async fn a_gen_token_whose_user_never_existed_is_refused() {
    let api = TestApi::new().await;
    api.create_user("dave", json!({})).await;
    let (at, _) = sign_in(&api, "dave").await;
    // The same key, the same claims but another `aud`: a token of this issuer for no user.
    let claims = claims_of(&at);
    let mut forged = claims.clone();
    forged["aud"] = json!("nobody");
    let token = tokens::sign_es256(&api.dev_key_pem(), Some(DEV_KID), &forged);
    api.call("get", &token, target("nobody"))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    // Without `gen`, the bootstrap rule: an admin that is no user still works.
    let mut bootstrap = forged;
    bootstrap.as_object_mut().unwrap().remove("gen");
    bootstrap["rol"] = json!("DOMAIN_ADMIN");
    let token = tokens::sign_es256(&api.dev_key_pem(), Some(DEV_KID), &bootstrap);
    api.call("get", &token, target("dave")).await.ok();
}

#[tokio::test]
async fn tombstones_are_never_users() {
    let api = TestApi::new().await;
    for id in ["erin", "frank", "gina"] {
        api.create_user(id, json!({"email": format!("{id}@example.com")})).await;
    }
    api.admin_call("delete", target("frank")).await.ok();
    api.admin_call("get", target("frank")).await.err("ERROR_NOT_FOUND", 404);
    api.admin_call("delete", target("frank"))
        .await
        .err("ERROR_NOT_FOUND", 404);
    let update = json!({"user_id": "frank", "domain_id": DOMAIN, "name": "x"});
    api.admin_call("update", update).await.err("ERROR_NOT_FOUND", 404);
    let list = api.admin_call("list", json!({"domain_id": DOMAIN})).await.ok();
    assert_eq!(ids(&list), ["erin", "gina"]);
    assert_eq!(list["total_count"], 2);
    let stat = json!({"domain_id": DOMAIN, "query": {"aggregate": [{"count": {"name": "n"}}]}});
    assert_eq!(api.admin_call("stat", stat).await.ok()["results"], json!([{"n": 2}]));
    let distinct = json!({"domain_id": DOMAIN, "query": {"distinct": "user_id"}});
    assert_eq!(
        api.admin_call("stat", distinct).await.ok()["results"],
        json!(["erin", "gina"])
    );
    // A create replaces the tombstone: the user is new, not NOT_UNIQUE.
    let created = api.create_user("frank", json!({})).await;
    assert_eq!(created["email"], "");
    let list = api.admin_call("list", json!({"domain_id": DOMAIN})).await.ok();
    assert_eq!(list["total_count"], 3);
    // Deleted and created again, repeatedly.
    for _ in 0..3 {
        api.admin_call("delete", target("frank")).await.ok();
        api.create_user("frank", json!({})).await;
    }
    assert_eq!(
        api.admin_call("list", json!({"domain_id": DOMAIN})).await.ok()["total_count"],
        3
    );
}
