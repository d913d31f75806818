//! Racing requests: uniqueness, the last-admin rule and lost updates hold under concurrency.

use std::sync::Arc;

use serde_json::json;
use tests::{DOMAIN, TestApi};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_creates_of_one_user_id_make_one_user() {
    let api = Arc::new(TestApi::for_races().await);
    let mut tasks = Vec::new();
    for i in 0..20 {
        let api = Arc::clone(&api);
        tasks.push(tokio::spawn(async move {
            let body = json!({"user_id": "same", "auth_type": "EXTERNAL", "permission_group": "DOMAIN", "domain_id": DOMAIN, "name": format!("n{i}")});
            api.admin_call("create", body).await
        }));
    }
    let mut created = 0;
    for task in tasks {
        let reply = task.await.unwrap();
        match reply.status {
            200 => created += 1,
            _ => assert_eq!(reply.code(), "ERROR_NOT_UNIQUE"),
        }
    }
    assert_eq!(created, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_disables_of_the_last_two_admins_leave_one_enabled() {
    for round in 0..5 {
        let api = Arc::new(TestApi::for_races().await);
        api.create_admin("a").await;
        api.create_admin("b").await;
        let mut tasks = Vec::new();
        for (user_id, method) in [("a", "disable"), ("b", "disable"), ("a", "delete"), ("b", "delete")] {
            let api = Arc::clone(&api);
            tasks.push(tokio::spawn(async move {
                api.admin_call(method, json!({"user_id": user_id, "domain_id": DOMAIN}))
                    .await
            }));
        }
        let mut succeeded = 0;
        for task in tasks {
            let reply = task.await.unwrap();
            match reply.status {
                200 => succeeded += 1,
                _ => assert!(
                    [
                        "ERROR_LAST_ADMIN_CANNOT_DISABLED_DELETED",
                        "ERROR_NOT_FOUND",
                        "ERROR_CONFLICT"
                    ]
                    .contains(&reply.code()),
                    "round {round}: {:?}",
                    reply.body
                ),
            }
        }
        assert!(succeeded >= 1, "round {round}");
        let mut enabled_admins = 0;
        for user_id in ["a", "b"] {
            let reply = api
                .admin_call("get", json!({"user_id": user_id, "domain_id": DOMAIN}))
                .await;
            if reply.status == 200 && reply.body["state"] == "ENABLED" {
                enabled_admins += 1;
            }
        }
        assert_eq!(
            enabled_admins, 1,
            "round {round}: exactly one admin must remain enabled"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_updates_of_different_fields_lose_none() {
    let api = Arc::new(TestApi::for_races().await);
    api.create_user("alice", json!({})).await;
    let updates = [
        json!({"name": "Alice"}),
        json!({"email": "a@example.com"}),
        json!({"language": "ja"}),
        json!({"timezone": "Asia/Tokyo"}),
        json!({"tags": {"team": "core"}}),
    ];
    let mut tasks = Vec::new();
    for update in updates.clone() {
        for _ in 0..4 {
            let api = Arc::clone(&api);
            let mut body = json!({"user_id": "alice", "domain_id": DOMAIN});
            tests::merge(&mut body, update.clone());
            tasks.push(tokio::spawn(async move { api.admin_call("update", body).await }));
        }
    }
    for task in tasks {
        task.await.unwrap().ok();
    }
    let user = api.get("alice").await;
    for update in updates {
        for (key, value) in update.as_object().unwrap() {
            assert_eq!(&user[key], value, "{key} was lost");
        }
    }
}
