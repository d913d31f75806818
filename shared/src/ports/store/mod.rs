//! The storage port: the handful of domain operations the business rules need, each atomic.
//! Adapters: [`embedded`] (redb on local disk) and [`dynamo`] (one DynamoDB table). Every adapter passes the same conformance suite
//! (`tests/store_conformance.rs`).
//!
//! The invariants every adapter enforces itself, so that no interleaving of requests breaks them:
//! - a user_id is created once per domain (`create_user` fails with `NotUnique`);
//! - writes are conditional on the version that was read (`Conflict` when it moved);
//! - a domain never loses its last enabled DOMAIN_ADMIN (`LastAdmin`);
//! - a code is used at most [`MAX_CODE_ATTEMPTS`] times, never after it expires, and is consumed
//!   in the same transaction as the user change it authorises.

pub mod dynamo;
pub mod embedded;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::model::{DomainId, Timestamp, User, UserId, Versioned};
use crate::secrets::CodeDigest;

/// Wrong guesses a code survives; the fifth attempt is its last.
pub const MAX_CODE_ATTEMPTS: u32 = 5;

/// Sign-in attempts (SPEC section 9) a user gets within [`SIGN_IN_WINDOW`] before its sign-in
/// locks for that long.
pub const MAX_SIGN_IN_FAILURES: u32 = 5;
pub const SIGN_IN_WINDOW: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

/// A user's failed sign-ins: how many since the window opened, and when the window (or, once
/// the count reached [`MAX_SIGN_IN_FAILURES`], the lock) ends. Kept with a TTL at `window_ends`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInState {
    pub failures: u32,
    pub window_ends: Timestamp,
}

/// The answer to a sign-in attempt's claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInClaim {
    /// The attempt may check the password; `locks` when it is the last one the window allows
    /// (if it fails, the sign-in stays locked until the window ends).
    Granted { locks: bool },
    /// Too many failures: the password is not even checked.
    Locked,
}

impl SignInState {
    /// The state after one more attempt claimed at `now` on `current`, or `None` when the
    /// sign-in is locked. The rule every adapter applies atomically: the attempt is counted
    /// before the password is checked, so parallel guesses never check more than
    /// [`MAX_SIGN_IN_FAILURES`] passwords; the fifth moves the window's end to 15 minutes
    /// after it, which is the lock.
    pub fn claim(current: Option<&SignInState>, now: Timestamp) -> Option<SignInState> {
        let fresh = || SignInState {
            failures: 1,
            window_ends: Timestamp::new(now.at() + SIGN_IN_WINDOW),
        };
        match current {
            Some(state) if now < state.window_ends => {
                if state.failures >= MAX_SIGN_IN_FAILURES {
                    return None;
                }
                let failures = state.failures + 1;
                let window_ends = if failures == MAX_SIGN_IN_FAILURES {
                    Timestamp::new(now.at() + SIGN_IN_WINDOW)
                } else {
                    state.window_ends
                };
                Some(SignInState { failures, window_ends })
            }
            _ => Some(fresh()),
        }
    }

    pub fn as_claim(&self) -> SignInClaim {
        SignInClaim::Granted {
            locks: self.failures >= MAX_SIGN_IN_FAILURES,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("the user already exists")]
    NotUnique,
    #[error("the item changed since it was read")]
    Conflict,
    #[error("the change would leave the domain without an enabled DOMAIN_ADMIN")]
    LastAdmin,
    #[error("the code was replaced, consumed or expired")]
    CodeGone,
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The domain's users do not fit the memory this process may spend on one domain.
    #[error("the domain's users exceed the {budget_mb} MB this function may hold")]
    DomainTooLarge { budget_mb: usize },
}

/// A domain's users in user_id order, shared: the DynamoDB store hands out its cached copy of
/// the domain without copying it. One flat vector, because the engine walks every user: the
/// same walk over a vector of `Arc<User>` took four times as long (docs/performance.md).
pub type DomainUsers = std::sync::Arc<Vec<User>>;

pub type StoreResult<T> = Result<T, StoreError>;

/// What a code verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CodePurpose {
    VerifyEmail,
    Mfa,
    /// The code of an MFA sign-in (SPEC section 9).
    SignIn,
}

impl CodePurpose {
    pub const ALL: [CodePurpose; 3] = [CodePurpose::VerifyEmail, CodePurpose::Mfa, CodePurpose::SignIn];

    pub fn as_str(self) -> &'static str {
        match self {
            CodePurpose::VerifyEmail => "verify_email",
            CodePurpose::Mfa => "mfa",
            CodePurpose::SignIn => "sign_in",
        }
    }
}

/// A pending verification code. `bound_to` says what the code was issued for (the address a
/// verify-email code went to, the MFA transition it confirms); the operation checks it, so a
/// code cannot confirm something other than what was mailed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeRecord {
    pub domain_id: DomainId,
    pub user_id: UserId,
    pub purpose: CodePurpose,
    pub digest: CodeDigest,
    pub bound_to: String,
    pub expires_at: Timestamp,
    /// Attempts made so far, including the one in progress when returned by `take_code_attempt`.
    pub attempts: u32,
    /// An OTP enrolment's record (SPEC section 10) holds the pending secret, sealed: the
    /// authenticator's codes are checked against it, and `digest` (of a code no one is sent)
    /// is only the record's identity for consuming it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp_secret: Option<crate::otp::Sealed>,
}

impl CodeRecord {
    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.expires_at && self.attempts < MAX_CODE_ATTEMPTS
    }
}

/// What happens to a code in the same transaction as a user write.
#[derive(Debug, Clone)]
pub enum CodeChange {
    None,
    /// Store a new code, replacing any pending one of its purpose.
    Issue(CodeRecord),
    /// Delete this code; fails with `CodeGone` if it was replaced or removed meanwhile.
    Consume(CodeRecord),
    /// Delete any pending code of this purpose.
    Discard(CodePurpose),
}

/// How long a deleted user's tombstone is kept (SPEC section 5): 8 days, longer than any
/// token this API issues (an access token lives at most 7 days).
pub const TOMBSTONE_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::days(8);

/// What a deleted user leaves for [`TOMBSTONE_LIFETIME`] (SPEC section 5): only when it was
/// deleted, so that its tokens stay refused. Never returned, listed, counted or published as a
/// user; a create of the same user_id replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tombstone {
    pub deleted_at: Timestamp,
}

impl Tombstone {
    /// What a stored tombstone of a user deleted at `deleted_ms` (Unix ms, real time) reads as
    /// now: the tombstone while it lives, nothing after [`TOMBSTONE_LIFETIME`] (both stores
    /// remove it later, lazily). The one reading of a tombstone for both adapters.
    pub fn read(deleted_ms: i64) -> StoreResult<Record> {
        let deleted_at = chrono::DateTime::from_timestamp_millis(deleted_ms)
            .ok_or_else(|| StoreError::Unavailable("a tombstone with an invalid time".into()))?;
        let live = chrono::Utc::now() < deleted_at + TOMBSTONE_LIFETIME;
        Ok(if live {
            Record::Tombstone(Tombstone {
                deleted_at: Timestamp::new(deleted_at),
            })
        } else {
            Record::Absent
        })
    }
}

/// What one user's key holds: the user, the tombstone a delete left there, or nothing.
#[derive(Debug, Clone, PartialEq)]
// The answer of one read, moved once: the same size as the `Option<Versioned<User>>` it
// replaces, and boxing would add an allocation to every request.
#[allow(clippy::large_enum_variant)]
pub enum Record {
    User(Versioned<User>),
    Tombstone(Tombstone),
    Absent,
}

impl Record {
    pub fn into_user(self) -> Option<Versioned<User>> {
        match self {
            Record::User(user) => Some(user),
            Record::Tombstone(_) | Record::Absent => None,
        }
    }
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// What the user's key holds, tombstone included: the one read that revocation (SPEC
    /// section 5) and the operation both use.
    async fn get_record(&self, domain: &DomainId, user_id: &UserId) -> StoreResult<Record>;

    /// Two users' records read together, consistently (a caller and its target): one
    /// request or transaction, not two.
    async fn get_record_pair(
        &self,
        domain: &DomainId,
        first: &UserId,
        second: &UserId,
    ) -> StoreResult<(Record, Record)>;

    async fn get_user(&self, domain: &DomainId, user_id: &UserId) -> StoreResult<Option<Versioned<User>>> {
        self.get_record(domain, user_id).await.map(Record::into_user)
    }

    /// [`UserStore::get_record_pair`], users only.
    async fn get_user_pair(
        &self,
        domain: &DomainId,
        first: &UserId,
        second: &UserId,
    ) -> StoreResult<(Option<Versioned<User>>, Option<Versioned<User>>)> {
        let (one, two) = self.get_record_pair(domain, first, second).await?;
        Ok((one.into_user(), two.into_user()))
    }

    /// Counts one sign-in attempt of `user_id` at `now` (see [`SignInState::claim`]),
    /// atomically; whether the user exists does not matter.
    async fn claim_sign_in(&self, domain: &DomainId, user_id: &UserId, now: Timestamp) -> StoreResult<SignInClaim>;

    /// Forgets the user's failed sign-ins (after a successful one).
    async fn clear_sign_in(&self, domain: &DomainId, user_id: &UserId) -> StoreResult<()>;

    /// Creates a user; `NotUnique` if the user_id exists in the domain. Replaces the user_id's
    /// tombstone, if any.
    async fn create_user(&self, user: &User) -> StoreResult<Versioned<User>>;

    /// Replaces `before` with `after` if the stored version is still `before.version`, applying
    /// `code` in the same transaction. Enforces the last-admin rule.
    async fn save_user(&self, before: &Versioned<User>, after: &User, code: CodeChange)
    -> StoreResult<Versioned<User>>;

    /// Deletes the user, its codes and its reset window, if still at `before.version`, leaving
    /// its [`Tombstone`] (deleted now) in the same transaction. Enforces the last-admin rule.
    async fn delete_user(&self, before: &Versioned<User>) -> StoreResult<()>;

    /// Stores a code without touching the user, replacing any pending one of its purpose.
    async fn issue_code(&self, code: &CodeRecord) -> StoreResult<()>;

    /// Atomically counts one attempt against the pending code and returns it (with the new
    /// count); `None` when there is no live code. An expired or exhausted code is deleted.
    async fn take_code_attempt(
        &self,
        domain: &DomainId,
        user_id: &UserId,
        purpose: CodePurpose,
        now: Timestamp,
    ) -> StoreResult<Option<CodeRecord>>;

    /// Opens the user's reset-mail window until `until` unless one is open at `now`; returns
    /// whether this call opened it.
    async fn claim_reset_window(
        &self,
        domain: &DomainId,
        user_id: &UserId,
        now: Timestamp,
        until: Timestamp,
    ) -> StoreResult<bool>;

    /// Closes the window again (the mail it guarded could not be sent).
    async fn release_reset_window(&self, domain: &DomainId, user_id: &UserId) -> StoreResult<()>;

    /// Every user of a domain, in user_id order.
    async fn list_users(&self, domain: &DomainId) -> StoreResult<DomainUsers>;

    /// Records that the provisioning message `id` was applied in `domain`, remembered until
    /// `until`. False (and nothing changes) when it is already recorded at `now`.
    async fn record_message(&self, domain: &DomainId, id: &str, now: Timestamp, until: Timestamp) -> StoreResult<bool>;

    /// Whether the provisioning message `id` is recorded in `domain` at `now`.
    async fn message_recorded(&self, domain: &DomainId, id: &str, now: Timestamp) -> StoreResult<bool>;
}

/// How the admin count of a domain changes when a user goes from `before` to `after`
/// (`None` = absent). Shared by the adapters so they agree on the rule.
pub fn admin_delta(before: Option<&User>, after: Option<&User>) -> i64 {
    let counts = |u: Option<&User>| i64::from(u.is_some_and(User::is_enabled_admin));
    counts(after) - counts(before)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> Timestamp {
        Timestamp::new(
            chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap() + chrono::TimeDelta::minutes(minutes),
        )
    }

    #[test]
    fn five_attempts_in_the_window_then_locked_for_fifteen_minutes() {
        let mut state = None;
        for n in 1..=5 {
            let next = SignInState::claim(state.as_ref(), at(n)).expect("granted");
            assert_eq!(next.failures, n as u32);
            assert_eq!(next.as_claim(), SignInClaim::Granted { locks: n == 5 });
            state = Some(next);
        }
        assert_eq!(state.as_ref().unwrap().window_ends, at(5 + 15));
        assert_eq!(SignInState::claim(state.as_ref(), at(19)), None);
        let after = SignInState::claim(state.as_ref(), at(20)).expect("the lock ended");
        assert_eq!(after.failures, 1);
    }

    #[test]
    fn failures_outside_the_window_start_a_new_count() {
        let first = SignInState::claim(None, at(0)).unwrap();
        let second = SignInState::claim(Some(&first), at(14)).unwrap();
        assert_eq!(second.failures, 2);
        let later = SignInState::claim(Some(&second), at(15)).unwrap();
        assert_eq!((later.failures, later.window_ends), (1, at(30)));
    }
}
