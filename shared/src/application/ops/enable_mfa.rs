//! enable_mfa → UserInfo (SPEC 4.7). Stores the MFA settings (still DISABLED) and mails a code;
//! MFA turns ENABLED only through confirm_mfa.

use chrono::TimeDelta;
use serde_json::{Map, Value};

use super::support::{Edit, load_for, mail_code, save_once, target};
use crate::app::App;
use crate::auth::{Access, Caller};
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::input::Fields;
use crate::model::{Email, Mfa, MfaState, MfaType};
use crate::ops::description::{Description, Method, UserAccess};
use crate::proto3;
use crate::store::{CodeChange, CodePurpose};

pub static DESCRIPTION: Description = Description {
    name: "enable_mfa",
    summary: "User.enable_mfa",
    method: Method::Post,
    path: "/identity/v2/user/enable-mfa",
    aliases: &[],
    needs_token: true,
    sends_mail: true,
    hands_over_work: false,
    request: &proto3::ENABLE_MFA_REQUEST,
    required: &["user_id", "domain_id", "mfa_type", "options"],
    response: "UserInfo",
    user: UserAccess::Writes,
    errors: &[
        ErrorCode::NotSupportedMfaType,
        ErrorCode::IncorrectEmailFormat,
        ErrorCode::MfaAlreadyEnabled,
    ],
    example: r#"{"user_id": "alice", "domain_id": "domain-local", "mfa_type": "EMAIL", "options": {"email": "alice@example.com"}}"#,
};

pub const MFA_CODE_TTL: TimeDelta = TimeDelta::seconds(300);
/// What an MFA code confirms, recorded with the code.
pub const TO_ENABLE: &str = "ENABLE";
pub const TO_DISABLE: &str = "DISABLE";

pub async fn run(app: &App, caller: &Caller, mut f: Fields) -> Result<Value, ApiError> {
    let (domain_id, user_id) = target(&mut f)?;
    let mfa_type = f.required_string("mfa_type")?;
    let options = f.object("options")?.ok_or_else(|| ApiError::required("options"))?;
    f.finish()?;
    let mfa_type = MfaType::parse(&mfa_type).map_err(|_| ApiError::NotSupportedMfaType { mfa_type })?;
    let email = options_email(options)?;
    caller.authorize(Access::SelfOnly, &domain_id, &user_id)?;

    let before = load_for(app, caller, &domain_id, &user_id).await?;
    if before.item.mfa.is_enabled() {
        return Err(ApiError::MfaAlreadyEnabled {
            user_id: user_id.to_string(),
        });
    }
    let mut user = before.item.clone();
    user.mfa = Mfa {
        state: MfaState::Disabled,
        mfa_type: Some(mfa_type),
        email: Some(email.clone()),
    };
    let record = mail_code(app, &user, CodePurpose::Mfa, TO_ENABLE, MFA_CODE_TTL, email.as_str()).await?;
    let saved = save_once(
        app,
        &before,
        Edit {
            user,
            code: CodeChange::Issue(record),
        },
    )
    .await?;
    Ok(saved.into_doc())
}

/// `options` of an EMAIL factor: exactly `{"email": "<address>"}`.
fn options_email(mut options: Map<String, Value>) -> Result<Email, ApiError> {
    let email = match options.remove("email") {
        Some(Value::String(s)) => Email::parse("options.email", &s)?,
        None | Some(Value::Null) => return Err(ApiError::required("options.email")),
        Some(_) => return Err(ApiError::invalid("options.email", "must be a string")),
    };
    if let Some(key) = options.keys().next() {
        return Err(ApiError::invalid(format!("options.{key}"), "unknown field"));
    }
    Ok(email)
}
