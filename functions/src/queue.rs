//! The SQS side of provisioning: a batch of messages, each one command (`shared::provision`),
//! applied in order. The answer is a partial batch response (`ReportBatchItemFailures`): only
//! the messages that failed go back to the queue, and after the queue's maxReceiveCount they
//! move to its dead-letter queue. A message is applied at most once per id: its own `id` if
//! the producer gave one, else the SQS message id.
//!
//! On a FIFO queue (the template's), the messages of one message group must apply in order: once
//! one fails, the later messages of its group in the batch are not applied but reported too,
//! so they come again after it. Other groups go on.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use shared::App;
use shared::error::ApiError;
use shared::provision::{self, Command};
use shared::telemetry::{self, Provisioned};

/// Applies every message of `event`; the response lists the ones that failed.
pub async fn apply_batch(app: &App, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    let mut failed_groups: Vec<String> = Vec::new();
    for message in event.records {
        let Some(message_id) = message.message_id.clone() else {
            // Without an id a message cannot be reported; SQS always sets one.
            tracing::error!("an SQS message without a messageId was skipped");
            continue;
        };
        let group = message.attributes.get("MessageGroupId").cloned();
        if let Some(group) = group.as_ref().filter(|g| failed_groups.contains(g)) {
            tracing::info!(%message_id, %group, "held back behind a failed message of its group");
            telemetry::provisioned(Provisioned::HeldBack);
            response.add_failure(message_id);
            continue;
        }
        match apply_message(app, &message_id, message).await {
            Ok(outcome) => {
                tracing::info!(%message_id, ?outcome, "provisioning message applied");
                telemetry::provisioned(match outcome {
                    provision::Outcome::Applied => Provisioned::Applied,
                    provision::Outcome::AlreadyDone => Provisioned::AlreadyDone,
                });
            }
            Err(error) => {
                telemetry::provisioned(Provisioned::Failed);
                // The code and message name the problem; they never hold a secret.
                tracing::warn!(%message_id, code = error.code(), %error, "provisioning message failed");
                response.add_failure(message_id);
                failed_groups.extend(group);
            }
        }
    }
    response
}

async fn apply_message(app: &App, message_id: &str, message: SqsMessage) -> Result<provision::Outcome, ApiError> {
    let body = message.body.unwrap_or_default();
    let command = Command::from_json(&body)?.or_id(message_id)?;
    provision::apply(app, &command).await
}
