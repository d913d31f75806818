//! What several operations share: reading the target, read-modify-write with retries, codes,
//! mail, and mapping store errors to API errors.

use std::time::Duration;

use chrono::TimeDelta;
use rand::RngExt;

use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::input::Fields;
use crate::mail::Mail;
use crate::model::{DomainId, Timestamp, User, UserId, Versioned};
use crate::secrets::PlainCode;
use crate::store::DomainUsers;
use crate::store::{CodeChange, CodePurpose, CodeRecord, Record, StoreError};
use crate::telemetry;

/// How often a read-modify-write is retried after losing a race before answering ERROR_CONFLICT.
const WRITE_ATTEMPTS: u32 = 8;

/// The user_id and domain_id every request carries.
pub fn target(fields: &mut Fields) -> Result<(DomainId, UserId), ApiError> {
    let user_id = UserId::parse("user_id", fields.required_string("user_id")?)?;
    let domain_id = DomainId::parse("domain_id", fields.required_string("domain_id")?)?;
    Ok((domain_id, user_id))
}

pub fn now(app: &App) -> Timestamp {
    Timestamp::new(app.clock.now())
}

pub fn store_error(error: StoreError, user_id: &UserId) -> ApiError {
    let user_id = user_id.to_string();
    match error {
        StoreError::NotUnique => ApiError::NotUnique { user_id },
        StoreError::Conflict => ApiError::Conflict { user_id },
        StoreError::LastAdmin => ApiError::LastAdminCannotDisabledDeleted { user_id },
        StoreError::CodeGone => ApiError::InvalidVerifyCode { user_id },
        StoreError::Unavailable(reason) => {
            tracing::error!(%reason, "storage unavailable");
            ApiError::Unavailable { service: "storage" }
        }
        StoreError::DomainTooLarge { .. } => ApiError::Unavailable { service: "storage" },
    }
}

/// Runs CPU-heavy work (compiling and running a query over a domain) on the blocking pool, so
/// the async workers keep serving other requests meanwhile. A panic inside is a bug: logged,
/// and answered as ERROR_UNKNOWN.
pub async fn off_the_workers<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(|error| {
        tracing::error!(%error, "blocking work failed");
        ApiError::Unknown {
            request_id: String::new(),
        }
    })
}

/// For reads of a whole domain, where the only possible failures are the store itself and a
/// domain too large for this function's memory (a 503 that says so).
pub fn domain_store_error(error: StoreError, domain: &DomainId) -> ApiError {
    if let StoreError::DomainTooLarge { budget_mb } = error {
        tracing::warn!(domain_id = %domain.as_str(), budget_mb, "domain too large for this function's memory");
        return ApiError::DomainTooLarge {
            domain_id: domain.as_str().to_owned(),
            budget_mb,
        };
    }
    tracing::error!(%error, "storage failed reading a domain");
    ApiError::Unavailable { service: "storage" }
}

/// Reads the target of a request `caller` makes, refusing (401) a caller whose own token no
/// longer stands (SPEC section 5: DISABLED, revoked, deleted, or a `gen` token of no user).
/// The caller's record comes with the target in one read: the same item when it acts on
/// itself, one BatchGetItem (one read transaction) when an admin acts on another user. The
/// records include tombstones, so revocation after a delete costs nothing more.
pub async fn load_for(
    app: &App,
    caller: &Caller,
    domain: &DomainId,
    user_id: &UserId,
) -> Result<Versioned<User>, ApiError> {
    let target = match caller.own_user_id() {
        Some(own) if &own == user_id => {
            let target = read_record(app, domain, user_id).await?;
            caller.check_standing(&target)?;
            target
        }
        Some(own) => {
            let (me, target) = app
                .store
                .get_record_pair(domain, &own, user_id)
                .await
                .map_err(|e| store_error(e, user_id))?;
            caller.check_standing(&me)?;
            target
        }
        None => read_record(app, domain, user_id).await?,
    };
    target.into_user().ok_or_else(|| not_found(user_id))
}

/// For requests without an existing target (create, list, stat): the caller's own token
/// must still stand.
pub async fn check_caller(app: &App, caller: &Caller, domain: &DomainId) -> Result<(), ApiError> {
    let Some(own) = caller.own_user_id() else { return Ok(()) };
    caller.check_standing(&read_record(app, domain, &own).await?)
}

/// What the user's key holds, tombstone included (for revocation).
pub async fn read_record(app: &App, domain: &DomainId, user_id: &UserId) -> Result<Record, ApiError> {
    app.store
        .get_record(domain, user_id)
        .await
        .map_err(|e| store_error(e, user_id))
}

/// The users of `domain` for a list or stat by `caller`. The caller's standing (one GetItem)
/// and the domain's users (one catch-up Query when warm) are read at once, so a warm list
/// waits for one round trip, not two; the users are dropped unless the caller stands. A
/// caller refused here holds a token signed for an admin of this domain, so the read it
/// causes is one that caller could have made the moment before it was revoked.
pub async fn domain_users_for(app: &App, caller: &Caller, domain: &DomainId) -> Result<DomainUsers, ApiError> {
    let (standing, users) = tokio::join!(check_caller(app, caller, domain), app.store.list_users(domain));
    standing?;
    users.map_err(|e| domain_store_error(e, domain))
}

/// Reads the user, if there is one.
pub async fn read(app: &App, domain: &DomainId, user_id: &UserId) -> Result<Option<Versioned<User>>, ApiError> {
    app.store
        .get_user(domain, user_id)
        .await
        .map_err(|e| store_error(e, user_id))
}

/// Reads the user or answers 404.
pub async fn load(app: &App, domain: &DomainId, user_id: &UserId) -> Result<Versioned<User>, ApiError> {
    read(app, domain, user_id).await?.ok_or_else(|| not_found(user_id))
}

fn not_found(user_id: &UserId) -> ApiError {
    ApiError::NotFound {
        user_id: user_id.to_string(),
    }
}

/// A change to a user and what happens to its codes in the same write.
pub struct Edit {
    pub user: User,
    pub code: CodeChange,
}

impl Edit {
    pub fn user(user: User) -> Self {
        Self {
            user,
            code: CodeChange::None,
        }
    }

    /// A disable or a new password revokes the user's tokens (SPEC section 5): every write
    /// goes through here, so no operation can forget it. The time is the real time, whatever
    /// the App's clock says: it is compared with tokens' `iat`, which is real time.
    fn stamp_revocation(&mut self, before: &User) {
        if self.user.revokes_tokens_since(before) {
            self.user.revoke_tokens(Timestamp::new(chrono::Utc::now()));
        }
    }

    fn changes_nothing(&self, before: &User) -> bool {
        matches!(self.code, CodeChange::None) && self.user == *before
    }
}

/// Read-modify-write: applies `change` to the current user and writes it conditionally on the
/// version read. When a concurrent write wins, it re-reads and re-applies, so concurrent partial
/// updates never lose a field; `change` re-checks the rules on every attempt. Only for changes
/// without side effects (no mail): those are written once (see [`save_once`]).
pub async fn modify(
    app: &App,
    caller: &Caller,
    domain: &DomainId,
    user_id: &UserId,
    change: impl Fn(&User) -> Result<Edit, ApiError>,
) -> Result<User, ApiError> {
    let first = load_for(app, caller, domain, user_id).await?;
    modify_from(app, first, change).await
}

/// [`modify`] starting from a user the operation has already read, so the common case costs
/// one read, not two; only a retry after a lost race reads again.
pub async fn modify_from(
    app: &App,
    first: Versioned<User>,
    change: impl Fn(&User) -> Result<Edit, ApiError>,
) -> Result<User, ApiError> {
    let (domain, user_id) = (first.item.domain_id.clone(), first.item.user_id.clone());
    let (domain, user_id, change) = (&domain, &user_id, &change);
    let mut first = Some(first);
    retry_conflicts(user_id, move || {
        let read = first.take();
        async move {
            let before = match read {
                Some(before) => before,
                None => load(app, domain, user_id).await?,
            };
            let mut edit = change(&before.item)?;
            // A change that changes nothing is not written: no request, no new version.
            if edit.changes_nothing(&before.item) {
                return Ok(Ok(before.item));
            }
            edit.stamp_revocation(&before.item);
            Ok(app
                .store
                .save_user(&before, &edit.user, edit.code)
                .await
                .map(|saved| saved.item))
        }
    })
    .await
}

/// Runs `attempt` (read, decide, conditional write) until its write does not lose a race, at
/// most [`WRITE_ATTEMPTS`] times with backoff; then ERROR_CONFLICT. The outer error ends the
/// attempts at once (404, a rule); the inner one is the store's answer to the write.
pub async fn retry_conflicts<T, Fut>(user_id: &UserId, mut attempt: impl FnMut() -> Fut) -> Result<T, ApiError>
where
    Fut: Future<Output = Result<Result<T, StoreError>, ApiError>>,
{
    let mut tries = 1;
    loop {
        let started = std::time::Instant::now();
        match attempt().await? {
            Ok(done) => return Ok(done),
            Err(StoreError::Conflict) if tries < WRITE_ATTEMPTS => {
                backoff(tries, started.elapsed()).await;
                tries += 1;
            }
            Err(e) => return Err(store_error(e, user_id)),
        }
    }
}

/// Writes a change decided on `before` once; a lost race is ERROR_CONFLICT for the client to
/// retry. Used after a mail was sent, where silently re-deciding could contradict the mail.
pub async fn save_once(app: &App, before: &Versioned<User>, mut edit: Edit) -> Result<User, ApiError> {
    edit.stamp_revocation(&before.item);
    app.store
        .save_user(before, &edit.user, edit.code)
        .await
        .map(|saved| saved.item)
        .map_err(|e| store_error(e, &before.item.user_id))
}

/// Jittered, growing pause between write attempts so racing writers spread out. It scales with
/// how long an attempt takes: a store with 10 ms round trips (DynamoDB from a Lambda) needs
/// wider gaps than an embedded one to let one writer finish between two others' reads.
async fn backoff(attempt: u32, attempt_took: Duration) {
    let ceiling = backoff_ceiling(attempt, attempt_took);
    let millis = rand::rng().random_range(1..=ceiling);
    tokio::time::sleep(Duration::from_millis(millis)).await;
}

fn backoff_ceiling(attempt: u32, attempt_took: Duration) -> u64 {
    let unit = u64::try_from(attempt_took.as_millis()).unwrap_or(u64::MAX).max(2);
    unit.saturating_mul(1 << attempt.min(6)).min(MAX_BACKOFF_MS)
}

const MAX_BACKOFF_MS: u64 = 1000;

/// Renders and sends a mail to `to` in the user's language; a transport failure is 503.
pub async fn send_mail(app: &App, mail: Mail<'_>, user: &User, to: &str) -> Result<(), ApiError> {
    let kind = mail.kind();
    let message = app
        .composer
        .compose(&mail, user.language.as_str(), user.user_id.as_str(), to)
        .map_err(|e| {
            tracing::error!(error = %e, "mail rendering failed");
            telemetry::mail(kind, false);
            ApiError::Unknown {
                request_id: String::new(),
            }
        })?;
    let sent = app.mailer.send(&message).await;
    telemetry::mail(kind, sent.is_ok());
    sent.map_err(|e| {
        tracing::error!(error = %e, "mail transport failed");
        ApiError::Unavailable {
            service: "email provider",
        }
    })
}

/// Makes a code for `user` that confirms `bound_to`, valid for `ttl`, and mails it to `to` in
/// the mail of its purpose. Returns the record for the caller to store — only after the mail
/// went out, so a failed mail leaves no code behind.
pub async fn mail_code(
    app: &App,
    user: &User,
    purpose: CodePurpose,
    bound_to: &str,
    ttl: TimeDelta,
    to: &str,
) -> Result<CodeRecord, ApiError> {
    let plain = PlainCode::generate();
    let mail = match purpose {
        CodePurpose::VerifyEmail => Mail::VerifyEmail { code: plain.expose() },
        CodePurpose::Mfa | CodePurpose::SignIn => Mail::MfaCode { code: plain.expose() },
    };
    send_mail(app, mail, user, to).await?;
    telemetry::code_issued(purpose.as_str());
    Ok(CodeRecord {
        domain_id: user.domain_id.clone(),
        user_id: user.user_id.clone(),
        purpose,
        digest: plain.digest(),
        bound_to: bound_to.to_string(),
        expires_at: Timestamp::new(app.clock.now() + ttl),
        attempts: 0,
        otp_secret: None,
    })
}

/// Checks a candidate code against the pending one. Every well-formed guess counts as an
/// attempt before it is compared, so no interleaving of requests gets more than five guesses
/// at one code. Returns the code for the caller to consume with its user write.
pub async fn check_code(
    app: &App,
    user: &User,
    purpose: CodePurpose,
    candidate: &str,
    bound_to: &str,
) -> Result<CodeRecord, ApiError> {
    let code = take_attempt(app, user, purpose, candidate, bound_to).await?;
    // An OTP enrolment's record is checked against its secret, never as a mailed code.
    if !code.digest.matches(candidate) || code.otp_secret.is_some() {
        return Err(invalid_code(user, purpose));
    }
    Ok(code)
}

/// The pending code of `purpose` that confirms `bound_to`, with one more attempt counted on it,
/// for a `candidate` that can be a code at all (six digits; anything else is refused without
/// spending an attempt). Comparing the candidate is the caller's: a mailed code's digest
/// ([`check_code`]) or an authenticator's secret.
pub async fn take_attempt(
    app: &App,
    user: &User,
    purpose: CodePurpose,
    candidate: &str,
    bound_to: &str,
) -> Result<CodeRecord, ApiError> {
    if candidate.len() != 6 || !candidate.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid_code(user, purpose));
    }
    let code = app
        .store
        .take_code_attempt(&user.domain_id, &user.user_id, purpose, now(app))
        .await
        .map_err(|e| store_error(e, &user.user_id))?
        .ok_or_else(|| invalid_code(user, purpose))?;
    if code.bound_to != bound_to {
        return Err(invalid_code(user, purpose));
    }
    Ok(code)
}

/// A code of `purpose` failed (counted: `CodeAttemptsFailed`).
pub fn invalid_code(user: &User, purpose: CodePurpose) -> ApiError {
    telemetry::code_attempt_failed(purpose.as_str());
    ApiError::InvalidVerifyCode {
        user_id: user.user_id.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_attempts_and_round_trip_and_is_capped() {
        let fast = Duration::from_millis(0);
        assert_eq!(backoff_ceiling(1, fast), 4);
        assert_eq!(backoff_ceiling(3, fast), 16);
        let slow = Duration::from_millis(20);
        assert_eq!(backoff_ceiling(1, slow), 40);
        assert_eq!(backoff_ceiling(4, slow), 320);
        assert_eq!(backoff_ceiling(7, slow), MAX_BACKOFF_MS);
    }
}
