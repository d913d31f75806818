//! The AWS KMS signer: tokens are signed by an asymmetric KMS key (`kms:Sign`), so the private
//! key never leaves KMS. ECC_NIST_P256 keys sign ES256, RSA keys RS256 (PKCS#1 v1.5). The
//! public key is read once per process (`kms:GetPublicKey`) and cached; `kid` is the key's id.

use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde_json::json;
use tokio::sync::OnceCell;

use super::issuer::{PublicKey, SignError, TokenSigner};

pub struct KmsSigner {
    client: Client,
    /// What TOKEN_SIGNING_KEY names: a key id, ARN or alias.
    key: String,
    /// The key's ARN (what Sign is called with: an alias moved meanwhile cannot make a
    /// signature that its `kid` does not verify) and its public half.
    public: OnceCell<(String, PublicKey)>,
}

fn failure(what: &str, error: impl std::fmt::Display) -> SignError {
    SignError(format!("KMS {what}: {error}"))
}

impl KmsSigner {
    pub fn new(client: Client, key: impl Into<String>) -> Self {
        Self {
            client,
            key: key.into(),
            public: OnceCell::new(),
        }
    }

    async fn fetch_public_key(&self) -> Result<(String, PublicKey), SignError> {
        let output = self
            .client
            .get_public_key()
            .key_id(&self.key)
            .send()
            .await
            .map_err(|e| failure("GetPublicKey", aws_sdk_kms::error::DisplayErrorContext(e)))?;
        let der = output
            .public_key
            .ok_or_else(|| failure("GetPublicKey", "no public key"))?;
        // The key's id, not the alias or ARN it was named by: the same key always has one kid.
        let arn = output.key_id.unwrap_or_else(|| self.key.clone());
        let kid = arn.rsplit('/').next().unwrap_or(&arn).to_string();
        Ok((arn.clone(), public_key_from_der(kid, der.as_ref())?))
    }

    async fn key(&self) -> Result<&(String, PublicKey), SignError> {
        self.public.get_or_try_init(|| self.fetch_public_key()).await
    }
}

/// The JWK of a KMS public key (DER SubjectPublicKeyInfo). The key's kind is read from the
/// key itself (a P-256 or an RSA SubjectPublicKeyInfo), not from the answer's KeySpec, which
/// some KMS implementations leave out; any other key is refused.
pub fn public_key_from_der(kid: String, der: &[u8]) -> Result<PublicKey, SignError> {
    use p256::pkcs8::DecodePublicKey as _;
    if let Ok(key) = p256::PublicKey::from_public_key_der(der) {
        use p256::elliptic_curve::sec1::ToSec1Point;
        let point = key.to_sec1_point(false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            return Err(failure("public key", "not an uncompressed point"));
        };
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
            "x": B64URL.encode(x), "y": B64URL.encode(y),
        });
        return Ok(PublicKey { kid, alg: "ES256", jwk });
    }
    if let Ok(key) = <rsa::PublicKey as rsa::pkcs8::DecodePublicKey>::from_public_key_der(der) {
        use rsa::traits::PublicKeyParts;
        let jwk = json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
            "n": B64URL.encode(key.n_bytes()), "e": B64URL.encode(key.e_bytes()),
        });
        return Ok(PublicKey { kid, alg: "RS256", jwk });
    }
    Err(failure("key", "is not an ECC_NIST_P256 or RSA signing key"))
}

#[async_trait]
impl TokenSigner for KmsSigner {
    async fn public_key(&self) -> Result<PublicKey, SignError> {
        Ok(self.key().await?.1.clone())
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let (arn, public) = self.key().await?;
        let algorithm = if public.alg == "ES256" {
            SigningAlgorithmSpec::EcdsaSha256
        } else {
            SigningAlgorithmSpec::RsassaPkcs1V15Sha256
        };
        let output = self
            .client
            .sign()
            .key_id(arn)
            .message(Blob::new(message))
            .message_type(MessageType::Raw)
            .signing_algorithm(algorithm)
            .send()
            .await
            .map_err(|e| failure("Sign", aws_sdk_kms::error::DisplayErrorContext(e)))?;
        let signature = output.signature.ok_or_else(|| failure("Sign", "no signature"))?;
        if public.alg == "ES256" {
            // KMS answers ECDSA signatures in DER; JWS wants the fixed-size r‖s.
            let parsed = p256::ecdsa::Signature::from_der(signature.as_ref()).map_err(|e| failure("Sign", e))?;
            Ok(parsed.to_bytes().to_vec())
        } else {
            Ok(signature.into_inner())
        }
    }
}
