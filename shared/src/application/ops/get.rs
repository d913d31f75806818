//! get → UserInfo (SPEC 4.11).

use serde_json::Value;

use super::support::{load_for, target};
use crate::app::App;
use crate::auth::{Access, Caller};
use crate::error::ApiError;
use crate::input::Fields;
use crate::ops::description::{Description, Method, OtpSecrets, UserAccess};
use crate::proto3;

pub static DESCRIPTION: Description = Description {
    name: "get",
    summary: "User.get",
    method: Method::Post,
    path: "/identity/v2/user/get",
    aliases: &[],
    needs_token: true,
    sends_mail: false,
    hands_over_work: false,
    otp_secrets: OtpSecrets::None,
    request: &proto3::USER_REQUEST,
    required: &["user_id", "domain_id"],
    response: "UserInfo",
    user: UserAccess::Reads,
    errors: &[],
    example: r#"{"user_id": "alice", "domain_id": "domain-local"}"#,
};

pub async fn run(app: &App, caller: &Caller, mut f: Fields) -> Result<Value, ApiError> {
    let (domain_id, user_id) = target(&mut f)?;
    f.finish()?;
    caller.authorize(Access::AdminOrSelf, &domain_id, &user_id)?;
    Ok(load_for(app, caller, &domain_id, &user_id).await?.item.into_doc())
}
