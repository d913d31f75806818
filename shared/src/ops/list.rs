//! list (SPEC 4.12). Not implemented yet: the query engine is its own piece of work.
//! The path exists; a DOMAIN_ADMIN of the domain gets 501 ERROR_UNIMPLEMENTED, anyone else the
//! usual 401/403.

use serde_json::Value;

use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::input::Fields;
use crate::model::DomainId;

pub async fn run(_app: &App, caller: &Caller, mut f: Fields) -> Result<Value, ApiError> {
    let domain_id = DomainId::parse("domain_id", f.required_string("domain_id")?)?;
    caller.require_admin(&domain_id)?;
    Err(ApiError::Unimplemented { method: "list" })
}
