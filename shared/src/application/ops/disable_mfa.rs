//! disable_mfa → UserInfo (SPEC 4.8 and 10). With `force` (admins only) MFA is off at once (an
//! OTP secret deleted); otherwise MFA stays on until confirm_mfa: for EMAIL a code is mailed to
//! the MFA address, for OTP a disable is pending for 300 s and the authenticator's code ends it.

use serde_json::Value;

use super::second_factor::{MFA_CODE_TTL, TO_DISABLE, otp_record, turned_off};
use super::support::{Edit, load_for, mail_code, modify, store_error, target};
use crate::app::App;
use crate::auth::{Access, Caller};
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::input::Fields;
use crate::model::MfaType;
use crate::ops::description::{Description, Method, OtpSecrets, UserAccess};
use crate::proto3;
use crate::store::{CodeChange, CodePurpose};

pub static DESCRIPTION: Description = Description {
    name: "disable_mfa",
    summary: "User.disable_mfa",
    method: Method::Post,
    path: "/identity/v2/user/disable-mfa",
    aliases: &[],
    needs_token: true,
    sends_mail: true,
    hands_over_work: false,
    otp_secrets: OtpSecrets::None,
    request: &proto3::DISABLE_MFA_REQUEST,
    required: &["user_id", "domain_id"],
    response: "UserInfo",
    user: UserAccess::Writes,
    errors: &[ErrorCode::MfaAlreadyDisabled],
    example: r#"{"user_id": "alice", "domain_id": "domain-local", "force": false}"#,
};

pub async fn run(app: &App, caller: &Caller, mut f: Fields) -> Result<Value, ApiError> {
    let (domain_id, user_id) = target(&mut f)?;
    let force = f.flag("force")?;
    f.finish()?;
    caller.authorize(Access::AdminOrSelf, &domain_id, &user_id)?;
    if force && !caller.is_admin_of(&domain_id) {
        return Err(ApiError::PermissionDenied {
            reason: "only a DOMAIN_ADMIN may force MFA off",
        });
    }
    let already_disabled = || ApiError::MfaAlreadyDisabled {
        user_id: user_id.to_string(),
    };

    if force {
        let user = modify(app, caller, &domain_id, &user_id, |current| {
            if !current.mfa.is_enabled() {
                return Err(already_disabled());
            }
            Ok(Edit {
                user: turned_off(current),
                code: CodeChange::Discard(CodePurpose::Mfa),
            })
        })
        .await?;
        return Ok(user.into_doc());
    }

    let user = load_for(app, caller, &domain_id, &user_id).await?.item;
    if !user.mfa.is_enabled() {
        return Err(already_disabled());
    }
    if user.mfa.mfa_type == Some(MfaType::Otp) {
        // OTP: the disable waits for an authenticator code (confirm_mfa); nothing is mailed.
        let record = otp_record(app, &user, TO_DISABLE, None);
        app.store
            .issue_code(&record)
            .await
            .map_err(|e| store_error(e, &user_id))?;
        return Ok(user.into_doc());
    }
    let to = user.mfa.email.clone().ok_or_else(|| ApiError::MfaNotEnabled {
        user_id: user_id.to_string(),
    })?;
    let record = mail_code(app, &user, CodePurpose::Mfa, TO_DISABLE, MFA_CODE_TTL, to.as_str()).await?;
    app.store
        .issue_code(&record)
        .await
        .map_err(|e| store_error(e, &user_id))?;
    Ok(user.into_doc())
}
