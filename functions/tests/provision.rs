//! Provisioning commands (`shared::provision`, `users-local provision FILE`) on both stores:
//! a generated batch of 1,000 commands applies with each user present once, a command
//! delivered twice changes nothing the second time, and bad commands fail alone with their
//! SPEC error code.

use std::sync::Arc;

use functions::local::{Summary, provision_lines};
use serde_json::{Value, json};
use shared::model::{DomainId, UserId};
use shared::store::embedded::EmbeddedStore;
use tests::TestApi;
use tests::commands::{batch, batch_of, command, create, with_ids};
use tests::moto;

const BIN: &str = env!("CARGO_BIN_EXE_users-local");

/// The same test API on the embedded store and on DynamoDB (moto).
async fn apis() -> Vec<(&'static str, TestApi)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let embedded = Arc::new(EmbeddedStore::open(&dir.path().join("db")).expect("store"));
    let dynamo = Arc::new(moto::fresh_store(&moto::RequestCounter::default()).await);
    vec![
        ("embedded", TestApi::with_store(dir, embedded)),
        (
            "dynamo",
            TestApi::with_store(tempfile::tempdir().expect("temp dir"), dynamo),
        ),
    ]
}

async fn run(api: &TestApi, lines: &[String]) -> (Summary, Vec<Value>) {
    let input = lines.join("\n");
    let mut out = Vec::new();
    let summary = provision_lines(&api.app, input.as_bytes(), None, false, &mut out)
        .await
        .expect("provision");
    let results = String::from_utf8(out)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON result line"))
        .collect();
    (summary, results)
}

/// Every user's (user_id, version) in the three domains.
async fn snapshot(api: &TestApi) -> Vec<(String, u64)> {
    let mut all = Vec::new();
    for domain in tests::commands::DOMAINS {
        let domain = DomainId::parse("domain_id", domain.into()).unwrap();
        for user in api.app.store.list_users(&domain).await.unwrap().iter() {
            let stored = api.app.store.get_user(&domain, &user.user_id).await.unwrap().unwrap();
            all.push((format!("{}/{}", domain.as_str(), user.user_id.as_str()), stored.version));
        }
    }
    all
}

#[tokio::test]
async fn a_batch_of_1000_applies_with_each_user_once_and_redelivery_changes_nothing() {
    moto::private_server();
    let lines = batch();
    // Every command delivered twice in a row, as at-least-once delivery may.
    let redelivered: Vec<String> = lines.iter().flat_map(|l| [l.clone(), l.clone()]).collect();
    for ((store, once), (_, twice)) in apis().await.into_iter().zip(apis().await) {
        let (summary, results) = run(&once, &lines).await;
        assert_eq!(
            summary,
            Summary {
                applied: 1000,
                already_done: 0,
                failed: 0
            },
            "{store}"
        );
        assert_eq!(results.len(), 1000, "{store}: one result line per command");
        assert_eq!(
            (&results[0]["line"], &results[0]["result"]),
            (&json!(1), &json!("applied"))
        );
        let users = snapshot(&once).await;
        assert_eq!(users.len(), 650, "{store}: 700 created, 50 deleted");
        let mut ids: Vec<&String> = users.iter().map(|(id, _)| id).collect();
        ids.dedup();
        assert_eq!(ids.len(), 650, "{store}: each user once");

        // The second delivery of each command is already done (create, delete) or sets what
        // is already set and writes nothing: the same users at the same versions.
        // 750 second deliveries of creates and deletes are already done. On DynamoDB a few
        // more may be: when the SDK retries a write that had landed (a connection dropped by
        // a loaded moto), the retry meets its own result, and the state layer calls that
        // already done too. That is the guarantee at work; the snapshot below is its proof.
        let (summary, _) = run(&twice, &redelivered).await;
        assert_eq!(
            (summary.failed, summary.applied + summary.already_done),
            (0, 2000),
            "{store}"
        );
        assert!((750..=760).contains(&summary.already_done), "{store}: {summary:?}");
        assert_eq!(snapshot(&twice).await, users, "{store}: redelivery wrote nothing");
        let renamed = twice.get("user-0000").await;
        assert_eq!(
            (&renamed["name"], &renamed["tags"]),
            (&json!("Renamed 0"), &json!({"source": "hr"}))
        );
    }
}

#[tokio::test]
async fn commands_with_ids_apply_once_even_when_the_whole_batch_comes_again() {
    moto::private_server();
    // The batch's mix at a fifth of its size: what ids add is the same for 200 commands, and
    // the 1,000-command run (with its redelivery) is the test above.
    let lines = with_ids(&batch_of(200));
    for (store, api) in apis().await {
        let (first, _) = run(&api, &lines).await;
        // A write the SDK retried after it had landed meets its own result: already done
        // (see the test above); every command is applied once either way.
        assert_eq!((first.failed, first.applied + first.already_done), (0, 200), "{store}");
        assert!(first.already_done <= 10, "{store}: {first:?}");
        let users = snapshot(&api).await;
        // Stale redeliveries: creates of users renamed or deleted since, all skipped by id.
        let (again, results) = run(&api, &lines).await;
        assert_eq!(
            again,
            Summary {
                applied: 0,
                already_done: 200,
                failed: 0
            },
            "{store}: {:?}",
            results.iter().find(|r| r["result"] != "already_done")
        );
        assert_eq!(snapshot(&api).await, users, "{store}");
        assert_eq!(api.get("user-0000").await["name"], "Renamed 0", "{store}");
        // A new id is a new message.
        let fresh = json!({"id": "cmd-new", "action": "update", "domain_id": "domain-test",
                           "params": {"user_id": "user-0000", "name": "Third"}});
        let (summary, _) = run(&api, &[fresh.to_string()]).await;
        assert_eq!(summary.applied, 1, "{store}");
    }
}

#[tokio::test]
async fn bad_commands_fail_alone_with_their_spec_code() {
    for (store, api) in apis().await {
        let lines = vec![
            "{not json".to_string(),
            json!({"action": "launch", "domain_id": "domain-test", "params": {}}).to_string(),
            json!({"action": "create", "domain_id": "domain-test"}).to_string(),
            command(
                "create",
                "domain-test",
                json!({"user_id": "x", "domain_id": "domain-b"}),
            ),
            command(
                "create",
                "domain-test",
                json!({"user_id": "bad-mail", "auth_type": "EXTERNAL", "permission_group": "DOMAIN", "email": "nope"}),
            ),
            create("domain-test", "alice", "Alice"),
            // The same user_id with other fields is a conflict, not a redelivery.
            create("domain-test", "alice", "Someone Else"),
            command("enable", "domain-test", json!({"user_id": "ghost"})),
            json!({"action": "create", "domain_id": "domain-test", "params": {}, "extra": 1}).to_string(),
            json!({"id": "a\u{7}b", "action": "enable", "domain_id": "domain-test", "params": {"user_id": "alice"}})
                .to_string(),
        ];
        let (summary, results) = run(&api, &lines).await;
        assert_eq!(
            summary,
            Summary {
                applied: 1,
                already_done: 0,
                failed: 9
            },
            "{store}"
        );
        let codes: Vec<&str> = results
            .iter()
            .map(|r| r["error"]["code"].as_str().unwrap_or("-"))
            .collect();
        assert_eq!(
            codes,
            [
                "ERROR_INVALID_PARAMETER",
                "ERROR_INVALID_PARAMETER",
                "ERROR_REQUIRED_PARAMETER",
                "ERROR_INVALID_PARAMETER",
                "ERROR_INCORRECT_EMAIL_FORMAT",
                "-",
                "ERROR_NOT_UNIQUE",
                "ERROR_NOT_FOUND",
                "ERROR_INVALID_PARAMETER",
                "ERROR_INVALID_PARAMETER",
            ],
            "{store}: {results:?}"
        );
        assert!(results[1]["error"]["message"].as_str().unwrap().contains("action"));
        assert!(
            results[3]["error"]["message"]
                .as_str()
                .unwrap()
                .contains("params.domain_id")
        );
        assert_eq!(results[6]["user_id"], "alice");
        // The conflicting create changed nothing.
        assert_eq!(api.get("alice").await["name"], "Alice", "{store}");
        let alice = UserId::parse("user_id", "alice".into()).unwrap();
        let domain = DomainId::parse("domain_id", "domain-test".into()).unwrap();
        assert_eq!(
            api.app.store.get_user(&domain, &alice).await.unwrap().unwrap().version,
            1
        );
    }
}

#[tokio::test]
async fn commands_send_the_same_mails_as_the_api() {
    let api = TestApi::new().await;
    let lines = vec![
        command(
            "create",
            tests::DOMAIN,
            json!({"user_id": "carol", "auth_type": "EXTERNAL", "permission_group": "DOMAIN", "email": "carol@example.com"}),
        ),
        command("verify_email", tests::DOMAIN, json!({"user_id": "carol"})),
    ];
    let (summary, _) = run(&api, &lines).await;
    assert_eq!(summary.failed, 0);
    // The code mailed by the command confirms the address through the API, as the user would.
    let code = api.last_code("carol@example.com");
    let confirmed = api
        .call(
            "confirm-email",
            &api.user("carol"),
            json!({"user_id": "carol", "domain_id": tests::DOMAIN, "verify_code": code}),
        )
        .await
        .ok();
    assert_eq!(confirmed["email_verified"], true);
}

#[test]
fn the_command_line_prints_a_result_per_line_a_summary_and_fails_on_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("commands.jsonl");
    let lines = [
        create("domain-local", "dave", "Dave"),
        String::new(),
        command("update", "domain-local", json!({"user_id": "dave", "name": "David"})),
        command("delete", "domain-local", json!({"user_id": "nobody-yet"})),
    ];
    std::fs::write(&file, lines.join("\n")).unwrap();
    let run = || {
        std::process::Command::new(BIN)
            .args(["provision"])
            .arg(&file)
            .env("DATA_DIR", dir.path().join("data"))
            .env_remove("USERS_TABLE")
            .env_remove("IDENTITY_JWKS")
            .env_remove("IDENTITY_JWKS_FILE")
            .env_remove("MAIL_TRANSPORT")
            .output()
            .unwrap()
    };
    let output = run();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let results: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let outcomes: Vec<(&Value, &Value)> = results.iter().map(|r| (&r["line"], &r["result"])).collect();
    assert_eq!(
        outcomes,
        [
            (&json!(1), &json!("applied")),
            (&json!(3), &json!("applied")),
            (&json!(4), &json!("already_done")),
        ]
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("3 commands: 2 applied, 1 already done, 0 failed"),
        "{stderr}"
    );

    std::fs::write(&file, command("enable", "domain-local", json!({"user_id": "ghost"}))).unwrap();
    let failed = run();
    assert_eq!(failed.status.code(), Some(1));
    assert!(String::from_utf8(failed.stdout).unwrap().contains("ERROR_NOT_FOUND"));
}

/// An SQS event of standard-queue messages: (message id, body).
fn sqs_event(messages: &[(&str, String)]) -> aws_lambda_events::event::sqs::SqsEvent {
    let messages: Vec<(&str, Option<&str>, String)> =
        messages.iter().map(|(id, body)| (*id, None, body.clone())).collect();
    tests::commands::sqs_event(&messages)
}

/// The message ids a batch response reports as failed.
fn failed_ids(response: aws_lambda_events::event::sqs::SqsBatchResponse) -> Vec<String> {
    response
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect()
}

#[tokio::test]
async fn an_sqs_batch_reports_only_its_failures_and_redelivery_applies_nothing_twice() {
    for (store, api) in apis().await {
        let rename = command("update", "domain-test", json!({"user_id": "frank", "name": "Franklin"}));
        let batch = [
            ("m-1", create("domain-test", "frank", "Frank")),
            ("m-2", "{not json".to_string()),
            ("m-3", rename),
            ("m-4", command("enable", "domain-test", json!({"user_id": "ghost"}))),
        ];
        let failed = failed_ids(functions::queue::apply_batch(&api.app, sqs_event(&batch)).await);
        assert_eq!(failed, ["m-2", "m-4"], "{store}");
        assert_eq!(api.get("frank").await["name"], "Franklin", "{store}");

        // The whole batch again, as after a crash: the create (now stale: frank was renamed)
        // and the rename are skipped by message id; the bad ones fail again.
        let failed = failed_ids(functions::queue::apply_batch(&api.app, sqs_event(&batch)).await);
        assert_eq!(failed, ["m-2", "m-4"], "{store}");
        let frank = UserId::parse("user_id", "frank".into()).unwrap();
        let domain = DomainId::parse("domain_id", "domain-test".into()).unwrap();
        let stored = api.app.store.get_user(&domain, &frank).await.unwrap().unwrap();
        assert_eq!((stored.item.name.as_str(), stored.version), ("Franklin", 2), "{store}");
    }
}

/// Provisioning commands require MFA as create and update do (SPEC section 10): a create
/// command with `enforce_mfa_state`, delivered twice, makes the user once; an update command
/// releases it.
#[tokio::test]
async fn commands_require_mfa_as_the_api_does() {
    let api = TestApi::new().await;
    let create = command(
        "create",
        tests::DOMAIN,
        json!({"user_id": "erin", "auth_type": "LOCAL", "password": tests::PASSWORD, "permission_group": "DOMAIN",
               "enforce_mfa_state": "ENABLED", "enforce_mfa_type": "OTP"}),
    );
    let (summary, results) = run(&api, &[create.clone(), create]).await;
    assert_eq!(summary.failed, 0, "{results:?}");
    assert_eq!(results[1]["result"], "already_done", "{results:?}");
    let erin = api.get("erin").await;
    assert_eq!(
        erin["mfa"],
        json!({"state": "DISABLED", "mfa_type": "OTP", "options": {"enforce": true}})
    );
    assert_eq!(erin["required_actions"], json!(["ENFORCE_MFA"]));
    // A create command asking for another requirement is not the one already done.
    let other = command(
        "create",
        tests::DOMAIN,
        json!({"user_id": "erin", "auth_type": "LOCAL", "password": tests::PASSWORD, "permission_group": "DOMAIN"}),
    );
    let (summary, _) = run(&api, &[other]).await;
    assert_eq!(summary.failed, 1);
    let release = command(
        "update",
        tests::DOMAIN,
        json!({"user_id": "erin", "enforce_mfa_state": "DISABLED"}),
    );
    let (summary, _) = run(&api, &[release]).await;
    assert_eq!(summary.failed, 0);
    assert_eq!(api.get("erin").await["required_actions"], json!([]));
}
