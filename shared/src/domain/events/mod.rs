//! User change events: the one event a committed change to a user makes, worked out from the
//! user before and after the change (`None` = absent). The publisher (the `users-publish-events`
//! function) reads both images from the table's change stream, not from request handlers, so
//! a function that crashes after its write loses no event. This module is the rule, store-
//! and transport-free; [`bridge`] puts events on an EventBridge bus.
//!
//! An event carries the UserInfo document and the names of the fields that changed, never a
//! value that UserInfo does not hold: a new password shows as the name `password` alone.

pub mod bridge;

use serde_json::{Map, Value, json};

use crate::model::{State, User};

/// The EventBridge `source` of every user event.
pub const SOURCE: &str = "identity.user";

/// What kind of change it was; one event per change, of the first kind that applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Created,
    Deleted,
    /// The state changed to ENABLED or DISABLED, whatever else changed with it.
    Enabled,
    Disabled,
    /// The MFA settings changed, and the state did not.
    MfaChanged,
    /// A successful sign-in (the Token API): only `last_accessed_at` changed.
    SignedIn,
    /// Five failed sign-ins locked a user_id's sign-in for 15 minutes. The lock is kept per
    /// user_id whether or not such a user exists, so this event carries no user document.
    SignInLocked,
    /// Anything else a consumer can see.
    Updated,
}

impl ChangeKind {
    /// The EventBridge `detail-type`.
    pub fn detail_type(self) -> &'static str {
        match self {
            ChangeKind::Created => "User Created",
            ChangeKind::Deleted => "User Deleted",
            ChangeKind::Enabled => "User Enabled",
            ChangeKind::Disabled => "User Disabled",
            ChangeKind::MfaChanged => "User MFA Changed",
            ChangeKind::SignedIn => "User Signed In",
            ChangeKind::SignInLocked => "User Sign-in Locked",
            ChangeKind::Updated => "User Updated",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserEvent {
    pub kind: ChangeKind,
    pub domain_id: String,
    pub user_id: String,
    /// Field names, in UserInfo order (`password` last).
    pub changed: Vec<String>,
    /// The user's UserInfo after the change (before it, for a delete).
    pub user: Value,
}

impl UserEvent {
    /// The EventBridge `detail`.
    pub fn detail(&self) -> Value {
        json!({
            "domain_id": self.domain_id,
            "user_id": self.user_id,
            "changed": self.changed,
            "user": self.user,
        })
    }
}

/// The event for a change from `before` to `after`; `None` when there was no change a
/// consumer could see (nor a new password).
pub fn change_event(before: Option<&User>, after: Option<&User>) -> Option<UserEvent> {
    let subject = after.or(before)?;
    let user = doc(subject);
    let (kind, changed) = match (before, after) {
        (None, None) => return None,
        (None, Some(_)) => (ChangeKind::Created, field_names(&user)),
        (Some(_), None) => (ChangeKind::Deleted, Vec::new()),
        (Some(old), Some(new)) => {
            let changed = changed_fields(old, new, &user);
            (kind_of(old, new, &changed)?, changed)
        }
    };
    Some(UserEvent {
        kind,
        domain_id: subject.domain_id.as_str().to_string(),
        user_id: subject.user_id.as_str().to_string(),
        changed,
        user,
    })
}

fn kind_of(old: &User, new: &User, changed: &[String]) -> Option<ChangeKind> {
    if changed.is_empty() {
        return None;
    }
    let state_change = match (old.state != new.state, new.state) {
        (true, State::Enabled) => Some(ChangeKind::Enabled),
        (true, State::Disabled) => Some(ChangeKind::Disabled),
        // Other states (PENDING) are an update of the state field.
        _ => None,
    };
    let mfa_change = (old.mfa != new.mfa).then_some(ChangeKind::MfaChanged);
    let sign_in = (changed == ["last_accessed_at"]).then_some(ChangeKind::SignedIn);
    Some(state_change.or(mfa_change).or(sign_in).unwrap_or(ChangeKind::Updated))
}

/// The event of a lockout: `user_id`'s sign-in in `domain_id` was just locked. No secret, no
/// count, no user document (see [`ChangeKind::SignInLocked`]).
pub fn lockout_event(domain_id: &str, user_id: &str) -> UserEvent {
    UserEvent {
        kind: ChangeKind::SignInLocked,
        domain_id: domain_id.to_string(),
        user_id: user_id.to_string(),
        changed: Vec::new(),
        user: Value::Null,
    }
}

fn doc(user: &User) -> Value {
    user.clone().into_doc()
}

fn field_names(doc: &Value) -> Vec<String> {
    doc.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

/// The UserInfo fields whose values differ (`new_doc` is `new`'s document), then `password`
/// if the hash changed.
fn changed_fields(old: &User, new: &User, new_doc: &Value) -> Vec<String> {
    let empty = Map::new();
    let old_doc = doc(old);
    let (a, b) = (
        old_doc.as_object().unwrap_or(&empty),
        new_doc.as_object().unwrap_or(&empty),
    );
    let mut changed: Vec<String> = b
        .iter()
        .filter(|(key, value)| a.get(key.as_str()) != Some(*value))
        .map(|(key, _)| key.clone())
        .collect();
    if old.password_hash != new.password_hash {
        changed.push("password".into());
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use crate::secrets::PasswordHash;

    const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";

    fn user() -> User {
        User {
            password_hash: Some(serde_json::from_value::<PasswordHash>(json!(HASH)).unwrap()),
            ..sample_user("alice")
        }
    }

    fn event(before: Option<&User>, after: Option<&User>) -> (&'static str, Vec<String>) {
        let e = change_event(before, after).expect("an event");
        (e.kind.detail_type(), e.changed)
    }

    #[test]
    fn each_change_makes_one_event_of_its_kind() {
        let old = user();
        let created = event(None, Some(&old));
        assert_eq!(created.0, "User Created");
        assert_eq!(created.1.len(), 15, "every UserInfo field is new");
        assert_eq!(event(Some(&old), None), ("User Deleted", vec![]));

        let disabled = User {
            state: State::Disabled,
            ..old.clone()
        };
        assert_eq!(
            event(Some(&old), Some(&disabled)),
            ("User Disabled", vec!["state".into()])
        );
        assert_eq!(
            event(Some(&disabled), Some(&old)),
            ("User Enabled", vec!["state".into()])
        );

        let mfa = User {
            mfa: Mfa {
                state: MfaState::Enabled,
                mfa_type: Some(MfaType::Email),
                email: old.email.clone(),
            },
            ..old.clone()
        };
        assert_eq!(event(Some(&old), Some(&mfa)), ("User MFA Changed", vec!["mfa".into()]));

        let renamed = User {
            name: Name::parse("n", "Alicia").unwrap(),
            email_verified: true,
            ..old.clone()
        };
        assert_eq!(
            event(Some(&old), Some(&renamed)),
            ("User Updated", vec!["name".into(), "email_verified".into()])
        );
    }

    #[test]
    fn a_state_change_wins_over_the_other_fields_changed_with_it() {
        let old = user();
        let both = User {
            state: State::Disabled,
            name: Name::parse("n", "Gone").unwrap(),
            ..old.clone()
        };
        assert_eq!(
            event(Some(&old), Some(&both)),
            ("User Disabled", vec!["name".into(), "state".into()])
        );
    }

    #[test]
    fn no_visible_change_makes_no_event() {
        let old = user();
        assert_eq!(change_event(Some(&old), Some(&old.clone())), None);
        assert_eq!(change_event(None, None), None);
    }

    #[test]
    fn a_sign_in_is_its_own_kind_and_a_lockout_has_no_user_document() {
        let old = user();
        let new = User {
            last_accessed_at: Some(crate::model::Timestamp::new(chrono::Utc::now())),
            ..old.clone()
        };
        let e = change_event(Some(&old), Some(&new)).expect("an event");
        assert_eq!(
            (e.kind.detail_type(), e.changed.as_slice()),
            ("User Signed In", ["last_accessed_at".to_string()].as_slice())
        );
        let renamed = User {
            name: crate::model::Name::parse("n", "Other").unwrap(),
            ..new.clone()
        };
        assert_eq!(
            change_event(Some(&old), Some(&renamed)).unwrap().kind,
            ChangeKind::Updated
        );
        let locked = lockout_event("domain-a", "alice");
        assert_eq!(locked.detail()["user"], Value::Null);
        assert_eq!(locked.kind.detail_type(), "User Sign-in Locked");
    }

    #[test]
    fn a_new_password_is_named_and_never_shown() {
        let old = user();
        let new = User {
            password_hash: Some(serde_json::from_value::<PasswordHash>(json!("$argon2id$other")).unwrap()),
            ..old.clone()
        };
        let e = change_event(Some(&old), Some(&new)).expect("an event");
        assert_eq!(
            (e.kind, e.changed.clone()),
            (ChangeKind::Updated, vec!["password".to_string()])
        );
        let detail = e.detail().to_string();
        assert!(!detail.contains("argon2"), "{detail}");
        assert!(!detail.contains("password_hash"), "{detail}");
        assert_eq!(e.detail()["user"], old.into_doc());
        assert_eq!(e.detail()["domain_id"], "domain-a");
        assert_eq!(e.detail()["user_id"], "alice");
    }
}
