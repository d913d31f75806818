//! The signing keys as a JWKS at `/.well-known/jwks.json` (SPEC section 9), read with GET
//! as every JWKS is. Public by nature: no token needed.

use serde_json::Value;

use super::token_issue::issuer;
use crate::app::App;
use crate::error::ApiError;
use crate::input::Fields;
use crate::ops::description::{Description, Method, OtpSecrets, UserAccess};
use crate::proto3;

pub static DESCRIPTION: Description = Description {
    name: "jwks",
    summary: "The token signing keys as a JWKS (cacheable for 300 s)",
    method: Method::Get,
    path: "/.well-known/jwks.json",
    aliases: &[],
    needs_token: false,
    sends_mail: false,
    hands_over_work: false,
    otp_secrets: OtpSecrets::None,
    request: &proto3::EMPTY,
    required: &[],
    response: "Jwks",
    user: UserAccess::None,
    errors: &[],
    example: "",
};

/// Every key a valid token of this issuer may be signed with (the previous keys of a rotation
/// included).
pub async fn run(app: &App, _fields: Fields) -> Result<Value, ApiError> {
    issuer(app)?.jwks().await
}
