//! The change-stream side of user events: a batch of the users table's DynamoDB Stream
//! records (NEW_AND_OLD_IMAGES), in shard order, becomes the events of `shared::events` on the
//! bus. Records that are not users (codes, message records, the admin counter) and changes no
//! consumer can see make no event, except the sign-in count reaching its limit: a lockout.
//!
//! The answer is a partial batch response by sequence number (`ReportBatchItemFailures`):
//! when an event cannot be published, or a record cannot be read, that record is reported and
//! nothing after it is published, so Lambda retries the shard from exactly there. Events
//! before it are on the bus; the ones after it will be, on the retry, in order.

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use shared::events::bridge::{EventBus, Publication};
use shared::events::{change_event, lockout_event};
use shared::store::dynamo::{sign_in_lock_from_images, user_from_image};
use shared::telemetry;

/// Publishes the events of `batch`; the response names the record to retry from, if any.
pub async fn publish_batch(bus: &EventBus, batch: Event) -> DynamoDbEventResponse {
    let mut publications: Vec<Publication> = Vec::new();
    let mut unreadable = None;
    for record in batch.records {
        let Some(sequence_number) = record.change.sequence_number.clone() else {
            // Lambda always sets one; without it a record cannot be reported or retried.
            tracing::error!(event_id = %record.event_id, "a stream record without a sequence number was skipped");
            continue;
        };
        match publication(record, &sequence_number) {
            Ok(Some(publication)) => publications.push(publication),
            Ok(None) => {}
            Err(reason) => {
                tracing::error!(%sequence_number, %reason, "a stream record cannot be read");
                unreadable = Some(sequence_number);
                break;
            }
        }
    }
    let retry_from = match bus.publish(&publications).await {
        Ok(()) => {
            telemetry::events_published(publications.len(), 0);
            unreadable
        }
        Err(failure) => {
            telemetry::events_published(failure.published, publications.len().saturating_sub(failure.published));
            tracing::warn!(published = failure.published, reason = %failure.reason, "publishing stopped");
            let failed = publications.get(failure.published);
            failed.map(|p| p.sequence_number.clone()).or(unreadable)
        }
    };
    tracing::info!(
        events = publications.len(),
        retry_from = retry_from.as_deref().unwrap_or("-"),
        "stream batch done"
    );
    let mut response = DynamoDbEventResponse::default();
    if let Some(sequence_number) = retry_from {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(sequence_number);
        response.batch_item_failures.push(failure);
    }
    response
}

/// The event a record makes, if any. The reason of an error names the side that cannot be
/// read, and no more: a decoding error could quote an attribute's value.
fn publication(record: EventRecord, sequence_number: &str) -> Result<Option<Publication>, String> {
    if let Some((domain_id, user_id)) = sign_in_lock_from_images(&record.change.old_image, &record.change.new_image) {
        return Ok(Some(Publication {
            event: lockout_event(&domain_id, &user_id),
            sequence_number: sequence_number.to_string(),
            committed_at: record.change.approximate_creation_date_time,
        }));
    }
    let read = |side: &str, image| {
        user_from_image(image)
            .map(|user| user.map(|u| u.item))
            .map_err(|_| format!("the {side} image is not a readable user"))
    };
    let before = read("old", record.change.old_image)?;
    let after = read("new", record.change.new_image)?;
    Ok(change_event(before.as_ref(), after.as_ref()).map(|event| Publication {
        event,
        sequence_number: sequence_number.to_string(),
        committed_at: record.change.approximate_creation_date_time,
    }))
}
