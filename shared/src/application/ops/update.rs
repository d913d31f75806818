//! update → UserInfo (SPEC 4.2). Only the given fields change; `tags` replaces the whole object.
//! An admin may require MFA (`enforce_mfa_state`, `enforce_mfa_type`; SPEC section 10).

use serde_json::Value;

use super::second_factor::Enforcement;
use super::support::{Edit, load_for, modify_from, save_once, send_mail, target};
use crate::app::App;
use crate::auth::{Access, Caller};
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::input::Fields;
use crate::mail::Mail;
use crate::model::{AuthType, Email, Language, Name, RequiredAction, Tags, Timezone, User};
use crate::ops::description::{Description, Method, OtpSecrets, UserAccess};
use crate::proto3;
use crate::secrets::{Password, PasswordHash};
use crate::store::{CodeChange, CodePurpose};

pub static DESCRIPTION: Description = Description {
    name: "update",
    summary: "User.update",
    method: Method::Post,
    path: "/identity/v2/user/update",
    aliases: &[],
    needs_token: true,
    sends_mail: true,
    hands_over_work: false,
    otp_secrets: OtpSecrets::None,
    request: &proto3::UPDATE_USER_REQUEST,
    required: &["user_id", "domain_id"],
    response: "UserInfo",
    user: UserAccess::Writes,
    errors: &[
        ErrorCode::IncorrectPasswordFormat,
        ErrorCode::IncorrectEmailFormat,
        ErrorCode::PasswordNotChanged,
        ErrorCode::UnableToResetPasswordInExternalAuth,
        ErrorCode::UnableToResetPasswordWithoutEmail,
        ErrorCode::VerificationUnavailable,
    ],
    example: r#"{"user_id": "alice", "domain_id": "domain-local", "name": "Alice Liddell", "tags": {"team": "core"}}"#,
};

/// The profile fields an update may carry. `email: Some(None)` clears the email.
struct Profile {
    name: Option<Name>,
    email: Option<Option<Email>>,
    language: Option<Language>,
    timezone: Option<Timezone>,
    tags: Option<Tags>,
}

impl Profile {
    fn apply(&self, user: &mut User) {
        if let Some(name) = &self.name {
            user.name = name.clone();
        }
        if let Some(email) = &self.email {
            if &user.email != email {
                user.email_verified = false;
            }
            user.email = email.clone();
        }
        if let Some(language) = &self.language {
            user.language = language.clone();
        }
        if let Some(timezone) = &self.timezone {
            user.timezone = timezone.clone();
        }
        if let Some(tags) = &self.tags {
            user.tags = tags.clone();
        }
    }
}

pub async fn run(app: &App, caller: &Caller, mut f: Fields) -> Result<Value, ApiError> {
    let (domain_id, user_id) = target(&mut f)?;
    let password = f.non_empty("password")?;
    let reset_password = f.flag("reset_password")?;
    let profile = Profile {
        name: f.string("name")?.map(|n| Name::parse("name", &n)).transpose()?,
        email: f
            .string("email")?
            .map(|e| Email::parse_optional("email", &e))
            .transpose()?,
        // "" is the proto3 default, not given (as in create).
        language: f
            .non_empty("language")?
            .map(|l| Language::parse("language", &l))
            .transpose()?,
        timezone: f
            .non_empty("timezone")?
            .map(|t| Timezone::parse("timezone", &t))
            .transpose()?,
        tags: f.object("tags")?.map(|t| Tags::parse("tags", t)).transpose()?,
    };
    let enforcement = Enforcement::read(&mut f)?;
    f.finish()?;
    // With reset_password the temporary password replaces a given one, as in create.
    let password = match (reset_password, password) {
        (false, Some(p)) => Some(Password::parse(p)?),
        _ => None,
    };
    caller.authorize(Access::AdminOrSelf, &domain_id, &user_id)?;
    enforcement.authorize(caller, &domain_id)?;

    if reset_password {
        return reset(app, caller, &domain_id, &user_id, &profile, enforcement).await;
    }
    let first = load_for(app, caller, &domain_id, &user_id).await?;
    let new_password = match &password {
        Some(plain) => Some(NewPassword::check(&first.item, plain).await?),
        None => None,
    };
    let user = modify_from(app, first, |current| {
        let mut user = current.clone();
        if let Some(new_password) = &new_password {
            new_password.set(&mut user)?;
        }
        profile.apply(&mut user);
        enforced(user, enforcement)
    })
    .await?;
    Ok(user.into_doc())
}

/// The edit of `user` with `enforcement` applied: a pending factor of a type no longer allowed
/// goes with the write.
fn enforced(mut user: User, enforcement: Enforcement) -> Result<Edit, ApiError> {
    let discard = enforcement.apply(&mut user)?;
    Ok(Edit {
        user,
        code: if discard {
            CodeChange::Discard(CodePurpose::Mfa)
        } else {
            CodeChange::None
        },
    })
}

/// A new password, hashed, and checked against the hash it replaces. Both Argon2 computations
/// happen once per request, before the write: a retry after a lost race reuses them.
struct NewPassword {
    hash: PasswordHash,
    /// The stored hash the new password was compared with (none: the user had no password).
    replaces: Option<PasswordHash>,
}

impl NewPassword {
    async fn check(user: &User, plain: &Password) -> Result<Self, ApiError> {
        refuse_external(user)?;
        if let Some(current) = &user.password_hash
            && current.verifies(plain.expose()).await?
        {
            return Err(ApiError::PasswordNotChanged);
        }
        Ok(Self {
            hash: plain.hash().await?,
            replaces: user.password_hash.clone(),
        })
    }

    /// Sets the password on the user as it is now. Should a concurrent write have changed the
    /// password since the check, the check no longer holds: ERROR_CONFLICT, for the client to
    /// retry, rather than another Argon2 verification inside the retry loop.
    fn set(&self, user: &mut User) -> Result<(), ApiError> {
        refuse_external(user)?;
        if user.password_hash != self.replaces {
            return Err(ApiError::Conflict {
                user_id: user.user_id.to_string(),
            });
        }
        user.password_hash = Some(self.hash.clone());
        user.required_actions.retain(|a| *a != RequiredAction::UpdatePassword);
        Ok(())
    }
}

fn refuse_external(user: &User) -> Result<(), ApiError> {
    if user.auth_type == AuthType::External {
        return Err(ApiError::UnableToResetPasswordInExternalAuth {
            user_id: user.user_id.to_string(),
        });
    }
    Ok(())
}

/// update with reset_password: a temporary password mailed to the stored, verified email.
async fn reset(
    app: &App,
    caller: &Caller,
    domain_id: &crate::model::DomainId,
    user_id: &crate::model::UserId,
    profile: &Profile,
    enforcement: Enforcement,
) -> Result<Value, ApiError> {
    let before = load_for(app, caller, domain_id, user_id).await?;
    let current = &before.item;
    let user_id_text = || current.user_id.to_string();
    if current.auth_type == AuthType::External {
        return Err(ApiError::UnableToResetPasswordInExternalAuth {
            user_id: user_id_text(),
        });
    }
    let Some(email) = current.email.clone() else {
        return Err(ApiError::UnableToResetPasswordWithoutEmail {
            user_id: user_id_text(),
        });
    };
    let email_changes = profile.email.as_ref().is_some_and(|new| new.as_ref() != Some(&email));
    if !current.email_verified || email_changes {
        return Err(ApiError::VerificationUnavailable {
            user_id: user_id_text(),
        });
    }
    let temporary = Password::temporary();
    let mut user = current.clone();
    profile.apply(&mut user);
    // Checked before the mail goes out; applied to the user the write starts from.
    let edit = enforced(user, enforcement)?;
    let mut user = edit.user;
    user.password_hash = Some(temporary.hash().await?);
    user.add_required_action(RequiredAction::UpdatePassword);
    // Mail first: if it fails, nothing changes.
    send_mail(
        app,
        Mail::TemporaryPassword {
            password: temporary.expose(),
        },
        &user,
        email.as_str(),
    )
    .await?;
    let saved = save_once(app, &before, Edit { user, code: edit.code }).await?;
    Ok(saved.into_doc())
}
