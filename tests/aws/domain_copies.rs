//! The DynamoDB store's copies of a domain (list and stat) against moto: read-your-writes across
//! two store instances on one table (two functions), the refusal of a domain over the memory budget, a table made before the change index, and the
//! upgrade that copies it into a new one.

use std::collections::BTreeMap;
use std::sync::Arc;

use rand::{RngExt, SeedableRng};
use serde_json::json;
use shared::model::{DomainId, Name, RoleType, UserId};
use shared::store::UserStore;
use shared::store::dynamo::DynamoStore;
use tests::conformance::user;
use tests::moto::{self, RequestCounter};
use tests::{DOMAIN, TestApi};

fn domain(id: &str) -> DomainId {
    DomainId::parse("domain_id", id.into()).expect("domain id")
}

fn uid(id: &str) -> UserId {
    UserId::parse("user_id", id.into()).expect("user id")
}

/// user_id → name, as a list by `store` reports them.
async fn listed(store: &dyn UserStore, d: &str) -> BTreeMap<String, String> {
    let users = store.list_users(&domain(d)).await.expect("list");
    let ids: Vec<&str> = users.iter().map(|u| u.user_id.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "in user_id order");
    users
        .iter()
        .map(|u| (u.user_id.as_str().to_owned(), u.name.as_str().to_owned()))
        .collect()
}

fn two_functions(client: &aws_sdk_dynamodb::Client, table: &str) -> (DynamoStore, DynamoStore) {
    (
        DynamoStore::new(client.clone(), table),
        DynamoStore::new(client.clone(), table),
    )
}

/// Another function's writes (create, rename, delete, delete and create again), each
/// acknowledged before the list starts, are all in the list; 200 random ones, checked
/// against a model after each.
#[tokio::test]
async fn a_list_sees_every_write_another_function_acknowledged() {
    let client = moto::dynamodb(&RequestCounter::default());
    let table = moto::fresh_table(&client).await;
    let (reader, writer) = two_functions(&client, &table);
    let mut model: BTreeMap<String, String> = BTreeMap::new();
    let mut rng = rand::rngs::StdRng::seed_from_u64(14);
    assert_eq!(listed(&reader, "d1").await, model);
    for step in 0..200 {
        let id = format!("u{:02}", rng.random_range(0..30));
        match model.get(&id) {
            None => {
                writer
                    .create_user(&user("d1", &id, RoleType::User))
                    .await
                    .expect("create");
                model.insert(id, String::new());
            }
            Some(_) if rng.random_bool(0.3) => {
                let before = writer
                    .get_user(&domain("d1"), &uid(&id))
                    .await
                    .expect("get")
                    .expect("exists");
                writer.delete_user(&before).await.expect("delete");
                model.remove(&id);
            }
            Some(_) => {
                let before = writer
                    .get_user(&domain("d1"), &uid(&id))
                    .await
                    .expect("get")
                    .expect("exists");
                let mut after = before.item.clone();
                let name = format!("name {step}");
                after.name = Name::parse("name", &name).expect("name");
                writer
                    .save_user(&before, &after, shared::store::CodeChange::None)
                    .await
                    .expect("save");
                model.insert(id, name);
            }
        }
        assert_eq!(listed(&reader, "d1").await, model, "after step {step}");
    }
    // The writer's own copy, made only now, agrees.
    assert_eq!(listed(&writer, "d1").await, model);
}

/// A domain larger than the function's budget is refused with a 503 that says why, and
/// the function keeps serving the rest.
#[tokio::test]
async fn a_domain_over_the_budget_is_refused_with_a_clear_503() {
    let client = moto::dynamodb(&RequestCounter::default());
    let table = moto::fresh_table(&client).await;
    let small = DynamoStore::with_domain_budget(client.clone(), &table, 10 * 1024);
    for i in 0..40 {
        small
            .create_user(&user(DOMAIN, &format!("user-{i:02}"), RoleType::User))
            .await
            .expect("create");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let api = TestApi::with_store(dir, Arc::new(small));
    let reply = api.admin_call("list", json!({"domain_id": DOMAIN})).await;
    let message = reply.err("ERROR_UNAVAILABLE", 503);
    assert!(message.contains("MemorySize") && message.contains(DOMAIN), "{message}");
    // The function still serves the methods that read one user.
    api.admin_call("get", json!({"user_id": "user-01", "domain_id": DOMAIN}))
        .await
        .ok();
}

/// A table made before the change index keeps working (every list reads it whole), and
/// `upgrade-table` copies it into a new table where the copies work.
#[tokio::test]
async fn an_old_table_keeps_working_and_upgrades_into_a_new_one() {
    let client = moto::dynamodb(&RequestCounter::default());
    let old = moto::unique_table();
    shared::store::dynamo::schema::create_table_without_change_index(&client, &old)
        .await
        .expect("old table");
    let (reader, writer) = two_functions(&client, &old);
    for id in ["alice", "bob", "carol"] {
        writer
            .create_user(&user("d1", id, RoleType::User))
            .await
            .expect("create");
    }
    // Items as the earlier version wrote them: no change stamp, no list blob.
    for id in ["alice", "bob", "carol"] {
        client
            .update_item()
            .table_name(&old)
            .key("pk", aws_sdk_dynamodb::types::AttributeValue::S("DOMAIN#d1".into()))
            .key("sk", aws_sdk_dynamodb::types::AttributeValue::S(format!("USER#{id}")))
            .update_expression("REMOVE chg, u")
            .send()
            .await
            .expect("remove the stamp");
    }
    let names = |ids: &[&str]| {
        ids.iter()
            .map(|i| (i.to_string(), String::new()))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(listed(&reader, "d1").await, names(&["alice", "bob", "carol"]));
    let bob = writer
        .get_user(&domain("d1"), &uid("bob"))
        .await
        .expect("get")
        .expect("bob");
    writer.delete_user(&bob).await.expect("delete");
    // The second list finds no change index, and reads the domain whole.
    assert_eq!(listed(&reader, "d1").await, names(&["alice", "carol"]));
    writer
        .create_user(&user("d1", "dave", RoleType::User))
        .await
        .expect("create");
    assert_eq!(listed(&reader, "d1").await, names(&["alice", "carol", "dave"]));

    let new = moto::unique_table();
    let upgrade = shared::store::dynamo::upgrade::upgrade_table(&client, &old, &new)
        .await
        .expect("upgrade");
    assert!(upgrade.created);
    assert_eq!(
        upgrade.users, 2,
        "alice and carol had no stamp; dave had one: {upgrade}"
    );
    assert!(upgrade.items >= 3, "{upgrade}");
    assert!(
        shared::store::dynamo::upgrade::upgrade_table(&client, &new, &new)
            .await
            .is_err()
    );
    let (reader, writer) = two_functions(&client, &new);
    assert_eq!(listed(&reader, "d1").await, names(&["alice", "carol", "dave"]));
    // bob's tombstone came along: revocation survives the upgrade (SPEC section 5).
    let bob_now = writer.get_record(&domain("d1"), &uid("bob")).await.expect("read");
    assert!(matches!(bob_now, shared::store::Record::Tombstone(_)), "{bob_now:?}");
    let carol = writer
        .get_user(&domain("d1"), &uid("carol"))
        .await
        .expect("get")
        .expect("carol");
    writer.delete_user(&carol).await.expect("delete");
    writer
        .create_user(&user("d1", "erin", RoleType::User))
        .await
        .expect("create");
    assert_eq!(listed(&reader, "d1").await, names(&["alice", "dave", "erin"]));
}
