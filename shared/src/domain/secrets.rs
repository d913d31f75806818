//! Passwords, temporary passwords and verification codes: the values that must never appear in
//! a response, a log line or an error message. Randomness comes from the thread-local CSPRNG
//! (ChaCha reseeded from the operating system); comparisons are constant-time.
//!
//! Argon2 is the costliest thing a request can ask for (19 MiB and tens of milliseconds each),
//! so every hash and every verification runs on a few threads of its own, one per core, in
//! turn: a burst of password changes queues up and slows down instead of exhausting memory or
//! starving the async workers.

use std::sync::{Arc, LazyLock, Mutex};

use std::cell::RefCell;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash as Phc, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;

pub const MIN_PASSWORD: usize = 8;
pub const MAX_PASSWORD: usize = 128;
const TEMP_PASSWORD_LEN: usize = 12;
const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// OWASP's minimum for Argon2id: 19 MiB, 2 passes, 1 lane.
const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
const ARGON2_PASSES: u32 = 2;
const ARGON2_LANES: u32 = 1;

/// A plaintext password that meets the policy. Its `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl Password {
    /// Checks the policy: 8–128 characters with a lowercase letter, an uppercase letter and a
    /// digit. The error names the rule that failed, never the password.
    pub fn parse(text: String) -> Result<Self, ApiError> {
        let length = text.chars().count();
        let rule = if length < MIN_PASSWORD {
            Some("at least 8 characters")
        } else if length > MAX_PASSWORD {
            Some("at most 128 characters")
        } else if !text.chars().any(char::is_lowercase) {
            Some("at least one lowercase letter")
        } else if !text.chars().any(char::is_uppercase) {
            Some("at least one uppercase letter")
        } else if !text.chars().any(|c| c.is_ascii_digit()) {
            Some("at least one digit")
        } else {
            None
        };
        match rule {
            Some(rule) => Err(ApiError::IncorrectPasswordFormat { rule }),
            None => Ok(Self(text)),
        }
    }

    /// A fresh temporary password: 12 characters from upper, lower and digits, each class
    /// present. Drawn uniformly and redrawn until every class appears, so every valid password
    /// is equally likely.
    pub fn temporary() -> Self {
        let mut rng = rand::rng();
        loop {
            let text: String = (0..TEMP_PASSWORD_LEN)
                .map(|_| char::from(ALPHANUMERIC[rng.random_range(0..ALPHANUMERIC.len())]))
                .collect();
            if let Ok(password) = Self::parse(text) {
                return password;
            }
        }
    }

    /// The plaintext, for the one place that needs it: the temporary-password mail.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Hashes with Argon2id and a random salt, in the bounded Argon2 pool.
    pub async fn hash(&self) -> Result<PasswordHash, ApiError> {
        let plain = self.0.clone();
        argon2_pool(move || hash_blocking(&plain)).await?
    }
}

/// How many Argon2 computations may run at once in this process: one per core.
pub fn argon2_slots() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

type Job = Box<dyn FnOnce() + Send>;

/// A few threads of their own, one per core, that run every Argon2 computation in turn, each in
/// working memory of its own that it keeps and reuses. Allocated per computation instead (as
/// the argon2 crate does), the 19 MiB blocks were kept by the allocator in one arena after
/// another: a burst of 100 left +200 MiB even with two at a time (docs/performance.md).
struct Argon2Threads {
    jobs: std::sync::mpsc::Sender<Job>,
}

static ARGON2_THREADS: LazyLock<Argon2Threads> = LazyLock::new(|| {
    let (sender, receiver) = std::sync::mpsc::channel::<Job>();
    let receiver = Arc::new(Mutex::new(receiver));
    for i in 0..argon2_slots() {
        let receiver = Arc::clone(&receiver);
        let spawned = std::thread::Builder::new().name(format!("argon2-{i}")).spawn(move || {
            loop {
                let job = match receiver.lock() {
                    Ok(queue) => queue.recv(),
                    Err(_) => return,
                };
                let Ok(job) = job else { return };
                // A panic is the job's to report (its answer channel closes); the thread
                // goes on serving the others.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            }
        });
        if let Err(error) = spawned {
            tracing::error!(%error, "could not start an Argon2 thread");
        }
    }
    Argon2Threads { jobs: sender }
});

/// Runs one Argon2 computation on the Argon2 threads, after the ones queued before it. The
/// computation runs to its end even when the request that asked for it is dropped meanwhile.
async fn argon2_pool<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    let (answer, answered) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = answer.send(work());
    });
    ARGON2_THREADS
        .jobs
        .send(job)
        .map_err(|_| unknown("the Argon2 threads are gone"))?;
    answered.await.map_err(|_| unknown("password hashing failed"))
}

/// The most memory a stored hash may ask for when it is verified (a corrupted row must not be
/// able to take the process down): 256 MiB.
const MAX_VERIFY_MEMORY_KIB: u32 = 256 * 1024;

thread_local! {
    /// Each Argon2 thread's working memory, allocated once and reused by every computation on
    /// that thread: the memory Argon2 uses is exactly threads × 19 MiB, whatever the burst.
    static ARGON2_MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Computes the raw Argon2 output of `password` and `salt` into `out`, in this thread's memory.
fn argon2_into(argon: &Argon2<'_>, params: &Params, password: &[u8], salt: &[u8], out: &mut [u8]) -> bool {
    ARGON2_MEMORY.with_borrow_mut(|blocks| {
        let needed = params.block_count();
        if blocks.len() < needed {
            blocks.resize(needed, Block::new());
        }
        argon
            .hash_password_into_with_memory(password, salt, out, &mut blocks[..needed])
            .is_ok()
    })
}

fn hash_blocking(plain: &str) -> Result<PasswordHash, ApiError> {
    let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES, None)
        .map_err(|_| unknown("invalid Argon2 parameters"))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    if !argon2_into(&argon, &params, plain.as_bytes(), &salt, &mut out) {
        return Err(unknown("password hashing failed"));
    }
    let phc = Phc {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|_| unknown("Argon2 parameters as PHC"))?,
        salt: Some(Salt::new(&salt).map_err(|_| unknown("salt as PHC"))?),
        hash: Some(Output::new(&out).map_err(|_| unknown("output as PHC"))?),
    };
    Ok(PasswordHash(phc.to_string()))
}

/// Checks `candidate` against a PHC string, with the algorithm, version and parameters the
/// string names (hashes made with older parameters still verify), in constant time.
fn verify_blocking(phc: &str, candidate: &str) -> bool {
    let Ok(phc) = Phc::new(phc) else { return false };
    let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(phc.algorithm.as_str()) else {
        return false;
    };
    let version = match phc.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&phc) else {
        return false;
    };
    if params.m_cost() > MAX_VERIFY_MEMORY_KIB {
        return false;
    }
    let argon = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    argon2_into(&argon, &params, candidate.as_bytes(), salt, &mut out) && bool::from(out.ct_eq(expected.as_bytes()))
}

fn unknown(what: &str) -> ApiError {
    tracing::error!(what, "internal failure in secrets");
    ApiError::Unknown {
        request_id: String::new(),
    }
}

/// An Argon2id PHC string. Stored, never returned or logged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// A hash no password is known for, made with the parameters of every new hash: an unknown
/// user's sign-in is checked against it, so its answer takes as long as a known user's.
static DUMMY_HASH: LazyLock<PasswordHash> = LazyLock::new(|| {
    PasswordHash(format!(
        "$argon2id$v=19$m={ARGON2_MEMORY_KIB},t={ARGON2_PASSES},p={ARGON2_LANES}$c2lnbi1pbi1kdW1teS1zYWx0$qOFv0p2pYpQ9tJH1f0RZgm0pcbyE7gdFkv0nWq3O6xg"
    ))
});

impl PasswordHash {
    /// See [`DUMMY_HASH`].
    pub fn dummy() -> &'static PasswordHash {
        &DUMMY_HASH
    }
    /// True when `candidate` is the password this hash was made from, checked in the bounded
    /// Argon2 pool. The parameters come from the PHC string itself, so hashes made with older
    /// parameters still verify.
    pub async fn verifies(&self, candidate: &str) -> Result<bool, ApiError> {
        let (phc, candidate) = (self.0.clone(), candidate.to_string());
        argon2_pool(move || verify_blocking(&phc, &candidate)).await
    }

    /// [`PasswordHash::verifies`] on the calling thread, for tests and tools off the request path.
    pub fn matches(&self, candidate: &str) -> bool {
        verify_blocking(&self.0, candidate)
    }

    /// The PHC string, for tests that check the algorithm and parameters.
    pub fn phc(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod dummy_tests {
    use super::*;

    #[test]
    fn the_dummy_hash_is_a_real_argon2id_hash_that_takes_no_password() {
        let dummy = PasswordHash::dummy();
        assert!(Phc::new(dummy.phc()).is_ok(), "a parseable PHC string");
        assert!(!dummy.matches("Secret123"));
        assert!(!dummy.matches(""));
        let real = hash_blocking("Secret123").unwrap();
        let params = |phc: &str| phc.split('$').nth(3).map(str::to_string);
        assert_eq!(params(dummy.phc()), params(real.phc()), "same cost as a real hash");
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// `n` bytes from the CSPRNG as lower-case hex: ids and tokens that must not repeat.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

/// A 6-digit verification code as sent by mail. Never stored: see [`CodeDigest`].
pub struct PlainCode(String);

impl std::fmt::Debug for PlainCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlainCode(<redacted>)")
    }
}

impl PlainCode {
    pub fn generate() -> Self {
        Self(format!("{:06}", rand::rng().random_range(0..1_000_000u32)))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The salted digest that is stored in place of the code.
    pub fn digest(&self) -> CodeDigest {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        CodeDigest {
            salt: B64.encode(salt),
            hash: B64.encode(digest(&salt, &self.0)),
        }
    }
}

fn digest(salt: &[u8], code: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update(code.as_bytes());
    hasher.finalize().into()
}

/// A stored code: SHA-256 over a random salt and the code. With 10^6 possible codes a digest
/// only keeps codes out of plain sight; the real protection is the short lifetime, single use
/// and the 5-attempt limit (see docs/design.md).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeDigest {
    pub salt: String,
    pub hash: String,
}

impl std::fmt::Debug for CodeDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeDigest(<redacted>)")
    }
}

impl CodeDigest {
    /// Constant-time check of a candidate code.
    pub fn matches(&self, candidate: &str) -> bool {
        let (Ok(salt), Ok(expected)) = (B64.decode(&self.salt), B64.decode(&self.hash)) else {
            return false;
        };
        digest(&salt, candidate).ct_eq(expected.as_slice()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(text: &str) -> Option<&'static str> {
        match Password::parse(text.to_string()) {
            Ok(_) => None,
            Err(ApiError::IncorrectPasswordFormat { rule }) => Some(rule),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn password_policy_names_each_rule() {
        assert_eq!(rule("Abcdef1"), Some("at least 8 characters"));
        assert_eq!(rule(&format!("Ab1{}", "x".repeat(126))), Some("at most 128 characters"));
        assert_eq!(rule("ABCDEFG1"), Some("at least one lowercase letter"));
        assert_eq!(rule("abcdefg1"), Some("at least one uppercase letter"));
        assert_eq!(rule("Abcdefgh"), Some("at least one digit"));
        assert_eq!(rule("Abcdefg1"), None);
        assert_eq!(rule(&format!("Ab1{}", "x".repeat(125))), None);
    }

    #[test]
    fn policy_error_never_contains_the_password() {
        let err = Password::parse("secretpw".into()).unwrap_err();
        assert!(!err.to_string().contains("secretpw"));
        assert!(!format!("{:?}", Password::parse("Secret123".into()).unwrap()).contains("Secret"));
    }

    #[test]
    fn temporary_passwords_have_every_class_and_differ() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let p = Password::temporary();
            let text = p.expose();
            assert_eq!(text.len(), 12);
            assert!(text.chars().all(|c| c.is_ascii_alphanumeric()));
            assert!(text.chars().any(|c| c.is_ascii_lowercase()));
            assert!(text.chars().any(|c| c.is_ascii_uppercase()));
            assert!(text.chars().any(|c| c.is_ascii_digit()));
            seen.insert(text.to_string());
        }
        assert_eq!(seen.len(), 200);
    }

    #[tokio::test]
    async fn hash_is_argon2id_with_owasp_parameters_and_verifies() {
        let password = Password::parse("Correct1horse".into()).unwrap();
        let hash = password.hash().await.unwrap();
        assert!(
            hash.phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.phc()
        );
        assert!(hash.matches("Correct1horse"));
        assert!(!hash.matches("Correct1horsf"));
        assert!(!format!("{hash:?}").contains("argon2"));
    }

    #[tokio::test]
    async fn hashes_made_by_the_argon2_crate_and_with_other_parameters_still_verify() {
        use argon2::PasswordHasher;
        for (m, t) in [(ARGON2_MEMORY_KIB, ARGON2_PASSES), (4096, 3)] {
            let params = Params::new(m, t, 1, None).unwrap();
            let stored = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password(b"Correct1horse")
                .unwrap()
                .to_string();
            let hash = PasswordHash(stored);
            assert!(hash.verifies("Correct1horse").await.unwrap(), "m={m}");
            assert!(!hash.verifies("Correct1horsf").await.unwrap(), "m={m}");
        }
        for garbage in [
            "",
            "$argon2id$",
            "$argon2id$v=19$m=999999999,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
        ] {
            assert!(!PasswordHash(garbage.into()).verifies("x").await.unwrap(), "{garbage}");
        }
    }

    #[test]
    fn codes_are_six_digits_and_verify_only_themselves() {
        for _ in 0..100 {
            let code = PlainCode::generate();
            assert_eq!(code.expose().len(), 6);
            assert!(code.expose().chars().all(|c| c.is_ascii_digit()));
            let stored = code.digest();
            assert!(stored.matches(code.expose()));
            let other = format!("{:06}", (code.expose().parse::<u32>().unwrap() + 1) % 1_000_000);
            assert!(!stored.matches(&other));
        }
    }

    #[test]
    fn same_code_gets_different_salts() {
        let code = PlainCode::generate();
        assert_ne!(code.digest().hash, code.digest().hash);
    }
}
