//! delete → {} (SPEC 4.10): the user, its role binding (kept on the user record), its pending
//! codes and its reset window go in one transaction. The last enabled DOMAIN_ADMIN of a domain
//! cannot be deleted.

use serde_json::{Value, json};

use super::support::{load_for, retry_conflicts, target};
use crate::app::App;
use crate::auth::{Access, Caller};
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::input::Fields;
use crate::ops::description::{Description, Method, OtpSecrets, UserAccess};
use crate::proto3;

pub static DESCRIPTION: Description = Description {
    name: "delete",
    summary: "User.delete",
    method: Method::Post,
    path: "/identity/v2/user/delete",
    aliases: &[],
    needs_token: true,
    sends_mail: false,
    hands_over_work: false,
    otp_secrets: OtpSecrets::None,
    request: &proto3::USER_REQUEST,
    required: &["user_id", "domain_id"],
    response: "Empty",
    user: UserAccess::Writes,
    errors: &[ErrorCode::LastAdminCannotDisabledDeleted],
    example: r#"{"user_id": "alice", "domain_id": "domain-local"}"#,
};

pub async fn run(app: &App, caller: &Caller, mut f: Fields) -> Result<Value, ApiError> {
    let (domain_id, user_id) = target(&mut f)?;
    f.finish()?;
    caller.authorize(Access::Admin, &domain_id, &user_id)?;
    retry_conflicts(&user_id, || async {
        let before = load_for(app, caller, &domain_id, &user_id).await?;
        Ok(app.store.delete_user(&before).await)
    })
    .await?;
    Ok(json!({}))
}
