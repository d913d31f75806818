//! The domain types. Values of these types are valid by construction: parsing happens once, at
//! the edge ([`crate::input`]), and nothing past it re-checks.

mod enums;
mod fields;
mod user;

pub use enums::{AuthType, MfaState, MfaType, PermissionGroup, RequiredAction, RoleType, State};
pub use fields::{
    DomainId, EMAIL_PATTERN, Email, Language, MAX_EMAIL, MAX_ID, MAX_LANGUAGE, MAX_NAME, MAX_TAG_KEYS, MAX_TAGS_BYTES,
    MAX_USER_ID, Name, Tags, Timezone, UserId, WorkspaceId,
};
pub use user::{Mfa, RoleBinding, Timestamp, User, Versioned};

/// A plain user for unit tests: `alice`-style id in `domain-a`, enabled, LOCAL, a USER, with
/// an email and team tags; tests change what they need with struct update syntax.
#[cfg(test)]
pub(crate) fn sample_user(user_id: &str) -> User {
    let tags = serde_json::json!({"team": "core", "level": 3});
    User {
        domain_id: DomainId::parse("d", "domain-a".into()).expect("valid"),
        user_id: UserId::parse("u", user_id.into()).expect("valid"),
        name: Name::parse("n", "Alice").expect("valid"),
        state: State::Enabled,
        email: Some(Email::parse("e", "alice@example.com").expect("valid")),
        email_verified: false,
        auth_type: AuthType::Local,
        role_type: RoleType::User,
        role_binding: None,
        workspace_id: None,
        mfa: Mfa::default(),
        language: Language::default(),
        timezone: Timezone::default(),
        required_actions: vec![],
        tags: Tags::parse("t", tags.as_object().cloned().unwrap_or_default()).expect("valid"),
        created_at: Timestamp::new(chrono::Utc::now()),
        last_accessed_at: None,
        password_hash: None,
        token_generation: 0,
        tokens_revoked_at: None,
        mfa_enforced: false,
        otp: None,
    }
}
