//! get → UserInfo (SPEC 4.11).

use serde_json::Value;

use super::support::{load_for, target};
use crate::app::App;
use crate::auth::{Access, Caller};
use crate::error::ApiError;
use crate::input::Fields;

pub async fn run(app: &App, caller: &Caller, mut f: Fields) -> Result<Value, ApiError> {
    let (domain_id, user_id) = target(&mut f)?;
    f.finish()?;
    caller.authorize(Access::AdminOrSelf, &domain_id, &user_id)?;
    Ok(load_for(app, caller, &domain_id, &user_id).await?.item.into_doc())
}
