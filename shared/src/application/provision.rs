//! Provisioning commands: the API's operations driven by systems (an HR feed, an onboarding
//! workflow, a bulk import file) instead of people. A command is
//! `{"action": "...", "domain_id": "...", "params": {...the API request's fields...}}` and runs
//! the very same operation as the API (validation, rules, mail). Authority comes from whoever
//! may submit commands (the queue's IAM policy, the operator running an import), not a token:
//! a command acts as the domain's administrator, in that domain only.
//!
//! Commands are delivered at least once, so applying one twice must change nothing the second
//! time. Here that holds by state:
//! - a create whose user already exists with the fields the command gives is already done;
//! - a delete whose user is gone is already done;
//! - update, enable, disable and set_required_actions set values, and a change that changes
//!   nothing is not written (`ops::support::modify_from`).
//!
//! A create that meets a different existing user still fails with ERROR_NOT_UNIQUE.
//!
//! State covers a command delivered again before any later command changed its user. A stale
//! redelivery (a create arriving again after the user was renamed or deleted) is covered by
//! the message id: a command with an `id` (an SQS message's id, or one given in a file) is
//! recorded once it has applied and skipped when it comes again within [`MESSAGE_MEMORY`].
//! The record follows the change rather than sharing its transaction, so a crash between the
//! two leaves a redelivery to the state rules above.

use chrono::TimeDelta;
use serde_json::{Map, Value};

use crate::app::App;
use crate::auth::Caller;
use crate::deferred::ResetJob;
use crate::error::ApiError;
use crate::input::Fields;
use crate::model::{DomainId, Timestamp, Timezone, User, UserId};
use crate::ops::{self, Operation};

/// How long an applied message id is remembered: the longest an SQS message can live.
pub const MESSAGE_MEMORY: TimeDelta = TimeDelta::days(14);

/// The longest message id accepted (SQS ids are 36 characters).
const MAX_ID: usize = 128;

/// What a command may do: the API methods a provisioning system needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Enable,
    Disable,
    Delete,
    SetRequiredActions,
    VerifyEmail,
    /// The work of a reset_password request, handed over by the API (`crate::deferred`).
    ResetPassword,
}

impl Action {
    const ALL: [Action; 8] = [
        Action::Create,
        Action::Update,
        Action::Enable,
        Action::Disable,
        Action::Delete,
        Action::SetRequiredActions,
        Action::VerifyEmail,
        Action::ResetPassword,
    ];

    pub fn operation(self) -> Operation {
        match self {
            Action::Create => Operation::Create,
            Action::Update => Operation::Update,
            Action::Enable => Operation::Enable,
            Action::Disable => Operation::Disable,
            Action::Delete => Operation::Delete,
            Action::SetRequiredActions => Operation::SetRequiredActions,
            Action::VerifyEmail => Operation::VerifyEmail,
            Action::ResetPassword => Operation::ResetPassword,
        }
    }

    pub fn name(self) -> &'static str {
        self.operation().name()
    }

    fn parse(text: &str) -> Result<Self, ApiError> {
        Action::ALL.into_iter().find(|a| a.name() == text).ok_or_else(|| {
            let names: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
            ApiError::invalid("action", format!("must be one of {}", names.join(", ")))
        })
    }
}

/// One parsed command.
#[derive(Debug, Clone)]
pub struct Command {
    /// The message id, when the command has one: applied at most once per id.
    pub id: Option<String>,
    pub action: Action,
    pub domain_id: DomainId,
    params: Map<String, Value>,
}

impl Command {
    /// Parses a command from its JSON text; errors name the key, as the API's do.
    pub fn from_json(text: &str) -> Result<Self, ApiError> {
        let mut f = Fields::from_json(text.as_bytes())?;
        let id = f.non_empty("id")?.map(check_id).transpose()?;
        let action = Action::parse(&f.required_string("action")?)?;
        let domain_id = DomainId::parse("domain_id", f.required_string("domain_id")?)?;
        let mut params = f.object("params")?.ok_or_else(|| ApiError::required("params"))?;
        f.finish()?;
        match params.get("domain_id") {
            None => {}
            Some(Value::String(inner)) if inner == domain_id.as_str() => {}
            Some(_) => {
                return Err(ApiError::invalid("params.domain_id", "must be the command's domain_id"));
            }
        }
        params.insert("domain_id".into(), Value::String(domain_id.as_str().into()));
        Ok(Self {
            id,
            action,
            domain_id,
            params,
        })
    }

    /// The command under `id` unless it carries its own (a producer's id names the command
    /// across re-sends; a transport's, like an SQS message id, only one delivery's copies).
    pub fn or_id(self, id: &str) -> Result<Self, ApiError> {
        if self.id.is_some() {
            return Ok(self);
        }
        Ok(Self {
            id: Some(check_id(id.to_string())?),
            ..self
        })
    }

    /// The reset job a `reset_password` command carries: `params` holds `user_id` and
    /// `requested_at` (ISO 8601; when absent, `now`, the time the command is applied).
    pub fn reset_job(&self, now: Timestamp) -> Result<ResetJob, ApiError> {
        let mut f = Fields::from_map(self.params.clone());
        let user_id = UserId::parse("user_id", f.required_string("user_id")?)?;
        let requested_at = match f.string("requested_at")? {
            None => now,
            Some(text) => crate::query::parse_datetime(&text)
                .map(Timestamp::new)
                .ok_or_else(|| ApiError::invalid("requested_at", "must be an ISO 8601 date-time"))?,
        };
        f.string("domain_id")?;
        f.finish()?;
        Ok(ResetJob {
            domain_id: self.domain_id.clone(),
            user_id,
            requested_at,
        })
    }

    /// The target user, when the params name one.
    pub fn user_id(&self) -> Option<&str> {
        self.params.get("user_id").and_then(Value::as_str)
    }
}

/// How a command ended when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The operation ran (a set-to-the-same-value change writes nothing, but reports this).
    Applied,
    /// The command had already taken effect: the user exists as created, or is already gone.
    AlreadyDone,
}

fn check_id(id: String) -> Result<String, ApiError> {
    if id.chars().count() > MAX_ID || id.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "id",
            format!("at most {MAX_ID} characters, no control characters"),
        ));
    }
    Ok(id)
}

/// Runs a command as its domain's administrator, once per message id when it has one.
pub async fn apply(app: &App, command: &Command) -> Result<Outcome, ApiError> {
    let Some(id) = &command.id else {
        return apply_by_state(app, command).await;
    };
    let now = Timestamp::new(app.clock.now());
    let recorded = app.store.message_recorded(&command.domain_id, id, now).await;
    if recorded.map_err(message_store_error)? {
        return Ok(Outcome::AlreadyDone);
    }
    let outcome = apply_by_state(app, command).await?;
    let until = Timestamp::new(now.at() + MESSAGE_MEMORY);
    let recorded = app.store.record_message(&command.domain_id, id, now, until).await;
    recorded.map_err(message_store_error)?;
    Ok(outcome)
}

fn message_store_error(error: crate::store::StoreError) -> ApiError {
    tracing::error!(%error, "storage failed reading or recording a provisioning message id");
    ApiError::Unavailable { service: "storage" }
}

/// Runs a command; a command that already took effect is recognised by the user's state.
async fn apply_by_state(app: &App, command: &Command) -> Result<Outcome, ApiError> {
    if command.action == Action::ResetPassword {
        // The work itself, not the request: running the operation would only hand it over again.
        let job = command.reset_job(Timestamp::new(app.clock.now()))?;
        ops::reset_password::apply(app, &job).await?;
        return Ok(Outcome::Applied);
    }
    let caller = Caller::provisioner(command.domain_id.clone());
    let fields = Fields::from_map(command.params.clone());
    match ops::run(app, command.action.operation(), Some(&caller), fields).await {
        Ok(_) => Ok(Outcome::Applied),
        Err(ApiError::NotFound { .. }) if command.action == Action::Delete => Ok(Outcome::AlreadyDone),
        Err(error @ ApiError::NotUnique { .. }) => match existing_user(app, command).await? {
            Some(user) if created_as_asked(&user, &command.params) => Ok(Outcome::AlreadyDone),
            _ => Err(error),
        },
        Err(error) => Err(error),
    }
}

async fn existing_user(app: &App, command: &Command) -> Result<Option<User>, ApiError> {
    let Some(user_id) = command.user_id() else {
        return Ok(None);
    };
    let user_id = UserId::parse("user_id", user_id.to_string())?;
    let found = app
        .store
        .get_user(&command.domain_id, &user_id)
        .await
        .map_err(|e| ops::store_error(e, &user_id))?;
    Ok(found.map(|v| v.item))
}

/// Whether `user` has every field a create command gives, as the create would have stored it.
/// The password cannot be compared (only its hash is kept) and is not.
fn created_as_asked(user: &User, params: &Map<String, Value>) -> bool {
    let doc = user.clone().into_doc();
    let text = |key: &str| params.get(key).and_then(Value::as_str);
    let same_text = |key: &str, normalise: fn(&str) -> String| {
        text(key).is_none_or(|given| doc.get(key).and_then(Value::as_str) == Some(normalise(given).as_str()))
    };
    let role_id = user.role_binding.as_ref().map(|b| b.role_id.as_str());
    let workspace_id = user.workspace_id.as_ref().map(|w| w.as_str());
    same_text("name", |s| s.trim().to_string())
        && same_text("email", |s| s.trim().to_string())
        && same_text("auth_type", str::to_string)
        && same_text("language", str::to_string)
        && same_text("timezone", |s| {
            Timezone::parse("timezone", s)
                .map(Timezone::into_string)
                .unwrap_or_default()
        })
        && text("role_id").is_none_or(|r| role_id == Some(r))
        && text("workspace_id").is_none_or(|w| workspace_id == Some(w))
        && params.get("tags").is_none_or(|t| doc.get("tags") == Some(t))
        && enforced_as_asked(user, params)
}

/// Whether `user` is under the MFA requirement a create command's `enforce_mfa_state` and
/// `enforce_mfa_type` ask for (SPEC section 10; names as the API document writes them).
fn enforced_as_asked(user: &User, params: &Map<String, Value>) -> bool {
    let kind = user.mfa.mfa_type.map(|t| t.as_str());
    match params.get("enforce_mfa_state").and_then(Value::as_str) {
        Some("ENABLED") => user.mfa_enforced && params.get("enforce_mfa_type").and_then(Value::as_str) == kind,
        None | Some("" | "DISABLED") => !user.mfa_enforced,
        Some(_) => false,
    }
}
