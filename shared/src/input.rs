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
    /// Parses a body that must be one JSON object.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ApiError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            ApiError::invalid(
                "body",
                format!("not valid JSON (line {}, column {})", e.line(), e.column()),
            )
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
                reason: format!("{name}.{key} {reason}"),
            },
        }
    }

    fn wrong_type(&self, key: &str, expected: &str, got: &Value) -> ApiError {
        self.invalid(key, format!("must be {expected}, got {}", type_name(got)))
    }

    /// The body in proto names, enum names and JSON numbers (`crate::proto3`), read as a
    /// `message`: what every API request goes through before its operation reads it.
    pub fn in_proto_names(self, message: &crate::proto3::Message) -> Result<Self, ApiError> {
        crate::proto3::normalize(self.map, message).map(Self::from_map)
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
    fn leftover_keys_are_unknown_fields() {
        let mut f = fields(r#"{"user_id": "a", "surprise": 1}"#);
        f.string("user_id").unwrap();
        let err = f.finish().unwrap_err();
        assert!(err.to_string().contains("surprise"));
    }
}
