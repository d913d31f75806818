//! token.issue (SPEC section 9): sign-in with user_id and password, then MFA when the user has
//! it on. Every failure is the same 401 with the same message, and takes the same time: the
//! attempt is counted and the user read for everyone, and an unknown user's password is
//! checked against a dummy hash.
//!
//! The attempt is counted before the password is checked (`UserStore::claim_sign_in`), so
//! parallel guesses never check more than five passwords; only a whole success (tokens
//! issued) clears the count. An MFA code mail counts as an attempt too: five code mails
//! without a completed sign-in lock like five wrong passwords, which also stops anyone who
//! knows the password from re-rolling codes without end.

use chrono::TimeDelta;
use serde_json::{Map, Value, json};

use super::second_factor::{accepted_step, open_secret};
use super::support::{check_code, mail_code, modify_from, now, store_error};
use crate::app::App;
use crate::auth::issuer::{Issuer, MAX_ACCESS_TTL, TokenSubject};
use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::input::Fields;
use crate::model::{AuthType, DomainId, MfaType, RoleType, State, User, UserId, Versioned};
use crate::ops::description::{Description, Method, OtpSecrets, UserAccess};
use crate::otp::Sealed;
use crate::proto3;
use crate::secrets::PasswordHash;
use crate::store::{CodeChange, CodePurpose, CodeRecord, SignInClaim};
use crate::telemetry::{self, SignIn};

pub static DESCRIPTION: Description = Description {
    name: "token.issue",
    summary: "Token.issue: sign in with user_id and password (then an MFA code)",
    method: Method::Post,
    path: "/identity/v2/token/issue",
    aliases: &[],
    needs_token: false,
    sends_mail: true,
    hands_over_work: false,
    otp_secrets: OtpSecrets::Opens,
    request: &proto3::ISSUE_TOKEN_REQUEST,
    required: &["credentials", "domain_id"],
    response: "TokenInfo",
    user: UserAccess::None,
    errors: &[
        ErrorCode::AuthenticateFailure,
        ErrorCode::MfaRequired,
        ErrorCode::Conflict,
    ],
    example: r#"{"domain_id": "domain-local", "credentials": {"user_id": "alice", "password": "Wonderland1"}}"#,
};

/// The one answer of every failed sign-in.
pub const SIGN_IN_FAILED: &str = "the user_id or password is wrong, or this user cannot sign in now";

/// The `auth_type` of a sign-in's second call, with its `verify_code`.
const AUTH_TYPE_MFA: &str = "MFA";

/// What a sign-in code confirms (the code record's `bound_to`).
const SIGN_IN: &str = "sign_in";
const SIGN_IN_CODE_TTL: TimeDelta = TimeDelta::seconds(300);

fn failed() -> ApiError {
    ApiError::AuthenticateFailure { reason: SIGN_IN_FAILED }
}

struct Request {
    domain_id: DomainId,
    user_id: UserId,
    password: String,
    verify_code: Option<String>,
    timeout: Option<i64>,
}

pub async fn run(app: &App, fields: Fields) -> Result<Value, ApiError> {
    let request = parse(fields)?;
    let issuer = issuer(app)?;
    let user = sign_in(app, &request).await?;
    let subject = TokenSubject::of(&user);
    let ttl = request.timeout.unwrap_or(issuer.access_ttl);
    let access_token = issuer.access_token(&subject, RoleType::User, None, ttl).await?;
    let refresh_token = issuer.refresh_token(&subject).await?;
    Ok(json!({"access_token": access_token, "refresh_token": refresh_token}))
}

pub(super) fn issuer(app: &App) -> Result<&Issuer, ApiError> {
    app.tokens.issuer.as_deref().ok_or_else(|| {
        tracing::error!("a Token API request reached a process without a signing key");
        ApiError::Unavailable {
            service: "token signing",
        }
    })
}

fn parse(mut f: Fields) -> Result<Request, ApiError> {
    let credentials = f
        .object("credentials")?
        .ok_or_else(|| ApiError::required("credentials"))?;
    let (user_id, password) = parse_credentials(credentials)?;
    let domain_id = DomainId::parse("domain_id", f.required_string("domain_id")?)?;
    // `MFA` is what the Cloudforet console says on the second call, with the code (SPEC 10).
    let auth_type = f.non_empty("auth_type")?;
    let says_mfa = match auth_type.as_deref() {
        None => false,
        Some(t) if t == AuthType::Local.as_str() => false,
        Some(AUTH_TYPE_MFA) => true,
        Some(_) => {
            return Err(ApiError::invalid(
                "auth_type",
                "only LOCAL users sign in here (auth_type LOCAL, or MFA with verify_code); EXTERNAL users sign in at their identity provider",
            ));
        }
    };
    let timeout = read_timeout(&mut f)?;
    // Read for the official client's sake (IssueTokenRequest has it); nothing uses it.
    f.take("refresh_count");
    let verify_code = f.non_empty("verify_code")?;
    f.finish()?;
    if says_mfa && verify_code.is_none() {
        return Err(ApiError::required("verify_code"));
    }
    Ok(Request {
        domain_id,
        user_id,
        password,
        verify_code,
        timeout,
    })
}

/// `credentials` is a Struct: exactly `user_id` and `password`, both strings.
fn parse_credentials(credentials: Map<String, Value>) -> Result<(UserId, String), ApiError> {
    let mut c = Fields::from_map(credentials);
    let key = |k: &str| format!("credentials.{k}");
    let user_id = match c.string("user_id") {
        Ok(Some(id)) if !id.is_empty() => UserId::parse(&key("user_id"), id)?,
        Ok(_) => return Err(ApiError::required(key("user_id"))),
        Err(_) => return Err(ApiError::invalid(key("user_id"), "must be a string")),
    };
    let password = match c.string("password") {
        Ok(Some(p)) if !p.is_empty() => p,
        Ok(_) => return Err(ApiError::required(key("password"))),
        Err(_) => return Err(ApiError::invalid(key("password"), "must be a string")),
    };
    c.finish().map_err(|e| match e {
        ApiError::InvalidParameter { key: k, reason } => ApiError::invalid(key(&k), reason),
        other => other,
    })?;
    Ok((user_id, password))
}

/// `timeout`: seconds of the access token, 1 to 7 days' worth; 0 or absent is the default.
pub(super) fn read_timeout(f: &mut Fields) -> Result<Option<i64>, ApiError> {
    match f.take("timeout") {
        None => Ok(None),
        Some(value) => match value.as_i64() {
            Some(0) => Ok(None),
            Some(seconds) if (1..=MAX_ACCESS_TTL).contains(&seconds) => Ok(Some(seconds)),
            _ => Err(ApiError::invalid(
                "timeout",
                format!("must be a number of seconds from 1 to {MAX_ACCESS_TTL}"),
            )),
        },
    }
}

/// Checks the credentials (and the MFA code) and records the sign-in; the signed-in user.
/// Each ending is counted (`SignIns`).
async fn sign_in(app: &App, request: &Request) -> Result<User, ApiError> {
    let mut locked = false;
    let result = check_sign_in(app, request, &mut locked).await;
    telemetry::sign_in(match &result {
        Ok(_) => SignIn::Succeeded,
        Err(_) if locked => SignIn::Locked,
        Err(ApiError::AuthenticateFailure { .. }) => SignIn::Failed,
        Err(ApiError::MfaRequired { .. } | ApiError::AuthenticatorCodeRequired) => SignIn::MfaRequired,
        Err(_) => SignIn::Error,
    });
    result
}

/// [`sign_in`]; `locked` says whether it was refused for a locked sign-in.
async fn check_sign_in(app: &App, request: &Request, locked: &mut bool) -> Result<User, ApiError> {
    let (domain, user_id) = (&request.domain_id, &request.user_id);
    let at = now(app);
    let (claim, stored) = tokio::join!(
        app.store.claim_sign_in(domain, user_id, at),
        app.store.get_user(domain, user_id)
    );
    let claim = claim.map_err(|e| store_error(e, user_id))?;
    let stored = stored.map_err(|e| store_error(e, user_id))?;
    if claim == SignInClaim::Locked {
        *locked = true;
        return Err(failed());
    }
    if claim == (SignInClaim::Granted { locks: true }) {
        telemetry::lockout();
        tracing::info!(
            domain_id = domain.as_str(),
            "a sign-in attempt locked its user's sign-in for 15 minutes"
        );
    }
    // The password is checked for every request that gets here, against the dummy hash when
    // there is no usable one, so the answer's time tells nothing about the user.
    let hash = stored
        .as_ref()
        .filter(|u| u.item.auth_type == AuthType::Local)
        .and_then(|u| u.item.password_hash.as_ref());
    let correct = hash
        .unwrap_or(PasswordHash::dummy())
        .verifies(&request.password)
        .await?;
    let user = match stored {
        Some(user) if correct && hash.is_some() && user.item.state == State::Enabled => user,
        _ => return Err(failed()),
    };
    let code = if user.item.mfa.is_enabled() {
        Some(second_factor(app, &user.item, request.verify_code.as_deref()).await?)
    } else {
        None
    };
    let signed_in = record_sign_in(app, user, code).await?;
    if let Err(error) = app.store.clear_sign_in(domain, user_id).await {
        // The sign-in stands; a count left behind only expires later.
        tracing::warn!(%error, "could not clear the failed sign-in count");
    }
    Ok(signed_in)
}

/// What the second factor of a sign-in proved, to be recorded with it.
enum Proof {
    /// A mailed code, consumed by the sign-in's write.
    Mailed(CodeRecord),
    /// An authenticator's code of the secret in force at `step`: the write moves the secret's
    /// last accepted step there, if it is still below (no code signs in twice).
    Authenticator { sealed: Sealed, step: u64 },
}

/// MFA: without a code, answer ERROR_MFA_REQUIRED (for EMAIL after mailing one); with one,
/// check it (a wrong, spent, reused or expired code is the generic failure).
async fn second_factor(app: &App, user: &User, verify_code: Option<&str>) -> Result<Proof, ApiError> {
    if user.mfa.mfa_type == Some(MfaType::Otp) {
        let candidate = verify_code.ok_or(ApiError::AuthenticatorCodeRequired)?;
        let key = user.otp.as_ref().ok_or_else(failed)?;
        let secret = open_secret(app, user, &key.sealed).await?.ok_or_else(failed)?;
        let Some(step) = accepted_step(app, &secret, candidate, Some(key.last_step)) else {
            telemetry::code_attempt_failed(CodePurpose::SignIn.as_str());
            return Err(failed());
        };
        return Ok(Proof::Authenticator {
            sealed: key.sealed.clone(),
            step,
        });
    }
    let Some(candidate) = verify_code else {
        let to = user.mfa.email.as_ref().ok_or_else(failed)?;
        let code = mail_code(app, user, CodePurpose::SignIn, SIGN_IN, SIGN_IN_CODE_TTL, to.as_str()).await?;
        app.store
            .issue_code(&code)
            .await
            .map_err(|e| store_error(e, &user.user_id))?;
        return Err(ApiError::MfaRequired { to: mask(to.as_str()) });
    };
    check_code(app, user, CodePurpose::SignIn, candidate, SIGN_IN)
        .await
        .map(Proof::Mailed)
        .map_err(|error| match error {
            ApiError::InvalidVerifyCode { .. } => failed(),
            other => other,
        })
}

/// `last_accessed_at` becomes now, in the same write that consumes the sign-in code or moves
/// the OTP secret's last step. That write is conditional on the version read: of parallel
/// sign-ins with one authenticator code, one writes the step and the others, reading again,
/// find it taken.
async fn record_sign_in(app: &App, user: Versioned<User>, proof: Option<Proof>) -> Result<User, ApiError> {
    let at = now(app);
    modify_from(app, user, |current| {
        if current.state != State::Enabled {
            return Err(failed());
        }
        let mut after = current.clone();
        after.last_accessed_at = Some(at);
        let code = match &proof {
            None => CodeChange::None,
            Some(Proof::Mailed(code)) => CodeChange::Consume(code.clone()),
            Some(Proof::Authenticator { sealed, step }) => {
                match after.otp.as_mut() {
                    Some(key) if key.still_accepts(sealed, *step) => key.last_step = *step,
                    _ => return Err(failed()),
                }
                CodeChange::None
            }
        };
        Ok(super::support::Edit { user: after, code })
    })
    .await
    .map_err(|error| match error {
        // The code was used up by a parallel sign-in: this one failed.
        ApiError::InvalidVerifyCode { .. } => failed(),
        other => other,
    })
}

/// `alice@example.com` → `a***@example.com`: enough to recognise, not to harvest.
pub fn mask(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_masked_to_their_first_letter_and_domain() {
        assert_eq!(mask("alice@example.com"), "a***@example.com");
        assert_eq!(mask("é@b.co"), "é***@b.co");
        assert_eq!(mask("nonsense"), "***");
    }
}
