//! stat → Struct (SPEC 4.13): a StatisticsQuery over the domain's users.

use serde_json::Value;

use super::support::off_the_workers;
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::input::Fields;
use crate::model::DomainId;
use crate::query::StatQuery;

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
