//! Verifying access tokens. Only RS256 and ES256 are accepted, each only with a key of its own
//! family, chosen by `kid` (or the only key when the set has one). Everything else — `alg: none`,
//! HS*, an unknown `kid`, a key/alg mismatch, a bad signature, a missing or passed `exp`, a wrong
//! `typ` or `ver` — is ERROR_AUTHENTICATE_FAILURE.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;

use super::Caller;
use crate::error::ApiError;
use crate::model::{DomainId, RoleType};

const LEEWAY_SECONDS: u64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("the JWKS is not valid JSON Web Key Set JSON: {0}")]
    Parse(String),
    #[error("the JWKS has no RS256 or ES256 (P-256) signing key")]
    NoUsableKey,
}

struct VerifyKey {
    kid: Option<String>,
    alg: Algorithm,
    key: DecodingKey,
}

/// The verification keys, parsed once per process.
pub struct TokenVerifier {
    keys: Vec<VerifyKey>,
}

#[derive(Deserialize)]
struct Claims {
    did: String,
    aud: String,
    rol: String,
    typ: String,
    ver: String,
}

fn fail(reason: &'static str) -> ApiError {
    ApiError::AuthenticateFailure { reason }
}

/// The algorithm a key is for, when it is one we accept: RSA keys sign RS256 and P-256 keys
/// ES256; a key whose own `alg` says otherwise is not used.
fn algorithm_of(jwk: &Jwk) -> Option<Algorithm> {
    let alg = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            Algorithm::ES256
        }
        _ => return None,
    };
    let declared_matches = match jwk.common.key_algorithm {
        None => true,
        Some(KeyAlgorithm::RS256) => alg == Algorithm::RS256,
        Some(KeyAlgorithm::ES256) => alg == Algorithm::ES256,
        Some(_) => false,
    };
    declared_matches.then_some(alg)
}

impl TokenVerifier {
    pub fn from_jwks_json(text: &str) -> Result<Self, ConfigError> {
        let set: JwkSet =
            serde_json::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        Self::from_jwks(&set)
    }

    pub fn from_jwks(set: &JwkSet) -> Result<Self, ConfigError> {
        let keys: Vec<VerifyKey> = set
            .keys
            .iter()
            .filter_map(|jwk| {
                let alg = algorithm_of(jwk)?;
                let key = DecodingKey::from_jwk(jwk).ok()?;
                Some(VerifyKey {
                    kid: jwk.common.key_id.clone(),
                    alg,
                    key,
                })
            })
            .collect();
        if keys.is_empty() {
            return Err(ConfigError::NoUsableKey);
        }
        Ok(Self { keys })
    }

    /// Verifies the value of an `Authorization` header.
    pub fn verify_header(&self, header: Option<&str>) -> Result<Caller, ApiError> {
        let header = header.ok_or_else(|| fail("missing Authorization header"))?;
        let token = header
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty())
            .ok_or_else(|| fail("the Authorization header is not a Bearer token"))?;
        self.verify(token)
    }

    pub fn verify(&self, token: &str) -> Result<Caller, ApiError> {
        // decode_header rejects algorithms the library does not know, `none` among them.
        let header = decode_header(token).map_err(|_| fail("malformed token"))?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(fail("token algorithm is not RS256 or ES256"));
        }
        let key = self.key_for(header.kid.as_deref())?;
        if key.alg != header.alg {
            return Err(fail("token algorithm does not match its key"));
        }
        let mut validation = Validation::new(key.alg);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp"]);
        let claims = decode::<Claims>(token, &key.key, &validation)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                match e.kind() {
                    ErrorKind::ExpiredSignature => fail("token expired"),
                    ErrorKind::InvalidSignature => fail("bad token signature"),
                    ErrorKind::MissingRequiredClaim(_) => fail("token has no exp"),
                    _ => fail("malformed token or claims"),
                }
            })?
            .claims;
        if claims.typ != "ACCESS_TOKEN" {
            return Err(fail("token typ is not ACCESS_TOKEN"));
        }
        if claims.ver != "2.0" {
            return Err(fail("token ver is not 2.0"));
        }
        let role =
            RoleType::parse(&claims.rol).map_err(|_| fail("token rol is not a known role type"))?;
        let domain_id =
            DomainId::parse("did", claims.did).map_err(|_| fail("token did is not a domain id"))?;
        if claims.aud.is_empty() {
            return Err(fail("token aud is empty"));
        }
        Ok(Caller {
            domain_id,
            user_id: claims.aud,
            role,
        })
    }

    fn key_for(&self, kid: Option<&str>) -> Result<&VerifyKey, ApiError> {
        match (kid, self.keys.as_slice()) {
            (Some(kid), keys) => keys
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid))
                .ok_or_else(|| fail("unknown key id")),
            (None, [only]) => Ok(only),
            (None, _) => Err(fail("token has no kid and the key set has several keys")),
        }
    }
}
