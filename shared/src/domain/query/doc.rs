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

    /// The document as JSON (for the few documents that are returned).
    fn to_value(&self) -> Value;

    /// The text at a path when it is a string, borrowed: the fast path sorting and grouping
    /// use so that reading a user's name allocates nothing.
    fn text(&self, path: &str) -> Option<&str>;
}

/// The engine holds borrowed documents; they read like the documents themselves.
impl<T: Doc + ?Sized> Doc for &T {
    fn field(&self, path: &str) -> Option<Cow<'_, Value>> {
        (**self).field(path)
    }

    fn to_value(&self) -> Value {
        (**self).to_value()
    }

    fn text(&self, path: &str) -> Option<&str> {
        (**self).text(path)
    }
}

/// A field read for comparing and grouping: borrowed text where the document has it.
#[derive(Clone)]
pub enum Field<'a> {
    Text(&'a str),
    Value(Cow<'a, Value>),
}

impl<'a> Field<'a> {
    /// Reads `path`; missing is null.
    pub fn read<D: Doc + ?Sized>(doc: &'a D, path: &str) -> Self {
        match doc.text(path) {
            Some(text) => Field::Text(text),
            None => Field::Value(doc.field(path).unwrap_or(Cow::Owned(Value::Null))),
        }
    }

    pub fn to_value(&self) -> Value {
        match self {
            Field::Text(text) => Value::String(text.to_string()),
            Field::Value(value) => value.as_ref().clone(),
        }
    }

    /// The query language's order ([`super::compare`]), without allocating for text.
    pub fn order(&self, other: &Field<'_>) -> std::cmp::Ordering {
        match (self, other) {
            (Field::Text(a), Field::Text(b)) => a.cmp(b),
            (Field::Text(a), Field::Value(b)) => text_vs_value(a, b),
            (Field::Value(a), Field::Text(b)) => text_vs_value(b, a).reverse(),
            (Field::Value(a), Field::Value(b)) => super::compare(a, b),
        }
    }

    /// Appends the identity string used to group and de-duplicate (equal for equal values).
    pub fn identity(&self, out: &mut String) {
        match self {
            Field::Text(text) => super::value::text_identity(text, out),
            Field::Value(value) => super::value::identity(value, out),
        }
    }
}

fn text_vs_value(text: &str, value: &Value) -> std::cmp::Ordering {
    match value {
        Value::String(other) => text.cmp(other.as_str()),
        // Strings sort after null, booleans and numbers and before lists and objects.
        Value::Null | Value::Bool(_) | Value::Number(_) => std::cmp::Ordering::Greater,
        Value::Array(_) | Value::Object(_) => std::cmp::Ordering::Less,
    }
}

impl Doc for Value {
    fn field(&self, path: &str) -> Option<Cow<'_, Value>> {
        lookup(self, path).map(Cow::Borrowed)
    }

    fn to_value(&self) -> Value {
        self.clone()
    }

    fn text(&self, path: &str) -> Option<&str> {
        lookup(self, path)?.as_str()
    }
}

/// The rest of a path inside an owned value.
fn within(value: Value, rest: Option<&str>) -> Option<Cow<'static, Value>> {
    match rest {
        None => Some(Cow::Owned(value)),
        Some(rest) => lookup(&value, rest).cloned().map(Cow::Owned),
    }
}

/// A tag's value. Users carry a few tags, so the entries are scanned: comparing lengths first
/// touches no key string, where a hash lookup hashes the name and follows two more pointers
/// for every user of a domain-wide filter.
fn tag<'a>(tags: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a Value> {
    if tags.len() > 8 {
        return tags.get(key);
    }
    tags.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v)
}

impl Doc for User {
    fn field(&self, path: &str) -> Option<Cow<'_, Value>> {
        // String fields (and string tags) have one reader: `text`.
        if let Some(text) = self.text(path) {
            return Some(Cow::Owned(Value::String(text.to_string())));
        }
        let (root, rest) = match path.split_once('.') {
            Some((root, rest)) => (root, Some(rest)),
            None => (path, None),
        };
        // Only objects have sub-paths; a path below a scalar finds nothing, as in the document.
        let whole = |value: Value| rest.is_none().then_some(Cow::Owned(value));
        match root {
            "email_verified" => whole(Value::Bool(self.email_verified)),
            "created_at" => whole(Value::String(self.created_at.to_iso())),
            "last_accessed_at" => whole(
                self.last_accessed_at
                    .map(Timestamp::to_iso)
                    .map(Value::String)
                    .unwrap_or(Value::Null),
            ),
            "required_actions" => whole(Value::Array(
                self.required_actions.iter().map(|a| Value::from(a.as_str())).collect(),
            )),
            "mfa" => within(self.mfa_json(), rest),
            "tags" => match rest {
                None => Some(Cow::Owned(Value::Object(self.tags.as_map().clone()))),
                Some(rest) => {
                    let (first, deeper) = match rest.split_once('.') {
                        Some((first, deeper)) => (first, Some(deeper)),
                        None => (rest, None),
                    };
                    let value = tag(self.tags.as_map(), first)?;
                    match deeper {
                        None => Some(Cow::Borrowed(value)),
                        Some(deeper) => lookup(value, deeper).map(Cow::Borrowed),
                    }
                }
            },
            // String fields with a sub-path, hidden fields and unknown keys.
            _ => None,
        }
    }

    fn to_value(&self) -> Value {
        self.clone().into_doc()
    }

    fn text(&self, path: &str) -> Option<&str> {
        match path {
            "user_id" => Some(self.user_id.as_str()),
            "name" => Some(self.name.as_str()),
            "state" => Some(self.state.as_str()),
            "email" => Some(self.email.as_ref().map(|e| e.as_str()).unwrap_or_default()),
            "auth_type" => Some(self.auth_type.as_str()),
            "role_type" => Some(self.role_type.as_str()),
            "language" => Some(self.language.as_str()),
            "timezone" => Some(self.timezone.as_str()),
            "domain_id" => Some(self.domain_id.as_str()),
            _ => match path.strip_prefix("tags.") {
                Some(rest) if !rest.contains('.') => tag(self.tags.as_map(), rest)?.as_str(),
                _ => None,
            },
        }
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
            token_generation: 0,
            tokens_revoked_at: None,
            mfa_enforced: false,
            otp: None,
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

    #[test]
    fn borrowed_text_is_the_documents_text() {
        let tags = json!({"team": "core", "n": 1, "nested": {"a": "b"}});
        let u = user(Mfa::default(), tags, Some("a@b.co"), false);
        let doc = u.clone().into_doc();
        let paths = [
            "user_id",
            "name",
            "state",
            "email",
            "auth_type",
            "role_type",
            "language",
            "timezone",
            "domain_id",
            "tags.team",
            "tags.n",
            "tags.nested",
            "tags.nested.a",
            "created_at",
            "mfa.state",
            "nope",
        ];
        for path in paths {
            if let Some(text) = u.text(path) {
                assert_eq!(doc.text(path), Some(text), "{path}");
            }
            let (a, b) = (Field::read(&u, path), Field::read(&doc, path));
            assert_eq!(a.to_value(), b.to_value(), "{path}");
            assert!(a.order(&b).is_eq(), "{path}");
            let (mut ia, mut ib) = (String::new(), String::new());
            a.identity(&mut ia);
            b.identity(&mut ib);
            assert_eq!(ia, ib, "{path}");
        }
    }
}
