//! enable_mfa → UserInfo (SPEC 4.7 and 10). Stores the MFA settings (still DISABLED) and, for
//! EMAIL, mails a code; for OTP, makes a secret and answers its `otp_qrcode_uri` once. MFA turns
//! ENABLED only through confirm_mfa.

use serde_json::{Map, Value};

use super::second_factor::{MFA_CODE_TTL, TO_ENABLE, otp_record, vault_error};
use super::support::{Edit, load_for, mail_code, modify_from, save_once, target};
use crate::app::App;
use crate::auth::{Access, Caller};
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::input::Fields;
use crate::model::{Email, Mfa, MfaState, MfaType, User, Versioned};
use crate::ops::description::{Description, Method, OtpSecrets, UserAccess};
use crate::otp::OtpSecret;
use crate::proto3;
use crate::store::{CodeChange, CodePurpose};
use crate::vault::Owner;

pub static DESCRIPTION: Description = Description {
    name: "enable_mfa",
    summary: "User.enable_mfa",
    method: Method::Post,
    path: "/identity/v2/user/enable-mfa",
    aliases: &[],
    needs_token: true,
    sends_mail: true,
    hands_over_work: false,
    otp_secrets: OtpSecrets::Seals,
    request: &proto3::ENABLE_MFA_REQUEST,
    required: &["user_id", "domain_id", "mfa_type"],
    response: "UserInfo",
    user: UserAccess::Writes,
    errors: &[
        ErrorCode::NotSupportedMfaType,
        ErrorCode::IncorrectEmailFormat,
        ErrorCode::MfaAlreadyEnabled,
    ],
    example: r#"{"user_id": "alice", "domain_id": "domain-local", "mfa_type": "OTP", "options": {}}"#,
};

pub async fn run(app: &App, caller: &Caller, mut f: Fields) -> Result<Value, ApiError> {
    let (domain_id, user_id) = target(&mut f)?;
    let mfa_type = f.required_string("mfa_type")?;
    let options = f.object("options")?;
    f.finish()?;
    let mfa_type = MfaType::parse(&mfa_type).map_err(|_| ApiError::NotSupportedMfaType { mfa_type })?;
    let email = match mfa_type {
        MfaType::Email => Some(options_email(options.ok_or_else(|| ApiError::required("options"))?)?),
        MfaType::Otp => {
            no_otp_options(options)?;
            None
        }
    };
    caller.authorize(Access::SelfOnly, &domain_id, &user_id)?;

    let before = load_for(app, caller, &domain_id, &user_id).await?;
    check_may_enable(&before.item, mfa_type)?;
    match email {
        Some(email) => enable_email(app, before, email).await,
        None => enable_otp(app, before).await,
    }
}

/// MFA already on, or an admin requires another type (SPEC section 10).
fn check_may_enable(user: &User, mfa_type: MfaType) -> Result<(), ApiError> {
    if user.mfa.is_enabled() {
        return Err(ApiError::MfaAlreadyEnabled {
            user_id: user.user_id.to_string(),
        });
    }
    if user.mfa_enforced && user.mfa.mfa_type.is_some_and(|enforced| enforced != mfa_type) {
        return Err(ApiError::invalid(
            "mfa_type",
            format!(
                "an admin requires MFA of type {} of this user",
                user.mfa.mfa_type.map_or("", MfaType::as_str)
            ),
        ));
    }
    Ok(())
}

/// EMAIL: the settings are stored (still DISABLED) and a code is mailed to the address.
async fn enable_email(app: &App, before: Versioned<User>, email: Email) -> Result<Value, ApiError> {
    let mut user = before.item.clone();
    user.mfa = Mfa {
        state: MfaState::Disabled,
        mfa_type: Some(MfaType::Email),
        email: Some(email.clone()),
    };
    user.otp = None;
    let record = mail_code(app, &user, CodePurpose::Mfa, TO_ENABLE, MFA_CODE_TTL, email.as_str()).await?;
    let saved = save_once(
        app,
        &before,
        Edit {
            user,
            code: CodeChange::Issue(record),
        },
    )
    .await?;
    Ok(saved.into_doc())
}

/// OTP (SPEC section 10): a new secret, sealed, pending for [`MFA_CODE_TTL`] in the record
/// confirm_mfa checks; no mail. This answer is the only place its URI ever appears.
async fn enable_otp(app: &App, before: Versioned<User>) -> Result<Value, ApiError> {
    let secret = OtpSecret::generate().map_err(|error| {
        tracing::error!(%error, "no OTP secret");
        ApiError::Unavailable {
            service: "random source",
        }
    })?;
    let current = &before.item;
    let owner = Owner {
        domain_id: &current.domain_id,
        user_id: &current.user_id,
    };
    let sealed = app.vault.seal(owner, &secret).await.map_err(vault_error)?;
    let record = otp_record(app, current, TO_ENABLE, Some(sealed));
    let user = modify_from(app, before, |current| {
        check_may_enable(current, MfaType::Otp)?;
        let mut user = current.clone();
        user.mfa = Mfa {
            state: MfaState::Disabled,
            mfa_type: Some(MfaType::Otp),
            email: None,
        };
        user.otp = None;
        Ok(Edit {
            user,
            code: CodeChange::Issue(record.clone()),
        })
    })
    .await?;
    let uri = secret.uri(&app.otp_issuer, user.user_id.as_str());
    let mut doc = user.into_doc();
    if let Some(options) = doc
        .get_mut("mfa")
        .and_then(|mfa| mfa.get_mut("options"))
        .and_then(Value::as_object_mut)
    {
        options.insert("otp_qrcode_uri".into(), uri.into());
    }
    Ok(doc)
}

/// `options` of an EMAIL factor: exactly `{"email": "<address>"}`.
fn options_email(mut options: Map<String, Value>) -> Result<Email, ApiError> {
    let email = match options.remove("email") {
        Some(Value::String(s)) => Email::parse("options.email", &s)?,
        None | Some(Value::Null) => return Err(ApiError::required("options.email")),
        Some(_) => return Err(ApiError::invalid("options.email", "must be a string")),
    };
    if let Some(key) = options.keys().next() {
        return Err(ApiError::invalid(format!("options.{key}"), "unknown field"));
    }
    Ok(email)
}

/// `options` of an OTP factor: absent or `{}` (SPEC section 10).
fn no_otp_options(options: Option<Map<String, Value>>) -> Result<(), ApiError> {
    match options.as_ref().and_then(|o| o.keys().next()) {
        Some(key) => Err(ApiError::invalid(
            format!("options.{key}"),
            "unknown field; an OTP factor takes no options",
        )),
        None => Ok(()),
    }
}
