//! token.grant (SPEC section 9): a refresh token of this issuer becomes an access token for a
//! scope. The refresh token's user must exist, be ENABLED and not have revoked its tokens
//! since (SPEC section 5); the role comes from the user as stored now, not from the token.

use serde_json::{Value, json};

use super::support::read_record;
use super::token_issue::{issuer, read_timeout};
use crate::app::App;
use crate::auth::issuer::TokenSubject;
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::input::Fields;
use crate::model::{DomainId, RoleType, State, User, UserId, WorkspaceId};
use crate::ops::description::{Description, Method, OtpSecrets, UserAccess};
use crate::proto3;

pub static DESCRIPTION: Description = Description {
    name: "token.grant",
    summary: "Token.grant: an access token for a scope, from a refresh token",
    method: Method::Post,
    path: "/identity/v2/token/grant",
    aliases: &[],
    needs_token: false,
    sends_mail: false,
    hands_over_work: false,
    otp_secrets: OtpSecrets::None,
    request: &proto3::GRANT_TOKEN_REQUEST,
    required: &["grant_type", "token", "scope"],
    response: "GrantTokenInfo",
    user: UserAccess::None,
    errors: &[ErrorCode::AuthenticateFailure, ErrorCode::PermissionDenied],
    example: r#"{"domain_id": "domain-local", "grant_type": "REFRESH_TOKEN", "token": "<the refresh_token of token/issue>", "scope": "DOMAIN"}"#,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Domain,
    Workspace,
    User,
}

pub async fn run(app: &App, mut f: Fields) -> Result<Value, ApiError> {
    match f.non_empty("grant_type")?.as_deref() {
        Some("REFRESH_TOKEN") => {}
        None => return Err(ApiError::required("grant_type")),
        Some(_) => return Err(ApiError::invalid("grant_type", "only REFRESH_TOKEN is supported")),
    }
    let token = f.required_string("token")?;
    let scope = match f.non_empty("scope")?.as_deref() {
        Some("DOMAIN") => Scope::Domain,
        Some("WORKSPACE") => Scope::Workspace,
        Some("USER") => Scope::User,
        None => return Err(ApiError::required("scope")),
        Some(_) => return Err(ApiError::invalid("scope", "must be DOMAIN, WORKSPACE or USER")),
    };
    let workspace_id = f
        .non_empty("workspace_id")?
        .map(|w| WorkspaceId::parse("workspace_id", w))
        .transpose()?;
    if scope == Scope::Workspace && workspace_id.is_none() {
        return Err(ApiError::required("workspace_id"));
    }
    let domain_id = f
        .non_empty("domain_id")?
        .map(|d| DomainId::parse("domain_id", d))
        .transpose()?;
    let timeout = read_timeout(&mut f)?;
    f.finish()?;

    let issuer = issuer(app)?;
    let refresh = app.tokens.verify_refresh(&token).await?;
    if domain_id.as_ref().is_some_and(|d| d != &refresh.domain_id) {
        return Err(ApiError::PermissionDenied {
            reason: "the token belongs to another domain",
        });
    }
    let user = standing_user(app, &refresh).await?;
    let role = role_in(&user, scope, workspace_id.as_ref())?;
    let wid = (scope == Scope::Workspace)
        .then(|| workspace_id.as_ref().map(WorkspaceId::as_str))
        .flatten();
    let subject = TokenSubject::of(&user);
    let ttl = timeout.unwrap_or(issuer.access_ttl);
    let access_token = issuer.access_token(&subject, role, wid, ttl).await?;
    Ok(json!({"access_token": access_token, "role_type": role.as_str()}))
}

/// The refresh token's user, if it still stands: present, ENABLED, tokens not revoked.
async fn standing_user(app: &App, refresh: &crate::auth::RefreshToken) -> Result<User, ApiError> {
    let gone = ApiError::AuthenticateFailure {
        reason: "the refresh token's user is gone, disabled or has revoked its tokens",
    };
    let Ok(user_id) = UserId::parse("aud", refresh.user_id.clone()) else {
        return Err(gone);
    };
    // The same standing check as every User API call (deleted users, `gen` without a user,
    // the creation second), then: the user must be there and ENABLED.
    let record = read_record(app, &refresh.domain_id, &user_id).await?;
    refresh.stamp.check_standing(&record).map_err(|_| gone.clone())?;
    match record.into_user() {
        Some(user) if user.item.state == State::Enabled => Ok(user.item),
        _ => Err(gone),
    }
}

/// The role a scope gives this user, or 403.
fn role_in(user: &User, scope: Scope, workspace_id: Option<&WorkspaceId>) -> Result<RoleType, ApiError> {
    let admin = user.role_type == RoleType::DomainAdmin;
    match scope {
        Scope::User => Ok(RoleType::User),
        Scope::Domain if admin => Ok(RoleType::DomainAdmin),
        Scope::Domain => Err(ApiError::PermissionDenied {
            reason: "only a DOMAIN_ADMIN may have a DOMAIN scope token",
        }),
        // A domain admin enters every workspace as its owner.
        Scope::Workspace if admin => Ok(RoleType::WorkspaceOwner),
        Scope::Workspace => {
            let bound = user.workspace_id.as_ref() == workspace_id
                && matches!(user.role_type, RoleType::WorkspaceOwner | RoleType::WorkspaceMember);
            if bound {
                Ok(user.role_type)
            } else {
                Err(ApiError::PermissionDenied {
                    reason: "the user has no role in this workspace",
                })
            }
        }
    }
}
