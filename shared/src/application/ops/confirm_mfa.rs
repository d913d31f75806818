//! confirm_mfa → UserInfo (SPEC 4.9). A correct code toggles MFA: DISABLED → ENABLED (keeping
//! type and options), ENABLED → off.

use serde_json::Value;

use super::enable_mfa::{TO_DISABLE, TO_ENABLE};
use super::support::{Edit, check_code, load_for, modify_from, target};
use crate::app::App;
use crate::auth::{Access, Caller};
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::input::Fields;
use crate::model::{Mfa, MfaState};
use crate::ops::description::{Description, Method, UserAccess};
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
    if current.mfa.mfa_type.is_none() {
        return Err(ApiError::MfaNotEnabled {
            user_id: user_id.to_string(),
        });
    }
    let was_enabled = current.mfa.is_enabled();
    let transition = if was_enabled { TO_DISABLE } else { TO_ENABLE };
    let code = check_code(app, current, CodePurpose::Mfa, &verify_code, transition).await?;
    let user = modify_from(app, read, |current| {
        // The state moved since the code was checked: the code confirms a change no longer asked for.
        if current.mfa.is_enabled() != was_enabled || current.mfa.mfa_type.is_none() {
            return Err(ApiError::InvalidVerifyCode {
                user_id: user_id.to_string(),
            });
        }
        let mut user = current.clone();
        user.mfa = if was_enabled {
            Mfa::default()
        } else {
            Mfa {
                state: MfaState::Enabled,
                ..current.mfa.clone()
            }
        };
        Ok(Edit {
            user,
            code: CodeChange::Consume(code.clone()),
        })
    })
    .await?;
    Ok(user.into_doc())
}
