//! What every part of the query language shares and depends on nothing else of it: the keys a
//! query may name, and the error a malformed query is.

use crate::error::ApiError;

/// The UserInfo fields: the only roots a query key may start with.
pub const USER_FIELDS: [&str; 15] = [
    "user_id",
    "name",
    "state",
    "email",
    "email_verified",
    "auth_type",
    "role_type",
    "mfa",
    "language",
    "timezone",
    "required_actions",
    "tags",
    "domain_id",
    "created_at",
    "last_accessed_at",
];

/// A malformed query; becomes ERROR_DB_QUERY naming where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(String);

impl QueryError {
    pub fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}

pub use crate::error::quoted;

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        ApiError::DbQuery { reason: e.0 }
    }
}

/// A key must be a UserInfo field or a dotted path into one.
pub fn check_key(key: &str, at: &str) -> Result<(), QueryError> {
    let root = key.split('.').next().unwrap_or_default();
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(QueryError::new(format!(
            "{at}: key {:?} is not a field path",
            quoted(key)
        )));
    }
    if !USER_FIELDS.contains(&root) {
        return Err(QueryError::new(format!(
            "{at}: key {} cannot be queried (not a UserInfo field)",
            quoted(key)
        )));
    }
    Ok(())
}
