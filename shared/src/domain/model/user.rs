//! The stored user and the one shape it is ever returned in, [`UserInfo`]. The stored record
//! holds what must never leave storage (the password hash, the role binding); the UserInfo
//! document is built from it field by field, so a new internal field cannot leak by accident.

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{
    AuthType, DomainId, Email, Language, MfaState, MfaType, Name, RequiredAction, RoleType, State, Tags, Timezone,
    UserId, WorkspaceId,
};
use crate::otp::OtpKey;
use crate::secrets::PasswordHash;

/// A point in time, written as ISO 8601 UTC with milliseconds and `Z` (in binary formats: Unix
/// milliseconds). Held at millisecond precision, so a value reads back from storage exactly as
/// it was written.
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
        if !s.is_human_readable() {
            return s.serialize_i64(at.timestamp_millis());
        }
        s.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        if !d.is_human_readable() {
            let millis = i64::deserialize(d)?;
            return DateTime::from_timestamp_millis(millis)
                .ok_or_else(|| serde::de::Error::custom("timestamp out of range"));
        }
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

/// The user's second factor. `mfa_type` and `options` are set by enable_mfa before the state
/// turns ENABLED (confirm_mfa does that), and cleared when MFA is turned off.
/// Every field is always written (no skipping): binary row formats have no field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mfa {
    pub state: MfaState,
    #[serde(default)]
    pub mfa_type: Option<MfaType>,
    #[serde(default)]
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

    /// The `mfa` of UserInfo: `options` holds the EMAIL factor's address and, when an admin
    /// requires MFA (`enforced`), `enforce: true` (SPEC section 10). An OTP secret is never in it.
    pub fn to_json(&self, enforced: bool) -> Value {
        let mut out = Map::new();
        out.insert("state".into(), self.state.as_str().into());
        if let Some(kind) = self.mfa_type {
            out.insert("mfa_type".into(), kind.as_str().into());
            let mut options = Map::new();
            if let Some(email) = &self.email {
                options.insert("email".into(), email.as_str().into());
            }
            if enforced {
                options.insert("enforce".into(), true.into());
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
    /// The token generation (SPEC section 5): starts at the account's creation time in
    /// microseconds ([`User::start_tokens`]) and moves by disable, password change and reset
    /// ([`User::revoke_tokens`]); tokens of this project's Token API carry it as `gen`. Never
    /// returned.
    #[serde(default)]
    pub token_generation: u64,
    /// When the generation last moved: tokens of other issuers (no `gen`) issued before this
    /// second are refused. Never returned.
    #[serde(default)]
    pub tokens_revoked_at: Option<Timestamp>,
    /// An admin requires MFA of type `mfa.mfa_type` of this user (SPEC section 10; UserInfo's
    /// `mfa.options.enforce`).
    #[serde(default)]
    pub mfa_enforced: bool,
    /// The OTP secret in force, sealed, with the last step accepted (SPEC section 10). Never
    /// returned, listed or published.
    #[serde(default)]
    pub otp: Option<OtpKey>,
}

/// A token generation for an event at `at`: its time in microseconds since the epoch.
fn generation_at(at: Timestamp) -> u64 {
    u64::try_from(at.at().timestamp_micros()).unwrap_or(0)
}

impl User {
    /// An enabled DOMAIN_ADMIN: the users the last-admin rule counts.
    pub fn is_enabled_admin(&self) -> bool {
        self.role_type == RoleType::DomainAdmin && self.state == State::Enabled
    }

    pub fn verified_email(&self) -> Option<&Email> {
        self.email.as_ref().filter(|_| self.email_verified)
    }

    /// Whether going from `before` to this user revokes the user's tokens: it was disabled, or
    /// its password changed (set, reset or replaced).
    pub fn revokes_tokens_since(&self, before: &User) -> bool {
        (self.state == State::Disabled && before.state != State::Disabled) || self.password_hash != before.password_hash
    }

    /// Moves the token generation (see [`User::revokes_tokens_since`]): one more, and never
    /// below `now` in microseconds, so a generation is never ahead of the clock by more than
    /// the events of one microsecond.
    pub fn revoke_tokens(&mut self, now: Timestamp) {
        self.token_generation = self.token_generation.saturating_add(1).max(generation_at(now));
        self.tokens_revoked_at = Some(now);
    }

    /// A new account's tokens (SPEC section 5, "a new account is not its predecessor"): its
    /// creation at `now` (real time) is its first revocation event. The generation starts at
    /// `now` in microseconds, above any generation an earlier account of the same user_id
    /// could have reached ([`User::revoke_tokens`] keeps those at most at their own time), so
    /// that account's `gen` tokens are refused; and tokens without `gen` issued before this
    /// second are refused by `tokens_revoked_at`.
    pub fn start_tokens(&mut self, now: Timestamp) {
        self.token_generation = generation_at(now);
        self.tokens_revoked_at = Some(now);
    }

    /// A password change is pending: tokens issued now may act only as the user itself
    /// (SPEC sections 5 and 9).
    pub fn must_change_password(&self) -> bool {
        self.required_actions.contains(&RequiredAction::UpdatePassword)
    }

    /// Tokens issued now may act only as the user itself: a password change is pending, or MFA
    /// an admin requires is not set up yet (SPEC sections 5, 9 and 10).
    pub fn is_restricted(&self) -> bool {
        self.must_change_password() || self.required_actions.contains(&RequiredAction::EnforceMfa)
    }

    /// The user's `mfa` as UserInfo shows it.
    pub fn mfa_json(&self) -> Value {
        self.mfa.to_json(self.mfa_enforced)
    }

    pub fn add_required_action(&mut self, action: RequiredAction) {
        if !self.required_actions.contains(&action) {
            self.required_actions.push(action);
        }
    }

    /// The UserInfo document — the only shape a user is ever returned in — built by moving the
    /// fields (list and stat turn whole domains into documents, so this avoids a copy and a serde
    /// round trip per user). The password hash and the role binding are not in it.
    pub fn into_doc(self) -> Value {
        let mut doc = Map::with_capacity(15);
        let mut put = |key: &str, value: Value| {
            doc.insert(key.to_string(), value);
        };
        put("user_id", self.user_id.into_string().into());
        put("name", self.name.into_string().into());
        put("state", self.state.as_str().into());
        put("email", self.email.map(Email::into_string).unwrap_or_default().into());
        put("email_verified", self.email_verified.into());
        put("auth_type", self.auth_type.as_str().into());
        put("role_type", self.role_type.as_str().into());
        put("mfa", self.mfa.to_json(self.mfa_enforced));
        put("language", self.language.into_string().into());
        put("timezone", self.timezone.into_string().into());
        put(
            "required_actions",
            self.required_actions.iter().map(|a| Value::from(a.as_str())).collect(),
        );
        put("tags", Value::Object(self.tags.into_map()));
        put("domain_id", self.domain_id.into_string().into());
        put("created_at", self.created_at.to_iso().into());
        put("last_accessed_at", self.last_accessed_at.map(Timestamp::to_iso).into());
        Value::Object(doc)
    }
}

/// A stored item and the version it was read at; writes are conditional on that version.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub item: T,
    pub version: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn into_doc_has_exactly_the_user_info_fields_in_order() {
        let mut tags = Map::new();
        tags.insert("team".into(), "core".into());
        let user = User {
            domain_id: DomainId::parse("d", "domain-a".into()).unwrap(),
            user_id: UserId::parse("u", "alice".into()).unwrap(),
            name: Name::parse("n", "Alice").unwrap(),
            state: State::Disabled,
            email: Some(Email::parse("e", "a@b.co").unwrap()),
            email_verified: true,
            auth_type: AuthType::Local,
            role_type: RoleType::WorkspaceOwner,
            role_binding: None,
            workspace_id: None,
            mfa: Mfa {
                state: MfaState::Enabled,
                mfa_type: Some(MfaType::Email),
                email: Some(Email::parse("e", "m@b.co").unwrap()),
            },
            language: Language::parse("l", "ko").unwrap(),
            timezone: Timezone::parse("t", "Asia/Seoul").unwrap(),
            required_actions: vec![RequiredAction::UpdatePassword],
            tags: Tags::parse("t", tags).unwrap(),
            created_at: Timestamp::new(chrono::Utc::now()),
            last_accessed_at: Some(Timestamp::new(chrono::Utc::now())),
            password_hash: None,
            token_generation: 3,
            tokens_revoked_at: None,
            mfa_enforced: false,
            otp: None,
        };
        let doc = user.into_doc();
        let keys: Vec<&str> = doc.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, crate::query::USER_FIELDS);
        assert_eq!(
            doc["mfa"],
            serde_json::json!({"state": "ENABLED", "mfa_type": "EMAIL", "options": {"email": "m@b.co"}})
        );
        assert_eq!(doc["required_actions"], serde_json::json!(["UPDATE_PASSWORD"]));
        assert_eq!(
            (doc["state"].as_str(), doc["role_type"].as_str()),
            (Some("DISABLED"), Some("WORKSPACE_OWNER"))
        );
        assert!(doc["last_accessed_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    }
}
