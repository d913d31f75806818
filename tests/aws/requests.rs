//! DynamoDB requests per operation, counted on the SDK client (every attempt, retries included)
//! while the operation runs through the HTTP handler against moto. docs/dynamodb.md explains
//! each figure; this test keeps them from growing unnoticed.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};
use users::store::dynamo::DynamoStore;
use users_tests::moto::{self, RequestCounter};
use users_tests::{DOMAIN, Reply, TestApi};

struct Counted {
    api: TestApi,
    counter: RequestCounter,
}

async fn counted_api() -> Counted {
    let counter = RequestCounter::default();
    let client = moto::dynamodb(&counter);
    let table = moto::fresh_table(&client).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let api = TestApi::with_store(dir, Arc::new(DynamoStore::new(client, table)));
    Counted { api, counter }
}

impl Counted {
    /// Calls `method` as the domain admin and returns the reply and the requests it cost.
    async fn call(&self, method: &str, body: Value) -> (Reply, BTreeMap<String, usize>) {
        self.counter.reset();
        let reply = self.api.admin_call(method, body).await;
        (reply, self.counter.counts())
    }

    async fn expect(&self, method: &str, body: Value, expected: &[(&str, usize)]) -> Value {
        let (reply, counts) = self.call(method, body).await;
        let expected: BTreeMap<String, usize> = expected.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        assert_eq!(counts, expected, "DynamoDB requests of {method}");
        reply.ok()
    }
}

fn target(user_id: &str) -> Value {
    json!({"user_id": user_id, "domain_id": DOMAIN})
}

fn with(user_id: &str, extra: Value) -> Value {
    let mut body = target(user_id);
    users_tests::merge(&mut body, extra);
    body
}

#[tokio::test]
async fn each_operation_costs_the_documented_requests() {
    let c = counted_api().await;
    let local = |extra: Value| {
        with(
            "alice",
            json!({"auth_type": "LOCAL", "password": "Secret123", "permission_group": "DOMAIN"}),
        )
        .as_object()
        .cloned()
        .map(|mut o| {
            o.extend(extra.as_object().cloned().unwrap_or_default());
            Value::Object(o)
        })
        .unwrap_or_default()
    };
    c.expect("create", local(json!({"email": "a@example.com"})), &[("PutItem", 1)])
        .await;
    c.expect("get", target("alice"), &[("GetItem", 1)]).await;
    c.expect(
        "update",
        with("alice", json!({"name": "Alice"})),
        &[("GetItem", 1), ("PutItem", 1)],
    )
    .await;
    c.expect("disable", target("alice"), &[("GetItem", 1), ("PutItem", 1)])
        .await;
    c.expect("enable", target("alice"), &[("GetItem", 1), ("PutItem", 1)])
        .await;
    c.expect(
        "set-required-actions",
        with("alice", json!({"actions": ["UPDATE_PASSWORD"]})),
        &[("GetItem", 1), ("PutItem", 1)],
    )
    .await;
    // The code is stored in the same transaction as the user write that records the mail.
    c.expect(
        "verify-email",
        target("alice"),
        &[("GetItem", 1), ("TransactWriteItems", 1)],
    )
    .await;
    let code = c.api.last_code("a@example.com");
    // Read the user, count the attempt (its own conditional write, before the comparison),
    // then write the user and consume the code in one transaction.
    let user = c
        .expect(
            "confirm-email",
            with("alice", json!({"verify_code": code})),
            &[("GetItem", 1), ("UpdateItem", 1), ("TransactWriteItems", 1)],
        )
        .await;
    assert_eq!(user["email_verified"], true);
    // An admin is counted in the same transaction as the user.
    let admin = with(
        "boss",
        json!({"auth_type": "EXTERNAL", "permission_group": "DOMAIN", "role_id": "managed-domain-admin"}),
    );
    c.expect("create", admin, &[("TransactWriteItems", 1)]).await;
    c.expect("list", json!({"domain_id": DOMAIN}), &[("Query", 1)]).await;
    c.expect(
        "stat",
        json!({"domain_id": DOMAIN, "query": {"aggregate": [
            {"group": {"keys": [{"key": "state", "name": "state"}], "fields": [{"operator": "count", "name": "n"}]}}
        ]}}),
        &[("Query", 1)],
    )
    .await;
    // The user, its codes and its reset window go in one transaction.
    c.expect("delete", target("alice"), &[("GetItem", 1), ("TransactWriteItems", 1)])
        .await;
}

#[tokio::test]
async fn list_reads_a_large_domain_in_one_query_per_megabyte_page() {
    let c = counted_api().await;
    // 150 users of about 15 KB each: a little over 2 MB of items, so three 1 MB pages.
    let bulky: serde_json::Map<String, Value> = (0..12).map(|i| (format!("k{i}"), json!("x".repeat(1200)))).collect();
    for i in 0..150 {
        let body = with(
            &format!("user-{i:03}"),
            json!({"auth_type": "EXTERNAL", "permission_group": "DOMAIN", "tags": bulky}),
        );
        c.api.admin_call("create", body).await.ok();
    }
    let (reply, counts) = c
        .call("list", json!({"domain_id": DOMAIN, "query": {"count_only": true}}))
        .await;
    assert_eq!(reply.ok()["total_count"], 150);
    assert_eq!(counts, BTreeMap::from([("Query".to_string(), 3)]));
}
