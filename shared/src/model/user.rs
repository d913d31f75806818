//! The stored user and the one shape it is ever returned in, [`UserInfo`]. The stored record
//! holds what must never leave storage (the password hash, the role binding); `UserInfo` is
//! built from it field by field, so a new internal field cannot leak by accident.

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{
    AuthType, DomainId, Email, Language, MfaState, MfaType, Name, RequiredAction, RoleType, State, Tags, Timezone,
    UserId, WorkspaceId,
};
use crate::secrets::PasswordHash;

/// A point in time, written as ISO 8601 UTC with milliseconds and `Z`. Held at millisecond
/// precision, so a value reads back from storage exactly as it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Timestamp(#[serde(with = "millis_z")] DateTime<Utc>);

impl Timestamp {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(at.trunc_subsecs(3))
    }

    pub fn at(self) -> DateTime<Utc> {
        self.0
    }

    pub fn to_iso(self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

mod millis_z {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

/// The user's second factor. `mfa_type` and `options` are set by enable_mfa before the state
/// turns ENABLED (confirm_mfa does that), and cleared when MFA is turned off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mfa {
    pub state: MfaState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_type: Option<MfaType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
}

impl Default for Mfa {
    fn default() -> Self {
        Self {
            state: MfaState::Disabled,
            mfa_type: None,
            email: None,
        }
    }
}

impl Mfa {
    pub fn is_enabled(&self) -> bool {
        self.state == MfaState::Enabled
    }

    fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("state".into(), self.state.as_str().into());
        if let Some(kind) = self.mfa_type {
            out.insert("mfa_type".into(), kind.as_str().into());
            let mut options = Map::new();
            if let Some(email) = &self.email {
                options.insert("email".into(), email.as_str().into());
            }
            out.insert("options".into(), Value::Object(options));
        }
        Value::Object(out)
    }
}

/// The role bound at creation. Kept on the user record: it is created, read and deleted with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleBinding {
    pub role_id: String,
    pub role_type: RoleType,
}

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub domain_id: DomainId,
    pub user_id: UserId,
    pub name: Name,
    pub state: State,
    pub email: Option<Email>,
    pub email_verified: bool,
    pub auth_type: AuthType,
    pub role_type: RoleType,
    #[serde(default)]
    pub role_binding: Option<RoleBinding>,
    #[serde(default)]
    pub workspace_id: Option<WorkspaceId>,
    pub mfa: Mfa,
    pub language: Language,
    pub timezone: Timezone,
    pub required_actions: Vec<RequiredAction>,
    pub tags: Tags,
    pub created_at: Timestamp,
    pub last_accessed_at: Option<Timestamp>,
    #[serde(default)]
    pub password_hash: Option<PasswordHash>,
}

impl User {
    /// An enabled DOMAIN_ADMIN: the users the last-admin rule counts.
    pub fn is_enabled_admin(&self) -> bool {
        self.role_type == RoleType::DomainAdmin && self.state == State::Enabled
    }

    pub fn verified_email(&self) -> Option<&Email> {
        self.email.as_ref().filter(|_| self.email_verified)
    }

    pub fn add_required_action(&mut self, action: RequiredAction) {
        if !self.required_actions.contains(&action) {
            self.required_actions.push(action);
        }
    }

    pub fn info(&self) -> UserInfo {
        UserInfo {
            user_id: self.user_id.as_str().to_string(),
            name: self.name.as_str().to_string(),
            state: self.state,
            email: self.email.as_ref().map(|e| e.as_str().to_string()).unwrap_or_default(),
            email_verified: self.email_verified,
            auth_type: self.auth_type,
            role_type: self.role_type,
            mfa: self.mfa.to_json(),
            language: self.language.as_str().to_string(),
            timezone: self.timezone.as_str().to_string(),
            required_actions: self.required_actions.clone(),
            tags: self.tags.as_map().clone(),
            domain_id: self.domain_id.as_str().to_string(),
            created_at: self.created_at.to_iso(),
            last_accessed_at: self.last_accessed_at.map(Timestamp::to_iso),
        }
    }
}

/// The only shape a user is returned in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserInfo {
    pub user_id: String,
    pub name: String,
    pub state: State,
    pub email: String,
    pub email_verified: bool,
    pub auth_type: AuthType,
    pub role_type: RoleType,
    pub mfa: Value,
    pub language: String,
    pub timezone: String,
    pub required_actions: Vec<RequiredAction>,
    pub tags: Map<String, Value>,
    pub domain_id: String,
    pub created_at: String,
    pub last_accessed_at: Option<String>,
}

/// A stored item and the version it was read at; writes are conditional on that version.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub item: T,
    pub version: u64,
}
