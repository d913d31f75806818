//! create → UserInfo (SPEC 4.1).

use serde_json::Value;

use super::second_factor::Enforcement;
use super::support::{now, send_mail, store_error, target};
use crate::app::App;
use crate::auth::{Access, Caller};
use crate::error::ErrorCode;
use crate::error::{ApiError, quoted};
use crate::input::Fields;
use crate::mail::Mail;
use crate::model::{
    AuthType, Email, Language, Mfa, Name, PermissionGroup, RequiredAction, RoleBinding, RoleType, State, Tags,
    Timestamp, Timezone, User, UserId, WorkspaceId,
};
use crate::ops::description::{Description, Method, OtpSecrets, UserAccess};
use crate::proto3;
use crate::secrets::Password;

pub static DESCRIPTION: Description = Description {
    name: "create",
    summary: "User.create",
    method: Method::Post,
    path: "/identity/v2/user/create",
    aliases: &[],
    needs_token: true,
    sends_mail: true,
    hands_over_work: false,
    otp_secrets: OtpSecrets::None,
    request: &proto3::CREATE_USER_REQUEST,
    required: &["user_id", "domain_id", "auth_type", "permission_group"],
    response: "UserInfo",
    user: UserAccess::None,
    errors: &[
        ErrorCode::IncorrectPasswordFormat,
        ErrorCode::IncorrectEmailFormat,
        ErrorCode::UnableToResetPasswordInExternalAuth,
        ErrorCode::UnableToResetPasswordWithoutEmail,
        ErrorCode::InvalidRole,
        ErrorCode::NotUnique,
    ],
    example: r#"{"user_id": "alice", "domain_id": "domain-local", "auth_type": "LOCAL", "password": "Wonderland1", "permission_group": "DOMAIN", "reset_password": false, "email": "alice@example.com", "name": "Alice"}"#,
};

/// The managed roles and the role type each confers.
const MANAGED_ROLES: [(&str, RoleType); 3] = [
    ("managed-domain-admin", RoleType::DomainAdmin),
    ("managed-workspace-owner", RoleType::WorkspaceOwner),
    ("managed-workspace-member", RoleType::WorkspaceMember),
];

/// How the new user gets a password.
enum Credential {
    /// EXTERNAL users have none.
    None,
    Given(Password),
    /// Generated and mailed (reset_password).
    Temporary(Password),
}

pub async fn run(app: &App, caller: &Caller, mut f: Fields) -> Result<Value, ApiError> {
    let (domain_id, user_id) = target(&mut f)?;
    let auth_type = AuthType::parse(&f.required_string("auth_type")?).map_err(|r| ApiError::invalid("auth_type", r))?;
    let reset_password = f.flag("reset_password")?;
    let group = PermissionGroup::parse(&f.required_string("permission_group")?)
        .map_err(|r| ApiError::invalid("permission_group", r))?;
    let password = f.non_empty("password")?;
    let name = f
        .string("name")?
        .map(|n| Name::parse("name", &n))
        .transpose()?
        .unwrap_or_default();
    let email = f
        .string("email")?
        .map(|e| Email::parse_optional("email", &e))
        .transpose()?
        .flatten();
    let language = f
        .non_empty("language")?
        .map(|l| Language::parse("language", &l))
        .transpose()?;
    let timezone = f
        .non_empty("timezone")?
        .map(|t| Timezone::parse("timezone", &t))
        .transpose()?;
    let tags = f
        .object("tags")?
        .map(|t| Tags::parse("tags", t))
        .transpose()?
        .unwrap_or_default();
    let role_id = f.non_empty("role_id")?;
    let workspace_id = f
        .non_empty("workspace_id")?
        .map(|w| WorkspaceId::parse("workspace_id", w))
        .transpose()?;
    let enforcement = Enforcement::read(&mut f)?;
    f.finish()?;

    let (role_type, role_binding) = resolve_role(group, role_id, workspace_id.as_ref())?;
    let credential = credential(&user_id, auth_type, reset_password, password, email.as_ref())?;
    caller.authorize(Access::Admin, &domain_id, &user_id)?;
    super::support::check_caller(app, caller, &domain_id).await?;

    // The hash to store, and the temporary password to mail (reset_password only).
    let (password_hash, temporary) = match credential {
        Credential::None => (None, None),
        Credential::Given(p) => (Some(p.hash().await?), None),
        Credential::Temporary(p) => (Some(p.hash().await?), Some(p)),
    };
    let mut user = User {
        domain_id,
        user_id,
        name,
        state: State::Enabled,
        email,
        email_verified: false,
        auth_type,
        role_type,
        role_binding,
        workspace_id,
        mfa: Mfa::default(),
        language: language.unwrap_or_default(),
        timezone: timezone.unwrap_or_default(),
        required_actions: if temporary.is_some() {
            vec![RequiredAction::UpdatePassword]
        } else {
            vec![]
        },
        tags,
        created_at: now(app),
        last_accessed_at: None,
        password_hash,
        token_generation: 0,
        tokens_revoked_at: None,
        mfa_enforced: false,
        otp: None,
    };
    // Real time, whatever the App's clock says: it is compared with tokens' `iat`.
    user.start_tokens(Timestamp::new(chrono::Utc::now()));
    enforcement.apply(&mut user)?;

    if let (Some(password), Some(to)) = (&temporary, &user.email) {
        // Refuse a duplicate before mailing a password that would never work; the conditional
        // create below still settles races.
        let existing = app
            .store
            .get_user(&user.domain_id, &user.user_id)
            .await
            .map_err(|e| store_error(e, &user.user_id))?;
        if existing.is_some() {
            return Err(ApiError::NotUnique {
                user_id: user.user_id.to_string(),
            });
        }
        // Mail before the write: if the mail fails, no user is created.
        send_mail(
            app,
            Mail::TemporaryPassword {
                password: password.expose(),
            },
            &user,
            to.as_str(),
        )
        .await?;
    }
    let created = app
        .store
        .create_user(&user)
        .await
        .map_err(|e| store_error(e, &user.user_id))?;
    Ok(created.item.into_doc())
}

fn resolve_role(
    group: PermissionGroup,
    role_id: Option<String>,
    workspace_id: Option<&WorkspaceId>,
) -> Result<(RoleType, Option<RoleBinding>), ApiError> {
    let Some(role_id) = role_id else {
        return Ok((RoleType::User, None));
    };
    let role_type = MANAGED_ROLES
        .iter()
        .find(|(id, _)| *id == role_id)
        .map(|(_, role_type)| *role_type)
        .ok_or_else(|| ApiError::InvalidRole {
            reason: format!("unknown role_id {}", quoted(&role_id)),
        })?;
    match (group, role_type) {
        (PermissionGroup::Domain, RoleType::DomainAdmin) => {}
        (PermissionGroup::Workspace, RoleType::WorkspaceOwner | RoleType::WorkspaceMember) => {
            if workspace_id.is_none() {
                return Err(ApiError::required("workspace_id"));
            }
        }
        _ => {
            return Err(ApiError::InvalidRole {
                reason: format!(
                    "role_id {} cannot be bound with permission_group {group}",
                    quoted(&role_id)
                ),
            });
        }
    }
    Ok((role_type, Some(RoleBinding { role_id, role_type })))
}

fn credential(
    user_id: &UserId,
    auth_type: AuthType,
    reset_password: bool,
    password: Option<String>,
    email: Option<&Email>,
) -> Result<Credential, ApiError> {
    match (auth_type, reset_password, password) {
        (AuthType::External, true, _) => Err(ApiError::UnableToResetPasswordInExternalAuth {
            user_id: user_id.to_string(),
        }),
        (AuthType::External, false, Some(_)) => Err(ApiError::invalid("password", "EXTERNAL users have no password")),
        (AuthType::External, false, None) => Ok(Credential::None),
        (AuthType::Local, true, _) => match email {
            // A given password is replaced by the temporary one, so it is not checked.
            Some(_) => Ok(Credential::Temporary(Password::temporary())),
            None => Err(ApiError::UnableToResetPasswordWithoutEmail {
                user_id: user_id.to_string(),
            }),
        },
        (AuthType::Local, false, None) => Err(ApiError::required("password")),
        (AuthType::Local, false, Some(password)) => Password::parse(password).map(Credential::Given),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document's list of role ids is the managed roles, and `""` (not given).
    #[test]
    fn the_documented_role_ids_are_the_managed_roles() {
        let documented = proto3::CREATE_USER_REQUEST
            .fields
            .iter()
            .find(|f| f.name == "role_id")
            .map(|f| f.rule.one_of)
            .unwrap_or_default();
        let mut expected = vec![""];
        expected.extend(MANAGED_ROLES.iter().map(|(id, _)| *id));
        assert_eq!(documented, expected.as_slice());
    }
}
