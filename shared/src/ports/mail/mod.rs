//! Mail: what is sent ([`Mail`] rendered into a [`Message`] by [`MailComposer`]) and how
//! ([`Mailer`], with the [`outbox`] transport). Bodies come from templates compiled into the
//! binary (askama); values are HTML-escaped in the HTML body.

pub mod outbox;
pub mod ses;
mod texts;

use askama::Template;
use async_trait::async_trait;
use serde::Serialize;

pub use texts::MailLanguage;

/// One rendered mail, ready for any transport.
#[derive(Clone, Serialize)]
pub struct Message {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

// The bodies carry codes and temporary passwords: a Debug print shows only the envelope.
impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail transport failed: {0}")]
    Transport(String),
    #[error("mail could not be rendered: {0}")]
    Render(String),
}

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, message: &Message) -> Result<(), MailError>;
}

/// The mailer of a process that sends no mail (a Lambda function whose operation never
/// mails): it has no transport, so a send is a transport error, never a silent drop.
pub struct NoMail;

#[async_trait]
impl Mailer for NoMail {
    async fn send(&self, _message: &Message) -> Result<(), MailError> {
        Err(MailError::Transport("this process has no mail transport".into()))
    }
}

/// The four mails of SPEC section 6 (create with reset_password sends the temporary-password one).
pub enum Mail<'a> {
    VerifyEmail { code: &'a str },
    MfaCode { code: &'a str },
    TemporaryPassword { password: &'a str },
}

impl Mail<'_> {
    /// The mail's kind, as its metrics name it (`MailsSent`, `MailsFailed`).
    pub fn kind(&self) -> &'static str {
        match self {
            Mail::VerifyEmail { .. } => "verify_email",
            Mail::MfaCode { .. } => "mfa_code",
            Mail::TemporaryPassword { .. } => "temporary_password",
        }
    }
}

#[derive(Template)]
#[template(path = "code.html")]
struct CodeHtml<'a> {
    lang: &'a str,
    subject: &'a str,
    t: &'a texts::Texts,
    service: &'a str,
    user_id: &'a str,
    code: &'a str,
}

#[derive(Template)]
#[template(path = "code.txt")]
struct CodeText<'a> {
    t: &'a texts::Texts,
    service: &'a str,
    user_id: &'a str,
    code: &'a str,
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordHtml<'a> {
    lang: &'a str,
    subject: &'a str,
    t: &'a texts::Texts,
    service: &'a str,
    user_id: &'a str,
    password: &'a str,
}

#[derive(Template)]
#[template(path = "password.txt")]
struct PasswordText<'a> {
    t: &'a texts::Texts,
    service: &'a str,
    user_id: &'a str,
    password: &'a str,
}

/// Renders mails with the sender and service name of this deployment.
#[derive(Debug, Clone)]
pub struct MailComposer {
    pub from: String,
    pub service_name: String,
}

impl MailComposer {
    pub fn compose(&self, mail: &Mail<'_>, language: &str, user_id: &str, to: &str) -> Result<Message, MailError> {
        let lang = MailLanguage::for_tag(language);
        // The code must be the only run of six digits in a body (SPEC section 6), whatever the
        // user's id or the service's name holds.
        let (user_id, service) = (&break_digit_runs(user_id), &break_digit_runs(&self.service_name));
        let (user_id, service) = (user_id.as_str(), service.as_str());
        let render = |e: askama::Error| MailError::Render(e.to_string());
        let (t, text, html) = match mail {
            Mail::VerifyEmail { code } | Mail::MfaCode { code } => {
                let t = match mail {
                    Mail::VerifyEmail { .. } => texts::verify_email(lang),
                    _ => texts::mfa_code(lang),
                };
                // The HTML body shows the subject too, so it carries the broken-up name.
                let subject = &format!("[{service}] {}", t.subject);
                let text = CodeText {
                    t,
                    service,
                    user_id,
                    code,
                }
                .render()
                .map_err(render)?;
                let html = CodeHtml {
                    lang: lang.tag(),
                    subject,
                    t,
                    service,
                    user_id,
                    code,
                }
                .render()
                .map_err(render)?;
                (t, text, html)
            }
            Mail::TemporaryPassword { password } => {
                let t = texts::temporary_password(lang);
                // The HTML body shows the subject too, so it carries the broken-up name.
                let subject = &format!("[{service}] {}", t.subject);
                let text = PasswordText {
                    t,
                    service,
                    user_id,
                    password,
                }
                .render()
                .map_err(render)?;
                let html = PasswordHtml {
                    lang: lang.tag(),
                    subject,
                    t,
                    service,
                    user_id,
                    password,
                }
                .render()
                .map_err(render)?;
                (t, text, html)
            }
        };
        Ok(Message {
            from: self.from.clone(),
            to: vec![to.to_string()],
            subject: self.subject(t),
            text,
            html,
        })
    }

    fn subject(&self, t: &texts::Texts) -> String {
        format!("[{}] {}", self.service_name, t.subject)
    }
}

/// Breaks every run of four or more ASCII digits into groups of three with a thin space, so
/// that a value printed in a mail never reads as (or runs into) a six-digit code.
fn break_digit_runs(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let chars: Vec<char> = value.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let run = chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if run == 0 {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let digits = &chars[i..i + run];
        if run < 4 {
            out.extend(digits);
        } else {
            for (n, group) in digits.chunks(3).enumerate() {
                if n > 0 {
                    out.push('\u{2009}');
                }
                out.extend(group);
            }
        }
        i += run;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_digit_runs_are_broken_up_short_ones_kept() {
        assert_eq!(break_digit_runs("alice"), "alice");
        assert_eq!(break_digit_runs("bob-123"), "bob-123");
        assert_eq!(break_digit_runs("1234"), "123\u{2009}4");
        assert_eq!(break_digit_runs("123456"), "123\u{2009}456");
        assert_eq!(break_digit_runs("x1234567y"), "x123\u{2009}456\u{2009}7y");
        assert_eq!(break_digit_runs("٣٤٥٦٧٨"), "٣٤٥٦٧٨");
    }

    #[test]
    fn the_code_is_the_only_six_digit_run_whatever_the_user_id_and_service_name() {
        let composer = MailComposer {
            from: "no-reply@localhost".into(),
            service_name: "Shop 987654".into(),
        };
        for user_id in ["123456", "12345", "9876543210", "a123456b", "000000"] {
            for mail in [Mail::VerifyEmail { code: "042917" }, Mail::MfaCode { code: "042917" }] {
                let m = composer.compose(&mail, "en", user_id, "a@example.com").unwrap();
                assert_eq!(six_digit_runs(&m.text), ["042917"], "{user_id}: {}", m.text);
                assert_eq!(six_digit_runs(&m.html), ["042917"], "{user_id}");
            }
        }
    }

    fn composer() -> MailComposer {
        MailComposer {
            from: "no-reply@localhost".into(),
            service_name: "Cloudforet".into(),
        }
    }

    fn six_digit_runs(text: &str) -> Vec<String> {
        let mut runs = Vec::new();
        let mut current = String::new();
        for c in text.chars().chain(std::iter::once(' ')) {
            if c.is_ascii_digit() {
                current.push(c);
            } else {
                if current.len() == 6 {
                    runs.push(current.clone());
                }
                current.clear();
            }
        }
        runs
    }

    #[test]
    fn every_mail_renders_in_every_language_with_the_code_as_only_six_digit_number() {
        for lang in ["en", "ko", "ja", "fr", "ko-KR"] {
            for mail in [Mail::VerifyEmail { code: "042917" }, Mail::MfaCode { code: "042917" }] {
                let m = composer().compose(&mail, lang, "alice", "a@example.com").unwrap();
                assert!(m.subject.starts_with("[Cloudforet] "), "{}", m.subject);
                assert_eq!(six_digit_runs(&m.text), ["042917"], "{lang} text");
                assert_eq!(six_digit_runs(&m.html), ["042917"], "{lang} html");
            }
            let m = composer()
                .compose(
                    &Mail::TemporaryPassword {
                        password: "Abc123Def456",
                    },
                    lang,
                    "alice",
                    "a@example.com",
                )
                .unwrap();
            assert!(m.text.contains("Abc123Def456") && m.html.contains("Abc123Def456"));
        }
    }

    #[test]
    fn english_subjects_are_the_specs() {
        let c = composer();
        let subject = |mail| c.compose(&mail, "en", "u", "a@b.co").unwrap().subject;
        assert_eq!(
            subject(Mail::VerifyEmail { code: "1" }),
            "[Cloudforet] Verify your notification email"
        );
        assert_eq!(
            subject(Mail::MfaCode { code: "1" }),
            "[Cloudforet] Verify your MFA email"
        );
        assert_eq!(
            subject(Mail::TemporaryPassword { password: "p" }),
            "[Cloudforet] Your password has been changed"
        );
    }

    #[test]
    fn languages_fall_back_to_english() {
        let c = composer();
        let ko = c
            .compose(&Mail::VerifyEmail { code: "1" }, "ko", "u", "a@b.co")
            .unwrap();
        let ja = c
            .compose(&Mail::VerifyEmail { code: "1" }, "ja", "u", "a@b.co")
            .unwrap();
        let de = c
            .compose(&Mail::VerifyEmail { code: "1" }, "de", "u", "a@b.co")
            .unwrap();
        assert!(ko.subject.contains("알림"));
        assert!(ja.subject.contains("通知"));
        assert!(de.subject.ends_with("Verify your notification email"));
    }

    #[test]
    fn values_are_escaped_in_html_only() {
        let m = composer()
            .compose(&Mail::VerifyEmail { code: "1" }, "en", "<b>&x", "a@b.co")
            .unwrap();
        assert!(
            m.html.contains("&#60;b&#62;&#38;x") || m.html.contains("&lt;b&gt;&amp;x"),
            "{}",
            m.html
        );
        assert!(!m.html.contains("<b>&x"));
        assert!(m.text.contains("<b>&x"));
    }

    #[test]
    fn debug_hides_bodies() {
        let m = composer()
            .compose(&Mail::MfaCode { code: "123456" }, "en", "u", "a@b.co")
            .unwrap();
        assert!(!format!("{m:?}").contains("123456"));
    }
}
