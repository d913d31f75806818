//! The AWS event plumbing around the two event-driven functions, on moto, as template.yaml
//! declares it: a FIFO command queue with its dead-letter queue (maxReceiveCount 3), the users
//! table's change stream, and an EventBridge bus whose rule sends every user event to an SQS
//! queue the tests read.
//!
//! Lambda's event source mappings (the pollers that turn a queue or a stream into function
//! invocations) do not run on moto, so [`CommandQueue::receive_batch`] and [`stream_batches`]
//! do their part: they read with the real SQS and DynamoDB Streams APIs and hand the function
//! code the events Lambda would, in the Lambda event format.

use aws_lambda_events::event::dynamodb::Event as StreamBatch;
use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName};
use rand::RngExt;
use serde_json::{Value, json};

use crate::moto::{self, REGION};

fn suffix() -> String {
    format!("{:012x}", rand::rng().random::<u64>() & 0xffff_ffff_ffff)
}

pub fn sqs() -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::Config::builder()
        .http_client(shared::aws::http_client())
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new(REGION))
        .endpoint_url(moto::endpoint())
        .credentials_provider(moto::credentials())
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

pub fn eventbridge() -> aws_sdk_eventbridge::Client {
    let config = aws_sdk_eventbridge::Config::builder()
        .http_client(shared::aws::http_client())
        .behavior_version(aws_sdk_eventbridge::config::BehaviorVersion::latest())
        .region(aws_sdk_eventbridge::config::Region::new(REGION))
        .endpoint_url(moto::endpoint())
        .credentials_provider(moto::credentials())
        .build();
    aws_sdk_eventbridge::Client::from_conf(config)
}

async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str, attributes: &[(QueueAttributeName, String)]) -> String {
    let mut request = sqs.create_queue().queue_name(name);
    for (key, value) in attributes {
        request = request.attributes(key.clone(), value);
    }
    let url = request
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("queue URL");
    moto::forget_at_exit(moto::Created::Queue(url.clone()));
    url
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes");
    attributes
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("queue ARN")
}

/// The provisioning queue: FIFO (one message group per user keeps a user's commands in
/// order), content-based deduplication, and a FIFO dead-letter queue after 3 receives.
pub struct CommandQueue {
    pub sqs: aws_sdk_sqs::Client,
    pub url: String,
    pub arn: String,
    pub dead_letter_url: String,
    /// Receives so far, to let a test make every n-th one "crash".
    receives: usize,
}

/// What a batch delivered: the Lambda event, and each message's receipt handle by id.
pub struct Delivery {
    pub event: SqsEvent,
    pub handles: Vec<(String, String)>,
}

impl CommandQueue {
    pub async fn create() -> Self {
        let sqs = sqs();
        let fifo = (QueueAttributeName::FifoQueue, "true".to_string());
        let dead_letter_url = create_queue(
            &sqs,
            &format!("user-commands-dlq-{}.fifo", suffix()),
            std::slice::from_ref(&fifo),
        )
        .await;
        let dead_letter_arn = queue_arn(&sqs, &dead_letter_url).await;
        let redrive = json!({"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": 3}).to_string();
        let url = create_queue(
            &sqs,
            &format!("user-commands-{}.fifo", suffix()),
            &[
                fifo,
                (QueueAttributeName::ContentBasedDeduplication, "true".into()),
                (QueueAttributeName::RedrivePolicy, redrive),
            ],
        )
        .await;
        let arn = queue_arn(&sqs, &url).await;
        Self {
            sqs,
            url,
            arn,
            dead_letter_url,
            receives: 0,
        }
    }

    /// Sends commands as a producer would: one message group per user, 10 per call.
    pub async fn send(&self, commands: &[Value]) {
        for chunk in commands.chunks(10) {
            let mut request = self.sqs.send_message_batch().queue_url(&self.url);
            for (i, command) in chunk.iter().enumerate() {
                let group = format!(
                    "{}/{}",
                    command["domain_id"].as_str().unwrap_or("-"),
                    command["params"]["user_id"].as_str().unwrap_or("-")
                );
                let entry = aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(command.to_string())
                    .message_group_id(group)
                    .build()
                    .expect("batch entry");
                request = request.entries(entry);
            }
            let sent = request.send().await.expect("send commands");
            assert!(sent.failed.is_empty(), "{:?}", sent.failed);
        }
    }

    /// Sends one raw body (a poison message) in its own group.
    pub async fn send_raw(&self, body: &str, group: &str) {
        self.sqs
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .message_group_id(group)
            .send()
            .await
            .expect("send");
    }

    /// Up to 10 messages as the event source mapping would deliver them, or `None` when the
    /// queue has nothing visible. The messages become visible again at once unless deleted
    /// (a visibility timeout of 0 stands in for the template's 180 s).
    pub async fn receive_batch(&mut self) -> Option<Delivery> {
        let received = self
            .sqs
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .expect("receive");
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return None;
        }
        self.receives += 1;
        let mut handles = Vec::new();
        let records: Vec<Value> = messages
            .into_iter()
            .map(|m| {
                let id = m.message_id.clone().unwrap_or_default();
                handles.push((id.clone(), m.receipt_handle.clone().unwrap_or_default()));
                let attributes: serde_json::Map<String, Value> = m
                    .attributes
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k.as_str().to_string(), Value::String(v)))
                    .collect();
                json!({
                    "messageId": id, "receiptHandle": m.receipt_handle, "body": m.body,
                    "attributes": attributes, "messageAttributes": {}, "md5OfBody": m.md5_of_body,
                    "eventSource": "aws:sqs", "eventSourceARN": self.arn, "awsRegion": REGION,
                })
            })
            .collect();
        let event = serde_json::from_value(json!({ "Records": records })).expect("an SQS event");
        Some(Delivery { event, handles })
    }

    /// How many receives so far.
    pub fn receives(&self) -> usize {
        self.receives
    }

    /// What the event source mapping does with a partial batch response: deletes every
    /// message not reported as failed.
    pub async fn delete_succeeded(&self, delivery: &Delivery, failed: &[String]) {
        let entries: Vec<DeleteMessageBatchRequestEntry> = delivery
            .handles
            .iter()
            .filter(|(id, _)| !failed.contains(id))
            .enumerate()
            .map(|(i, (_, handle))| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(handle)
                    .build()
                    .expect("delete entry")
            })
            .collect();
        if entries.is_empty() {
            return;
        }
        let deleted = self
            .sqs
            .delete_message_batch()
            .queue_url(&self.url)
            .set_entries(Some(entries))
            .send()
            .await
            .expect("delete");
        assert!(deleted.failed.is_empty(), "{:?}", deleted.failed);
    }

    /// The bodies that reached the dead-letter queue.
    pub async fn dead_letters(&self) -> Vec<String> {
        drain(&self.sqs, &self.dead_letter_url)
            .await
            .into_iter()
            .map(|(body, _)| body)
            .collect()
    }
}

/// Receives and deletes everything on a queue: (body, ApproximateReceiveCount).
async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<(String, String)> {
    let mut all = Vec::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .expect("receive");
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return all;
        }
        let mut entries = Vec::new();
        for (i, m) in messages.into_iter().enumerate() {
            let entry = DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(m.receipt_handle.clone().unwrap_or_default())
                .build()
                .expect("delete entry");
            entries.push(entry);
            let count = m
                .attributes
                .as_ref()
                .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount).cloned())
                .unwrap_or_default();
            all.push((m.body.unwrap_or_default(), count));
        }
        sqs.delete_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .expect("delete");
    }
}

/// An EventBridge bus with a rule that sends every `identity.user` event to an SQS queue.
pub struct EventTap {
    pub bus: String,
    sqs: aws_sdk_sqs::Client,
    url: String,
}

impl EventTap {
    pub async fn create() -> Self {
        let sqs = sqs();
        let events = eventbridge();
        let bus = format!("users-{}", suffix());
        events.create_event_bus().name(&bus).send().await.expect("create bus");
        let url = create_queue(&sqs, &format!("user-events-{}", suffix()), &[]).await;
        let arn = queue_arn(&sqs, &url).await;
        events
            .put_rule()
            .name("all-user-events")
            .event_bus_name(&bus)
            .event_pattern(json!({"source": [shared::events::SOURCE]}).to_string())
            .send()
            .await
            .expect("rule");
        let target = aws_sdk_eventbridge::types::Target::builder()
            .id("tap")
            .arn(arn)
            .build()
            .expect("target");
        events
            .put_targets()
            .rule("all-user-events")
            .event_bus_name(&bus)
            .targets(target)
            .send()
            .await
            .expect("target");
        Self { bus, sqs, url }
    }

    /// The bus as the publisher uses it.
    pub fn event_bus(&self) -> shared::events::bridge::EventBus {
        shared::events::bridge::EventBus::new(eventbridge(), &self.bus)
    }

    /// The detail-types of the events delivered so far, in order; removes them.
    pub async fn detail_types(&self) -> Vec<String> {
        self.take()
            .await
            .iter()
            .map(|e| e["detail-type"].as_str().unwrap_or("-").to_string())
            .collect()
    }

    /// Every event delivered so far (EventBridge envelopes), removed from the queue.
    pub async fn take(&self) -> Vec<Value> {
        drain(&self.sqs, &self.url)
            .await
            .into_iter()
            .map(|(body, _)| serde_json::from_str(&body).expect("an event envelope"))
            .collect()
    }
}

/// DynamoDB Streams over moto's JSON API (the SDK for it is not a dependency): `target` is
/// the operation, `body` its input.
async fn streams_call(target: &str, body: Value) -> Value {
    let text = crate::failing::post_json(
        &format!("{}/", moto::endpoint()),
        &[
            ("x-amz-target", &format!("DynamoDBStreams_20120810.{target}")),
            ("content-type", "application/x-amz-json-1.0"),
            // moto picks the service from the credential scope; it checks no signature.
            (
                "authorization",
                &format!("AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/dynamodb/aws4_request, SignedHeaders=host, Signature=0"),
            ),
        ],
        &body.to_string(),
    )
    .await;
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("{target}: {text}"))
}

/// Every record of the table's change stream so far, from `after` (a sequence number, or the
/// start), as the Lambda event source mapping would hand them on: batches of `batch_size`,
/// each record with its `eventSourceARN`.
pub async fn stream_batches(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    after: Option<&str>,
    batch_size: usize,
) -> Vec<StreamBatch> {
    let described = dynamodb
        .describe_table()
        .table_name(table)
        .send()
        .await
        .expect("describe table");
    let stream_arn = described
        .table
        .and_then(|t| t.latest_stream_arn)
        .expect("the table has a stream");
    let stream = streams_call("DescribeStream", json!({"StreamArn": stream_arn})).await;
    let shard = stream["StreamDescription"]["Shards"][0]["ShardId"].clone();
    let position = match after {
        Some(sequence) => json!({"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": sequence}),
        None => json!({"ShardIteratorType": "TRIM_HORIZON"}),
    };
    let mut request = json!({"StreamArn": stream_arn, "ShardId": shard});
    crate::merge(&mut request, position);
    let mut iterator = streams_call("GetShardIterator", request).await["ShardIterator"].clone();
    let mut records: Vec<Value> = Vec::new();
    loop {
        let page = streams_call("GetRecords", json!({"ShardIterator": iterator, "Limit": 1000})).await;
        let page_records = page["Records"].as_array().cloned().unwrap_or_default();
        if page_records.is_empty() {
            break;
        }
        records.extend(page_records);
        iterator = page["NextShardIterator"].clone();
    }
    records
        .chunks(batch_size)
        .map(|chunk| {
            let records: Vec<Value> = chunk
                .iter()
                .cloned()
                .map(|mut r| {
                    r["eventSourceARN"] = json!(stream_arn);
                    r
                })
                .collect();
            serde_json::from_value(json!({ "Records": records })).expect("a DynamoDB stream event")
        })
        .collect()
}
