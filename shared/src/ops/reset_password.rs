//! reset_password → {} (SPEC 4.5), the one method without a token.
//!
//! The answer is `{}` whatever the user's situation, so the endpoint reveals nothing about who
//! exists: unknown user, EXTERNAL user, missing or unverified email, an open 60-second window,
//! and even a failed mail (logged; the window is reopened so a retry can work) all look alike.
//! Only a malformed request (400) or a storage failure before anything is known (503) differ.

use chrono::TimeDelta;
use serde_json::{Value, json};

use super::support::{Edit, modify_from, now, send_mail, store_error, target};
use crate::app::App;
use crate::error::ApiError;
use crate::input::Fields;
use crate::mail::Mail;
use crate::model::{AuthType, RequiredAction, Timestamp, User};
use crate::secrets::Password;

/// One reset mail per user per window.
const WINDOW: TimeDelta = TimeDelta::seconds(60);

fn can_reset(user: &User) -> bool {
    user.auth_type == AuthType::Local && user.verified_email().is_some()
}

pub async fn run(app: &App, mut f: Fields) -> Result<Value, ApiError> {
    let (domain_id, user_id) = target(&mut f)?;
    f.finish()?;
    let answer = json!({});

    let Some(current) = app
        .store
        .get_user(&domain_id, &user_id)
        .await
        .map_err(|e| store_error(e, &user_id))?
    else {
        return Ok(answer);
    };
    let user = current.item.clone();
    let Some(to) = user.verified_email().filter(|_| can_reset(&user)).cloned() else {
        return Ok(answer);
    };
    let started = now(app);
    let until = Timestamp::new(started.at() + WINDOW);
    let opened = app
        .store
        .claim_reset_window(&domain_id, &user_id, started, until)
        .await
        .map_err(|e| store_error(e, &user_id))?;
    if !opened {
        return Ok(answer);
    }

    let temporary = Password::temporary();
    let hash = temporary.hash().await?;
    if send_mail(
        app,
        Mail::TemporaryPassword {
            password: temporary.expose(),
        },
        &user,
        to.as_str(),
    )
    .await
    .is_err()
    {
        release(app, &user).await;
        return Ok(answer);
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
    }
    Ok(answer)
}

async fn release(app: &App, user: &User) {
    if let Err(error) = app.store.release_reset_window(&user.domain_id, &user.user_id).await {
        tracing::warn!(%error, "could not reopen the reset window");
    }
}
