//! verify_email → {} (SPEC 4.3).

use chrono::TimeDelta;
use serde_json::{Value, json};

use super::support::{Edit, load_for, mail_code, modify, save_once, target};
use crate::app::App;
use crate::auth::{Access, Caller};
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::input::Fields;
use crate::model::Email;
use crate::ops::description::{Description, Method, OtpSecrets, UserAccess};
use crate::proto3;
use crate::store::{CodeChange, CodePurpose};

pub static DESCRIPTION: Description = Description {
    name: "verify_email",
    summary: "User.verify_email",
    method: Method::Post,
    path: "/identity/v2/user/verify-email",
    aliases: &[],
    needs_token: true,
    sends_mail: true,
    hands_over_work: false,
    otp_secrets: OtpSecrets::None,
    request: &proto3::VERIFY_EMAIL_REQUEST,
    required: &["user_id", "domain_id"],
    response: "Empty",
    user: UserAccess::Writes,
    errors: &[ErrorCode::IncorrectEmailFormat],
    example: r#"{"user_id": "alice", "domain_id": "domain-local", "email": "alice@example.com"}"#,
};

const CODE_TTL: TimeDelta = TimeDelta::seconds(3600);

pub async fn run(app: &App, caller: &Caller, mut f: Fields) -> Result<Value, ApiError> {
    let (domain_id, user_id) = target(&mut f)?;
    let email = f.non_empty("email")?.map(|e| Email::parse("email", &e)).transpose()?;
    let force = f.flag("force")?;
    f.finish()?;
    caller.authorize(Access::AdminOrSelf, &domain_id, &user_id)?;
    if force && !caller.is_admin_of(&domain_id) {
        return Err(ApiError::PermissionDenied {
            reason: "only a DOMAIN_ADMIN may force email verification",
        });
    }

    if force {
        modify(app, caller, &domain_id, &user_id, |current| {
            let mut user = current.clone();
            user.email = Some(
                email
                    .clone()
                    .or_else(|| user.email.clone())
                    .ok_or_else(|| ApiError::required("email"))?,
            );
            user.email_verified = true;
            Ok(Edit {
                user,
                code: CodeChange::Discard(CodePurpose::VerifyEmail),
            })
        })
        .await?;
        return Ok(json!({}));
    }

    let before = load_for(app, caller, &domain_id, &user_id).await?;
    let to = email
        .or_else(|| before.item.email.clone())
        .ok_or_else(|| ApiError::required("email"))?;
    let mut user = before.item.clone();
    user.email = Some(to.clone());
    user.email_verified = false;
    // The code is bound to the address it is mailed to: it cannot verify a different one.
    let record = mail_code(app, &user, CodePurpose::VerifyEmail, to.as_str(), CODE_TTL, to.as_str()).await?;
    save_once(
        app,
        &before,
        Edit {
            user,
            code: CodeChange::Issue(record),
        },
    )
    .await?;
    Ok(json!({}))
}
