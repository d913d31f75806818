//! disable → UserInfo (SPEC 4.10). The last enabled DOMAIN_ADMIN of a domain cannot be disabled.

use serde_json::Value;

use super::enable::set_state;
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::input::Fields;
use crate::model::State;

pub async fn run(app: &App, caller: &Caller, f: Fields) -> Result<Value, ApiError> {
    set_state(app, caller, f, State::Disabled).await
}
