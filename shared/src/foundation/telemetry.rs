//! The counters the code keeps for the operator (docs/operations.md, "Metrics"): sign-ins,
//! codes, mails, refused tokens, domain copies, provisioning commands and events.
//!
//! They go through the `metrics` facade, so that recording one knows nothing of where it goes:
//! a Lambda function installs a recorder that writes them as CloudWatch Embedded Metric Format
//! lines after each invocation (`functions::lambda`); a process without a recorder (the local
//! server, the tests of the rules) records into nothing, at the cost of one atomic load.
//!
//! Dimensions are few and fixed (an outcome, a kind, a reason: each from a closed list in
//! this file), never a user, domain or request: a metric's cost is per dimension combination.

use metrics::{Unit, counter, describe_counter};

/// Every metric: its name, its dimension (if any), its unit and what one count is.
pub const CATALOG: &[Metric] = &[
    Metric {
        name: SIGN_INS,
        dimension: Some(("outcome", &["succeeded", "failed", "locked", "mfa_required", "error"])),
        unit: Unit::Count,
        what: "token.issue calls, by how they ended",
    },
    Metric {
        name: LOCKOUTS,
        dimension: None,
        unit: Unit::Count,
        what: "failed sign-ins that locked their user's sign-in for 15 minutes",
    },
    Metric {
        name: CODES_ISSUED,
        dimension: Some(("kind", CODE_KINDS)),
        unit: Unit::Count,
        what: "verification codes mailed",
    },
    Metric {
        name: CODE_ATTEMPTS_FAILED,
        dimension: Some(("kind", CODE_KINDS)),
        unit: Unit::Count,
        what: "codes (mailed or from an authenticator) that were wrong, spent, expired or malformed",
    },
    Metric {
        name: MAILS_SENT,
        dimension: Some(("kind", MAIL_KINDS)),
        unit: Unit::Count,
        what: "mails the provider accepted; also without dimension, all kinds together",
    },
    Metric {
        name: MAILS_FAILED,
        dimension: Some(("kind", MAIL_KINDS)),
        unit: Unit::Count,
        what: "mails that could not be rendered or that the provider refused; also without dimension",
    },
    Metric {
        name: TOKENS_REFUSED,
        dimension: Some(("reason", &["revoked", "user_disabled", "user_deleted", "user_absent"])),
        unit: Unit::Count,
        what: "tokens that verified but no longer stand (SPEC section 5)",
    },
    Metric {
        name: DOMAIN_COPY_HITS,
        dimension: None,
        unit: Unit::Count,
        what: "list and stat reads served from a domain copy brought up to date",
    },
    Metric {
        name: DOMAIN_COPY_COLD_READS,
        dimension: None,
        unit: Unit::Count,
        what: "list and stat reads that read the domain whole",
    },
    Metric {
        name: DOMAIN_COPY_BYTES_READ,
        dimension: None,
        unit: Unit::Bytes,
        what: "the users those reads brought in, in the copy's bytes",
    },
    Metric {
        name: PROVISION_COMMANDS,
        dimension: Some(("outcome", &["applied", "already_done", "failed", "held_back"])),
        unit: Unit::Count,
        what: "provisioning messages from the queue, by outcome",
    },
    Metric {
        name: EVENTS_PUBLISHED,
        dimension: Some(("outcome", &["published", "failed"])),
        unit: Unit::Count,
        what: "change events put on the event bus, or that failed and will be retried",
    },
];

/// One metric of [`CATALOG`].
pub struct Metric {
    pub name: &'static str,
    /// The one dimension's name and its values.
    pub dimension: Option<(&'static str, &'static [&'static str])>,
    pub unit: Unit,
    pub what: &'static str,
}

pub const SIGN_INS: &str = "SignIns";
pub const LOCKOUTS: &str = "Lockouts";
pub const CODES_ISSUED: &str = "CodesIssued";
pub const CODE_ATTEMPTS_FAILED: &str = "CodeAttemptsFailed";
pub const MAILS_SENT: &str = "MailsSent";
pub const MAILS_FAILED: &str = "MailsFailed";
pub const TOKENS_REFUSED: &str = "TokensRefused";
pub const DOMAIN_COPY_HITS: &str = "DomainCopyHits";
pub const DOMAIN_COPY_COLD_READS: &str = "DomainCopyColdReads";
pub const DOMAIN_COPY_BYTES_READ: &str = "DomainCopyBytesRead";
pub const PROVISION_COMMANDS: &str = "ProvisionCommands";
pub const EVENTS_PUBLISHED: &str = "EventsPublished";

const CODE_KINDS: &[&str] = &["verify_email", "mfa", "sign_in"];
const MAIL_KINDS: &[&str] = &["verify_email", "mfa_code", "temporary_password"];

/// Gives the installed recorder each metric's unit. Call once, after installing it.
pub fn describe() {
    for metric in CATALOG {
        describe_counter!(metric.name, metric.unit, metric.what);
    }
}

/// How a sign-in (token.issue) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignIn {
    Succeeded,
    /// Refused: wrong credentials or code, or a user that cannot sign in.
    Failed,
    /// Refused without a look: the user's sign-in is locked.
    Locked,
    /// The password was right; a second factor is asked for.
    MfaRequired,
    /// The service could not answer (store, keys, mail).
    Error,
}

impl SignIn {
    fn as_str(self) -> &'static str {
        match self {
            SignIn::Succeeded => "succeeded",
            SignIn::Failed => "failed",
            SignIn::Locked => "locked",
            SignIn::MfaRequired => "mfa_required",
            SignIn::Error => "error",
        }
    }
}

pub fn sign_in(outcome: SignIn) {
    counter!(SIGN_INS, "outcome" => outcome.as_str()).increment(1);
}

pub fn lockout() {
    counter!(LOCKOUTS).increment(1);
}

/// `kind`: a code purpose (`CodePurpose::as_str`).
pub fn code_issued(kind: &'static str) {
    counter!(CODES_ISSUED, "kind" => kind).increment(1);
}

pub fn code_attempt_failed(kind: &'static str) {
    counter!(CODE_ATTEMPTS_FAILED, "kind" => kind).increment(1);
}

/// A mail of `kind` sent (or not): counted by kind and in all.
pub fn mail(kind: &'static str, sent: bool) {
    let name = if sent { MAILS_SENT } else { MAILS_FAILED };
    counter!(name, "kind" => kind).increment(1);
    counter!(name).increment(1);
}

/// Why a token that verified was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Revoked,
    UserDisabled,
    UserDeleted,
    UserAbsent,
}

pub fn token_refused(reason: Refused) {
    let reason = match reason {
        Refused::Revoked => "revoked",
        Refused::UserDisabled => "user_disabled",
        Refused::UserDeleted => "user_deleted",
        Refused::UserAbsent => "user_absent",
    };
    counter!(TOKENS_REFUSED, "reason" => reason).increment(1);
}

/// A list or stat read of a domain: from a copy (`cold` false) or whole, and the bytes of
/// the users it brought in.
pub fn domain_read(cold: bool, bytes: usize) {
    counter!(if cold { DOMAIN_COPY_COLD_READS } else { DOMAIN_COPY_HITS }).increment(1);
    counter!(DOMAIN_COPY_BYTES_READ).increment(u64::try_from(bytes).unwrap_or(u64::MAX));
}

/// How a provisioning command from the queue ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provisioned {
    Applied,
    AlreadyDone,
    /// Failed: back to the queue for another try (after the queue's maxReceiveCount, to its
    /// dead-letter queue).
    Failed,
    /// Not tried: behind a failed message of its FIFO group, back to the queue with it.
    HeldBack,
}

pub fn provisioned(outcome: Provisioned) {
    let outcome = match outcome {
        Provisioned::Applied => "applied",
        Provisioned::AlreadyDone => "already_done",
        Provisioned::Failed => "failed",
        Provisioned::HeldBack => "held_back",
    };
    counter!(PROVISION_COMMANDS, "outcome" => outcome).increment(1);
}

pub fn events_published(published: usize, failed: usize) {
    let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    if published > 0 {
        counter!(EVENTS_PUBLISHED, "outcome" => "published").increment(count(published));
    }
    if failed > 0 {
        counter!(EVENTS_PUBLISHED, "outcome" => "failed").increment(count(failed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/operations.md lists every metric with its dimension and its values.
    #[test]
    fn every_metric_is_in_the_runbook() {
        let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/operations.md"))
            .expect("docs/operations.md");
        for metric in CATALOG {
            let row = docs
                .lines()
                .find(|l| l.starts_with(&format!("| `{}` |", metric.name)))
                .unwrap_or_else(|| panic!("no row for {} in docs/operations.md", metric.name));
            if let Some((dimension, values)) = metric.dimension {
                assert!(row.contains(&format!("`{dimension}`")), "{row}");
                for value in values {
                    assert!(row.contains(&format!("`{value}`")), "{value} missing: {row}");
                }
            }
        }
    }
}
