//! This project's own tokens (SPEC section 9): signing them through a [`TokenSigner`] (the dev
//! key locally, an AWS KMS key on AWS), publishing the public keys, and the [`Keyring`] that
//! verifies a token with this issuer's keys or the configured JWKS, whichever its `kid` names.

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use super::Caller;
use super::verify::{RefreshToken, TokenVerifier};
use crate::error::ApiError;
use crate::model::{RoleType, User};

/// A public signing key as published: its `kid`, JWS algorithm and JWK.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicKey {
    pub kid: String,
    pub alg: &'static str,
    pub jwk: Value,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SignError(pub String);

/// Something that signs JWS signing input with a private key it may never reveal.
#[async_trait]
pub trait TokenSigner: Send + Sync {
    /// The public half (read once per process by the adapters that must ask for it).
    async fn public_key(&self) -> Result<PublicKey, SignError>;

    /// The JWS signature of `message` for the key's algorithm (ES256: r‖s, 64 bytes).
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError>;
}

/// Claims every token of this issuer carries, whatever its type, and whether its access
/// tokens are restricted (`permissions`).
pub struct TokenSubject<'a> {
    pub domain_id: &'a str,
    pub user_id: &'a str,
    pub generation: u64,
    /// A password change is pending: access tokens act only as the user itself.
    pub restricted: bool,
}

impl<'a> TokenSubject<'a> {
    /// The subject of a token issued to `user` now, at its current generation.
    pub fn of(user: &'a User) -> Self {
        Self {
            domain_id: user.domain_id.as_str(),
            user_id: user.user_id.as_str(),
            generation: user.token_generation,
            restricted: user.is_restricted(),
        }
    }
}

/// Signs this project's tokens and publishes their keys.
pub struct Issuer {
    signer: Arc<dyn TokenSigner>,
    /// Keys that signed before a rotation (TOKEN_PREVIOUS_KEYS): verified, never used to sign.
    previous: Vec<Arc<dyn TokenSigner>>,
    name: String,
    pub access_ttl: i64,
    pub refresh_ttl: i64,
    verifier: OnceCell<TokenVerifier>,
    keys: OnceCell<Vec<PublicKey>>,
}

/// The longest access token a caller may ask for (`timeout`): 7 days.
pub const MAX_ACCESS_TTL: i64 = 7 * 24 * 3600;

fn unavailable(error: SignError) -> ApiError {
    tracing::error!(%error, "token signing key unavailable");
    ApiError::Unavailable {
        service: "token signing",
    }
}

impl Issuer {
    pub fn new(
        signer: Arc<dyn TokenSigner>,
        previous: Vec<Arc<dyn TokenSigner>>,
        name: String,
        access_ttl: i64,
        refresh_ttl: i64,
    ) -> Self {
        Self {
            signer,
            previous,
            name,
            access_ttl,
            refresh_ttl,
            verifier: OnceCell::new(),
            keys: OnceCell::new(),
        }
    }

    /// Every public key this issuer's tokens may be signed with, the current one first.
    pub async fn public_keys(&self) -> Result<&[PublicKey], ApiError> {
        let keys = self
            .keys
            .get_or_try_init(|| async {
                let mut keys = vec![self.signer.public_key().await.map_err(unavailable)?];
                for key in &self.previous {
                    keys.push(key.public_key().await.map_err(unavailable)?);
                }
                Ok::<_, ApiError>(keys)
            })
            .await?;
        Ok(keys)
    }

    /// The JWKS of [`Issuer::public_keys`].
    pub async fn jwks(&self) -> Result<Value, ApiError> {
        let keys: Vec<Value> = self.public_keys().await?.iter().map(|k| k.jwk.clone()).collect();
        Ok(json!({ "keys": keys }))
    }

    /// A verifier of this issuer's tokens, made once.
    pub async fn verifier(&self) -> Result<&TokenVerifier, ApiError> {
        self.verifier
            .get_or_try_init(|| async {
                let jwks = self.jwks().await?;
                TokenVerifier::from_jwks_json(&jwks.to_string()).map_err(|error| {
                    tracing::error!(%error, "the token signing key cannot verify");
                    ApiError::Unavailable {
                        service: "token signing",
                    }
                })
            })
            .await
    }

    /// An access token (SPEC section 9): `rol`, optional `wid`, and `permissions` when the
    /// user must first change its password.
    pub async fn access_token(
        &self,
        subject: &TokenSubject<'_>,
        role: RoleType,
        workspace_id: Option<&str>,
        ttl: i64,
    ) -> Result<String, ApiError> {
        let mut claims = self.base_claims(subject, "ACCESS_TOKEN", ttl);
        claims["rol"] = role.as_str().into();
        if let Some(wid) = workspace_id {
            claims["wid"] = wid.into();
        }
        if subject.restricted {
            claims["permissions"] = json!(["identity:UserProfile"]);
        }
        self.sign(&claims).await
    }

    pub async fn refresh_token(&self, subject: &TokenSubject<'_>) -> Result<String, ApiError> {
        let claims = self.base_claims(subject, "REFRESH_TOKEN", self.refresh_ttl);
        self.sign(&claims).await
    }

    fn base_claims(&self, subject: &TokenSubject<'_>, typ: &str, ttl: i64) -> Value {
        // Token times are real time, whatever clock the service's state uses: the verifiers
        // of other services read them against their own clocks.
        let iat = chrono::Utc::now().timestamp();
        json!({
            "iss": self.name, "typ": typ, "ver": "2.0", "own": "USER",
            "did": subject.domain_id, "aud": subject.user_id,
            "iat": iat, "exp": iat.saturating_add(ttl),
            "jti": crate::secrets::random_hex(16), "gen": subject.generation,
        })
    }

    async fn sign(&self, claims: &Value) -> Result<String, ApiError> {
        let key = self.public_keys().await?.first().ok_or(ApiError::Unavailable {
            service: "token signing",
        })?;
        let header = json!({"alg": key.alg, "typ": "JWT", "kid": key.kid});
        let input = format!(
            "{}.{}",
            B64URL.encode(header.to_string()),
            B64URL.encode(claims.to_string())
        );
        let signature = self.signer.sign(input.as_bytes()).await.map_err(unavailable)?;
        Ok(format!("{input}.{}", B64URL.encode(signature)))
    }
}

/// The keys the User API accepts: the configured JWKS (another identity service) and this
/// project's issuer, each for the tokens whose `kid` it knows. The issuer's keys are read
/// only when a token names a key the JWKS does not have.
pub struct Keyring {
    pub configured: TokenVerifier,
    pub issuer: Option<Arc<Issuer>>,
}

impl Keyring {
    pub fn new(configured: TokenVerifier, issuer: Option<Arc<Issuer>>) -> Self {
        Self { configured, issuer }
    }

    /// Verifies the value of an `Authorization` header.
    pub async fn verify_header(&self, header: Option<&str>) -> Result<Caller, ApiError> {
        let token = super::verify::bearer_token(header)?;
        self.verify(token).await
    }

    pub async fn verify(&self, token: &str) -> Result<Caller, ApiError> {
        match &self.issuer {
            Some(issuer) if !self.configured.knows(kid_of(token).as_deref()) => issuer.verifier().await?.verify(token),
            _ => self.configured.verify(token),
        }
    }

    /// Verifies a refresh token: this issuer's only.
    pub async fn verify_refresh(&self, token: &str) -> Result<RefreshToken, ApiError> {
        let issuer = self.issuer.as_ref().ok_or(ApiError::AuthenticateFailure {
            reason: "this service issues no tokens",
        })?;
        issuer.verifier().await?.verify_refresh(token)
    }
}

/// The `kid` of a token's header, if it has one (an unreadable header has none: the
/// verifier refuses it either way).
fn kid_of(token: &str) -> Option<String> {
    jsonwebtoken::decode_header(token).ok().and_then(|header| header.kid)
}
