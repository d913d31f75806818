//! The backup drill of docs/operations.md ("Backups: restoring the users") against moto:
//! point-in-time recovery on, a restore into a new table, then `restore-users` back into the
//! stack's table, checked through the HTTP surface.
//!
//! moto's RestoreTableToPointInTime copies the table as it is when asked, whatever time is
//! given, so the drill takes the restore first and makes "the changes after the restore point"
//! afterwards, on the stack's table.

use std::sync::Arc;

use aws_sdk_dynamodb::types::{AttributeValue, PointInTimeRecoverySpecification};
use serde_json::{Value, json};
use shared::store::dynamo::DynamoStore;
use shared::store::dynamo::restore::restore_users;
use tests::moto::{self, RequestCounter};
use tests::{DOMAIN, TestApi, next_second};

/// (user_id, name) of each user the API lists, by user_id.
async fn listed(api: &TestApi) -> Vec<(String, String)> {
    let reply = api.admin_call("list", json!({"domain_id": DOMAIN})).await.ok();
    let mut users: Vec<(String, String)> = reply["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|u| {
            (
                u["user_id"].as_str().unwrap_or_default().to_string(),
                u["name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    users.sort();
    users
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

async fn own_get(api: &TestApi, token: &str, user_id: &str) -> u16 {
    api.call("get", token, json!({"user_id": user_id, "domain_id": DOMAIN}))
        .await
        .status
}

async fn admins(client: &aws_sdk_dynamodb::Client, table: &str) -> Option<Value> {
    let item = client
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(format!("DOMAIN#{DOMAIN}")))
        .key("sk", AttributeValue::S("ADMINS".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("get the counter")
        .item?;
    match item.get("admins") {
        Some(AttributeValue::N(n)) => Some(json!(n)),
        other => panic!("admins: {other:?}"),
    }
}

#[tokio::test]
async fn a_point_in_time_restore_brings_the_users_back_and_revokes_tokens_of_what_changed() {
    let client = moto::dynamodb(&RequestCounter::default());
    let table = moto::fresh_table(&client).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let api = TestApi::with_store(dir, Arc::new(DynamoStore::new(client.clone(), &table)));
    client
        .update_continuous_backups()
        .table_name(&table)
        .point_in_time_recovery_specification(
            PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(true)
                .build()
                .expect("spec"),
        )
        .send()
        .await
        .expect("point-in-time recovery on");
    api.create_admin("root-admin").await;
    for (id, name) in [("alice", "Alice"), ("bob", "Bob"), ("carol", "Carol")] {
        api.create_user(id, json!({"name": name})).await;
    }
    let before = pairs(&[
        ("alice", "Alice"),
        ("bob", "Bob"),
        ("carol", "Carol"),
        ("root-admin", ""),
    ]);
    assert_eq!(listed(&api).await, before);

    // The restore point: the table as it is now, restored into a new table.
    let restored = moto::unique_table();
    client
        .restore_table_to_point_in_time()
        .source_table_name(&table)
        .target_table_name(&restored)
        .use_latest_restorable_time(true)
        .send()
        .await
        .expect("restore to a point in time");

    // What happens after it: alice renamed, bob deleted, dave and a second admin created.
    let alice = api.user("alice");
    let carol = api.user("carol");
    api.admin_call(
        "update",
        json!({"user_id": "alice", "domain_id": DOMAIN, "name": "Mallory"}),
    )
    .await
    .ok();
    api.admin_call("delete", json!({"user_id": "bob", "domain_id": DOMAIN}))
        .await
        .ok();
    api.create_user("dave", json!({"name": "Dave"})).await;
    api.create_admin("erin").await;
    let dave = api.user("dave");
    assert_eq!(admins(&client, &table).await, Some(json!("2")));
    assert_eq!(
        listed(&api).await,
        pairs(&[
            ("alice", "Mallory"),
            ("carol", "Carol"),
            ("dave", "Dave"),
            ("erin", ""),
            ("root-admin", "")
        ])
    );
    next_second().await;

    let restore = restore_users(&client, &restored, &table).await.expect("restore-users");
    assert_eq!(
        (restore.restored, restore.deleted, restore.unchanged, restore.counters),
        (2, 2, 2, 1),
        "{restore}"
    );
    assert!(restore_users(&client, &table, &table).await.is_err());

    // The same function (its copy of the domain warm) lists the users as they were.
    assert_eq!(listed(&api).await, before);
    assert_eq!(api.get("alice").await["name"], "Alice");
    assert_eq!(api.get("bob").await["name"], "Bob");
    api.admin_call("get", json!({"user_id": "dave", "domain_id": DOMAIN}))
        .await
        .err("ERROR_NOT_FOUND", 404);
    assert_eq!(admins(&client, &table).await, Some(json!("1")));
    // Tokens of the users it wrote back or deleted are refused; the unchanged user's stand.
    assert_eq!(own_get(&api, &alice, "alice").await, 401);
    assert_eq!(own_get(&api, &dave, "dave").await, 401);
    assert_eq!(own_get(&api, &carol, "carol").await, 200);
    assert_eq!(own_get(&api, &api.user("alice"), "alice").await, 200);

    // A second run after an interruption lands on the same users.
    restore_users(&client, &restored, &table).await.expect("again");
    assert_eq!(listed(&api).await, before);
}
