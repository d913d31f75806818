//! confirm_mfa → UserInfo (SPEC 4.9 and 10). A correct code toggles MFA: DISABLED → ENABLED
//! (keeping type and options; for OTP the pending secret becomes the one in force), ENABLED →
//! off (an OTP secret is deleted). For OTP the code is the authenticator's, never accepted twice.

use serde_json::Value;

use super::second_factor::{TO_DISABLE, TO_ENABLE, check_otp_code, turned_off, turned_on};
use super::support::{Edit, check_code, load_for, modify_from, target};
use crate::app::App;
use crate::auth::{Access, Caller};
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::input::Fields;
use crate::model::MfaType;
use crate::ops::description::{Description, Method, OtpSecrets, UserAccess};
use crate::otp::OtpKey;
use crate::proto3;
use crate::store::{CodeChange, CodePurpose};

pub static DESCRIPTION: Description = Description {
    name: "confirm_mfa",
    summary: "User.confirm_mfa",
    method: Method::Post,
    path: "/identity/v2/user/confirm-mfa",
    aliases: &[],
    needs_token: true,
    sends_mail: false,
    hands_over_work: false,
    otp_secrets: OtpSecrets::Opens,
    request: &proto3::CONFIRM_MFA_REQUEST,
    required: &["user_id", "domain_id", "verify_code"],
    response: "UserInfo",
    user: UserAccess::Writes,
    errors: &[ErrorCode::MfaNotEnabled, ErrorCode::InvalidVerifyCode],
    example: r#"{"user_id": "alice", "domain_id": "domain-local", "verify_code": "042917"}"#,
};

pub async fn run(app: &App, caller: &Caller, mut f: Fields) -> Result<Value, ApiError> {
    let (domain_id, user_id) = target(&mut f)?;
    let verify_code = f.required_string("verify_code")?;
    f.finish()?;
    caller.authorize(Access::SelfOnly, &domain_id, &user_id)?;

    let read = load_for(app, caller, &domain_id, &user_id).await?;
    let current = &read.item;
    let Some(mfa_type) = current.mfa.mfa_type else {
        return Err(ApiError::MfaNotEnabled {
            user_id: user_id.to_string(),
        });
    };
    let was_enabled = current.mfa.is_enabled();
    let transition = if was_enabled { TO_DISABLE } else { TO_ENABLE };
    // What the code proves: a mailed code, or an authenticator's code of a secret at a step.
    let (code, otp) = match mfa_type {
        MfaType::Email => (
            check_code(app, current, CodePurpose::Mfa, &verify_code, transition).await?,
            None,
        ),
        MfaType::Otp => {
            let (code, sealed, step) = check_otp_code(app, current, &verify_code, transition).await?;
            (code, Some((sealed, step)))
        }
    };
    let invalid = || ApiError::InvalidVerifyCode {
        user_id: user_id.to_string(),
    };
    let user = modify_from(app, read, |current| {
        // The state moved since the code was checked: the code confirms a change no longer asked for.
        if current.mfa.is_enabled() != was_enabled || current.mfa.mfa_type != Some(mfa_type) {
            return Err(invalid());
        }
        let user = match (&otp, was_enabled) {
            (_, false) => {
                let mut user = turned_on(current);
                if let Some((sealed, step)) = &otp {
                    user.otp = Some(OtpKey {
                        sealed: sealed.clone(),
                        last_step: *step,
                    });
                }
                user
            }
            (Some((sealed, step)), true) => {
                // The secret in force must still be the one checked, and the step still new
                // (a parallel sign-in may have used it).
                match &current.otp {
                    Some(key) if key.still_accepts(sealed, *step) => turned_off(current),
                    _ => return Err(invalid()),
                }
            }
            (None, true) => turned_off(current),
        };
        Ok(Edit {
            user,
            code: CodeChange::Consume(code.clone()),
        })
    })
    .await?;
    Ok(user.into_doc())
}
