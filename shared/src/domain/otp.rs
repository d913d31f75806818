//! Authenticator-app codes (SPEC section 10): TOTP as RFC 6238 and every common app reads it,
//! HMAC-SHA1, 6 digits, 30-second steps, a code accepted for the step before, the current one
//! and the one after. The secret is 160 bits from the OS. The arithmetic is `totp-rs`'s; this
//! module fixes its parameters, writes the `otpauth://` URI and keeps the secret out of sight:
//! no `Debug` prints it, and it is wiped from memory when dropped.
//!
//! A code is never accepted twice: [`OtpSecret::check`] answers the step a code belongs to, and
//! the caller accepts it only above the last accepted step, in the same conditional write that
//! records it ([`OtpKey::last_step`]).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

/// Bytes of a secret: 160 bits, 32 base32 characters.
pub const SECRET_BYTES: usize = 20;
/// Seconds of one step.
pub const STEP_SECONDS: u64 = 30;

/// What `otpauth://` URIs leave unencoded in their label and issuer: RFC 3986's unreserved
/// characters. Everything else (`:` and `@` included) is percent-encoded.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A secret in the clear: only between its making (or opening) and its use.
pub struct OtpSecret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for OtpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OtpSecret(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the operating system's random source failed: {0}")]
pub struct RandomError(String);

impl OtpSecret {
    /// A new secret from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, RandomError> {
        let mut bytes = Zeroizing::new(vec![0u8; SECRET_BYTES]);
        getrandom::fill(&mut bytes).map_err(|e| RandomError(e.to_string()))?;
        Ok(Self(bytes))
    }

    /// The secret a sealed one opened to.
    pub fn from_bytes(bytes: Zeroizing<Vec<u8>>) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    fn totp(&self) -> Option<totp_rs::Totp> {
        // The builder's defaults are SPEC 10's: SHA-1, 6 digits, 30 s, one step of skew. It
        // refuses a secret under 128 bits: one that opened from storage is never that short,
        // but a corrupt one answers "no code matches" rather than a panic.
        totp_rs::Builder::new().with_secret(self.0.to_vec()).build().ok()
    }

    /// The secret as authenticator apps take it (RFC 4648 base32, no padding).
    pub fn base32(&self) -> String {
        totp_rs::Secret::from(self.0.to_vec()).to_base32()
    }

    /// `otpauth://totp/<issuer>:<account>?secret=<base32>&issuer=<issuer>`, both parts
    /// percent-encoded (SPEC section 10): what the QR code of an enrolment holds.
    pub fn uri(&self, issuer: &str, account: &str) -> String {
        let issuer = utf8_percent_encode(issuer, URI_COMPONENT).to_string();
        let account = utf8_percent_encode(account, URI_COMPONENT);
        format!(
            "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}",
            self.base32()
        )
    }

    /// The step `code` belongs to, when it is this secret's code for the step of `unix_seconds`
    /// or the step before or after it; `None` otherwise. Only six ASCII digits can match.
    pub fn check(&self, code: &str, unix_seconds: u64) -> Option<u64> {
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        self.totp()?.check(code, unix_seconds)
    }

    /// The code of the step of `unix_seconds` (what an authenticator app shows then).
    pub fn code_at(&self, unix_seconds: u64) -> Option<String> {
        self.totp().map(|totp| totp.generate(unix_seconds).to_string())
    }
}

/// The step of `unix_seconds`.
pub fn step_of(unix_seconds: u64) -> u64 {
    unix_seconds / STEP_SECONDS
}

/// A secret as it is stored: sealed by the vault (`crate::ports::vault`), opaque here. A scheme
/// byte, then the scheme's bytes; written as base64 text.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed(Vec<u8>);

impl Sealed {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealed({} bytes)", self.0.len())
    }
}

impl Serialize for Sealed {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Sealed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        B64.decode(text).map(Sealed).map_err(serde::de::Error::custom)
    }
}

/// The OTP secret in force for a user, sealed, with the last step a code of it was accepted at:
/// a code of that step or an earlier one is refused. Never returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtpKey {
    pub sealed: Sealed,
    pub last_step: u64,
}

impl OtpKey {
    /// Whether a code of `sealed` at `step`, checked before a write, still counts in it: the
    /// secret in force is still that one and the step is still above the last accepted (a
    /// parallel request may have used it meanwhile).
    pub fn still_accepts(&self, sealed: &Sealed, step: u64) -> bool {
        self.sealed == *sealed && self.last_step < step
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_secret() -> OtpSecret {
        // RFC 6238 appendix B's SHA-1 secret.
        OtpSecret::from_bytes(Zeroizing::new(b"12345678901234567890".to_vec()))
    }

    #[test]
    fn codes_are_rfc_6238s_for_sha1_and_six_digits() {
        // RFC 6238 appendix B: 94287082 at 59 s, 07081804 at 1111111109 s (8 digits; the last
        // six are the 6-digit code).
        let secret = rfc_secret();
        assert_eq!(secret.code_at(59).unwrap(), "287082");
        assert_eq!(secret.code_at(1_111_111_109).unwrap(), "081804");
        assert_eq!(secret.base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_no_further() {
        let secret = rfc_secret();
        let now = 1_800_000_015;
        let code = secret.code_at(now).unwrap();
        assert_eq!(secret.check(&code, now), Some(step_of(now)));
        assert_eq!(secret.check(&code, now + 30), Some(step_of(now)));
        assert_eq!(secret.check(&code, now - 30), Some(step_of(now)));
        assert_eq!(secret.check(&code, now + 60), None);
        assert_eq!(secret.check(&code, now - 60), None);
        assert_eq!(secret.check(" 12345", now), None);
        assert_eq!(secret.check("1234567", now), None);
    }

    #[test]
    fn secrets_are_160_bits_and_differ() {
        let one = OtpSecret::generate().unwrap();
        let two = OtpSecret::generate().unwrap();
        assert_eq!(one.as_bytes().len(), 20);
        assert_eq!(one.base32().len(), 32);
        assert_ne!(one.as_bytes(), two.as_bytes());
        assert_eq!(format!("{one:?}"), "OtpSecret(<redacted>)");
    }

    #[test]
    fn the_uri_encodes_issuer_and_account() {
        let uri = rfc_secret().uri("Cloud Forêt", "ali:ce@example.com");
        assert_eq!(
            uri,
            "otpauth://totp/Cloud%20For%C3%AAt:ali%3Ace%40example.com?\
             secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Cloud%20For%C3%AAt"
        );
    }

    #[test]
    fn sealed_bytes_are_base64_text_and_never_printed() {
        let sealed = Sealed::new(vec![1, 2, 3]);
        assert_eq!(serde_json::to_string(&sealed).unwrap(), "\"AQID\"");
        assert_eq!(serde_json::from_str::<Sealed>("\"AQID\"").unwrap(), sealed);
        assert_eq!(format!("{sealed:?}"), "Sealed(3 bytes)");
    }
}
