//! The `ses` transport: Amazon SES v2 `SendEmail` with the same rendered subject, HTML and text
//! bodies the outbox writes. Throttling and server errors are retried by the SDK's standard
//! retry policy; what still fails is a `MailError`, which the operations turn into 503
//! ERROR_UNAVAILABLE before anything is written.

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message as SesMessage};

use super::{MailError, Mailer, Message};

pub struct SesMailer {
    client: Client,
}

impl SesMailer {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn utf8(data: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| MailError::Render(e.to_string()))
}

fn email_content(message: &Message) -> Result<EmailContent, MailError> {
    let body = Body::builder()
        .text(utf8(&message.text)?)
        .html(utf8(&message.html)?)
        .build();
    let simple = SesMessage::builder()
        .subject(utf8(&message.subject)?)
        .body(body)
        .build();
    Ok(EmailContent::builder().simple(simple).build())
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, message: &Message) -> Result<(), MailError> {
        let destination = Destination::builder()
            .set_to_addresses(Some(message.to.clone()))
            .build();
        let sent = self
            .client
            .send_email()
            .from_email_address(&message.from)
            .destination(destination)
            .content(email_content(message)?)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e) => {
                // The SDK's error names the service error and request id, never the message body.
                let detail = aws_sdk_sesv2::error::DisplayErrorContext(&e).to_string();
                tracing::warn!(error = %detail, "SES SendEmail failed");
                Err(MailError::Transport("SES SendEmail failed".into()))
            }
        }
    }
}
