//! disable → UserInfo (SPEC 4.10). The last enabled DOMAIN_ADMIN of a domain cannot be disabled.

use serde_json::Value;

use super::enable::set_state;
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::input::Fields;
use crate::model::State;
use crate::ops::description::{Description, Method, OtpSecrets, UserAccess};
use crate::proto3;

pub static DESCRIPTION: Description = Description {
    name: "disable",
    summary: "User.disable",
    method: Method::Post,
    path: "/identity/v2/user/disable",
    aliases: &[],
    needs_token: true,
    sends_mail: false,
    hands_over_work: false,
    otp_secrets: OtpSecrets::None,
    request: &proto3::USER_REQUEST,
    required: &["user_id", "domain_id"],
    response: "UserInfo",
    user: UserAccess::Writes,
    errors: &[ErrorCode::LastAdminCannotDisabledDeleted],
    example: r#"{"user_id": "alice", "domain_id": "domain-local"}"#,
};

pub async fn run(app: &App, caller: &Caller, f: Fields) -> Result<Value, ApiError> {
    set_state(app, caller, f, State::Disabled).await
}
