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
}

pub type StoreResult<T> = Result<T, StoreError>;

/// What a code verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CodePurpose {
    VerifyEmail,
    Mfa,
}

impl CodePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            CodePurpose::VerifyEmail => "verify_email",
            CodePurpose::Mfa => "mfa",
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

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn get_user(&self, domain: &DomainId, user_id: &UserId) -> StoreResult<Option<Versioned<User>>>;

    /// Creates a user; `NotUnique` if the user_id exists in the domain.
    async fn create_user(&self, user: &User) -> StoreResult<Versioned<User>>;

    /// Replaces `before` with `after` if the stored version is still `before.version`, applying
    /// `code` in the same transaction. Enforces the last-admin rule.
    async fn save_user(&self, before: &Versioned<User>, after: &User, code: CodeChange)
    -> StoreResult<Versioned<User>>;

    /// Deletes the user, its codes and its reset window, if still at `before.version`.
    /// Enforces the last-admin rule.
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
    async fn list_users(&self, domain: &DomainId) -> StoreResult<Vec<User>>;

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
