//! Provisioning commands for the tests of `shared::provision`, the SQS queue and the event
//! publisher: single commands, and one generated batch of 1,000.

use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::{Value, json};

/// The domains the batch spreads over.
pub const DOMAINS: [&str; 3] = ["domain-test", "domain-b", "domain-c"];

pub fn command(action: &str, domain: &str, params: Value) -> String {
    json!({"action": action, "domain_id": domain, "params": params}).to_string()
}

/// Creates an EXTERNAL user with a name and one tag.
pub fn create(domain: &str, user: &str, name: &str) -> String {
    command(
        "create",
        domain,
        json!({"user_id": user, "name": name, "auth_type": "EXTERNAL", "permission_group": "DOMAIN",
               "tags": {"source": "hr"}}),
    )
}

/// The domain and user_id of the batch's i-th user.
pub fn batch_user(i: usize) -> (&'static str, String) {
    (DOMAINS[i % 3], format!("user-{i:04}"))
}

/// 1,000 commands over three domains: 700 creates, then 150 renames (users 0–149), 100
/// disables (150–249) and 50 deletes (250–299).
pub fn batch() -> Vec<String> {
    let lines = batch_of(1000);
    assert_eq!(lines.len(), 1000);
    lines
}

/// `total` commands (a multiple of 20) in the batch's proportions: 70 % creates, then 15 %
/// renames, 10 % disables and 5 % deletes of the first users created.
pub fn batch_of(total: usize) -> Vec<String> {
    let (creates, renames, disables, deletes) = (total * 7 / 10, total * 15 / 100, total / 10, total / 20);
    let mut lines: Vec<String> = (0..creates)
        .map(|i| {
            let (d, u) = batch_user(i);
            create(d, &u, &format!("Person {i}"))
        })
        .collect();
    for i in 0..renames {
        let (d, u) = batch_user(i);
        lines.push(command(
            "update",
            d,
            json!({"user_id": u, "name": format!("Renamed {i}")}),
        ));
    }
    for i in renames..renames + disables {
        let (d, u) = batch_user(i);
        lines.push(command("disable", d, json!({"user_id": u})));
    }
    for i in renames + disables..renames + disables + deletes {
        let (d, u) = batch_user(i);
        lines.push(command("delete", d, json!({"user_id": u})));
    }
    assert_eq!(lines.len(), total);
    lines
}

/// The event each batch command makes: (user_id, detail-type), in batch order.
pub fn batch_events() -> Vec<(String, &'static str)> {
    let kind = |i: usize| match i {
        0..700 => "User Created",
        700..850 => "User Updated",
        850..950 => "User Disabled",
        _ => "User Deleted",
    };
    let user = |i: usize| match i {
        0..700 => i,
        700..850 => i - 700,
        850..950 => i - 700,
        _ => i - 700,
    };
    (0..1000).map(|i| (batch_user(user(i)).1, kind(i))).collect()
}

/// Gives each command an id, as an SQS message or a file may.
pub fn with_ids(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .enumerate()
        .map(|(n, line)| {
            let mut command: Value = serde_json::from_str(line).expect("a command");
            command["id"] = json!(format!("cmd-{n}"));
            command.to_string()
        })
        .collect()
}

/// An SQS event as Lambda delivers it: one record per (message id, FIFO message group if
/// any, body).
pub fn sqs_event(messages: &[(&str, Option<&str>, String)]) -> SqsEvent {
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, group, body)| {
            let mut attributes = json!({"ApproximateReceiveCount": "1", "SentTimestamp": "1764410000000",
                                        "SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": "1764410000001"});
            if let Some(group) = group {
                attributes["MessageGroupId"] = json!(group);
            }
            json!({
                "messageId": id, "receiptHandle": format!("handle-{id}"), "body": body,
                "attributes": attributes, "messageAttributes": {}, "md5OfBody": "0", "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:user-commands", "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).expect("an SQS event")
}
