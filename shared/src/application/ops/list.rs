//! list → UsersInfo (SPEC 4.12): a Query over the domain's users, plus the shortcut filters
//! `user_id`, `name`, `state`, `email`, `auth_type` (each an `eq`) and `workspace_id` (users
//! bound to that workspace).

use serde_json::Value;

use super::support::off_the_workers;
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::input::Fields;
use crate::model::{AuthType, DomainId, State};
use crate::ops::description::{Description, Method, OtpSecrets, UserAccess};
use crate::proto3;
use crate::query::{Condition, Query};

pub static DESCRIPTION: Description = Description {
    name: "list",
    summary: "User.list",
    method: Method::Post,
    path: "/identity/v2/user/list",
    aliases: &[],
    needs_token: true,
    sends_mail: false,
    hands_over_work: false,
    otp_secrets: OtpSecrets::None,
    request: &proto3::USER_SEARCH_QUERY,
    required: &["domain_id"],
    response: "UsersInfo",
    user: UserAccess::None,
    errors: &[ErrorCode::DbQuery],
    example: r#"{"domain_id": "domain-local", "query": {"filter": [{"k": "state", "v": "ENABLED", "o": "eq"}], "page": {"start": 1, "limit": 20}}}"#,
};

pub async fn run(app: &App, caller: &Caller, mut f: Fields) -> Result<Value, ApiError> {
    let domain_id = DomainId::parse("domain_id", f.required_string("domain_id")?)?;
    let raw_query = f.object("query")?;
    let mut shortcuts = Vec::new();
    for key in ["user_id", "name", "email"] {
        if let Some(value) = f.non_empty(key)? {
            shortcuts.push(Condition::eq(key, Value::String(value)));
        }
    }
    if let Some(state) = f.non_empty("state")? {
        let state = State::parse(&state).map_err(|r| ApiError::invalid("state", r))?;
        shortcuts.push(Condition::eq("state", state.as_str().into()));
    }
    if let Some(auth_type) = f.non_empty("auth_type")? {
        let auth_type = AuthType::parse(&auth_type).map_err(|r| ApiError::invalid("auth_type", r))?;
        shortcuts.push(Condition::eq("auth_type", auth_type.as_str().into()));
    }
    let workspace_id = f.non_empty("workspace_id")?;
    f.finish()?;
    // The whole query is parsed and checked before anything is read; its patterns are
    // compiled only once the caller may run it.
    let query = Query::parse(raw_query, app.clock.now())?;
    caller.require_admin(&domain_id)?;

    let users = super::support::domain_users_for(app, caller, &domain_id).await?;
    off_the_workers(move || {
        let mut query = query.compile()?;
        for condition in shortcuts {
            query.require(condition);
        }
        let in_workspace = |u: &crate::model::User| {
            workspace_id
                .as_deref()
                .is_none_or(|w| u.workspace_id.as_ref().is_some_and(|id| id.as_str() == w))
        };
        let members: Vec<&crate::model::User> = users.iter().filter(|u| in_workspace(u)).collect();
        Ok(query.run(&members))
    })
    .await?
}
