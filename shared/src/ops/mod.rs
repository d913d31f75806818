//! One module per API operation; the business rules of SPEC section 4 live here and nowhere
//! else. Every operation follows the SPEC's order of checks: authentication (done by the HTTP
//! adapter) → body parsing and field validation → authorization → existence → the method's rules.
//!
//! Checks that depend only on the request (password policy, email format, role and MFA type)
//! count as field validation; checks that depend on the stored user come after the 404.

mod confirm_email;
mod confirm_mfa;
mod create;
mod delete;
mod disable;
mod disable_mfa;
mod enable;
mod enable_mfa;
mod get;
mod list;
mod public_key;
pub mod reset_password;
mod set_required_actions;
mod stat;
mod support;
mod token_grant;
mod token_issue;
mod update;
mod verify_email;

use serde_json::Value;

pub use support::store_error;

use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::input::Fields;

/// The API methods, each with its path (SPEC section 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    Create,
    Update,
    VerifyEmail,
    ConfirmEmail,
    ResetPassword,
    SetRequiredActions,
    EnableMfa,
    DisableMfa,
    ConfirmMfa,
    Enable,
    Disable,
    Delete,
    Get,
    List,
    Stat,
    /// The Token API (SPEC section 9): sign-in, then a token for a scope.
    TokenIssue,
    TokenGrant,
    /// The signing key, the Cloudforet way (`domain/get-public-key`) and as a JWKS.
    PublicKey,
    Jwks,
}

impl Operation {
    pub const ALL: [Operation; 15] = [
        Operation::Create,
        Operation::Update,
        Operation::VerifyEmail,
        Operation::ConfirmEmail,
        Operation::ResetPassword,
        Operation::SetRequiredActions,
        Operation::EnableMfa,
        Operation::DisableMfa,
        Operation::ConfirmMfa,
        Operation::Enable,
        Operation::Disable,
        Operation::Delete,
        Operation::Get,
        Operation::List,
        Operation::Stat,
    ];

    /// The Token API's methods (SPEC section 9), served beside the User API.
    pub const TOKEN_API: [Operation; 4] = [
        Operation::TokenIssue,
        Operation::TokenGrant,
        Operation::PublicKey,
        Operation::Jwks,
    ];

    /// The method name of the API document.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::VerifyEmail => "verify_email",
            Operation::ConfirmEmail => "confirm_email",
            Operation::ResetPassword => "reset_password",
            Operation::SetRequiredActions => "set_required_actions",
            Operation::EnableMfa => "enable_mfa",
            Operation::DisableMfa => "disable_mfa",
            Operation::ConfirmMfa => "confirm_mfa",
            Operation::Enable => "enable",
            Operation::Disable => "disable",
            Operation::Delete => "delete",
            Operation::Get => "get",
            Operation::List => "list",
            Operation::Stat => "stat",
            Operation::TokenIssue => "token.issue",
            Operation::TokenGrant => "token.grant",
            Operation::PublicKey => "domain.get_public_key",
            Operation::Jwks => "jwks",
        }
    }

    /// The path of the API document. stat is also served at `/identity/v2/user/stat`.
    pub fn path(self) -> &'static str {
        match self {
            Operation::Create => "/identity/v2/user/create",
            Operation::Update => "/identity/v2/user/update",
            Operation::VerifyEmail => "/identity/v2/user/verify-email",
            Operation::ConfirmEmail => "/identity/v2/user/confirm-email",
            Operation::ResetPassword => "/identity/v2/user/reset-password",
            Operation::SetRequiredActions => "/identity/v2/user/set-required-actions",
            Operation::EnableMfa => "/identity/v2/user/enable-mfa",
            Operation::DisableMfa => "/identity/v2/user/disable-mfa",
            Operation::ConfirmMfa => "/identity/v2/user/confirm-mfa",
            Operation::Enable => "/identity/v2/user/enable",
            Operation::Disable => "/identity/v2/user/disable",
            Operation::Delete => "/identity/v2/user/delete",
            Operation::Get => "/identity/v2/user/get",
            Operation::List => "/identity/v2/user/list",
            Operation::Stat => "/identity/v1/user/stat",
            Operation::TokenIssue => "/identity/v2/token/issue",
            Operation::TokenGrant => "/identity/v2/token/grant",
            Operation::PublicKey => "/identity/v2/domain/get-public-key",
            Operation::Jwks => "/.well-known/jwks.json",
        }
    }

    pub fn from_path(path: &str) -> Option<Operation> {
        let path = path.strip_suffix('/').unwrap_or(path);
        if path == "/identity/v2/user/stat" {
            return Some(Operation::Stat);
        }
        Operation::ALL
            .into_iter()
            .chain(Operation::TOKEN_API)
            .find(|op| op.path() == path)
    }

    /// reset_password and the Token API are called without a token.
    pub fn needs_token(self) -> bool {
        self != Operation::ResetPassword && !Operation::TOKEN_API.contains(&self)
    }

    /// The JWKS is read with GET (as every JWKS is); every other method is a POST.
    pub fn http_method(self) -> &'static str {
        if self == Operation::Jwks { "GET" } else { "POST" }
    }

    /// Whether the operation can send mail. A Lambda function whose operation never mails
    /// builds no mail client, and template.yaml grants SES only to those that do.
    /// reset_password does not: its mail goes out from the work it hands over.
    pub fn sends_mail(self) -> bool {
        matches!(
            self,
            Operation::Create
                | Operation::Update
                | Operation::VerifyEmail
                | Operation::EnableMfa
                | Operation::DisableMfa
                | Operation::TokenIssue
        )
    }

    /// Whether the operation hands work over (`crate::deferred`) instead of doing all of it:
    /// its Lambda function needs the provisioning queue.
    pub fn hands_over_work(self) -> bool {
        self == Operation::ResetPassword
    }
}

/// Runs one operation on a parsed body. `caller` is the verified token's caller; the HTTP
/// adapter supplies it for every operation that needs one.
pub async fn run(app: &App, op: Operation, caller: Option<&Caller>, fields: Fields) -> Result<Value, ApiError> {
    match op {
        Operation::ResetPassword => return reset_password::run(app, fields).await,
        Operation::TokenIssue => return token_issue::run(app, fields).await,
        Operation::TokenGrant => return token_grant::run(app, fields).await,
        Operation::PublicKey => return public_key::run(app, fields).await,
        Operation::Jwks => return public_key::jwks(app).await,
        _ => {}
    }
    let caller = caller.ok_or(ApiError::AuthenticateFailure {
        reason: "missing Authorization header",
    })?;
    match op {
        Operation::Create => create::run(app, caller, fields).await,
        Operation::Update => update::run(app, caller, fields).await,
        Operation::VerifyEmail => verify_email::run(app, caller, fields).await,
        Operation::ConfirmEmail => confirm_email::run(app, caller, fields).await,
        Operation::SetRequiredActions => set_required_actions::run(app, caller, fields).await,
        Operation::EnableMfa => enable_mfa::run(app, caller, fields).await,
        Operation::DisableMfa => disable_mfa::run(app, caller, fields).await,
        Operation::ConfirmMfa => confirm_mfa::run(app, caller, fields).await,
        Operation::Enable => enable::run(app, caller, fields).await,
        Operation::Disable => disable::run(app, caller, fields).await,
        Operation::Delete => delete::run(app, caller, fields).await,
        Operation::Get => get::run(app, caller, fields).await,
        Operation::List => list::run(app, caller, fields).await,
        Operation::Stat => stat::run(app, caller, fields).await,
        Operation::ResetPassword
        | Operation::TokenIssue
        | Operation::TokenGrant
        | Operation::PublicKey
        | Operation::Jwks => Err(ApiError::Unknown {
            request_id: String::new(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_routes_to_its_operation() {
        for op in Operation::ALL.into_iter().chain(Operation::TOKEN_API) {
            assert_eq!(Operation::from_path(op.path()), Some(op));
        }
        assert_eq!(Operation::from_path("/identity/v2/user/stat"), Some(Operation::Stat));
        assert_eq!(Operation::from_path("/identity/v2/user/get/"), Some(Operation::Get));
        assert_eq!(Operation::from_path("/identity/v2/user/nope"), None);
    }
}
