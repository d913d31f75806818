//! Putting user events on an EventBridge bus. `PutEvents` takes at most 10 entries and
//! 256 KiB a call, and may accept some entries of a call and refuse others; the bus reports
//! how many of the given events, counted from the first, are known to be on the bus, so the
//! caller can retry from the first one that is not.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_smithy_types::DateTime;
use chrono::{DateTime as ChronoTime, Utc};

use super::{SOURCE, UserEvent};

/// Entries per PutEvents call (the service's limit).
const MAX_ENTRIES: usize = 10;
/// Bytes per PutEvents call, counted as EventBridge counts them.
const MAX_CALL_BYTES: usize = 256 * 1024;

/// One event to publish: the change, the stream sequence number that identifies it (unique
/// per change, increasing for each user), and when it was committed.
#[derive(Debug, Clone)]
pub struct Publication {
    pub event: UserEvent,
    pub sequence_number: String,
    pub committed_at: ChronoTime<Utc>,
}

impl Publication {
    /// The event's `detail`: the change, and its sequence number for consumers to drop
    /// duplicates and to order a user's events.
    pub fn detail(&self) -> String {
        let mut detail = self.event.detail();
        detail["sequence_number"] = self.sequence_number.clone().into();
        detail.to_string()
    }
}

/// Publishing stopped at `published`: the events before it are on the bus, that one is not
/// known to be. The reason is the service's error, never an event's content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{published} events published, then: {reason}")]
pub struct PublishFailure {
    pub published: usize,
    pub reason: String,
}

pub struct EventBus {
    client: Client,
    name: String,
}

impl EventBus {
    pub fn new(client: Client, name: impl Into<String>) -> Self {
        Self {
            client,
            name: name.into(),
        }
    }

    /// Puts `events` on the bus in order, as few calls as the limits allow; stops at the
    /// first event that did not get on the bus.
    pub async fn publish(&self, events: &[Publication]) -> Result<(), PublishFailure> {
        let details: Vec<String> = events.iter().map(Publication::detail).collect();
        let sizes: Vec<usize> = events.iter().zip(&details).map(|(p, d)| entry_size(p, d)).collect();
        let mut published = 0;
        for call in calls(&sizes) {
            let fail = |at: usize, reason: String| PublishFailure {
                published: published + at,
                reason,
            };
            let batch: Vec<PutEventsRequestEntry> = call.clone().map(|i| self.entry(&events[i], &details[i])).collect();
            let output = self
                .client
                .put_events()
                .set_entries(Some(batch))
                .send()
                .await
                .map_err(|e| fail(0, aws_sdk_eventbridge::error::DisplayErrorContext(e).to_string()))?;
            if output.failed_entry_count() > 0 {
                let at = output
                    .entries()
                    .iter()
                    .position(|r| r.error_code().is_some())
                    .unwrap_or(0);
                let result = output.entries().get(at);
                let reason = format!(
                    "{}: {}",
                    result.and_then(|r| r.error_code()).unwrap_or("unknown error"),
                    result.and_then(|r| r.error_message()).unwrap_or("no message")
                );
                return Err(fail(at, reason));
            }
            published += call.len();
        }
        Ok(())
    }

    fn entry(&self, publication: &Publication, detail: &str) -> PutEventsRequestEntry {
        PutEventsRequestEntry::builder()
            .event_bus_name(&self.name)
            .source(SOURCE)
            .detail_type(publication.event.kind.detail_type())
            .detail(detail)
            .time(DateTime::from_millis(publication.committed_at.timestamp_millis()))
            .build()
    }
}

/// An entry's size as EventBridge counts it: the time counts 14 bytes, then each string's
/// UTF-8 bytes.
fn entry_size(publication: &Publication, detail: &str) -> usize {
    14 + SOURCE.len() + publication.event.kind.detail_type().len() + detail.len()
}

/// Splits entries of the given sizes into calls (index ranges) of at most [`MAX_ENTRIES`] and
/// [`MAX_CALL_BYTES`]. An entry bigger than a whole call goes alone (EventBridge refuses it,
/// and publishing stops there).
fn calls(sizes: &[usize]) -> Vec<std::ops::Range<usize>> {
    let mut calls = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, size) in sizes.iter().enumerate() {
        let full = i - start == MAX_ENTRIES || (i > start && bytes + size > MAX_CALL_BYTES);
        if full {
            calls.push(start..i);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < sizes.len() {
        calls.push(start..sizes.len());
    }
    calls
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lengths(sizes: &[usize]) -> Vec<usize> {
        calls(sizes).iter().map(|c| c.len()).collect()
    }

    #[test]
    fn calls_hold_at_most_ten_entries() {
        assert_eq!(lengths(&[100; 25]), [10, 10, 5]);
        assert_eq!(lengths(&[100; 10]), [10]);
        assert_eq!(lengths(&[]), Vec::<usize>::new());
    }

    #[test]
    fn calls_hold_at_most_256_kib() {
        let big = 100 * 1024;
        assert_eq!(lengths(&[big, big, big, 10]), [2, 2]);
        // Too big for any call: alone, so the failure is its own.
        assert_eq!(lengths(&[10, 300 * 1024, 10]), [1, 1, 1]);
    }
}
