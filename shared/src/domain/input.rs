//! Reading a JSON object of a request: its keys are taken one by one, each with its type
//! checked and its key named in any error. Whatever is left at the end is an unknown field.
//! The one reader of request fields: a request body (errors are ERROR_INVALID_PARAMETER /
//! ERROR_REQUIRED_PARAMETER naming the key) and a query object inside it (errors are
//! ERROR_DB_QUERY naming `query.<key>`).
//!
//! Proto3 JSON clients omit default values and may send `null` for them, so `null` reads as
//! "not given" and an absent boolean reads as `false`.

use serde_json::{Map, Value};

use crate::error::ApiError;

/// Whose fields these are, which decides the error code and how a key is named.
#[derive(Debug, Clone, Copy)]
enum Scope {
    Body,
    /// A query object, named in errors (`query`).
    Query(&'static str),
}

pub struct Fields {
    map: Map<String, Value>,
    scope: Scope,
}

impl Fields {
    /// Parses a body that must be one JSON object in which no object, at any depth, names a
    /// key twice (SPEC section 1: two parsers that pick different copies are how a check is
    /// smuggled past). Every body of every binary is read here.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ApiError> {
        let twice = std::cell::RefCell::new(None);
        let mut reader = serde_json::Deserializer::from_slice(bytes);
        let parsed = serde::de::DeserializeSeed::deserialize(Unique { twice: &twice }, &mut reader)
            .and_then(|value| reader.end().map(|()| value));
        let value = parsed.map_err(|e| match twice.take() {
            Some(key) => ApiError::invalid(key, "is named twice in one object"),
            None => ApiError::invalid(
                "body",
                format!("not valid JSON (line {}, column {})", e.line(), e.column()),
            ),
        })?;
        match value {
            Value::Object(map) => Ok(Self::from_map(map)),
            _ => Err(ApiError::invalid("body", "must be a JSON object")),
        }
    }

    pub fn from_map(map: Map<String, Value>) -> Self {
        Self {
            map,
            scope: Scope::Body,
        }
    }

    /// The fields of a query object named `name`: errors are ERROR_DB_QUERY.
    pub fn query(map: Map<String, Value>, name: &'static str) -> Self {
        Self {
            map,
            scope: Scope::Query(name),
        }
    }

    /// A field that does not fit: wrong type, unknown, or out of bounds.
    fn invalid(&self, key: &str, reason: impl std::fmt::Display) -> ApiError {
        match self.scope {
            Scope::Body => ApiError::invalid(key, reason.to_string()),
            Scope::Query(name) => ApiError::DbQuery {
                reason: format!("{name}.{} {reason}", crate::error::quoted(key)),
            },
        }
    }

    fn wrong_type(&self, key: &str, expected: &str, got: &Value) -> ApiError {
        self.invalid(key, format!("must be {expected}, got {}", type_name(got)))
    }

    /// The object itself, for a reader that rewrites it first (`crate::proto3::read`).
    pub fn into_map(self) -> Map<String, Value> {
        self.map
    }

    /// The first of `keys` that is absent or `null`, as ERROR_REQUIRED_PARAMETER: an
    /// operation's required fields (its description's list), checked before it reads any.
    pub fn check_required(&self, keys: &[&str]) -> Result<(), ApiError> {
        match keys.iter().find(|key| self.map.get(**key).is_none_or(Value::is_null)) {
            Some(key) => Err(ApiError::required(*key)),
            None => Ok(()),
        }
    }

    /// Any value under `key` (`null` is not given), for a field whose type its reader checks.
    pub fn take(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key).filter(|v| !v.is_null())
    }

    /// An optional string; any other JSON type is an error naming the key.
    pub fn string(&mut self, key: &str) -> Result<Option<String>, ApiError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong_type(key, "a string", &other)),
        }
    }

    /// An optional string where `""` also means "not given" (the proto3 default).
    pub fn non_empty(&mut self, key: &str) -> Result<Option<String>, ApiError> {
        Ok(self.string(key)?.filter(|s| !s.is_empty()))
    }

    /// A required string: absent or empty is ERROR_REQUIRED_PARAMETER.
    pub fn required_string(&mut self, key: &str) -> Result<String, ApiError> {
        match self.string(key)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(ApiError::required(key)),
        }
    }

    /// A boolean; absent means `false`.
    pub fn flag(&mut self, key: &str) -> Result<bool, ApiError> {
        match self.take(key) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(b),
            Some(other) => Err(self.wrong_type(key, "a boolean", &other)),
        }
    }

    pub fn object(&mut self, key: &str) -> Result<Option<Map<String, Value>>, ApiError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(other) => Err(self.wrong_type(key, "an object", &other)),
        }
    }

    /// A list of anything (its reader checks the items); absent is empty.
    pub fn list(&mut self, key: &str) -> Result<Vec<Value>, ApiError> {
        match self.take(key) {
            None => Ok(vec![]),
            Some(Value::Array(items)) => Ok(items),
            Some(other) => Err(self.wrong_type(key, "a list", &other)),
        }
    }

    /// A list of strings.
    pub fn strings(&mut self, key: &str) -> Result<Option<Vec<String>>, ApiError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s),
                    other => Err(self.wrong_type(key, "a list of strings", &other)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(self.wrong_type(key, "a list of strings", &other)),
        }
    }

    /// Rejects whatever keys were not taken. Called once every known key has been read.
    pub fn finish(self) -> Result<(), ApiError> {
        match self.map.keys().min() {
            None => Ok(()),
            Some(key) => Err(match self.scope {
                Scope::Body => ApiError::invalid(key.clone(), "unknown field"),
                Scope::Query(_) => self.invalid(key, "is not a known field"),
            }),
        }
    }
}

/// Reads any JSON value as `serde_json::Value` does, but fails on an object that names a key
/// twice, leaving that key in `twice`. serde_json's recursion limit (128 levels) still holds.
#[derive(Clone, Copy)]
struct Unique<'a> {
    twice: &'a std::cell::RefCell<Option<String>>,
}

impl<'de> serde::de::DeserializeSeed<'de> for Unique<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Unique<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut entries: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = entries.next_key::<String>()? {
            if map.contains_key(&key) {
                let error = serde::de::Error::custom("a key is named twice");
                *self.twice.borrow_mut() = Some(key);
                return Err(error);
            }
            let value = entries.next_value_seed(self)?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

fn type_name(got: &Value) -> &'static str {
    match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(json: &str) -> Fields {
        Fields::from_json(json.as_bytes()).unwrap()
    }

    #[test]
    fn body_must_be_an_object() {
        for body in ["[]", "3", "\"x\"", "null", "{", ""] {
            let err = Fields::from_json(body.as_bytes()).err().unwrap();
            assert_eq!(err.code(), "ERROR_INVALID_PARAMETER", "{body}");
        }
    }

    #[test]
    fn wrong_types_name_the_key() {
        let err = fields(r#"{"name": 5}"#).string("name").unwrap_err();
        assert_eq!(err.code(), "ERROR_INVALID_PARAMETER");
        assert!(err.to_string().contains("key = name"), "{err}");
        assert!(fields(r#"{"force": "yes"}"#).flag("force").is_err());
        assert!(fields(r#"{"actions": ["A", 1]}"#).strings("actions").is_err());
    }

    #[test]
    fn null_and_absent_are_not_given_and_empty_is_missing() {
        let mut f = fields(r#"{"a": null, "b": ""}"#);
        assert_eq!(f.string("a").unwrap(), None);
        assert!(!f.flag("zz").unwrap());
        assert_eq!(f.required_string("b").unwrap_err().code(), "ERROR_REQUIRED_PARAMETER");
        f.finish().unwrap();
    }

    #[test]
    fn query_fields_are_db_query_errors_naming_the_query() {
        let map = serde_json::json!({"minimal": 1, "x": 2}).as_object().cloned().unwrap();
        let mut f = Fields::query(map, "query");
        let err = f.flag("minimal").unwrap_err();
        assert_eq!(err.code(), "ERROR_DB_QUERY");
        assert!(err.to_string().contains("query.minimal must be a boolean"), "{err}");
        let err = f.finish().unwrap_err();
        assert_eq!(err.code(), "ERROR_DB_QUERY");
        assert!(err.to_string().contains("query.x is not a known field"), "{err}");
    }

    #[test]
    fn a_key_named_twice_at_any_depth_is_refused_naming_it() {
        for body in [
            r#"{"domain_id": "a", "domain_id": "b"}"#,
            r#"{"tags": {"team": "a", "team": "b"}}"#,
            r#"{"query": {"filter": [{"k": "x", "v": 1, "o": "eq", "v": 2}]}}"#,
        ] {
            let err = Fields::from_json(body.as_bytes()).err().unwrap();
            assert_eq!(err.code(), "ERROR_INVALID_PARAMETER", "{body}");
            assert!(err.to_string().contains("named twice"), "{err}");
        }
        let err = Fields::from_json(br#"{"a": {"deep": 1, "deep": 2}}"#).err().unwrap();
        assert!(err.to_string().contains("key = deep"), "{err}");
        // The same key in two objects is fine, and values read as serde_json reads them.
        let f = fields(r#"{"a": {"k": 1.5}, "b": {"k": [true, null, -3, 18446744073709551615, "s"]}}"#);
        assert_eq!(
            Value::Object(f.map),
            serde_json::json!({"a": {"k": 1.5}, "b": {"k": [true, null, -3, 18446744073709551615u64, "s"]}})
        );
        assert!(Fields::from_json(br#"{"a": 1} x"#).is_err(), "trailing characters");
    }

    #[test]
    fn leftover_keys_are_unknown_fields() {
        let mut f = fields(r#"{"user_id": "a", "surprise": 1}"#);
        f.string("user_id").unwrap();
        let err = f.finish().unwrap_err();
        assert!(err.to_string().contains("surprise"));
    }
}
