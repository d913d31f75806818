//! The one error enum of the API and the single place that maps it to the SPEC's error code,
//! HTTP status and message. Messages name the offending key or value and never carry secrets.
//! The ground floor of the crate: it imports nothing of it, and no transport (the HTTP edge
//! turns [`ApiError::status`] into its own status type).

/// The SPEC's error codes, each with its HTTP status: what an operation's description lists
/// and what [`ApiError::code`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    RequiredParameter,
    InvalidParameter,
    IncorrectPasswordFormat,
    IncorrectEmailFormat,
    PasswordNotChanged,
    UnableToResetPasswordInExternalAuth,
    UnableToResetPasswordWithoutEmail,
    VerificationUnavailable,
    InvalidVerifyCode,
    NotAllowedActions,
    MfaAlreadyEnabled,
    MfaAlreadyDisabled,
    MfaNotEnabled,
    NotSupportedMfaType,
    LastAdminCannotDisabledDeleted,
    InvalidRole,
    DbQuery,
    AuthenticateFailure,
    MfaRequired,
    PermissionDenied,
    NotFound,
    NotUnique,
    Conflict,
    PayloadTooLarge,
    Unavailable,
    MethodNotAllowed,
    Unknown,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 27] = [
        ErrorCode::RequiredParameter,
        ErrorCode::InvalidParameter,
        ErrorCode::IncorrectPasswordFormat,
        ErrorCode::IncorrectEmailFormat,
        ErrorCode::PasswordNotChanged,
        ErrorCode::UnableToResetPasswordInExternalAuth,
        ErrorCode::UnableToResetPasswordWithoutEmail,
        ErrorCode::VerificationUnavailable,
        ErrorCode::InvalidVerifyCode,
        ErrorCode::NotAllowedActions,
        ErrorCode::MfaAlreadyEnabled,
        ErrorCode::MfaAlreadyDisabled,
        ErrorCode::MfaNotEnabled,
        ErrorCode::NotSupportedMfaType,
        ErrorCode::LastAdminCannotDisabledDeleted,
        ErrorCode::InvalidRole,
        ErrorCode::DbQuery,
        ErrorCode::AuthenticateFailure,
        ErrorCode::MfaRequired,
        ErrorCode::PermissionDenied,
        ErrorCode::NotFound,
        ErrorCode::NotUnique,
        ErrorCode::Conflict,
        ErrorCode::PayloadTooLarge,
        ErrorCode::Unavailable,
        ErrorCode::MethodNotAllowed,
        ErrorCode::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::RequiredParameter => "ERROR_REQUIRED_PARAMETER",
            ErrorCode::InvalidParameter => "ERROR_INVALID_PARAMETER",
            ErrorCode::IncorrectPasswordFormat => "ERROR_INCORRECT_PASSWORD_FORMAT",
            ErrorCode::IncorrectEmailFormat => "ERROR_INCORRECT_EMAIL_FORMAT",
            ErrorCode::PasswordNotChanged => "ERROR_PASSWORD_NOT_CHANGED",
            ErrorCode::UnableToResetPasswordInExternalAuth => "ERROR_UNABLE_TO_RESET_PASSWORD_IN_EXTERNAL_AUTH",
            ErrorCode::UnableToResetPasswordWithoutEmail => "ERROR_UNABLE_TO_RESET_PASSWORD_WITHOUT_EMAIL",
            ErrorCode::VerificationUnavailable => "ERROR_VERIFICATION_UNAVAILABLE",
            ErrorCode::InvalidVerifyCode => "ERROR_INVALID_VERIFY_CODE",
            ErrorCode::NotAllowedActions => "ERROR_NOT_ALLOWED_ACTIONS",
            ErrorCode::MfaAlreadyEnabled => "ERROR_MFA_ALREADY_ENABLED",
            ErrorCode::MfaAlreadyDisabled => "ERROR_MFA_ALREADY_DISABLED",
            ErrorCode::MfaNotEnabled => "ERROR_MFA_NOT_ENABLED",
            ErrorCode::NotSupportedMfaType => "ERROR_NOT_SUPPORTED_MFA_TYPE",
            ErrorCode::LastAdminCannotDisabledDeleted => "ERROR_LAST_ADMIN_CANNOT_DISABLED_DELETED",
            ErrorCode::InvalidRole => "ERROR_INVALID_ROLE",
            ErrorCode::DbQuery => "ERROR_DB_QUERY",
            ErrorCode::AuthenticateFailure => "ERROR_AUTHENTICATE_FAILURE",
            ErrorCode::MfaRequired => "ERROR_MFA_REQUIRED",
            ErrorCode::PermissionDenied => "ERROR_PERMISSION_DENIED",
            ErrorCode::NotFound => "ERROR_NOT_FOUND",
            ErrorCode::NotUnique => "ERROR_NOT_UNIQUE",
            ErrorCode::Conflict => "ERROR_CONFLICT",
            ErrorCode::PayloadTooLarge => "ERROR_PAYLOAD_TOO_LARGE",
            ErrorCode::Unavailable => "ERROR_UNAVAILABLE",
            ErrorCode::MethodNotAllowed => "ERROR_METHOD_NOT_ALLOWED",
            ErrorCode::Unknown => "ERROR_UNKNOWN",
        }
    }

    /// The HTTP status the code answers with.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::AuthenticateFailure | ErrorCode::MfaRequired => 401,
            ErrorCode::PermissionDenied => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::NotUnique | ErrorCode::Conflict => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::Unknown => 500,
            ErrorCode::Unavailable => 503,
            ErrorCode::RequiredParameter
            | ErrorCode::InvalidParameter
            | ErrorCode::IncorrectPasswordFormat
            | ErrorCode::IncorrectEmailFormat
            | ErrorCode::PasswordNotChanged
            | ErrorCode::UnableToResetPasswordInExternalAuth
            | ErrorCode::UnableToResetPasswordWithoutEmail
            | ErrorCode::VerificationUnavailable
            | ErrorCode::InvalidVerifyCode
            | ErrorCode::NotAllowedActions
            | ErrorCode::MfaAlreadyEnabled
            | ErrorCode::MfaAlreadyDisabled
            | ErrorCode::MfaNotEnabled
            | ErrorCode::NotSupportedMfaType
            | ErrorCode::LastAdminCannotDisabledDeleted
            | ErrorCode::InvalidRole
            | ErrorCode::DbQuery => 400,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("Required parameter. (key = {key})")]
    RequiredParameter { key: String },
    #[error("Invalid parameter. (key = {key}, reason = {reason})")]
    InvalidParameter { key: String, reason: String },
    #[error("Password format is invalid: {rule}.")]
    IncorrectPasswordFormat { rule: &'static str },
    #[error("Email format is invalid. (key = {key})")]
    IncorrectEmailFormat { key: String },
    #[error("The new password is the same as the current one.")]
    PasswordNotChanged,
    #[error("Unable to set or reset a password for an EXTERNAL user. (user_id = {user_id})")]
    UnableToResetPasswordInExternalAuth { user_id: String },
    #[error("Unable to reset the password: the user has no email. (user_id = {user_id})")]
    UnableToResetPasswordWithoutEmail { user_id: String },
    #[error("The email is not verified, so it cannot be used for this. (user_id = {user_id})")]
    VerificationUnavailable { user_id: String },
    #[error("The verification code is invalid or expired. (user_id = {user_id})")]
    InvalidVerifyCode { user_id: String },
    #[error("Action {action} is not allowed for {auth_type} users. (user_id = {user_id})")]
    NotAllowedActions {
        action: String,
        auth_type: String,
        user_id: String,
    },
    #[error("MFA is already enabled. (user_id = {user_id})")]
    MfaAlreadyEnabled { user_id: String },
    #[error("MFA is already disabled. (user_id = {user_id})")]
    MfaAlreadyDisabled { user_id: String },
    #[error("MFA is not set up. (user_id = {user_id})")]
    MfaNotEnabled { user_id: String },
    #[error("MFA type is not supported. (mfa_type = {mfa_type}, supported = EMAIL)")]
    NotSupportedMfaType { mfa_type: String },
    #[error("The last enabled domain admin cannot be disabled or deleted. (user_id = {user_id})")]
    LastAdminCannotDisabledDeleted { user_id: String },
    #[error("Invalid role. ({reason})")]
    InvalidRole { reason: String },
    #[error("Invalid query. ({reason})")]
    DbQuery { reason: String },
    #[error("Authentication failed: {reason}.")]
    AuthenticateFailure { reason: &'static str },
    #[error("MFA is required: a sign-in code was sent to {to}. Sign in again with it as verify_code.")]
    MfaRequired { to: String },
    #[error("MFA is required: sign in again with the code your authenticator app shows as verify_code.")]
    AuthenticatorCodeRequired,
    #[error("Permission denied: {reason}.")]
    PermissionDenied { reason: &'static str },
    #[error("Resource cannot be found or access is denied. (user_id = {user_id})")]
    NotFound { user_id: String },
    #[error("A user with this user_id already exists. (user_id = {user_id})")]
    NotUnique { user_id: String },
    #[error("The user was changed by a concurrent request; retry. (user_id = {user_id})")]
    Conflict { user_id: String },
    #[error("Request body is larger than {limit} bytes.")]
    PayloadTooLarge { limit: usize },
    #[error("The {service} is unavailable; nothing was changed. Retry later.")]
    Unavailable { service: &'static str },
    #[error(
        "The domain has more users than this function can hold in memory ({budget_mb} MB); raise the function's MemorySize. (domain_id = {domain_id})"
    )]
    DomainTooLarge { domain_id: String, budget_mb: usize },
    #[error("No such path. (path = {path})")]
    NoSuchPath { path: String },
    #[error("This method is not allowed here. (method = {method})")]
    MethodNotAllowed {
        method: String,
        /// The method the path is served with (the answer's `Allow` header, RFC 9110).
        allow: &'static str,
    },
    #[error("An unexpected error occurred. (request_id = {request_id})")]
    Unknown { request_id: String },
}

impl ApiError {
    pub fn required(key: impl Into<String>) -> Self {
        Self::RequiredParameter { key: key.into() }
    }

    pub fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidParameter {
            key: key.into(),
            reason: reason.into(),
        }
    }

    /// The SPEC's error code.
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }

    /// The SPEC's error code, as the enum descriptions list.
    pub fn error_code(&self) -> ErrorCode {
        use ApiError::*;
        match self {
            RequiredParameter { .. } => ErrorCode::RequiredParameter,
            InvalidParameter { .. } => ErrorCode::InvalidParameter,
            IncorrectPasswordFormat { .. } => ErrorCode::IncorrectPasswordFormat,
            IncorrectEmailFormat { .. } => ErrorCode::IncorrectEmailFormat,
            PasswordNotChanged => ErrorCode::PasswordNotChanged,
            UnableToResetPasswordInExternalAuth { .. } => ErrorCode::UnableToResetPasswordInExternalAuth,
            UnableToResetPasswordWithoutEmail { .. } => ErrorCode::UnableToResetPasswordWithoutEmail,
            VerificationUnavailable { .. } => ErrorCode::VerificationUnavailable,
            InvalidVerifyCode { .. } => ErrorCode::InvalidVerifyCode,
            NotAllowedActions { .. } => ErrorCode::NotAllowedActions,
            MfaAlreadyEnabled { .. } => ErrorCode::MfaAlreadyEnabled,
            MfaAlreadyDisabled { .. } => ErrorCode::MfaAlreadyDisabled,
            MfaNotEnabled { .. } => ErrorCode::MfaNotEnabled,
            NotSupportedMfaType { .. } => ErrorCode::NotSupportedMfaType,
            LastAdminCannotDisabledDeleted { .. } => ErrorCode::LastAdminCannotDisabledDeleted,
            InvalidRole { .. } => ErrorCode::InvalidRole,
            DbQuery { .. } => ErrorCode::DbQuery,
            AuthenticateFailure { .. } => ErrorCode::AuthenticateFailure,
            MfaRequired { .. } | AuthenticatorCodeRequired => ErrorCode::MfaRequired,
            PermissionDenied { .. } => ErrorCode::PermissionDenied,
            NotFound { .. } | NoSuchPath { .. } => ErrorCode::NotFound,
            NotUnique { .. } => ErrorCode::NotUnique,
            Conflict { .. } => ErrorCode::Conflict,
            PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            Unavailable { .. } | DomainTooLarge { .. } => ErrorCode::Unavailable,
            MethodNotAllowed { .. } => ErrorCode::MethodNotAllowed,
            Unknown { .. } => ErrorCode::Unknown,
        }
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> u16 {
        self.error_code().status()
    }

    /// The body every error answers with: `{"detail": {"code", "message"}}`. The message
    /// quotes at most [`MAX_QUOTED_CHARS`] characters of any key or value (SPEC section 1),
    /// whatever the request held.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({"detail": {"code": self.code(), "message": self.bounded().to_string()}})
    }

    /// The same error with every text it carries cut: keys and values to
    /// [`MAX_QUOTED_CHARS`], reasons (this project's sentence around a quoted value) to
    /// [`MAX_REASON_CHARS`].
    pub fn bounded(&self) -> Self {
        use ApiError::*;
        let quote = |text: &String| quoted(text);
        let reason = |text: &String| cut(text, MAX_REASON_CHARS);
        let mut error = self.clone();
        match &mut error {
            RequiredParameter { key } | IncorrectEmailFormat { key } => *key = quote(key),
            InvalidParameter { key, reason: why } => {
                *key = quote(key);
                *why = reason(why);
            }
            UnableToResetPasswordInExternalAuth { user_id }
            | UnableToResetPasswordWithoutEmail { user_id }
            | VerificationUnavailable { user_id }
            | InvalidVerifyCode { user_id }
            | MfaAlreadyEnabled { user_id }
            | MfaAlreadyDisabled { user_id }
            | MfaNotEnabled { user_id }
            | LastAdminCannotDisabledDeleted { user_id }
            | NotFound { user_id }
            | NotUnique { user_id }
            | Conflict { user_id } => *user_id = quote(user_id),
            NotAllowedActions {
                action,
                auth_type,
                user_id,
            } => {
                *action = quote(action);
                *auth_type = quote(auth_type);
                *user_id = quote(user_id);
            }
            NotSupportedMfaType { mfa_type } => *mfa_type = quote(mfa_type),
            InvalidRole { reason: why } | DbQuery { reason: why } => *why = reason(why),
            MfaRequired { to } => *to = quote(to),
            DomainTooLarge { domain_id, .. } => *domain_id = quote(domain_id),
            NoSuchPath { path } => *path = quote(path),
            MethodNotAllowed { method, .. } => *method = quote(method),
            Unknown { request_id } => *request_id = quote(request_id),
            IncorrectPasswordFormat { .. }
            | PasswordNotChanged
            | AuthenticatorCodeRequired
            | AuthenticateFailure { .. }
            | PermissionDenied { .. }
            | PayloadTooLarge { .. }
            | Unavailable { .. } => {}
        }
        error
    }
}

/// The most characters of a client's key or value an error message quotes (then `…`).
pub const MAX_QUOTED_CHARS: usize = 128;
/// The most characters of a reason: a sentence of this project's around one quoted value.
pub const MAX_REASON_CHARS: usize = 2 * MAX_QUOTED_CHARS + 128;

/// `text`, or its first `max` characters and `…`.
/// A client's text (a key, a value, an operator, a role id) as a message quotes it: at most
/// [`MAX_QUOTED_CHARS`] characters, then `…` (SPEC section 1). The one helper every message
/// that names client text goes through; the rest of a message is ours.
pub fn quoted(text: &str) -> String {
    cut(text, MAX_QUOTED_CHARS)
}

pub fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}…", &text[..end]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_message_is_the_reference_sentence() {
        let e = ApiError::NotFound {
            user_id: "alice".into(),
        };
        assert_eq!(
            e.to_string(),
            "Resource cannot be found or access is denied. (user_id = alice)"
        );
        assert_eq!(e.status(), 404);
    }

    #[test]
    fn messages_quote_at_most_128_characters_of_what_the_client_sent() {
        let key = "k".repeat(200_000);
        let body = ApiError::invalid(key.clone(), "unknown field").body();
        let message = body["detail"]["message"].as_str().unwrap();
        assert!(message.contains(&format!("key = {}…,", "k".repeat(128))), "{message}");
        assert!(message.len() < 300, "{} bytes", message.len());
        let body = ApiError::DbQuery {
            reason: format!("query.{key} is not a known field"),
        }
        .body();
        assert!(body["detail"]["message"].as_str().unwrap().chars().count() < MAX_REASON_CHARS + 32);
        assert_eq!(cut("héllo", 2), "hé…");
        assert_eq!(cut("héllo", 5), "héllo");
    }

    #[test]
    fn body_has_detail_code_and_message() {
        let body = ApiError::required("user_id").body();
        assert_eq!(body["detail"]["code"], "ERROR_REQUIRED_PARAMETER");
        assert!(
            body["detail"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("user_id"))
        );
    }
}
