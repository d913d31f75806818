//! SPEC section 10, authenticator-app MFA (OTP): enrolment, confirmation, disable, sign-in with
//! a code, no code accepted twice, and the secret seen once.

use serde_json::{Value, json};
use shared::model::{DomainId, UserId};
use tests::{DOMAIN, PASSWORD, Reply, TestApi, merge, wrong};

fn body(user_id: &str, extra: Value) -> Value {
    let mut body = json!({"user_id": user_id, "domain_id": DOMAIN});
    merge(&mut body, extra);
    body
}

fn domain_id() -> DomainId {
    DomainId::parse("domain_id", DOMAIN.into()).unwrap()
}

fn user_id(id: &str) -> UserId {
    UserId::parse("user_id", id.into()).unwrap()
}

async fn issue(api: &TestApi, user_id: &str, extra: Value) -> Reply {
    let mut body = json!({"credentials": {"user_id": user_id, "password": PASSWORD}, "domain_id": DOMAIN});
    merge(&mut body, extra);
    api.post("/identity/v2/token/issue", None, body).await
}

/// alice enrols: the enable_mfa answer and the URI in it.
async fn enrol(api: &TestApi, user_id: &str) -> (Value, String) {
    let me = api.user(user_id);
    let user = api
        .call(
            "enable-mfa",
            &me,
            body(user_id, json!({"mfa_type": "OTP", "options": {}})),
        )
        .await
        .ok();
    let uri = user["mfa"]["options"]["otp_qrcode_uri"]
        .as_str()
        .expect("an otp_qrcode_uri")
        .to_string();
    (user, uri)
}

/// Confirms `user_id`'s pending enrolment with the authenticator's code of now; that code.
async fn confirm(api: &TestApi, user_id: &str, uri: &str) -> String {
    let code = api.authenticator_code(uri, 0);
    api.call(
        "confirm-mfa",
        &api.user(user_id),
        body(user_id, json!({"verify_code": code})),
    )
    .await
    .ok();
    code
}

/// A user with OTP ENABLED, its URI, and the clock moved past the step its enrolment used.
async fn enabled(user_id: &str) -> (TestApi, String) {
    let api = TestApi::new().await;
    api.create_user(user_id, json!({"email": "a@example.com"})).await;
    let (_, uri) = enrol(&api, user_id).await;
    confirm(&api, user_id, &uri).await;
    api.clock.advance(30);
    (api, uri)
}

#[tokio::test]
async fn enrolment_answers_the_uri_once_mails_nothing_and_a_code_confirms_it() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({"email": "a@example.com"})).await;
    let (user, uri) = enrol(&api, "alice").await;
    assert_eq!(user["mfa"]["state"], "DISABLED");
    assert_eq!(user["mfa"]["mfa_type"], "OTP");
    let options = user["mfa"]["options"].as_object().expect("options");
    assert_eq!(options.keys().collect::<Vec<_>>(), ["otp_qrcode_uri"]);
    let secret = uri
        .strip_prefix("otpauth://totp/Cloudforet:alice?secret=")
        .and_then(|rest| rest.strip_suffix("&issuer=Cloudforet"))
        .unwrap_or_else(|| panic!("the SPEC's URI: {uri}"));
    assert_eq!(secret.len(), 32, "160 bits in base32");
    assert!(
        secret
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
    );
    assert!(api.mails().is_empty(), "OTP mails nothing");
    // While pending, the user shows the type and no options.
    assert_eq!(
        api.get("alice").await["mfa"],
        json!({"state": "DISABLED", "mfa_type": "OTP", "options": {}})
    );
    let me = api.user("alice");
    let code = api.authenticator_code(&uri, 0);
    api.call("confirm-mfa", &me, body("alice", json!({"verify_code": wrong(&code)})))
        .await
        .err("ERROR_INVALID_VERIFY_CODE", 400);
    let user = api
        .call("confirm-mfa", &me, body("alice", json!({"verify_code": code})))
        .await
        .ok();
    assert_eq!(
        user["mfa"],
        json!({"state": "ENABLED", "mfa_type": "OTP", "options": {}})
    );
    assert_eq!(api.get("alice").await["mfa"], user["mfa"]);
}

#[tokio::test]
async fn otp_takes_no_options_and_other_types_are_not_supported() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    let me = api.user("alice");
    let message = api
        .call(
            "enable-mfa",
            &me,
            body(
                "alice",
                json!({"mfa_type": "OTP", "options": {"email": "m@example.com"}}),
            ),
        )
        .await
        .err("ERROR_INVALID_PARAMETER", 400);
    assert!(message.contains("options.email"), "{message}");
    api.call(
        "enable-mfa",
        &me,
        body("alice", json!({"mfa_type": "SMS", "options": {}})),
    )
    .await
    .err("ERROR_NOT_SUPPORTED_MFA_TYPE", 400);
    // `options` may be left out for OTP (not for EMAIL).
    api.call("enable-mfa", &me, body("alice", json!({"mfa_type": "OTP"})))
        .await
        .ok();
    api.call("enable-mfa", &me, body("alice", json!({"mfa_type": "EMAIL"})))
        .await
        .err("ERROR_REQUIRED_PARAMETER", 400);
}

#[tokio::test]
async fn a_code_counts_one_step_either_side_and_no_further() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    let me = api.user("alice");
    let (_, uri) = enrol(&api, "alice").await;
    for offset in [-60, 60] {
        let code = api.authenticator_code(&uri, offset);
        api.call("confirm-mfa", &me, body("alice", json!({"verify_code": code})))
            .await
            .err("ERROR_INVALID_VERIFY_CODE", 400);
    }
    let previous_step = api.authenticator_code(&uri, -30);
    api.call("confirm-mfa", &me, body("alice", json!({"verify_code": previous_step})))
        .await
        .ok();
}

#[tokio::test]
async fn five_wrong_codes_end_the_enrolment_and_a_new_one_starts_afresh() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    let me = api.user("alice");
    let (_, uri) = enrol(&api, "alice").await;
    let code = api.authenticator_code(&uri, 0);
    for _ in 0..5 {
        api.call("confirm-mfa", &me, body("alice", json!({"verify_code": wrong(&code)})))
            .await
            .err("ERROR_INVALID_VERIFY_CODE", 400);
    }
    api.call("confirm-mfa", &me, body("alice", json!({"verify_code": code})))
        .await
        .err("ERROR_INVALID_VERIFY_CODE", 400);
    let (_, again) = enrol(&api, "alice").await;
    assert_ne!(again, uri, "a new secret");
    // The old secret's code does not confirm the new enrolment; the new one's does.
    api.call("confirm-mfa", &me, body("alice", json!({"verify_code": code})))
        .await
        .err("ERROR_INVALID_VERIFY_CODE", 400);
    let code = api.authenticator_code(&again, 0);
    api.call("confirm-mfa", &me, body("alice", json!({"verify_code": code})))
        .await
        .ok();
}

#[tokio::test]
async fn an_enrolment_is_pending_for_five_minutes() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    let (_, uri) = enrol(&api, "alice").await;
    api.clock.advance(301);
    let code = api.authenticator_code(&uri, 0);
    api.call(
        "confirm-mfa",
        &api.user("alice"),
        body("alice", json!({"verify_code": code})),
    )
    .await
    .err("ERROR_INVALID_VERIFY_CODE", 400);
}

#[tokio::test]
async fn enabling_again_is_refused_and_enrolling_again_replaces_the_pending_secret() {
    let (api, _) = enabled("alice").await;
    let me = api.user("alice");
    api.call("enable-mfa", &me, body("alice", json!({"mfa_type": "OTP"})))
        .await
        .err("ERROR_MFA_ALREADY_ENABLED", 400);
    api.call(
        "enable-mfa",
        &me,
        body(
            "alice",
            json!({"mfa_type": "EMAIL", "options": {"email": "m@example.com"}}),
        ),
    )
    .await
    .err("ERROR_MFA_ALREADY_ENABLED", 400);

    let api = TestApi::new().await;
    api.create_user("bob", json!({})).await;
    let (_, first) = enrol(&api, "bob").await;
    let (_, second) = enrol(&api, "bob").await;
    let stale = api.authenticator_code(&first, 0);
    if stale != api.authenticator_code(&second, 0) {
        api.call(
            "confirm-mfa",
            &api.user("bob"),
            body("bob", json!({"verify_code": stale})),
        )
        .await
        .err("ERROR_INVALID_VERIFY_CODE", 400);
    }
    let code = api.authenticator_code(&second, 0);
    api.call(
        "confirm-mfa",
        &api.user("bob"),
        body("bob", json!({"verify_code": code})),
    )
    .await
    .ok();
}

#[tokio::test]
async fn sign_in_asks_for_the_code_and_takes_it_once() {
    let (api, uri) = enabled("alice").await;
    let message = issue(&api, "alice", json!({})).await.err("ERROR_MFA_REQUIRED", 401);
    assert!(message.contains("authenticator"), "{message}");
    assert!(api.mails().is_empty(), "no mail for OTP");
    let code = api.authenticator_code(&uri, 0);
    issue(&api, "alice", json!({"verify_code": wrong(&code)}))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    let tokens = issue(&api, "alice", json!({"verify_code": code, "auth_type": "MFA"}))
        .await
        .ok();
    assert!(tokens["access_token"].is_string());
    // The same code again, and a code of the step before: refused (the generic failure).
    issue(&api, "alice", json!({"verify_code": code}))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    let previous = api.authenticator_code(&uri, -30);
    issue(&api, "alice", json!({"verify_code": previous}))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    api.clock.advance(30);
    let next = api.authenticator_code(&uri, 0);
    issue(&api, "alice", json!({"verify_code": next})).await.ok();
    // `auth_type: MFA` needs the code.
    let message = issue(&api, "alice", json!({"auth_type": "MFA"}))
        .await
        .err("ERROR_REQUIRED_PARAMETER", 400);
    assert!(message.contains("verify_code"), "{message}");
}

#[tokio::test]
async fn the_code_of_the_enrolment_does_not_sign_in() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    let (_, uri) = enrol(&api, "alice").await;
    let code = confirm(&api, "alice", &uri).await;
    issue(&api, "alice", json!({"verify_code": code}))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
}

#[tokio::test]
async fn wrong_codes_are_failed_sign_ins_and_lock_it() {
    let (api, uri) = enabled("alice").await;
    let code = api.authenticator_code(&uri, 0);
    for _ in 0..5 {
        issue(&api, "alice", json!({"verify_code": wrong(&code)}))
            .await
            .err("ERROR_AUTHENTICATE_FAILURE", 401);
    }
    issue(&api, "alice", json!({"verify_code": code}))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    api.clock.advance(15 * 60 + 1);
    let code = api.authenticator_code(&uri, 0);
    issue(&api, "alice", json!({"verify_code": code})).await.ok();
}

#[tokio::test]
async fn parallel_sign_ins_with_one_code_give_one_success() {
    let api = TestApi::for_races().await;
    api.create_user("alice", json!({})).await;
    let (_, uri) = enrol(&api, "alice").await;
    confirm(&api, "alice", &uri).await;
    api.clock.advance(30);
    let code = api.authenticator_code(&uri, 0);
    let attempts = (0..20).map(|_| issue(&api, "alice", json!({"verify_code": code})));
    let replies = futures_util::future::join_all(attempts).await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    for reply in replies.iter().filter(|r| r.status != 200) {
        assert_eq!((reply.status, reply.code()), (401, "ERROR_AUTHENTICATE_FAILURE"));
    }
}

#[tokio::test]
async fn disabling_waits_for_a_new_code_and_an_admin_may_force_it() {
    let (api, uri) = enabled("alice").await;
    let me = api.user("alice");
    let user = api.call("disable-mfa", &me, body("alice", json!({}))).await.ok();
    assert_eq!(user["mfa"]["state"], "ENABLED", "until confirmed");
    assert!(api.mails().is_empty(), "OTP mails nothing");
    // A code of a step already accepted (the enrolment's, one step back) does not confirm it.
    let used = api.authenticator_code(&uri, -30);
    api.call("confirm-mfa", &me, body("alice", json!({"verify_code": used})))
        .await
        .err("ERROR_INVALID_VERIFY_CODE", 400);
    let code = api.authenticator_code(&uri, 0);
    let user = api
        .call("confirm-mfa", &me, body("alice", json!({"verify_code": code})))
        .await
        .ok();
    assert_eq!(user["mfa"], json!({"state": "DISABLED"}));
    // Signing in needs no code now.
    issue(&api, "alice", json!({})).await.ok();

    let (api, _) = enabled("bob").await;
    api.call("disable-mfa", &api.user("bob"), body("bob", json!({"force": true})))
        .await
        .err("ERROR_PERMISSION_DENIED", 403);
    let user = api
        .admin_call("disable-mfa", body("bob", json!({"force": true})))
        .await
        .ok();
    assert_eq!(user["mfa"], json!({"state": "DISABLED"}));
    issue(&api, "bob", json!({})).await.ok();
}

/// The secret (its base32 text and its bytes) appears in the enable_mfa answer and nowhere
/// else: not in get, list or stat, another answer, the outbox, or the stored record.
#[tokio::test]
async fn the_secret_appears_in_one_answer_only() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({"email": "a@example.com"})).await;
    let (_, uri) = enrol(&api, "alice").await;
    let secret = tests::otp_secret(&uri);
    let code = api.authenticator_code(&uri, 0);
    let mut seen = vec![
        api.call(
            "confirm-mfa",
            &api.user("alice"),
            body("alice", json!({"verify_code": code})),
        )
        .await
        .ok(),
        api.get("alice").await,
        api.admin_call("list", json!({"domain_id": DOMAIN})).await.ok(),
        api.admin_call("stat", json!({"domain_id": DOMAIN, "query": {"distinct": "mfa"}}))
            .await
            .ok(),
    ];
    seen.extend(api.mails());
    let stored = api
        .app
        .store
        .get_user(&domain_id(), &user_id("alice"))
        .await
        .unwrap()
        .unwrap();
    let texts: Vec<String> = seen
        .iter()
        .map(Value::to_string)
        .chain([format!("{stored:?}"), serde_json::to_string(&stored.item).unwrap()])
        .collect();
    for text in &texts {
        assert!(!text.contains(&secret), "the secret in {text}");
        assert!(!text.contains("otpauth"), "the URI in {text}");
    }
    assert!(stored.item.otp.is_some(), "the sealed secret is stored");
}

/// A sealed secret is bound to its user: copied onto another user's record, it opens for no one.
#[tokio::test]
async fn a_secret_copied_to_another_user_checks_no_code() {
    let (api, uri) = enabled("alice").await;
    api.create_user("bob", json!({})).await;
    let (domain, alice, bob) = (domain_id(), user_id("alice"), user_id("bob"));
    let stored = api.app.store.get_user(&domain, &alice).await.unwrap().unwrap();
    let before = api.app.store.get_user(&domain, &bob).await.unwrap().unwrap();
    let mut copied = before.item.clone();
    copied.mfa = stored.item.mfa.clone();
    copied.otp = stored.item.otp.clone();
    api.app
        .store
        .save_user(&before, &copied, shared::store::CodeChange::None)
        .await
        .unwrap();
    let code = api.authenticator_code(&uri, 0);
    issue(&api, "bob", json!({"verify_code": code}))
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    issue(&api, "alice", json!({"verify_code": code})).await.ok();
}

#[tokio::test]
async fn enforce_mfa_is_not_an_action_to_set() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    for actions in [
        json!(["ENFORCE_MFA"]),
        json!([1]),
        json!(["UPDATE_PASSWORD", "ENFORCE_MFA"]),
    ] {
        let message = api
            .admin_call("set-required-actions", body("alice", json!({"actions": actions})))
            .await
            .err("ERROR_INVALID_PARAMETER", 400);
        assert!(message.contains("actions"), "{message}");
    }
    assert_eq!(api.get("alice").await["required_actions"], json!([]));
}

#[tokio::test]
async fn a_pending_disable_ends_after_five_minutes_or_five_wrong_codes() {
    let (api, uri) = enabled("alice").await;
    let me = api.user("alice");
    api.call("disable-mfa", &me, body("alice", json!({}))).await.ok();
    api.clock.advance(301);
    let code = api.authenticator_code(&uri, 0);
    api.call("confirm-mfa", &me, body("alice", json!({"verify_code": code})))
        .await
        .err("ERROR_INVALID_VERIFY_CODE", 400);
    assert_eq!(api.get("alice").await["mfa"]["state"], "ENABLED");

    api.call("disable-mfa", &me, body("alice", json!({}))).await.ok();
    let code = api.authenticator_code(&uri, 0);
    for _ in 0..5 {
        api.call("confirm-mfa", &me, body("alice", json!({"verify_code": wrong(&code)})))
            .await
            .err("ERROR_INVALID_VERIFY_CODE", 400);
    }
    api.call("confirm-mfa", &me, body("alice", json!({"verify_code": code})))
        .await
        .err("ERROR_INVALID_VERIFY_CODE", 400);
    assert_eq!(
        api.get("alice").await["mfa"]["state"],
        "ENABLED",
        "the disable was cancelled"
    );
}

/// Without a key to seal or open secrets (a Lambda function deployed without MFA_SECRET_KEY),
/// OTP is a 503 that changes nothing; EMAIL MFA is unaffected.
#[tokio::test]
async fn without_a_secret_key_otp_is_unavailable_and_nothing_changes() {
    let mut api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    api.app.vault = std::sync::Arc::new(shared::vault::NoVault);
    let me = api.user("alice");
    let message = api
        .call("enable-mfa", &me, body("alice", json!({"mfa_type": "OTP"})))
        .await
        .err("ERROR_UNAVAILABLE", 503);
    assert!(message.contains("MFA secret key"), "{message}");
    assert_eq!(api.get("alice").await["mfa"], json!({"state": "DISABLED"}));
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
}

/// MFA_OTP_ISSUER_NAME names the issuer in both places of the URI, percent-encoded, as is a
/// user id with characters a label cannot hold.
#[tokio::test]
async fn the_uri_names_the_configured_issuer_and_encodes_both_parts() {
    let mut api = TestApi::new().await;
    api.app.otp_issuer = "Acme Co".into();
    api.create_user("a:b@c", json!({})).await;
    let user = api
        .call(
            "enable-mfa",
            &api.user("a:b@c"),
            body("a:b@c", json!({"mfa_type": "OTP"})),
        )
        .await
        .ok();
    let uri = user["mfa"]["options"]["otp_qrcode_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Acme%20Co:a%3Ab%40c?secret="), "{uri}");
    assert!(uri.ends_with("&issuer=Acme%20Co"), "{uri}");
}
