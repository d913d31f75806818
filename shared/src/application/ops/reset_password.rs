//! reset_password → {} (SPEC 4.5), the one method without a token.
//!
//! The answer reveals nothing about who exists, neither in what it says nor in how long it
//! takes. [`run`], the request path, only validates the body and hands a [`ResetJob`] over
//! (`crate::deferred`): it does the same thing, touching no user, whoever is named. [`apply`]
//! does the work later: a temporary password for a LOCAL user with a verified email, at most
//! once per user per 60 s, counted from the request. Unknown user, EXTERNAL user, missing or
//! unverified email and an open window all end there, silently. A failed mail reopens the
//! window, so a later request can work; it is logged (and, on the queue, retried).

use chrono::TimeDelta;
use serde_json::{Value, json};

use super::support::{Edit, modify_from, now, send_mail, store_error, target};
use crate::app::App;
use crate::deferred::{DeferError, ResetJob};
use crate::error::ApiError;
use crate::input::Fields;
use crate::mail::Mail;
use crate::model::{AuthType, RequiredAction, Timestamp, User};
use crate::ops::description::{Description, Method, OtpSecrets, UserAccess};
use crate::proto3;
use crate::secrets::Password;

pub static DESCRIPTION: Description = Description {
    name: "reset_password",
    summary: "User.reset_password",
    method: Method::Post,
    path: "/identity/v2/user/reset-password",
    aliases: &[],
    needs_token: false,
    sends_mail: false,
    hands_over_work: true,
    otp_secrets: OtpSecrets::None,
    request: &proto3::USER_REQUEST,
    required: &["user_id", "domain_id"],
    response: "Empty",
    user: UserAccess::None,
    errors: &[],
    example: r#"{"user_id": "alice", "domain_id": "domain-local"}"#,
};

/// One reset mail per user per window.
const WINDOW: TimeDelta = TimeDelta::seconds(60);

fn can_reset(user: &User) -> bool {
    user.auth_type == AuthType::Local && user.verified_email().is_some()
}

/// The request: validate, hand over, answer `{}`. Only a malformed body (400) or a hand-over
/// that failed for everyone alike (503, before anything about the user is known) differ.
pub async fn run(app: &App, mut f: Fields) -> Result<Value, ApiError> {
    let (domain_id, user_id) = target(&mut f)?;
    f.finish()?;
    let job = ResetJob {
        domain_id,
        user_id,
        requested_at: now(app),
    };
    match app.deferred.reset_password(job).await {
        Ok(()) => {}
        // A local flood: the job is dropped, and the caller is answered like any other.
        Err(error @ DeferError::Full) => tracing::warn!(%error, "reset_password request dropped"),
        Err(error) => {
            tracing::error!(%error, "reset_password could not be handed over");
            return Err(ApiError::Unavailable { service: "queue" });
        }
    }
    Ok(json!({}))
}

/// The work of one request. Errors are for the log (and the queue's retry), never a caller.
/// Carries out a handed-over job, logging a failure (there is nobody to answer): what the
/// local worker and the tests run.
pub async fn run_job(app: &App, job: &ResetJob) {
    if let Err(error) = apply(app, job).await {
        tracing::error!(code = error.code(), %error, "reset_password work failed");
    }
}

pub async fn apply(app: &App, job: &ResetJob) -> Result<(), ApiError> {
    let (domain_id, user_id) = (&job.domain_id, &job.user_id);
    let Some(current) = app
        .store
        .get_user(domain_id, user_id)
        .await
        .map_err(|e| store_error(e, user_id))?
    else {
        return Ok(());
    };
    let user = current.item.clone();
    let Some(to) = user.verified_email().filter(|_| can_reset(&user)).cloned() else {
        return Ok(());
    };
    let until = Timestamp::new(job.requested_at.at() + WINDOW);
    let opened = app
        .store
        .claim_reset_window(domain_id, user_id, job.requested_at, until)
        .await
        .map_err(|e| store_error(e, user_id))?;
    if !opened {
        return Ok(());
    }

    let temporary = Password::temporary();
    let hash = match temporary.hash().await {
        Ok(hash) => hash,
        Err(error) => {
            release(app, &user).await;
            return Err(error);
        }
    };
    let mail = Mail::TemporaryPassword {
        password: temporary.expose(),
    };
    if let Err(error) = send_mail(app, mail, &user, to.as_str()).await {
        release(app, &user).await;
        return Err(error);
    }
    // The mailed password must take effect, so a lost race is retried rather than reported.
    let written = modify_from(app, current, |current| {
        let mut user = current.clone();
        if can_reset(&user) {
            user.password_hash = Some(hash.clone());
            user.add_required_action(RequiredAction::UpdatePassword);
        }
        Ok(Edit::user(user))
    })
    .await;
    if let Err(error) = written {
        tracing::error!(
            code = error.code(),
            "reset_password mailed a password that could not be stored"
        );
        release(app, &user).await;
        return Err(error);
    }
    Ok(())
}

async fn release(app: &App, user: &User) {
    if let Err(error) = app.store.release_reset_window(&user.domain_id, &user.user_id).await {
        tracing::warn!(%error, "could not reopen the reset window");
    }
}
