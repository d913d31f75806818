//! set_required_actions → UserInfo (SPEC 4.6): union with the existing list.

use serde_json::Value;

use super::support::{Edit, modify, target};
use crate::app::App;
use crate::auth::{Access, Caller};
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::input::Fields;
use crate::model::{AuthType, RequiredAction};
use crate::ops::description::{Description, Method, OtpSecrets, UserAccess};
use crate::proto3;

pub static DESCRIPTION: Description = Description {
    name: "set_required_actions",
    summary: "User.set_required_actions",
    method: Method::Post,
    path: "/identity/v2/user/set-required-actions",
    aliases: &[],
    needs_token: true,
    sends_mail: false,
    hands_over_work: false,
    otp_secrets: OtpSecrets::None,
    request: &proto3::SET_REQUIRED_ACTIONS_REQUEST,
    required: &["user_id", "domain_id", "actions"],
    response: "UserInfo",
    user: UserAccess::Writes,
    errors: &[ErrorCode::NotAllowedActions],
    example: r#"{"user_id": "alice", "domain_id": "domain-local", "actions": ["UPDATE_PASSWORD"]}"#,
};

pub async fn run(app: &App, caller: &Caller, mut f: Fields) -> Result<Value, ApiError> {
    let (domain_id, user_id) = target(&mut f)?;
    let actions = f
        .strings("actions")?
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ApiError::required("actions"))?;
    let actions = actions
        .iter()
        .map(|a| match RequiredAction::parse(a) {
            // Set and cleared by the rules of MFA an admin requires only (SPEC section 10).
            Ok(RequiredAction::EnforceMfa) => Err(ApiError::invalid(
                "actions",
                "ENFORCE_MFA is set by enforce_mfa_state on create or update, not here",
            )),
            Ok(action) => Ok(action),
            Err(_) => Err(ApiError::invalid("actions", "must be UPDATE_PASSWORD")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    f.finish()?;
    caller.authorize(Access::Admin, &domain_id, &user_id)?;

    let user = modify(app, caller, &domain_id, &user_id, |current| {
        if current.auth_type == AuthType::External && actions.contains(&RequiredAction::UpdatePassword) {
            return Err(ApiError::NotAllowedActions {
                action: RequiredAction::UpdatePassword.to_string(),
                auth_type: AuthType::External.to_string(),
                user_id: current.user_id.to_string(),
            });
        }
        let mut user = current.clone();
        for action in &actions {
            user.add_required_action(*action);
        }
        Ok(Edit::user(user))
    })
    .await?;
    Ok(user.into_doc())
}
