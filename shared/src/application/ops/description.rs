//! What an operation is, declared once beside its code: everything routing, the proto3
//! mapping, the Lambda wiring, the OpenAPI document and the tests that walk every operation
//! need to know about it. `Operation::describe` hands out each operation's [`Description`].

use crate::error::ErrorCode;
use crate::proto3::Message;

/// The HTTP method an operation is served with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// A second path the operation is also served at, as its own OpenAPI operation.
#[derive(Debug)]
pub struct Alias {
    pub path: &'static str,
    pub operation_id: &'static str,
    pub summary: &'static str,
}

/// What an operation does with the one user a request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserAccess {
    /// Names none, or does not tell whether it exists (reset_password, create, list, stat).
    None,
    /// Reads it: an unknown user is ERROR_NOT_FOUND.
    Reads,
    /// Changes it: also ERROR_CONFLICT when a concurrent change won.
    Writes,
}

/// What an operation does with OTP secrets (SPEC section 10): on AWS, the KMS permission its
/// function has on MFA_SECRET_KEY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpSecrets {
    None,
    /// Seals new secrets (`kms:Encrypt`).
    Seals,
    /// Opens stored secrets to check codes (`kms:Decrypt`).
    Opens,
}

#[derive(Debug)]
pub struct Description {
    /// The method name of the API document (`verify_email`, `token.issue`).
    pub name: &'static str,
    /// One line for the OpenAPI document.
    pub summary: &'static str,
    pub method: Method,
    pub path: &'static str,
    pub aliases: &'static [Alias],
    /// Whether a request must carry a verified access token.
    pub needs_token: bool,
    /// Whether the operation can send mail: a Lambda function whose operation never mails
    /// builds no mail client, and template.yaml grants SES only to those that do.
    pub sends_mail: bool,
    /// Whether it hands work over (`crate::deferred`): its function needs the queue.
    pub hands_over_work: bool,
    pub otp_secrets: OtpSecrets,
    /// The proto request message its body is read as.
    pub request: &'static Message,
    /// The fields a request must carry; absent (or null) is ERROR_REQUIRED_PARAMETER naming
    /// the first missing one, checked before the operation reads anything.
    pub required: &'static [&'static str],
    /// The component schema of a successful answer.
    pub response: &'static str,
    /// Whether it works on one stored user, and changes it: what adds ERROR_NOT_FOUND and
    /// ERROR_CONFLICT to its errors.
    pub user: UserAccess,
    /// The error codes of its own rules. [`Description::errors`] adds those every operation
    /// of its kind answers with (a body's, a token's, a stored user's).
    pub errors: &'static [ErrorCode],
    /// An example request body (JSON); empty for a method without a body.
    pub example: &'static str,
}

impl Description {
    /// Every error code the operation answers with, besides ERROR_UNKNOWN and ERROR_UNAVAILABLE
    /// (any request may meet those): a body's (required, invalid, too large), a token's, its own
    /// rules', a stored user's.
    pub fn errors(&self) -> Vec<ErrorCode> {
        let mut all = Vec::new();
        if self.method == Method::Post {
            all.extend([ErrorCode::RequiredParameter, ErrorCode::InvalidParameter]);
        }
        all.extend(self.errors.iter().copied());
        if self.needs_token {
            all.extend([ErrorCode::AuthenticateFailure, ErrorCode::PermissionDenied]);
        }
        match self.user {
            UserAccess::None => {}
            UserAccess::Reads => all.push(ErrorCode::NotFound),
            UserAccess::Writes => all.extend([ErrorCode::NotFound, ErrorCode::Conflict]),
        }
        if self.method == Method::Post {
            all.push(ErrorCode::PayloadTooLarge);
        }
        let mut seen = Vec::new();
        all.retain(|code| {
            let new = !seen.contains(code);
            seen.push(*code);
            new
        });
        all
    }
}
