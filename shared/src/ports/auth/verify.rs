//! Verifying access tokens. Only RS256 and ES256 are accepted, each only with a key of its own
//! family, chosen by `kid` (or the only key when the set has one). Everything else — `alg: none`,
//! HS*, an unknown `kid`, a key/alg mismatch, a bad signature, a missing or passed `exp`, an
//! `nbf` not yet reached, an `iat` in the future, a wrong `typ` or `ver` — is
//! ERROR_AUTHENTICATE_FAILURE. Every time claim has the same 60 s leeway.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;

use super::{Caller, TokenStamp};
use crate::error::ApiError;
use crate::model::{DomainId, RoleType};

const LEEWAY_SECONDS: u64 = 60;

/// The permission a restricted token lacks (SPEC section 5).
pub const USER_PERMISSION: &str = "identity:User";

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
    /// Required in access tokens; refresh tokens have none.
    rol: Option<String>,
    typ: String,
    ver: String,
    /// Seconds since the epoch; a JSON number (a float is read too, as some issuers write them).
    iat: Option<f64>,
    /// The user's token generation when issued (this project's tokens only).
    #[serde(default)]
    r#gen: Option<u64>,
    #[serde(default)]
    permissions: Option<Vec<String>>,
}

impl Claims {
    fn domain_id(&self) -> Result<DomainId, ApiError> {
        DomainId::parse("did", self.did.clone()).map_err(|_| fail("token did is not a domain id"))
    }

    fn stamp(&self) -> TokenStamp {
        TokenStamp {
            generation: self.r#gen,
            issued_at: self.iat.map(|iat| iat as i64),
        }
    }
}

/// The kinds of token this project verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    Access,
    Refresh,
}

impl TokenType {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::Access => "ACCESS_TOKEN",
            TokenType::Refresh => "REFRESH_TOKEN",
        }
    }
}

/// A verified refresh token: whose it is and which generation it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub domain_id: DomainId,
    pub user_id: String,
    pub stamp: TokenStamp,
}

fn fail(reason: &'static str) -> ApiError {
    ApiError::AuthenticateFailure { reason }
}

/// The algorithm a key is for, when it is one we accept: RSA keys sign RS256 and P-256 keys
/// ES256; a key whose own `alg` says otherwise is not used.
fn algorithm_of(jwk: &Jwk) -> Option<Algorithm> {
    let alg = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => Algorithm::ES256,
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

/// The token of an `Authorization: Bearer` header.
pub fn bearer_token(header: Option<&str>) -> Result<&str, ApiError> {
    let header = header.ok_or_else(|| fail("missing Authorization header"))?;
    header
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty())
        .ok_or_else(|| fail("the Authorization header is not a Bearer token"))
}

impl TokenVerifier {
    pub fn from_jwks_json(text: &str) -> Result<Self, ConfigError> {
        let set: JwkSet = serde_json::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
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

    /// A verifier that trusts no key and so refuses every token: for a process that takes no
    /// tokens (the provisioning function, whose authority is its queue's IAM policy).
    pub fn trusting_no_key() -> Self {
        Self { keys: Vec::new() }
    }

    pub fn verify(&self, token: &str) -> Result<Caller, ApiError> {
        let claims = self.verified_claims(token, TokenType::Access)?;
        let rol = claims.rol.as_deref().ok_or_else(|| fail("token has no rol"))?;
        let role = RoleType::parse(rol).map_err(|_| fail("token rol is not a known role type"))?;
        let restricted = claims
            .permissions
            .as_ref()
            .is_some_and(|granted| !granted.iter().any(|p| p == USER_PERMISSION));
        Ok(Caller {
            domain_id: claims.domain_id()?,
            stamp: claims.stamp(),
            user_id: claims.aud,
            role,
            restricted,
        })
    }

    /// Verifies a refresh token (the Token API's grant).
    pub fn verify_refresh(&self, token: &str) -> Result<RefreshToken, ApiError> {
        let claims = self.verified_claims(token, TokenType::Refresh)?;
        Ok(RefreshToken {
            domain_id: claims.domain_id()?,
            stamp: claims.stamp(),
            user_id: claims.aud,
        })
    }

    /// Whether it trusts no key at all.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether a token naming `kid` is for this verifier's keys.
    pub fn knows(&self, kid: Option<&str>) -> bool {
        self.key_for(kid).is_ok()
    }

    fn verified_claims(&self, token: &str, expected: TokenType) -> Result<Claims, ApiError> {
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
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp"]);
        let claims = decode::<Claims>(token, &key.key, &validation)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                match e.kind() {
                    ErrorKind::ExpiredSignature => fail("token expired"),
                    ErrorKind::ImmatureSignature => fail("token not valid yet (nbf)"),
                    ErrorKind::InvalidSignature => fail("bad token signature"),
                    ErrorKind::MissingRequiredClaim(_) => fail("token has no exp"),
                    _ => fail("malformed token or claims"),
                }
            })?
            .claims;
        let latest_iat = jsonwebtoken::get_current_timestamp().saturating_add(LEEWAY_SECONDS);
        if claims
            .iat
            .is_some_and(|iat| !iat.is_finite() || iat > latest_iat as f64)
        {
            return Err(fail("token issued in the future (iat)"));
        }
        if claims.typ != expected.as_str() {
            return Err(match expected {
                TokenType::Access => fail("token typ is not ACCESS_TOKEN"),
                TokenType::Refresh => fail("token typ is not REFRESH_TOKEN"),
            });
        }
        if claims.ver != "2.0" {
            return Err(fail("token ver is not 2.0"));
        }
        if claims.aud.is_empty() {
            return Err(fail("token aud is empty"));
        }
        Ok(claims)
    }

    fn key_for(&self, kid: Option<&str>) -> Result<&VerifyKey, ApiError> {
        match (kid, self.keys.as_slice()) {
            (_, []) => Err(fail("this function accepts no tokens")),
            (Some(kid), keys) => keys
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid))
                .ok_or_else(|| fail("unknown key id")),
            (None, [only]) => Ok(only),
            (None, _) => Err(fail("token has no kid and the key set has several keys")),
        }
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::{Value, json};

    use super::*;
    use crate::auth::DevKey;

    struct Keys {
        pem: Vec<u8>,
        jwk: Value,
        _dir: tempfile::TempDir,
    }

    fn keys() -> Keys {
        let dir = tempfile::tempdir().unwrap();
        let key = DevKey::load_or_create(dir.path()).unwrap();
        let jwk = serde_json::from_str::<Value>(key.jwks_json()).unwrap()["keys"][0].clone();
        let pem = std::fs::read(dir.path().join("dev-signing-key.pem")).unwrap();
        Keys { pem, jwk, _dir: dir }
    }

    fn verifier(jwks: &[&Value]) -> TokenVerifier {
        TokenVerifier::from_jwks_json(&json!({ "keys": jwks }).to_string()).unwrap()
    }

    fn claims() -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({"did": "domain-a", "aud": "alice", "rol": "USER", "typ": "ACCESS_TOKEN", "ver": "2.0", "iat": now, "exp": now + 300})
    }

    fn sign(keys: &Keys, kid: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = kid.map(str::to_string);
        encode(&header, claims, &EncodingKey::from_ec_pem(&keys.pem).unwrap()).unwrap()
    }

    fn refused(verifier: &TokenVerifier, token: &str) -> &'static str {
        match verifier.verify(token) {
            Err(ApiError::AuthenticateFailure { reason }) => reason,
            other => panic!("expected 401, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_token_gives_the_caller() {
        let k = keys();
        let caller = verifier(&[&k.jwk])
            .verify(&sign(&k, Some("users-local-dev"), &claims()))
            .unwrap();
        assert_eq!(
            (caller.domain_id.as_str(), caller.user_id.as_str(), caller.role),
            ("domain-a", "alice", RoleType::User)
        );
    }

    #[test]
    fn a_verifier_trusting_no_key_refuses_every_token() {
        let k = keys();
        let none = TokenVerifier::trusting_no_key();
        for kid in [Some("users-local-dev"), None] {
            assert_eq!(
                refused(&none, &sign(&k, kid, &claims())),
                "this function accepts no tokens"
            );
        }
    }

    #[test]
    fn expiry_has_sixty_seconds_of_leeway_and_is_required() {
        let k = keys();
        let v = verifier(&[&k.jwk]);
        let now = chrono::Utc::now().timestamp();
        let mut c = claims();
        c["exp"] = json!(now - 50);
        assert!(v.verify(&sign(&k, None, &c)).is_ok());
        c["exp"] = json!(now - 70);
        assert_eq!(refused(&v, &sign(&k, None, &c)), "token expired");
        c.as_object_mut().unwrap().remove("exp");
        assert_eq!(refused(&v, &sign(&k, None, &c)), "token has no exp");
    }

    #[test]
    fn nbf_and_a_future_iat_are_enforced_with_sixty_seconds_of_leeway() {
        let k = keys();
        let v = verifier(&[&k.jwk]);
        let now = chrono::Utc::now().timestamp();
        let mut c = claims();
        c["exp"] = json!(now + 7200);
        c["nbf"] = json!(now + 3600);
        assert_eq!(refused(&v, &sign(&k, None, &c)), "token not valid yet (nbf)");
        c["nbf"] = json!(now + 50);
        assert!(v.verify(&sign(&k, None, &c)).is_ok());
        c["nbf"] = json!(now - 10);
        c["iat"] = json!(now + 3600);
        assert_eq!(refused(&v, &sign(&k, None, &c)), "token issued in the future (iat)");
        c["iat"] = json!(now + 50);
        assert!(v.verify(&sign(&k, None, &c)).is_ok());
        c["iat"] = json!("yesterday");
        assert_eq!(refused(&v, &sign(&k, None, &c)), "malformed token or claims");
        c.as_object_mut().unwrap().remove("iat");
        assert!(v.verify(&sign(&k, None, &c)).is_ok());
    }

    #[test]
    fn alg_none_and_hmac_are_refused() {
        let k = keys();
        let v = verifier(&[&k.jwk]);
        let none = format!(
            "{}.{}.",
            B64.encode(br#"{"alg":"none"}"#),
            B64.encode(claims().to_string())
        );
        assert_eq!(refused(&v, &none), "malformed token");
        // HS256 keyed with the public key as published: the key-confusion attack.
        let hs = encode(
            &Header::new(Algorithm::HS256),
            &claims(),
            &EncodingKey::from_secret(k.jwk.to_string().as_bytes()).unwrap(),
        )
        .unwrap();
        assert_eq!(refused(&v, &hs), "token algorithm is not RS256 or ES256");
    }

    #[test]
    fn kid_must_name_a_key_or_be_absent_with_a_single_key() {
        let (a, b) = (keys(), keys());
        let mut jwk_b = b.jwk.clone();
        jwk_b["kid"] = json!("second");
        let one = verifier(&[&a.jwk]);
        let two = verifier(&[&a.jwk, &jwk_b]);
        assert_eq!(refused(&one, &sign(&a, Some("other"), &claims())), "unknown key id");
        assert!(one.verify(&sign(&a, None, &claims())).is_ok());
        assert_eq!(
            refused(&two, &sign(&a, None, &claims())),
            "token has no kid and the key set has several keys"
        );
        assert!(two.verify(&sign(&b, Some("second"), &claims())).is_ok());
        // Signed by key a but naming key b: the signature does not verify.
        assert_eq!(
            refused(&two, &sign(&a, Some("second"), &claims())),
            "bad token signature"
        );
    }

    #[test]
    fn typ_ver_and_rol_are_checked() {
        let k = keys();
        let v = verifier(&[&k.jwk]);
        for (claim, value, reason) in [
            ("typ", "REFRESH_TOKEN", "token typ is not ACCESS_TOKEN"),
            ("ver", "1.0", "token ver is not 2.0"),
            ("rol", "SYSTEM", "token rol is not a known role type"),
        ] {
            let mut c = claims();
            c[claim] = json!(value);
            assert_eq!(refused(&v, &sign(&k, None, &c)), reason);
        }
    }

    #[test]
    fn keys_are_only_used_for_their_own_algorithm() {
        let k = keys();
        let mut mislabelled = k.jwk.clone();
        mislabelled["alg"] = json!("RS256");
        assert!(matches!(
            TokenVerifier::from_jwks_json(&json!({"keys": [mislabelled]}).to_string()),
            Err(ConfigError::NoUsableKey)
        ));
        let hmac = json!({"kty": "oct", "k": "c2VjcmV0", "alg": "HS256"});
        assert!(matches!(
            TokenVerifier::from_jwks_json(&json!({"keys": [hmac]}).to_string()),
            Err(ConfigError::NoUsableKey)
        ));
        assert!(matches!(
            TokenVerifier::from_jwks_json("not json"),
            Err(ConfigError::Parse(_))
        ));
    }

    #[test]
    fn garbage_never_panics() {
        let k = keys();
        let v = verifier(&[&k.jwk]);
        for token in [
            "",
            ".",
            "..",
            "a.b.c",
            "😀.😀.😀",
            &"A".repeat(10_000),
            "eyJhbGciOiJFUzI1NiJ9.e30.AAAA",
        ] {
            assert!(v.verify(token).is_err());
        }
    }
}
