//! The local development signing key: an ES256 key kept in `DATA_DIR`, created on first use,
//! so that `users-local` works with no identity service. Never used by the Lambda functions.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use p256::SecretKey;
use p256::elliptic_curve::Generate;
use p256::elliptic_curve::sec1::ToSec1Point;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rand::Rng;
use serde_json::json;

use super::issuer::{PublicKey, SignError, TokenSigner};
use super::verify::{ConfigError, TokenVerifier};
use crate::model::RoleType;

const KEY_FILE: &str = "dev-signing-key.pem";
const KID: &str = "users-local-dev";

#[derive(Debug, thiserror::Error)]
pub enum DevKeyError {
    #[error("cannot read or write the dev key at {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the dev key at {0} is not a PKCS#8 P-256 key; delete it to make a new one")]
    Corrupt(PathBuf),
    #[error("cannot sign a token: {0}")]
    Sign(String),
}

/// What a dev token says.
pub struct TokenRequest<'a> {
    pub domain_id: &'a str,
    pub user_id: &'a str,
    pub role: RoleType,
    pub ttl_seconds: i64,
}

pub struct DevKey {
    encoding: EncodingKey,
    signing: p256::ecdsa::SigningKey,
    jwks: String,
}

impl DevKey {
    /// Loads `DATA_DIR/dev-signing-key.pem`, creating it (mode 0600) on first use.
    pub fn load_or_create(dir: &Path) -> Result<Self, DevKeyError> {
        let path = dir.join(KEY_FILE);
        let io = |source| DevKeyError::Io {
            path: path.clone(),
            source,
        };
        let secret = if path.exists() {
            let pem = fs::read_to_string(&path).map_err(io)?;
            SecretKey::from_pkcs8_pem(&pem).map_err(|_| DevKeyError::Corrupt(path.clone()))?
        } else {
            crate::private_fs::create_dir(dir).map_err(io)?;
            let secret = SecretKey::generate();
            let pem = secret
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|_| DevKeyError::Corrupt(path.clone()))?;
            write_private(&path, pem.as_bytes()).map_err(io)?;
            secret
        };
        let pem = secret
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|_| DevKeyError::Corrupt(path.clone()))?;
        let encoding = EncodingKey::from_ec_pem(pem.as_bytes()).map_err(|_| DevKeyError::Corrupt(path.clone()))?;
        let signing = p256::ecdsa::SigningKey::from(&secret);
        let point = secret.public_key().to_sec1_point(false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            return Err(DevKeyError::Corrupt(path));
        };
        let jwks = json!({"keys": [{
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": KID,
            "x": B64URL.encode(x), "y": B64URL.encode(y),
        }]})
        .to_string();
        Ok(Self {
            encoding,
            signing,
            jwks,
        })
    }

    /// The public half, as JWKS JSON.
    pub fn jwks_json(&self) -> &str {
        &self.jwks
    }

    pub fn verifier(&self) -> Result<TokenVerifier, ConfigError> {
        TokenVerifier::from_jwks_json(&self.jwks)
    }

    /// Signs a Cloudforet-format access token.
    pub fn sign(&self, request: &TokenRequest<'_>) -> Result<String, DevKeyError> {
        let now = chrono::Utc::now().timestamp();
        let mut jti = [0u8; 16];
        rand::rng().fill_bytes(&mut jti);
        let claims = json!({
            "iss": "users-local", "typ": "ACCESS_TOKEN", "ver": "2.0", "own": "USER",
            "did": request.domain_id, "aud": request.user_id, "rol": request.role.as_str(),
            "iat": now, "exp": now + request.ttl_seconds, "jti": B64URL.encode(jti),
        });
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(KID.to_string());
        encode(&header, &claims, &self.encoding).map_err(|e| DevKeyError::Sign(e.to_string()))
    }
}

/// The dev key signs the Token API's tokens locally.
#[async_trait::async_trait]
impl TokenSigner for DevKey {
    async fn public_key(&self) -> Result<PublicKey, SignError> {
        let set: serde_json::Value = serde_json::from_str(&self.jwks).map_err(|e| SignError(e.to_string()))?;
        Ok(PublicKey {
            kid: KID.into(),
            alg: "ES256",
            jwk: set["keys"][0].clone(),
        })
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        use p256::ecdsa::signature::Signer;
        let signature: p256::ecdsa::Signature = self.signing.sign(message);
        Ok(signature.to_bytes().to_vec())
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    crate::private_fs::file_options()
        .write(true)
        .create_new(true)
        .open(path)?
        .write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_key_persists_and_signs_verifiable_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let key = DevKey::load_or_create(dir.path()).unwrap();
        let again = DevKey::load_or_create(dir.path()).unwrap();
        assert_eq!(key.jwks_json(), again.jwks_json());
        let token = key
            .sign(&TokenRequest {
                domain_id: "domain-x",
                user_id: "admin",
                role: RoleType::DomainAdmin,
                ttl_seconds: 60,
            })
            .unwrap();
        let caller = again.verifier().unwrap().verify(&token).unwrap();
        assert_eq!(caller.domain_id.as_str(), "domain-x");
        assert_eq!(caller.user_id, "admin");
        assert_eq!(caller.role, RoleType::DomainAdmin);
    }
}
