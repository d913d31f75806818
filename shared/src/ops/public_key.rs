//! The signing key's publication (SPEC section 9): `domain/get-public-key`, the Cloudforet
//! way, and the JWKS at `/.well-known/jwks.json`. Public by nature: no token needed.

use serde_json::{Value, json};

use super::token_issue::issuer;
use crate::app::App;
use crate::error::ApiError;
use crate::input::Fields;
use crate::model::DomainId;

/// `{domain_id}` → `{"public_key": "<the signing key's public JWK as a JSON string>", "domain_id"}`.
/// One key signs for every domain, so any well-formed domain_id gets it.
pub async fn run(app: &App, mut f: Fields) -> Result<Value, ApiError> {
    let domain_id = DomainId::parse("domain_id", f.required_string("domain_id")?)?;
    f.finish()?;
    let keys = issuer(app)?.public_keys().await?;
    let current = keys.first().ok_or(ApiError::Unavailable {
        service: "token signing",
    })?;
    Ok(json!({"public_key": current.jwk.to_string(), "domain_id": domain_id.as_str()}))
}

/// Every key a valid token of this issuer may be signed with (the previous keys of a rotation
/// included).
pub async fn jwks(app: &App) -> Result<Value, ApiError> {
    issuer(app)?.jwks().await
}
