//! confirm_email → UserInfo (SPEC 4.4).

use serde_json::Value;

use super::support::{Edit, check_code, load_for, modify_from, target};
use crate::app::App;
use crate::auth::{Access, Caller};
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::input::Fields;
use crate::ops::description::{Description, Method, OtpSecrets, UserAccess};
use crate::proto3;
use crate::store::{CodeChange, CodePurpose};

pub static DESCRIPTION: Description = Description {
    name: "confirm_email",
    summary: "User.confirm_email",
    method: Method::Post,
    path: "/identity/v2/user/confirm-email",
    aliases: &[],
    needs_token: true,
    sends_mail: false,
    hands_over_work: false,
    otp_secrets: OtpSecrets::None,
    request: &proto3::CONFIRM_EMAIL_REQUEST,
    required: &["user_id", "domain_id", "verify_code"],
    response: "UserInfo",
    user: UserAccess::Writes,
    errors: &[ErrorCode::InvalidVerifyCode],
    example: r#"{"user_id": "alice", "domain_id": "domain-local", "verify_code": "042917"}"#,
};

pub async fn run(app: &App, caller: &Caller, mut f: Fields) -> Result<Value, ApiError> {
    let (domain_id, user_id) = target(&mut f)?;
    let verify_code = f.required_string("verify_code")?;
    f.finish()?;
    caller.authorize(Access::AdminOrSelf, &domain_id, &user_id)?;

    let read = load_for(app, caller, &domain_id, &user_id).await?;
    let current = &read.item;
    let invalid = || ApiError::InvalidVerifyCode {
        user_id: user_id.to_string(),
    };
    let email = current.email.clone().ok_or_else(invalid)?;
    let code = check_code(app, current, CodePurpose::VerifyEmail, &verify_code, email.as_str()).await?;
    let user = modify_from(app, read, |current| {
        // The email may have changed since the code was mailed; then the code proves nothing.
        if current.email.as_ref().map(|e| e.as_str()) != Some(code.bound_to.as_str()) {
            return Err(invalid());
        }
        let mut user = current.clone();
        user.email_verified = true;
        Ok(Edit {
            user,
            code: CodeChange::Consume(code.clone()),
        })
    })
    .await?;
    Ok(user.into_doc())
}
