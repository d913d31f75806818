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

use std::future::Future;
use std::pin::Pin;

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

/// What an operation's code returns.
pub type Reply<'a> = Pin<Box<dyn Future<Output = Result<Value, ApiError>> + Send + 'a>>;

/// The code of one operation on a parsed body, as a plain function. `caller` is the verified
/// token's caller; the HTTP adapter supplies it for every operation that needs one.
pub type Code = for<'a> fn(&'a App, Option<&'a Caller>, Fields) -> Reply<'a>;

/// An operation with its code: what a Lambda function serves. A function's `main` names its
/// constant ([`Served::GET`], …), so its binary links that operation's code and no other's
/// (issue 14: a `match` over every operation made each function carry all fifteen, with the
/// query engine, the password hashing and the mail templates).
#[derive(Clone, Copy)]
pub struct Served {
    pub op: Operation,
    pub code: Code,
}

impl std::fmt::Debug for Served {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Served").field(&self.op).finish()
    }
}

/// Runs one operation, whichever it is: the local server and the provisioning work, which
/// serve them all.
pub async fn run(app: &App, op: Operation, caller: Option<&Caller>, fields: Fields) -> Result<Value, ApiError> {
    (Served::of(op).code)(app, caller, fields).await
}

/// Each operation's code: the operations of SPEC section 4 need the caller, the Token API's and
/// reset_password do not.
mod code {
    use super::*;

    fn signed_in(caller: Option<&Caller>) -> Result<&Caller, ApiError> {
        caller.ok_or(ApiError::AuthenticateFailure {
            reason: "missing Authorization header",
        })
    }

    macro_rules! with_caller {
        ($($name:ident),* $(,)?) => {$(
            pub fn $name<'a>(app: &'a App, caller: Option<&'a Caller>, fields: Fields) -> Reply<'a> {
                Box::pin(async move { super::$name::run(app, signed_in(caller)?, fields).await })
            }
        )*};
    }

    macro_rules! without_caller {
        ($($name:ident => $run:expr),* $(,)?) => {$(
            pub fn $name<'a>(app: &'a App, _caller: Option<&'a Caller>, fields: Fields) -> Reply<'a> {
                Box::pin($run(app, fields))
            }
        )*};
    }

    with_caller!(
        create,
        update,
        verify_email,
        confirm_email,
        set_required_actions,
        enable_mfa,
        disable_mfa,
        confirm_mfa,
        enable,
        disable,
        delete,
        get,
        list,
        stat,
    );

    without_caller!(
        reset_password => super::reset_password::run,
        token_issue => super::token_issue::run,
        token_grant => super::token_grant::run,
        public_key => super::public_key::run,
        jwks => |app, _fields| super::public_key::jwks(app),
    );
}

/// One list makes both the constants and [`Served::of`], so an operation and its code cannot
/// be paired wrongly.
macro_rules! served {
    ($($constant:ident = $variant:ident => $code:ident),* $(,)?) => {
        impl Served {
            $(pub const $constant: Served = Served { op: Operation::$variant, code: code::$code };)*

            /// Any operation with its code. A Lambda function names its constant instead: this
            /// links every operation's code.
            pub fn of(op: Operation) -> Served {
                match op {
                    $(Operation::$variant => Served::$constant,)*
                }
            }
        }
    };
}

served!(
    CREATE = Create => create,
    UPDATE = Update => update,
    VERIFY_EMAIL = VerifyEmail => verify_email,
    CONFIRM_EMAIL = ConfirmEmail => confirm_email,
    RESET_PASSWORD = ResetPassword => reset_password,
    SET_REQUIRED_ACTIONS = SetRequiredActions => set_required_actions,
    ENABLE_MFA = EnableMfa => enable_mfa,
    DISABLE_MFA = DisableMfa => disable_mfa,
    CONFIRM_MFA = ConfirmMfa => confirm_mfa,
    ENABLE = Enable => enable,
    DISABLE = Disable => disable,
    DELETE = Delete => delete,
    GET = Get => get,
    LIST = List => list,
    STAT = Stat => stat,
    TOKEN_ISSUE = TokenIssue => token_issue,
    TOKEN_GRANT = TokenGrant => token_grant,
    PUBLIC_KEY = PublicKey => public_key,
    JWKS = Jwks => jwks,
);

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
