//! `users-local`: the whole API on one machine, on the embedded store and the outbox.

mod provision;
mod server;

pub use crate::web::console::PATH as CONSOLE_PATH;
pub use provision::{Summary, provision_lines};
pub use server::{ServeOptions, serve};

use shared::auth::{DevKey, TokenRequest};
use shared::model::RoleType;

/// The domain the printed start-up token is for.
pub const LOCAL_DOMAIN: &str = "domain-local";
/// The printed token's lifetime.
pub const BANNER_TOKEN_TTL: i64 = 12 * 3600;

/// Signs a dev token, for `users-local token` and the start-up banner.
pub fn dev_token(
    key: &DevKey,
    domain_id: &str,
    user_id: &str,
    role: RoleType,
    ttl_seconds: i64,
) -> Result<String, String> {
    key.sign(&TokenRequest {
        domain_id,
        user_id,
        role,
        ttl_seconds,
    })
    .map_err(|e| e.to_string())
}
