//! stat → Struct (SPEC 4.13): a StatisticsQuery over the domain's users.

use serde_json::Value;

use super::support::off_the_workers;
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::input::Fields;
use crate::model::DomainId;
use crate::ops::description::{Alias, Description, Method, OtpSecrets, UserAccess};
use crate::proto3;
use crate::query::StatQuery;

pub static DESCRIPTION: Description = Description {
    name: "stat",
    summary: "User.stat",
    method: Method::Post,
    path: "/identity/v1/user/stat",
    aliases: &[Alias {
        path: "/identity/v2/user/stat",
        operation_id: "stat_v2",
        summary: "User.stat (alias of /identity/v1/user/stat)",
    }],
    needs_token: true,
    sends_mail: false,
    hands_over_work: false,
    otp_secrets: OtpSecrets::None,
    request: &proto3::USER_STAT_QUERY,
    required: &["domain_id", "query"],
    response: "StatResult",
    user: UserAccess::None,
    errors: &[ErrorCode::DbQuery],
    example: r#"{"domain_id": "domain-local", "query": {"aggregate": [{"group": {"keys": [{"key": "state", "name": "state"}], "fields": [{"operator": "count", "name": "count"}]}}]}}"#,
};

pub async fn run(app: &App, caller: &Caller, mut f: Fields) -> Result<Value, ApiError> {
    let domain_id = DomainId::parse("domain_id", f.required_string("domain_id")?)?;
    let raw_query = f.object("query")?.ok_or_else(|| ApiError::required("query"))?;
    f.finish()?;
    let query = StatQuery::parse(raw_query, app.clock.now())?;
    caller.require_admin(&domain_id)?;
    let users = super::support::domain_users_for(app, caller, &domain_id).await?;
    // Compiling the patterns and aggregating a domain are CPU work: off the async workers.
    off_the_workers(move || Ok(query.compile()?.run(&users))).await?
}
