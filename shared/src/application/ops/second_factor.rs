//! What the MFA operations, sign-in, create and update share (SPEC sections 4.7–4.9, 9 and
//! 10): checking an authenticator code against a sealed secret, MFA an admin requires, and what
//! turning MFA off leaves behind then.

use chrono::TimeDelta;

use super::support::{invalid_code, take_attempt};
use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::input::Fields;
use crate::model::{AuthType, DomainId, Mfa, MfaState, MfaType, RequiredAction, Timestamp, User};
use crate::otp::{OtpSecret, Sealed};
use crate::secrets::PlainCode;
use crate::store::{CodePurpose, CodeRecord};
use crate::vault::{Owner, VaultError};

/// How long an MFA code (mailed, or an OTP enrolment or disable) stays pending.
pub const MFA_CODE_TTL: TimeDelta = TimeDelta::seconds(300);
/// What an MFA code confirms, recorded with the code.
pub const TO_ENABLE: &str = "ENABLE";
pub const TO_DISABLE: &str = "DISABLE";

/// The user after its MFA was turned off (a confirmed disable, or an admin's force): no factor
/// and no secret; when an admin requires MFA, the type stays, with `options.enforce`, and
/// ENFORCE_MFA is back (SPEC section 10).
pub fn turned_off(current: &User) -> User {
    let mut user = current.clone();
    user.otp = None;
    if current.mfa_enforced {
        user.mfa = Mfa {
            state: MfaState::Disabled,
            mfa_type: current.mfa.mfa_type,
            email: None,
        };
        user.add_required_action(RequiredAction::EnforceMfa);
    } else {
        user.mfa = Mfa::default();
    }
    user
}

/// The user after its pending factor was confirmed: ENABLED, and the MFA an admin requires
/// is set up (ENFORCE_MFA goes when the enforced type is the one confirmed).
pub fn turned_on(current: &User) -> User {
    let mut user = current.clone();
    user.mfa.state = MfaState::Enabled;
    if current.mfa_enforced {
        user.required_actions.retain(|a| *a != RequiredAction::EnforceMfa);
    }
    user
}

/// The MFA code record of an OTP enrolment (`otp_secret`: the pending secret) or of a pending
/// disable (`None`): pending for [`MFA_CODE_TTL`], five attempts, checked against a secret, not
/// mailed. Its `digest` is of a code no one is sent: only the record's identity for consuming it.
pub fn otp_record(app: &App, user: &User, bound_to: &str, otp_secret: Option<Sealed>) -> CodeRecord {
    CodeRecord {
        domain_id: user.domain_id.clone(),
        user_id: user.user_id.clone(),
        purpose: CodePurpose::Mfa,
        digest: PlainCode::generate().digest(),
        bound_to: bound_to.into(),
        expires_at: Timestamp::new(app.clock.now() + MFA_CODE_TTL),
        attempts: 0,
        otp_secret,
    }
}

/// The vault's failures as the API answers them: a missing or unreachable key is a 503 that
/// changes nothing; the details go to the log only.
pub fn vault_error(error: VaultError) -> ApiError {
    tracing::error!(%error, "MFA secret key");
    ApiError::Unavailable {
        service: "MFA secret key",
    }
}

/// Opens `sealed` for `user`; a secret that does not open (another user's, or altered) checks
/// no code: `Ok(None)`, logged.
pub async fn open_secret(app: &App, user: &User, sealed: &Sealed) -> Result<Option<OtpSecret>, ApiError> {
    let owner = Owner {
        domain_id: &user.domain_id,
        user_id: &user.user_id,
    };
    match app.vault.open(owner, sealed).await {
        Ok(secret) => Ok(Some(secret)),
        Err(VaultError::DoesNotOpen) => {
            tracing::error!("an OTP secret does not open for its user: its sealed bytes were altered or copied");
            Ok(None)
        }
        Err(other) => Err(vault_error(other)),
    }
}

/// The step of `candidate` when it is a current code of `secret` (one step of skew) above
/// `after` (the last step accepted, so no code is accepted twice), by the App's clock.
pub fn accepted_step(app: &App, secret: &OtpSecret, candidate: &str, after: Option<u64>) -> Option<u64> {
    let seconds = u64::try_from(app.clock.now().timestamp()).ok()?;
    let step = secret.check(candidate, seconds)?;
    match after {
        Some(last) if step <= last => None,
        _ => Some(step),
    }
}

/// An authenticator code that confirms a pending enrolment or disable (confirm_mfa). The
/// attempt is counted on the pending record first, as for mailed codes, so five wrong codes
/// end it. Returns the record (to consume with the user write), the sealed secret the code
/// belongs to and its step.
pub async fn check_otp_code(
    app: &App,
    user: &User,
    candidate: &str,
    bound_to: &str,
) -> Result<(CodeRecord, Sealed, u64), ApiError> {
    let invalid = || invalid_code(user, CodePurpose::Mfa);
    let record = take_attempt(app, user, CodePurpose::Mfa, candidate, bound_to).await?;
    // An enrolment's code belongs to the pending secret in its record; a disable's to the
    // secret in force, above the last step it accepted.
    let enrolling = bound_to == TO_ENABLE;
    let (sealed, after) = match (enrolling, &record.otp_secret, &user.otp) {
        (true, Some(pending), _) => (pending.clone(), None),
        (false, None, Some(key)) => (key.sealed.clone(), Some(key.last_step)),
        _ => return Err(invalid()),
    };
    let secret = open_secret(app, user, &sealed).await?.ok_or_else(invalid)?;
    let step = accepted_step(app, &secret, candidate, after).ok_or_else(invalid)?;
    Ok((record, sealed, step))
}

/// `enforce_mfa_state` and `enforce_mfa_type` of create and update: MFA an admin requires
/// (SPEC section 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforcement {
    /// Neither given.
    Unchanged,
    /// MFA of this type is required.
    Require(MfaType),
    /// No longer required.
    Release,
}

impl Enforcement {
    /// Reads and checks the two fields: ENABLED needs a type, a type needs ENABLED.
    pub fn read(f: &mut Fields) -> Result<Self, ApiError> {
        let state = f
            .non_empty("enforce_mfa_state")?
            .map(|s| MfaState::parse(&s).map_err(|r| ApiError::invalid("enforce_mfa_state", r)))
            .transpose()?;
        let kind = f
            .non_empty("enforce_mfa_type")?
            .map(|t| MfaType::parse(&t).map_err(|r| ApiError::invalid("enforce_mfa_type", r)))
            .transpose()?;
        match (state, kind) {
            (None, None) => Ok(Self::Unchanged),
            (Some(MfaState::Enabled), Some(kind)) => Ok(Self::Require(kind)),
            (Some(MfaState::Enabled), None) => Err(ApiError::required("enforce_mfa_type")),
            (Some(MfaState::Disabled), None) => Ok(Self::Release),
            (Some(MfaState::Disabled) | None, Some(_)) => Err(ApiError::invalid(
                "enforce_mfa_type",
                "is given only with enforce_mfa_state ENABLED",
            )),
        }
    }

    /// Only a DOMAIN_ADMIN of the domain may give either field (an admin may on itself).
    pub fn authorize(self, caller: &Caller, domain: &DomainId) -> Result<(), ApiError> {
        if self != Self::Unchanged && !caller.is_admin_of(domain) {
            return Err(ApiError::PermissionDenied {
                reason: "only a DOMAIN_ADMIN may require MFA (enforce_mfa_state, enforce_mfa_type)",
            });
        }
        Ok(())
    }

    /// Applies the requirement to `user`. Requiring a type resets MFA of another type (on or
    /// pending: its secret or address dropped) and adds ENFORCE_MFA unless the user has that
    /// type ENABLED; releasing drops the requirement and ENFORCE_MFA and leaves MFA as it is.
    /// Returns whether a pending factor of another type must be discarded with the write.
    pub fn apply(self, user: &mut User) -> Result<bool, ApiError> {
        match self {
            Self::Unchanged => Ok(false),
            Self::Require(kind) => {
                if user.auth_type == AuthType::External {
                    return Err(ApiError::invalid(
                        "enforce_mfa_state",
                        "EXTERNAL users sign in at their identity provider: MFA cannot be required here",
                    ));
                }
                user.mfa_enforced = true;
                let reset = user.mfa.mfa_type != Some(kind);
                if reset {
                    user.mfa = Mfa {
                        state: MfaState::Disabled,
                        mfa_type: Some(kind),
                        email: None,
                    };
                    user.otp = None;
                }
                if user.mfa.is_enabled() {
                    user.required_actions.retain(|a| *a != RequiredAction::EnforceMfa);
                } else {
                    user.add_required_action(RequiredAction::EnforceMfa);
                }
                Ok(reset)
            }
            Self::Release => {
                user.mfa_enforced = false;
                user.required_actions.retain(|a| *a != RequiredAction::EnforceMfa);
                Ok(false)
            }
        }
    }
}
