//! The KMS signer (`shared::auth::kms`) against moto's KMS: tokens signed by an asymmetric KMS
//! key verify with the JWK the service publishes, for ECC and RSA keys, named by id or alias;
//! the public key is read once; a rotation keeps the previous key's tokens valid.

use std::sync::Arc;

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use shared::auth::issuer::TokenSubject;
use shared::auth::kms::KmsSigner;
use shared::auth::{Issuer, Keyring, TokenSigner, TokenVerifier};
use shared::model::RoleType;
use tests::moto::{self, RequestCounter};

fn issuer(signer: Arc<dyn TokenSigner>, previous: Vec<Arc<dyn TokenSigner>>) -> Issuer {
    Issuer::new(signer, previous, "users".into(), 1800, 10800)
}

fn subject() -> TokenSubject<'static> {
    TokenSubject {
        domain_id: "domain-kms",
        user_id: "alice",
        generation: 2,
        restricted: false,
    }
}

/// Verifies `token` with nothing but the published JWK of `kid`, as another service would.
fn verify_with_published(jwks: &Value, token: &str, alg: Algorithm) -> Value {
    let kid = jsonwebtoken::decode_header(token).expect("header").kid.expect("a kid");
    let jwk = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("the token's key is published");
    let jwk: Jwk = serde_json::from_value(jwk.clone()).expect("a JWK");
    let mut validation = Validation::new(alg);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(&jwk).expect("key"), &validation)
        .expect("the published key verifies the token")
        .claims
}

#[tokio::test]
async fn an_ecc_key_signs_es256_tokens_that_the_published_jwk_verifies() {
    let counter = RequestCounter::default();
    let client = moto::kms(&counter);
    let key_id = moto::signing_key(&client, "ECC_NIST_P256").await;
    let issuer = issuer(Arc::new(KmsSigner::new(client, &key_id)), vec![]);
    counter.reset();
    let token = issuer
        .access_token(&subject(), RoleType::DomainAdmin, None, 600)
        .await
        .expect("signed");
    let refresh = issuer.refresh_token(&subject()).await.expect("signed");
    // The public key is read once per process; each token is one Sign.
    let counts = counter.counts();
    assert_eq!(
        (counts.get("GetPublicKey"), counts.get("Sign")),
        (Some(&1), Some(&2)),
        "{counts:?}"
    );
    let jwks = issuer.jwks().await.expect("jwks");
    assert_eq!(jwks["keys"][0]["kid"], key_id.as_str());
    assert_eq!(jwks["keys"][0]["alg"], "ES256");
    let claims = verify_with_published(&jwks, &token, Algorithm::ES256);
    assert_eq!(
        (claims["aud"].as_str(), claims["gen"].as_i64()),
        (Some("alice"), Some(2))
    );
    // The User API's keyring accepts it with no JWKS configured; grant reads the refresh token.
    let keyring = Keyring::new(TokenVerifier::trusting_no_key(), Some(Arc::new(issuer)));
    let caller = keyring.verify(&token).await.expect("accepted");
    assert_eq!(caller.role, RoleType::DomainAdmin);
    assert_eq!(
        keyring.verify_refresh(&refresh).await.expect("refresh").user_id,
        "alice"
    );
    assert!(
        keyring.verify(&refresh).await.is_err(),
        "a refresh token is no access token"
    );
}

#[tokio::test]
async fn an_rsa_key_named_by_its_alias_signs_rs256_with_the_key_id_as_kid() {
    let client = moto::kms(&RequestCounter::default());
    let key_id = moto::signing_key(&client, "RSA_2048").await;
    let alias = format!("alias/users-test-{}", tests::moto::unique_id());
    client
        .create_alias()
        .alias_name(&alias)
        .target_key_id(&key_id)
        .send()
        .await
        .expect("alias");
    let issuer = issuer(Arc::new(KmsSigner::new(client, &alias)), vec![]);
    let token = issuer
        .access_token(
            &TokenSubject {
                restricted: true,
                ..subject()
            },
            RoleType::User,
            Some("ws-1"),
            600,
        )
        .await
        .expect("signed");
    let jwks = issuer.jwks().await.expect("jwks");
    assert_eq!(
        (jwks["keys"][0]["kid"].as_str(), jwks["keys"][0]["alg"].as_str()),
        (Some(key_id.as_str()), Some("RS256"))
    );
    let claims = verify_with_published(&jwks, &token, Algorithm::RS256);
    assert_eq!(claims["wid"], "ws-1");
    assert_eq!(claims["permissions"], json!(["identity:UserProfile"]));
}

#[tokio::test]
async fn after_a_rotation_the_previous_keys_tokens_stay_valid() {
    let client = moto::kms(&RequestCounter::default());
    let old_key = moto::signing_key(&client, "ECC_NIST_P256").await;
    let new_key = moto::signing_key(&client, "ECC_NIST_P256").await;
    let before = issuer(Arc::new(KmsSigner::new(client.clone(), &old_key)), vec![]);
    let old_token = before
        .access_token(&subject(), RoleType::User, None, 600)
        .await
        .expect("signed");
    let rotated = issuer(
        Arc::new(KmsSigner::new(client.clone(), &new_key)),
        vec![Arc::new(KmsSigner::new(client.clone(), &old_key))],
    );
    let new_token = rotated
        .access_token(&subject(), RoleType::User, None, 600)
        .await
        .expect("signed");
    let jwks = rotated.jwks().await.expect("jwks");
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert_eq!(kids, [new_key.as_str(), old_key.as_str()]);
    let keyring = Keyring::new(TokenVerifier::trusting_no_key(), Some(Arc::new(rotated)));
    keyring.verify(&old_token).await.expect("the previous key's token");
    keyring.verify(&new_token).await.expect("the new key's token");
    // Without the previous key listed, its tokens are refused.
    let forgetful = Keyring::new(
        TokenVerifier::trusting_no_key(),
        Some(Arc::new(issuer(Arc::new(KmsSigner::new(client, &new_key)), vec![]))),
    );
    assert!(forgetful.verify(&old_token).await.is_err());
}

#[tokio::test]
async fn a_missing_key_is_a_503_not_a_panic() {
    let client = moto::kms(&RequestCounter::default());
    let missing = issuer(Arc::new(KmsSigner::new(client, "alias/no-such-key")), vec![]);
    let error = missing
        .access_token(&subject(), RoleType::User, None, 600)
        .await
        .expect_err("no key");
    assert_eq!(error.code(), "ERROR_UNAVAILABLE");
}

/// The OTP secret vault on KMS (`shared::vault::kms`): one Encrypt to seal, one Decrypt to
/// open; the owner is the encryption context, so a sealed secret opens for its user only.
#[tokio::test]
async fn a_kms_sealed_otp_secret_opens_for_its_owner_only() {
    use shared::model::{DomainId, UserId};
    use shared::otp::{OtpSecret, Sealed};
    use shared::vault::kms::KmsVault;
    use shared::vault::{Owner, Vault, VaultError};

    let counter = RequestCounter::default();
    let client = moto::kms(&counter);
    let key_id = client
        .create_key()
        .send()
        .await
        .expect("a symmetric KMS key")
        .key_metadata
        .expect("key metadata")
        .key_id;
    let vault = KmsVault::new(client, &key_id);
    let domain = DomainId::parse("domain_id", "domain-kms".into()).unwrap();
    let (alice, bob) = (
        UserId::parse("user_id", "alice".into()).unwrap(),
        UserId::parse("user_id", "bob".into()).unwrap(),
    );
    let owner = Owner {
        domain_id: &domain,
        user_id: &alice,
    };
    let secret = OtpSecret::generate().unwrap();
    counter.reset();
    let sealed = vault.seal(owner, &secret).await.expect("sealed");
    let opened = vault.open(owner, &sealed).await.expect("opened");
    assert_eq!(opened.as_bytes(), secret.as_bytes());
    let counts = counter.counts();
    assert_eq!(
        (counts.get("Encrypt"), counts.get("Decrypt")),
        (Some(&1), Some(&1)),
        "{counts:?}"
    );
    assert!(!sealed.as_bytes().windows(20).any(|w| w == secret.as_bytes()));

    let bobs = Owner {
        domain_id: &domain,
        user_id: &bob,
    };
    assert!(matches!(vault.open(bobs, &sealed).await, Err(VaultError::DoesNotOpen)));
    // A secret the local key file sealed is not this key's.
    let mut local = sealed.as_bytes().to_vec();
    local[0] = 1;
    assert!(matches!(
        vault.open(owner, &Sealed::new(local)).await,
        Err(VaultError::Unavailable(_))
    ));
}
