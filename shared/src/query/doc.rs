//! What the engine reads a user through. A [`Doc`] answers "the value at this dotted path" and
//! turns into its JSON document when it is returned. Users implement it directly, so filtering,
//! sorting and grouping a whole domain never builds a JSON document per user — only the page
//! that is returned, or the group rows, become JSON. `Value` implements it too, for the rows
//! of later aggregation stages.

use std::borrow::Cow;

use serde_json::Value;

use super::value::lookup;
use crate::model::{Timestamp, User};

pub trait Doc {
    /// The value at a dotted path, as the user's UserInfo document would hold it.
    fn field(&self, path: &str) -> Option<Cow<'_, Value>>;

    fn into_value(self) -> Value;
}

impl Doc for Value {
    fn field(&self, path: &str) -> Option<Cow<'_, Value>> {
        lookup(self, path).map(Cow::Borrowed)
    }

    fn into_value(self) -> Value {
        self
    }
}

fn text(s: &str) -> Option<Cow<'static, Value>> {
    Some(Cow::Owned(Value::String(s.to_string())))
}

/// The rest of a path inside an owned value.
fn within(value: Value, rest: Option<&str>) -> Option<Cow<'static, Value>> {
    match rest {
        None => Some(Cow::Owned(value)),
        Some(rest) => lookup(&value, rest).cloned().map(Cow::Owned),
    }
}

impl Doc for User {
    fn field(&self, path: &str) -> Option<Cow<'_, Value>> {
        let (root, rest) = match path.split_once('.') {
            Some((root, rest)) => (root, Some(rest)),
            None => (path, None),
        };
        // Only objects have sub-paths; a path below a scalar finds nothing, as in the document.
        let scalar = |value: Option<Cow<'static, Value>>| if rest.is_some() { None } else { value };
        match root {
            "user_id" => scalar(text(self.user_id.as_str())),
            "name" => scalar(text(self.name.as_str())),
            "state" => scalar(text(self.state.as_str())),
            "email" => scalar(text(self.email.as_ref().map(|e| e.as_str()).unwrap_or_default())),
            "email_verified" => scalar(Some(Cow::Owned(Value::Bool(self.email_verified)))),
            "auth_type" => scalar(text(self.auth_type.as_str())),
            "role_type" => scalar(text(self.role_type.as_str())),
            "language" => scalar(text(self.language.as_str())),
            "timezone" => scalar(text(self.timezone.as_str())),
            "domain_id" => scalar(text(self.domain_id.as_str())),
            "created_at" => scalar(text(&self.created_at.to_iso())),
            "last_accessed_at" => scalar(Some(Cow::Owned(
                self.last_accessed_at
                    .map(Timestamp::to_iso)
                    .map(Value::String)
                    .unwrap_or(Value::Null),
            ))),
            "required_actions" => scalar(Some(Cow::Owned(Value::Array(
                self.required_actions.iter().map(|a| Value::from(a.as_str())).collect(),
            )))),
            "mfa" => within(self.mfa.to_json(), rest),
            "tags" => match rest {
                None => Some(Cow::Owned(Value::Object(self.tags.as_map().clone()))),
                Some(rest) => {
                    let (first, deeper) = match rest.split_once('.') {
                        Some((first, deeper)) => (first, Some(deeper)),
                        None => (rest, None),
                    };
                    let value = self.tags.as_map().get(first)?;
                    match deeper {
                        None => Some(Cow::Borrowed(value)),
                        Some(deeper) => lookup(value, deeper).map(Cow::Borrowed),
                    }
                }
            },
            _ => None,
        }
    }

    fn into_value(self) -> Value {
        self.into_doc()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::*;

    fn user(mfa: Mfa, tags: Value, email: Option<&str>, accessed: bool) -> User {
        User {
            domain_id: DomainId::parse("d", "domain-a".into()).unwrap(),
            user_id: UserId::parse("u", "alice".into()).unwrap(),
            name: Name::parse("n", "Alice").unwrap(),
            state: State::Enabled,
            email: email.map(|e| Email::parse("e", e).unwrap()),
            email_verified: true,
            auth_type: AuthType::External,
            role_type: RoleType::DomainAdmin,
            role_binding: None,
            workspace_id: None,
            mfa,
            language: Language::parse("l", "ja").unwrap(),
            timezone: Timezone::default(),
            required_actions: vec![RequiredAction::UpdatePassword],
            tags: Tags::parse("t", tags.as_object().cloned().unwrap()).unwrap(),
            created_at: Timestamp::new(chrono::Utc::now()),
            last_accessed_at: accessed.then(|| Timestamp::new(chrono::Utc::now())),
            password_hash: None,
        }
    }

    #[test]
    fn a_user_reads_exactly_like_its_document() {
        let paths = [
            "user_id",
            "name",
            "state",
            "email",
            "email_verified",
            "auth_type",
            "role_type",
            "mfa",
            "mfa.state",
            "mfa.mfa_type",
            "mfa.options",
            "mfa.options.email",
            "language",
            "timezone",
            "required_actions",
            "tags",
            "tags.team",
            "tags.nested",
            "tags.nested.deep",
            "tags.nested.none",
            "tags.none",
            "domain_id",
            "created_at",
            "last_accessed_at",
            "name.x",
            "state.x",
            "required_actions.x",
            "password_hash",
            "role_binding",
            "",
        ];
        let enabled = Mfa {
            state: MfaState::Enabled,
            mfa_type: Some(MfaType::Email),
            email: Some(Email::parse("e", "m@b.co").unwrap()),
        };
        let tags = json!({"team": "core", "nested": {"deep": [1, 2]}, "n": 1});
        for u in [
            user(enabled, tags.clone(), Some("a@b.co"), true),
            user(Mfa::default(), json!({}), None, false),
        ] {
            let doc = u.clone().into_doc();
            for path in paths {
                assert_eq!(
                    u.field(path).map(Cow::into_owned),
                    doc.field(path).map(Cow::into_owned),
                    "{path}"
                );
            }
        }
    }
}
