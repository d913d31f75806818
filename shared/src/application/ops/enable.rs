//! enable → UserInfo (SPEC 4.10).

use serde_json::Value;

use super::support::{Edit, modify, target};
use crate::app::App;
use crate::auth::{Access, Caller};
use crate::error::ApiError;
use crate::input::Fields;
use crate::model::State;
use crate::ops::description::{Description, Method, OtpSecrets, UserAccess};
use crate::proto3;

pub static DESCRIPTION: Description = Description {
    name: "enable",
    summary: "User.enable",
    method: Method::Post,
    path: "/identity/v2/user/enable",
    aliases: &[],
    needs_token: true,
    sends_mail: false,
    hands_over_work: false,
    otp_secrets: OtpSecrets::None,
    request: &proto3::USER_REQUEST,
    required: &["user_id", "domain_id"],
    response: "UserInfo",
    user: UserAccess::Writes,
    errors: &[],
    example: r#"{"user_id": "alice", "domain_id": "domain-local"}"#,
};

pub async fn run(app: &App, caller: &Caller, f: Fields) -> Result<Value, ApiError> {
    set_state(app, caller, f, State::Enabled).await
}

/// enable and disable: the state changes, and the store refuses to disable the domain's last
/// enabled DOMAIN_ADMIN.
pub(super) async fn set_state(app: &App, caller: &Caller, mut f: Fields, state: State) -> Result<Value, ApiError> {
    let (domain_id, user_id) = target(&mut f)?;
    f.finish()?;
    caller.authorize(Access::Admin, &domain_id, &user_id)?;
    let user = modify(app, caller, &domain_id, &user_id, |current| {
        Ok(Edit::user(crate::model::User {
            state,
            ..current.clone()
        }))
    })
    .await?;
    Ok(user.into_doc())
}
