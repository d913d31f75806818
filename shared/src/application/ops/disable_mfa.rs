//! disable_mfa → UserInfo (SPEC 4.8). With `force` (admins only) MFA is off at once; otherwise a
//! code is mailed to the MFA address and MFA stays on until confirm_mfa.

use serde_json::Value;

use super::enable_mfa::{MFA_CODE_TTL, TO_DISABLE};
use super::support::{Edit, load_for, mail_code, modify, store_error, target};
use crate::app::App;
use crate::auth::{Access, Caller};
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::input::Fields;
use crate::model::Mfa;
use crate::ops::description::{Description, Method, UserAccess};
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
            let mut user = current.clone();
            user.mfa = Mfa::default();
            Ok(Edit {
                user,
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
