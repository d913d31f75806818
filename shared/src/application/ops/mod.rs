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
pub mod description;
mod disable;
mod disable_mfa;
mod enable;
mod enable_mfa;
mod get;
mod jwks;
mod list;
mod public_key;
pub mod reset_password;
mod second_factor;
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
use crate::ops::description::Description;

/// What an operation's code returns.
pub type Reply<'a> = Pin<Box<dyn Future<Output = Result<Value, ApiError>> + Send + 'a>>;

/// The code of one operation on a parsed body, as a plain function. `caller` is the verified
/// token's caller; the HTTP adapter supplies it for every operation that needs one.
pub type Code = for<'a> fn(&'a App, Option<&'a Caller>, Fields) -> Reply<'a>;

/// An operation with its code: what a Lambda function serves. A function's `main` names its
/// constant ([`Served::GET`], …), so its binary links that operation's code and no other's
/// (issue 14: a `match` over every operation made each function carry all of them, with the
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

/// Starts the process's background work: the local worker that carries out the jobs requests
/// hand over (`crate::deferred`), each on `app` while it lives. Call once the App is shared; a
/// Lambda function, whose work goes to a queue, has nothing to start.
pub fn start_background(app: &std::sync::Arc<App>) {
    let weak = std::sync::Arc::downgrade(app);
    app.deferred.start(std::sync::Arc::new(move |job| {
        let weak = weak.clone();
        Box::pin(async move {
            if let Some(app) = weak.upgrade() {
                reset_password::run_job(&app, &job).await;
            }
        })
    }));
}

/// Runs one operation, whichever it is: the local server and the provisioning work, which
/// serve them all.
pub async fn run(app: &App, op: Operation, caller: Option<&Caller>, fields: Fields) -> Result<Value, ApiError> {
    (Served::of(op).code)(app, caller, fields).await
}

fn signed_in(caller: Option<&Caller>) -> Result<&Caller, ApiError> {
    caller.ok_or(ApiError::AuthenticateFailure {
        reason: "missing Authorization header",
    })
}

/// The code of one operation: its required fields checked (its description's list), then its
/// module's `run`, with the caller (`signed_in`) or without (`anonymous`).
macro_rules! code {
    (signed_in $module:ident) => {
        pub fn $module<'a>(app: &'a App, caller: Option<&'a Caller>, fields: Fields) -> Reply<'a> {
            Box::pin(async move {
                let caller = super::signed_in(caller)?;
                fields.check_required(super::$module::DESCRIPTION.required)?;
                super::$module::run(app, caller, fields).await
            })
        }
    };
    (anonymous $module:ident) => {
        pub fn $module<'a>(app: &'a App, _caller: Option<&'a Caller>, fields: Fields) -> Reply<'a> {
            Box::pin(async move {
                fields.check_required(super::$module::DESCRIPTION.required)?;
                super::$module::run(app, fields).await
            })
        }
    };
}

/// The one list of operations: each is its enum variant, its module (which holds its
/// [`Description`] and its code) and its [`Served`] constant. An operation missing here has no
/// variant; a module without a `DESCRIPTION` does not compile.
macro_rules! operations {
    ($($variant:ident => $module:ident, $constant:ident, $style:ident;)*) => {
        /// The API methods (SPEC sections 1 and 9), each described by its module.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Operation {
            $($variant,)*
        }

        impl Operation {
            /// Every operation: the User API's fifteen, then the Token API's.
            pub const ALL: [Operation; [$(stringify!($variant)),*].len()] = [$(Operation::$variant),*];

            /// The operation's description, declared in its module.
            pub fn describe(self) -> &'static Description {
                match self {
                    $(Operation::$variant => &$module::DESCRIPTION,)*
                }
            }
        }

        mod code {
            use super::*;
            $(code!($style $module);)*
        }

        impl Served {
            $(pub const $constant: Served = Served { op: Operation::$variant, code: code::$module };)*

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

operations! {
    Create => create, CREATE, signed_in;
    Update => update, UPDATE, signed_in;
    VerifyEmail => verify_email, VERIFY_EMAIL, signed_in;
    ConfirmEmail => confirm_email, CONFIRM_EMAIL, signed_in;
    ResetPassword => reset_password, RESET_PASSWORD, anonymous;
    SetRequiredActions => set_required_actions, SET_REQUIRED_ACTIONS, signed_in;
    EnableMfa => enable_mfa, ENABLE_MFA, signed_in;
    DisableMfa => disable_mfa, DISABLE_MFA, signed_in;
    ConfirmMfa => confirm_mfa, CONFIRM_MFA, signed_in;
    Enable => enable, ENABLE, signed_in;
    Disable => disable, DISABLE, signed_in;
    Delete => delete, DELETE, signed_in;
    Get => get, GET, signed_in;
    List => list, LIST, signed_in;
    Stat => stat, STAT, signed_in;
    TokenIssue => token_issue, TOKEN_ISSUE, anonymous;
    TokenGrant => token_grant, TOKEN_GRANT, anonymous;
    PublicKey => public_key, PUBLIC_KEY, anonymous;
    Jwks => jwks, JWKS, anonymous;
}

impl Operation {
    /// The User API's methods (SPEC section 4), without the Token API's (section 9).
    pub fn user_api() -> impl Iterator<Item = Operation> {
        Operation::ALL.into_iter().filter(|op| !op.is_token_api())
    }

    /// Whether the operation belongs to the Token API (SPEC section 9).
    pub fn is_token_api(self) -> bool {
        !self.describe().path.contains("/user/")
    }

    /// The method name of the API document.
    pub fn name(self) -> &'static str {
        self.describe().name
    }

    /// The path of the API document.
    pub fn path(self) -> &'static str {
        self.describe().path
    }

    /// The operation served at `path` (its own or an alias; a trailing `/` is allowed).
    pub fn from_path(path: &str) -> Option<Operation> {
        let path = path.strip_suffix('/').unwrap_or(path);
        Operation::ALL.into_iter().find(|op| {
            let described = op.describe();
            described.path == path || described.aliases.iter().any(|alias| alias.path == path)
        })
    }

    pub fn needs_token(self) -> bool {
        self.describe().needs_token
    }

    pub fn http_method(self) -> &'static str {
        self.describe().method.as_str()
    }

    pub fn sends_mail(self) -> bool {
        self.describe().sends_mail
    }

    pub fn hands_over_work(self) -> bool {
        self.describe().hands_over_work
    }

    pub fn otp_secrets(self) -> description::OtpSecrets {
        self.describe().otp_secrets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_routes_to_its_operation() {
        for op in Operation::ALL {
            assert_eq!(Operation::from_path(op.path()), Some(op));
        }
        assert_eq!(Operation::from_path("/identity/v2/user/stat"), Some(Operation::Stat));
        assert_eq!(Operation::from_path("/identity/v2/user/get/"), Some(Operation::Get));
        assert_eq!(Operation::from_path("/identity/v2/user/nope"), None);
    }

    /// Every description is whole and agrees with itself: one name and path per operation,
    /// required fields that its message has, an example that carries them, the errors of a
    /// body for every method that reads one and of a token for every method that needs one.
    #[test]
    fn every_operation_is_described_once_and_whole() {
        use crate::error::ErrorCode;
        use crate::ops::description::Method;
        let mut names = std::collections::BTreeSet::new();
        let mut paths = std::collections::BTreeSet::new();
        for op in Operation::ALL {
            let d = op.describe();
            assert!(names.insert(d.name), "{op:?}: name {} twice", d.name);
            assert!(paths.insert(d.path), "{op:?}: path {} twice", d.path);
            for alias in d.aliases {
                assert!(paths.insert(alias.path), "{op:?}: alias {} twice", alias.path);
            }
            assert!(!d.summary.is_empty() && !d.response.is_empty(), "{op:?}");
            for key in d.required {
                assert!(
                    d.request.fields.iter().any(|f| f.name == *key),
                    "{op:?}: {key} is no field of {}",
                    d.request.name
                );
            }
            if d.method == Method::Post {
                let example: serde_json::Map<String, Value> =
                    serde_json::from_str(d.example).unwrap_or_else(|e| panic!("{op:?}: example: {e}"));
                for key in d.required {
                    assert!(example.contains_key(*key), "{op:?}: the example lacks {key}");
                }
                for code in [
                    ErrorCode::RequiredParameter,
                    ErrorCode::InvalidParameter,
                    ErrorCode::PayloadTooLarge,
                ] {
                    assert!(d.errors().contains(&code), "{op:?} lists no {code:?}");
                }
            } else {
                assert!(d.example.is_empty() && d.required.is_empty(), "{op:?} reads no body");
            }
            if d.needs_token {
                for code in [ErrorCode::AuthenticateFailure, ErrorCode::PermissionDenied] {
                    assert!(d.errors().contains(&code), "{op:?} lists no {code:?}");
                }
            }
            assert_eq!(Served::of(op).op, op);
        }
        assert_eq!(Operation::user_api().count(), 15);
    }
}
