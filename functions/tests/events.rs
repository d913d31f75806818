//! Provisioning in through an SQS queue and user change events out through EventBridge, on
//! moto, with the function code Lambda runs (`functions::queue`, `functions::stream`) and the
//! real AWS SDK. The pollers Lambda would run between the services are `tests::pipeline`.
//!
//! The issue's "done when": 1,000 generated commands, some delivered again after a lost
//! response, apply with each user present once, and each change is published exactly once.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_lambda_events::event::dynamodb::Event as StreamBatch;
use serde_json::{Value, json};
use shared::model::DomainId;
use shared::store::dynamo::DynamoStore;
use tests::commands::{self, command};
use tests::moto::{self, RequestCounter};
use tests::pipeline::{CommandQueue, EventTap, stream_batches};
use tests::{DOMAIN, PASSWORD, TestApi};

/// The template's stream batch size (template.yaml, PublishEventsFunction).
const STREAM_BATCH: usize = 100;

struct Pipeline {
    api: TestApi,
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
}

async fn pipeline() -> Pipeline {
    let dynamodb = moto::dynamodb(&RequestCounter::default());
    let table = moto::fresh_table(&dynamodb).await;
    let store = Arc::new(DynamoStore::new(dynamodb.clone(), &table));
    let api = TestApi::with_store(tempfile::tempdir().expect("temp dir"), store);
    Pipeline { api, dynamodb, table }
}

/// What running a queue dry did.
#[derive(Debug, Default)]
struct QueueRun {
    batches: usize,
    lost_responses: usize,
    reported_failures: usize,
}

impl QueueRun {
    fn add(&mut self, other: QueueRun) {
        self.batches += other.batches;
        self.lost_responses += other.lost_responses;
        self.reported_failures += other.reported_failures;
    }
}

/// Runs the queue dry as the event source mapping would: each batch to `apply_batch`, then
/// the messages not reported failed are deleted. Every `lose_every`-th batch is applied but
/// its response is lost (the function timed out): all of it comes again.
async fn run_queue(p: &Pipeline, queue: &mut CommandQueue, lose_every: usize) -> QueueRun {
    let mut run = QueueRun::default();
    while let Some(delivery) = queue.receive_batch().await {
        run.batches += 1;
        assert!(run.batches < 1000, "the queue does not drain");
        let response = functions::queue::apply_batch(&p.api.app, delivery.event.clone()).await;
        if queue.receives().is_multiple_of(lose_every) {
            run.lost_responses += 1;
            continue;
        }
        let failed: Vec<String> = response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
        run.reported_failures += failed.len();
        queue.delete_succeeded(&delivery, &failed).await;
    }
    run
}

/// Publishes the table's whole change stream in the template's batch size, as the stream's
/// event source mapping would, and returns the events the bus delivered. (The tap is read
/// after each batch: moto's SQS slows down with every message a queue holds.)
async fn publish_stream(p: &Pipeline, tap: &EventTap) -> Vec<Value> {
    let bus = tap.event_bus();
    let mut events = Vec::new();
    for batch in stream_batches(&p.dynamodb, &p.table, None, STREAM_BATCH).await {
        let response = functions::stream::publish_batch(&bus, batch).await;
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
        events.extend(tap.take().await);
    }
    events
}

fn kind_and_user(event: &Value) -> (String, String) {
    (
        event["detail"]["user_id"].as_str().unwrap_or("-").to_string(),
        event["detail-type"].as_str().unwrap_or("-").to_string(),
    )
}

/// Every string in a JSON value, keys excluded.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_1000_through_the_queue_makes_each_user_once_and_each_event_once() {
    moto::private_server();
    let p = pipeline().await;
    let mut queue = CommandQueue::create().await;
    let tap = EventTap::create().await;

    // The 1,000, then commands that carry secrets (a password, a mailed code), an enable,
    // a command for a user that does not exist and a message that is not a command.
    let mut lines = commands::batch();
    lines.extend([
        command(
            "create",
            DOMAIN,
            json!({"user_id": "lena", "auth_type": "LOCAL", "password": PASSWORD,
                   "permission_group": "DOMAIN", "email": "lena@example.com"}),
        ),
        command("update", DOMAIN, json!({"user_id": "lena", "password": "Another1234"})),
        command("verify_email", DOMAIN, json!({"user_id": "lena"})),
        command("enable", commands::batch_user(150).0, json!({"user_id": "user-0150"})),
        command("enable", DOMAIN, json!({"user_id": "ghost"})),
    ]);
    let lines: Vec<Value> = commands::with_ids(&lines)
        .iter()
        .map(|l| serde_json::from_str(l).expect("a command"))
        .collect();
    // In waves, as a producer and the function run side by side (moto's FIFO queues slow
    // down with every message they hold).
    queue.send_raw("{not a command", "poison").await;
    let mut run = QueueRun::default();
    for wave in lines.chunks(100) {
        queue.send(wave).await;
        run.add(run_queue(&p, &mut queue, 7).await);
    }
    assert!(run.lost_responses >= 10, "{run:?}: too few redeliveries to test");
    // ghost and the poison message fail on each of their 3 receives (unless the response
    // was lost), then move to the dead-letter queue.
    assert!((2..=6).contains(&run.reported_failures), "{run:?}");
    let mut dead = queue.dead_letters().await;
    dead.sort();
    assert_eq!(dead.len(), 2, "{dead:?}");
    assert!(dead[0].contains("\"ghost\""), "{dead:?}");
    assert_eq!(dead[1], "{not a command");

    // Each user once: 700 created, 50 deleted, and lena.
    let mut users = Vec::new();
    for domain in commands::DOMAINS {
        let domain = DomainId::parse("domain_id", domain.into()).expect("domain");
        for user in p.api.app.store.list_users(&domain).await.expect("list").iter() {
            users.push(format!("{}/{}", domain.as_str(), user.user_id.as_str()));
        }
    }
    let count = users.len();
    users.sort();
    users.dedup();
    assert_eq!((count, users.len()), (651, 651));
    let renamed = p.api.get("user-0000").await;
    assert_eq!(renamed["name"], "Renamed 0");

    // Through the API too: MFA on and confirmed, two changes of lena's MFA.
    let lena = p.api.user("lena");
    let me = |extra: Value| {
        let mut body = json!({"user_id": "lena", "domain_id": DOMAIN});
        tests::merge(&mut body, extra);
        body
    };
    p.api
        .call(
            "enable-mfa",
            &lena,
            me(json!({"mfa_type": "EMAIL", "options": {"email": "lena@example.com"}})),
        )
        .await
        .ok();
    let mfa_code = p.api.last_code("lena@example.com");
    let confirmed = p
        .api
        .call("confirm-mfa", &lena, me(json!({"verify_code": mfa_code})))
        .await
        .ok();
    assert_eq!(confirmed["mfa"]["state"], "ENABLED");

    let events = publish_stream(&p, &tap).await;

    let mut expected: Vec<(String, String)> = commands::batch_events()
        .into_iter()
        .map(|(user, kind)| (user, kind.to_string()))
        .collect();
    for (user, kind) in [
        ("lena", "User Created"),
        ("lena", "User Updated"),
        ("user-0150", "User Enabled"),
        ("lena", "User MFA Changed"),
        ("lena", "User MFA Changed"),
    ] {
        expected.push((user.into(), kind.into()));
    }
    expected.sort();
    let mut got: Vec<(String, String)> = events.iter().map(kind_and_user).collect();
    got.sort();
    assert_eq!(got.len(), expected.len(), "one event per change");
    assert_eq!(got, expected, "each change's event, once");

    let mut sequence_numbers: Vec<&str> = events
        .iter()
        .map(|e| e["detail"]["sequence_number"].as_str().expect("a sequence number"))
        .collect();
    sequence_numbers.sort();
    sequence_numbers.dedup();
    assert_eq!(sequence_numbers.len(), events.len(), "one event per stream record");

    // The envelope and the detail of each kind.
    let by_kind: BTreeMap<String, &Value> = events
        .iter()
        .map(|e| (e["detail-type"].as_str().unwrap_or("-").to_string(), e))
        .collect();
    assert_eq!(by_kind.len(), 6, "all six detail types: {:?}", by_kind.keys());
    for event in &events {
        assert_eq!(event["source"], shared::events::SOURCE);
        let detail = &event["detail"];
        assert_eq!(detail["user"]["user_id"], detail["user_id"]);
        assert_eq!(detail["user"]["domain_id"], detail["domain_id"]);
    }
    let password_change = events
        .iter()
        .find(|e| e["detail-type"] == "User Updated" && e["detail"]["user_id"] == "lena")
        .expect("lena's update");
    assert_eq!(password_change["detail"]["changed"], json!(["password"]));

    // No secret in any event: no hash, no password, no code.
    let verify_code = p
        .api
        .mails_to("lena@example.com")
        .iter()
        .filter_map(|m| tests::six_digit_number(m["text"].as_str().unwrap_or_default()))
        .collect::<Vec<_>>();
    assert!(verify_code.len() >= 2, "the verify and MFA codes were mailed");
    for event in &events {
        let mut detail = event["detail"].clone();
        detail.as_object_mut().map(|d| d.remove("sequence_number"));
        let mut texts = Vec::new();
        strings(&detail, &mut texts);
        let text = detail.to_string();
        for secret in ["argon2", "password_hash", PASSWORD, "Another1234"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        for code in &verify_code {
            assert!(!texts.iter().any(|t| t.contains(code.as_str())), "a code in {text}");
        }
    }
}

/// A stream record in the Lambda event format: `kind` INSERT/MODIFY/REMOVE of `sk`.
fn record(sequence: u64, sk: &str, old: Option<Value>, new: Option<Value>) -> Value {
    let name = match (&old, &new) {
        (None, _) => "INSERT",
        (_, None) => "REMOVE",
        _ => "MODIFY",
    };
    let mut change = json!({
        "ApproximateCreationDateTime": 1764410000.0,
        "Keys": {"pk": {"S": "DOMAIN#domain-test"}, "sk": {"S": sk}},
        "SequenceNumber": sequence.to_string(), "SizeBytes": 100, "StreamViewType": "NEW_AND_OLD_IMAGES"
    });
    if let Some(old) = old {
        change["OldImage"] = old;
    }
    if let Some(new) = new {
        change["NewImage"] = new;
    }
    json!({
        "eventID": format!("e{sequence}"), "eventName": name, "eventVersion": "1.1",
        "eventSource": "aws:dynamodb", "awsRegion": "us-east-1", "dynamodb": change,
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/users/stream/2026-11-29T00:00:00.000"
    })
}

/// The stream image of a user as the DynamoDB store writes it.
async fn user_image(p: &Pipeline, user_id: &str) -> Value {
    p.api.create_user(user_id, json!({})).await;
    let item = p
        .dynamodb
        .get_item()
        .table_name(&p.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("DOMAIN#{DOMAIN}")),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("USER#{user_id}")),
        )
        .send()
        .await
        .expect("get item")
        .item
        .expect("the user item");
    let item: serde_dynamo::Item = item.into();
    serde_json::to_value(item).expect("an image")
}

fn batch(records: Vec<Value>) -> StreamBatch {
    serde_json::from_value(json!({ "Records": records })).expect("a stream batch")
}

fn retry_from(response: aws_lambda_events::event::streams::DynamoDbEventResponse) -> Vec<String> {
    response
        .batch_item_failures
        .into_iter()
        .filter_map(|f| f.item_identifier)
        .collect()
}

#[tokio::test]
async fn a_failed_publication_is_retried_from_its_record_and_nothing_after_it_goes_out() {
    let p = pipeline().await;
    let tap = EventTap::create().await;
    let alice = user_image(&p, "alice").await;
    let bob = user_image(&p, "bob").await;
    let records = || {
        vec![
            // Not a user: no event.
            record(
                101,
                "MESSAGE#m-1",
                None,
                Some(json!({"pk": {"S": "DOMAIN#domain-test"}, "sk": {"S": "MESSAGE#m-1"}})),
            ),
            record(102, "USER#alice", None, Some(alice.clone())),
            record(103, "USER#bob", None, Some(bob.clone())),
        ]
    };

    // A bus that does not exist: nothing is published, the shard is retried from the first
    // record with an event.
    let missing = shared::events::bridge::EventBus::new(tests::pipeline::eventbridge(), "no-such-bus");
    let response = functions::stream::publish_batch(&missing, batch(records())).await;
    assert_eq!(retry_from(response), ["102"]);

    // A record that cannot be read stops the batch there; the events before it go out.
    let mut broken = records();
    broken.insert(
        2,
        record(
            150,
            "USER#broken",
            None,
            Some(json!({"pk": {"S": "DOMAIN#domain-test"}, "sk": {"S": "USER#broken"}, "version": {"N": "1"}})),
        ),
    );
    let response = functions::stream::publish_batch(&tap.event_bus(), batch(broken)).await;
    assert_eq!(retry_from(response), ["150"]);
    let published: Vec<(String, String)> = tap.take().await.iter().map(kind_and_user).collect();
    assert_eq!(published, [("alice".to_string(), "User Created".to_string())]);

    // The retry from 150 onwards, once the record is readable (here: without it).
    let rest = records().split_off(2);
    let response = functions::stream::publish_batch(&tap.event_bus(), batch(rest)).await;
    assert!(retry_from(response).is_empty());
    let published: Vec<(String, String)> = tap.take().await.iter().map(kind_and_user).collect();
    assert_eq!(published, [("bob".to_string(), "User Created".to_string())]);
}

#[tokio::test]
async fn in_a_fifo_batch_a_failed_message_holds_back_the_rest_of_its_group_only() {
    let p = pipeline().await;
    let (ann, bea) = (Some("g/ann"), Some("g/bea"));
    let batch = [
        ("m-1", ann, command("enable", DOMAIN, json!({"user_id": "ann"}))),
        ("m-2", bea, commands::create(DOMAIN, "bea", "Bea")),
        // Would apply on its own, but ann's first command failed: it must wait behind it.
        ("m-3", ann, commands::create(DOMAIN, "ann", "Ann")),
        ("m-4", bea, command("disable", DOMAIN, json!({"user_id": "bea"}))),
    ];
    let response = functions::queue::apply_batch(&p.api.app, commands::sqs_event(&batch)).await;
    let failed: Vec<String> = response
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect();
    assert_eq!(failed, ["m-1", "m-3"]);
    assert_eq!(p.api.get("bea").await["state"], "DISABLED");
    let held = p
        .api
        .admin_call("get", json!({"user_id": "ann", "domain_id": DOMAIN}))
        .await;
    assert_eq!(held.code(), "ERROR_NOT_FOUND", "ann's create was held back");
}

/// A successful sign-in and a lockout are events on the same stream path, with no secret in
/// them: "User Signed In" from the user's last_accessed_at, "User Sign-in Locked" from the
/// sign-in count reaching its limit (once, not for the refused attempts after it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_and_a_lockout_are_published_without_secrets() {
    let p = pipeline().await;
    let tap = EventTap::create().await;
    p.api.create_user("alice", json!({})).await;
    let issue =
        |password: &str| json!({"credentials": {"user_id": "alice", "password": password}, "domain_id": DOMAIN});
    let tokens = p.api.post("/identity/v2/token/issue", None, issue(PASSWORD)).await.ok();
    for _ in 0..6 {
        p.api
            .post("/identity/v2/token/issue", None, issue("Wrong12345"))
            .await
            .err("ERROR_AUTHENTICATE_FAILURE", 401);
    }
    let events = publish_stream(&p, &tap).await;
    let kinds: Vec<(String, String)> = events.iter().map(kind_and_user).collect();
    let alice = |kind: &str| ("alice".to_string(), kind.to_string());
    assert_eq!(
        kinds,
        [
            alice("User Created"),
            alice("User Signed In"),
            alice("User Sign-in Locked")
        ]
    );
    assert_eq!(events[1]["detail"]["changed"], json!(["last_accessed_at"]));
    assert_eq!(events[2]["detail"]["user"], Value::Null);
    let mut texts = Vec::new();
    strings(&Value::Array(events), &mut texts);
    for secret in [
        PASSWORD,
        "Wrong12345",
        tokens["access_token"].as_str().unwrap(),
        "argon2",
    ] {
        assert!(!texts.iter().any(|t| t.contains(secret)), "{secret} in an event");
    }
}

/// Authenticator-app MFA on the stream path (SPEC section 10): enrolment, confirmation, a
/// sign-in with a code and a disable are events, and none carries the secret, its URI or the
/// sealed bytes the user item holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otp_changes_are_published_without_the_secret() {
    let p = pipeline().await;
    let tap = EventTap::create().await;
    p.api.create_user("alice", json!({})).await;
    let me = p.api.user("alice");
    let body = |extra: Value| {
        let mut body = json!({"user_id": "alice", "domain_id": DOMAIN});
        tests::merge(&mut body, extra);
        body
    };
    let enabled = p
        .api
        .call("enable-mfa", &me, body(json!({"mfa_type": "OTP"})))
        .await
        .ok();
    let uri = enabled["mfa"]["options"]["otp_qrcode_uri"]
        .as_str()
        .unwrap()
        .to_string();
    let secret = tests::otp_secret(&uri);
    let code = p.api.authenticator_code(&uri, 0);
    p.api
        .call("confirm-mfa", &me, body(json!({"verify_code": code})))
        .await
        .ok();
    p.api.clock.advance(30);
    let sign_in = json!({"credentials": {"user_id": "alice", "password": PASSWORD}, "domain_id": DOMAIN,
                         "verify_code": p.api.authenticator_code(&uri, 0)});
    p.api.post("/identity/v2/token/issue", None, sign_in).await.ok();
    let stored = p
        .api
        .app
        .store
        .get_user(
            &shared::model::DomainId::parse("domain_id", DOMAIN.into()).unwrap(),
            &shared::model::UserId::parse("user_id", "alice".into()).unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    let sealed = serde_json::to_value(&stored.item.otp.as_ref().expect("a secret in force").sealed).unwrap();
    p.api.admin_call("disable-mfa", body(json!({"force": true}))).await.ok();
    let events = publish_stream(&p, &tap).await;
    let kinds: Vec<(String, String)> = events.iter().map(kind_and_user).collect();
    let alice = |kind: &str| ("alice".to_string(), kind.to_string());
    assert_eq!(
        kinds,
        [
            alice("User Created"),
            alice("User MFA Changed"),
            alice("User MFA Changed"),
            alice("User Signed In"),
            alice("User MFA Changed"),
        ]
    );
    let mut texts = Vec::new();
    strings(&Value::Array(events), &mut texts);
    for needle in [secret.as_str(), "otpauth", sealed.as_str().unwrap()] {
        assert!(!texts.iter().any(|t| t.contains(needle)), "{needle} in an event");
    }
}
