//! delete → {} (SPEC 4.10): the user, its role binding (kept on the user record), its pending
//! codes and its reset window go in one transaction. The last enabled DOMAIN_ADMIN of a domain
//! cannot be deleted.

use serde_json::{Value, json};

use super::support::{backoff, load, store_error, target};
use crate::app::App;
use crate::auth::{Access, Caller};
use crate::error::ApiError;
use crate::input::Fields;
use crate::store::StoreError;

const DELETE_ATTEMPTS: u32 = 8;

pub async fn run(app: &App, caller: &Caller, mut f: Fields) -> Result<Value, ApiError> {
    let (domain_id, user_id) = target(&mut f)?;
    f.finish()?;
    caller.authorize(Access::Admin, &domain_id, &user_id)?;
    let mut attempt = 0;
    loop {
        let before = load(app, &domain_id, &user_id).await?;
        match app.store.delete_user(&before).await {
            Ok(()) => return Ok(json!({})),
            Err(StoreError::Conflict) if attempt + 1 < DELETE_ATTEMPTS => {
                attempt += 1;
                backoff(attempt).await;
            }
            Err(e) => return Err(store_error(e, &user_id)),
        }
    }
}
