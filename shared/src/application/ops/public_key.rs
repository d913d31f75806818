//! The signing key's publication the Cloudforet way, `domain/get-public-key` (SPEC section 9;
//! the JWKS is `super::jwks`). Public by nature: no token needed.

use serde_json::{Value, json};

use super::token_issue::issuer;
use crate::app::App;
use crate::error::ApiError;
use crate::input::Fields;
use crate::model::DomainId;
use crate::ops::description::{Description, Method, OtpSecrets, UserAccess};
use crate::proto3;

pub static DESCRIPTION: Description = Description {
    name: "domain.get_public_key",
    summary: "Domain.get_public_key: the token signing key, as a JWK in a string",
    method: Method::Post,
    path: "/identity/v2/domain/get-public-key",
    aliases: &[],
    needs_token: false,
    sends_mail: false,
    hands_over_work: false,
    otp_secrets: OtpSecrets::None,
    request: &proto3::DOMAIN_REQUEST,
    required: &["domain_id"],
    response: "PublicKeyInfo",
    user: UserAccess::None,
    errors: &[],
    example: r#"{"domain_id": "domain-local"}"#,
};

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
