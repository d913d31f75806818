//! DynamoDB requests per operation, counted on the SDK client (every attempt, retries included)
//! while the operation runs through the HTTP handler against moto. docs/dynamodb.md explains
//! each figure; this test keeps them from growing unnoticed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::{Value, json};
use shared::model::{DomainId, UserId};
use shared::store::UserStore;
use shared::store::dynamo::DynamoStore;
use shared::vault::kms::KmsVault;
use tests::moto::{self, RequestCounter};
use tests::{DOMAIN, Reply, TestApi};

struct Counted {
    api: TestApi,
    counter: RequestCounter,
}

async fn counted_api() -> Counted {
    let counter = RequestCounter::default();
    let dir = tempfile::tempdir().expect("temp dir");
    let api = TestApi::with_store(dir, Arc::new(moto::fresh_store(&counter).await));
    Counted { api, counter }
}

impl Counted {
    async fn call_as(&self, token: Option<&str>, method: &str, body: Value) -> (Reply, BTreeMap<String, usize>) {
        self.counter.reset();
        let reply = self.api.post(&format!("/identity/v2/user/{method}"), token, body).await;
        (reply, self.counter.counts())
    }

    async fn expect(&self, method: &str, body: Value, expected: &[(&str, usize)]) -> Value {
        self.expect_as(Some(&self.api.admin()), method, body, expected).await
    }

    async fn expect_as(&self, token: Option<&str>, method: &str, body: Value, expected: &[(&str, usize)]) -> Value {
        let (reply, counts) = self.call_as(token, method, body).await;
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
    tests::merge(&mut body, extra);
    body
}

/// A create body for a LOCAL user with the extra fields given.
fn local(user_id: &str, extra: Value) -> Value {
    let mut body = with(
        user_id,
        json!({"auth_type": "LOCAL", "password": "Secret123", "permission_group": "DOMAIN"}),
    );
    tests::merge(&mut body, extra);
    body
}

#[tokio::test]
async fn each_operation_costs_the_documented_requests() {
    let c = counted_api().await;
    // The caller's own record is read too (is it DISABLED, has it revoked its tokens?): with
    // no target, one GetItem; with another user as target, both in one BatchGetItem.
    c.expect(
        "create",
        local("alice", json!({"email": "a@example.com"})),
        &[("GetItem", 1), ("PutItem", 1)],
    )
    .await;
    let pair = ("BatchGetItem", 1);
    c.expect("get", target("alice"), &[pair]).await;
    c.expect(
        "update",
        with("alice", json!({"name": "Alice"})),
        &[pair, ("PutItem", 1)],
    )
    .await;
    c.expect("disable", target("alice"), &[pair, ("PutItem", 1)]).await;
    c.expect("enable", target("alice"), &[pair, ("PutItem", 1)]).await;
    // A change that changes nothing is not written.
    c.expect("enable", target("alice"), &[pair]).await;
    c.expect("update", with("alice", json!({"name": "Alice"})), &[pair])
        .await;
    c.expect(
        "set-required-actions",
        with("alice", json!({"actions": ["UPDATE_PASSWORD"]})),
        &[pair, ("PutItem", 1)],
    )
    .await;
    // The code is stored in the same transaction as the user write that records the mail.
    c.expect("verify-email", target("alice"), &[pair, ("TransactWriteItems", 1)])
        .await;
    let code = c.api.last_code("a@example.com");
    // Read the user, count the attempt (its own conditional write, before the comparison),
    // then write the user and consume the code in one transaction.
    let user = c
        .expect(
            "confirm-email",
            with("alice", json!({"verify_code": code})),
            &[pair, ("UpdateItem", 1), ("TransactWriteItems", 1)],
        )
        .await;
    assert_eq!(user["email_verified"], true);
    // reset_password answers without a request (it only hands the work over); the work then
    // reads, opens the once-a-minute window and writes the temporary password.
    c.expect_as(None, "reset-password", target("alice"), &[]).await;
    c.counter.reset();
    c.api.settle().await;
    let work: BTreeMap<String, usize> = [("GetItem", 1), ("PutItem", 2)]
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
    assert_eq!(c.counter.counts(), work, "DynamoDB requests of the reset work");
    // MFA by email: the code is stored with the user write; confirming reads, counts the
    // attempt, and writes user and code together.
    let alice = c.api.user("alice");
    let me = Some(alice.as_str());
    let mfa = with(
        "alice",
        json!({"mfa_type": "EMAIL", "options": {"email": "a@example.com"}}),
    );
    c.expect_as(me, "enable-mfa", mfa, &[("GetItem", 1), ("TransactWriteItems", 1)])
        .await;
    let code = c.api.last_code("a@example.com");
    let confirm = with("alice", json!({"verify_code": code}));
    let three = [("GetItem", 1), ("UpdateItem", 1), ("TransactWriteItems", 1)];
    c.expect_as(me, "confirm-mfa", confirm, &three).await;
    // Turning MFA off only stores a code: the user changes when it is confirmed.
    c.expect_as(me, "disable-mfa", target("alice"), &[("GetItem", 1), ("PutItem", 1)])
        .await;
    // An admin is counted in the same transaction as the user.
    let admin = with(
        "boss",
        json!({"auth_type": "EXTERNAL", "permission_group": "DOMAIN", "role_id": "managed-domain-admin"}),
    );
    c.expect("create", admin, &[("GetItem", 1), ("TransactWriteItems", 1)])
        .await;
    // The first list of a domain reads its first page and its last key at once (cold); after
    // that, each list reads the changes since the previous one (warm): one Query.
    c.expect("list", json!({"domain_id": DOMAIN}), &[("GetItem", 1), ("Query", 2)])
        .await;
    c.expect(
        "stat",
        json!({"domain_id": DOMAIN, "query": {"aggregate": [
            {"group": {"keys": [{"key": "state", "name": "state"}], "fields": [{"operator": "count", "name": "n"}]}}
        ]}}),
        &[("GetItem", 1), ("Query", 1)],
    )
    .await;
    // The user, its codes, its reset window and its sign-in count go in one transaction.
    c.expect("delete", target("alice"), &[pair, ("TransactWriteItems", 1)])
        .await;
}

/// The Token API's requests: a sign-in counts the attempt and reads the user together, then
/// writes last_accessed_at and clears the count; a grant reads the user.
#[tokio::test]
async fn the_token_api_costs_the_documented_requests() {
    let c = counted_api().await;
    c.api.create_user("alice", json!({})).await;
    let credentials = json!({"credentials": {"user_id": "alice", "password": "Secret123"}, "domain_id": DOMAIN});
    c.counter.reset();
    let body = c
        .api
        .post("/identity/v2/token/issue", None, credentials.clone())
        .await
        .ok();
    let expected: BTreeMap<String, usize> = [("GetItem", 1), ("PutItem", 2), ("DeleteItem", 1)]
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
    assert_eq!(c.counter.counts(), expected, "a first sign-in (a new count: PutItem)");
    // A wrong password in an open window: the new window is refused (PutItem), the attempt
    // counted (UpdateItem), the user read.
    c.api
        .post(
            "/identity/v2/token/issue",
            None,
            json!({"credentials": {"user_id": "alice", "password": "Wrong1234"}, "domain_id": DOMAIN}),
        )
        .await;
    c.counter.reset();
    c.api
        .post(
            "/identity/v2/token/issue",
            None,
            json!({"credentials": {"user_id": "alice", "password": "Wrong1234"}, "domain_id": DOMAIN}),
        )
        .await
        .err("ERROR_AUTHENTICATE_FAILURE", 401);
    let expected: BTreeMap<String, usize> = [("GetItem", 1), ("PutItem", 1), ("UpdateItem", 1)]
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
    assert_eq!(c.counter.counts(), expected, "a failed sign-in");
    c.counter.reset();
    let refresh = body["refresh_token"].as_str().unwrap();
    c.api
        .post(
            "/identity/v2/token/grant",
            None,
            json!({"grant_type": "REFRESH_TOKEN", "token": refresh, "scope": "USER"}),
        )
        .await
        .ok();
    let expected: BTreeMap<String, usize> = [("GetItem".to_string(), 1)].into();
    assert_eq!(c.counter.counts(), expected, "a grant");
}

/// A warm list costs the caller's read and one Query of the changes; a cold one reads the
/// first page and the last key at once, then the rest in parallel ranges.
#[tokio::test]
async fn a_warm_list_reads_only_what_changed() {
    let counter = RequestCounter::default();
    let client = moto::dynamodb(&counter);
    let table = moto::fresh_table(&client).await;
    // Two functions on one table: the API lists, the other writes.
    let writer = DynamoStore::new(client.clone(), &table);
    let dir = tempfile::tempdir().expect("temp dir");
    // A catch-up re-reads the users changed within the overlap before the previous one (a
    // minute in production); one second here, so the test need not wait a minute.
    let overlap = std::time::Duration::from_secs(1);
    let api = TestApi::with_store(
        dir,
        Arc::new(DynamoStore::new(client, &table).with_change_overlap(overlap)),
    );
    // 150 users of about 15 KB each: a little over 2 MB, three 1 MB pages.
    let bulky: serde_json::Map<String, serde_json::Value> =
        (0..12).map(|i| (format!("k{i}"), json!("x".repeat(1200)))).collect();
    for i in 0..150 {
        let body = json!({"user_id": format!("user-{i:03}"), "domain_id": DOMAIN, "auth_type": "EXTERNAL",
            "permission_group": "DOMAIN", "tags": bulky});
        api.admin_call("create", body).await.ok();
    }
    let count = json!({"domain_id": DOMAIN, "query": {"count_only": true}});
    let (api, counter) = (&api, &counter);
    let list = |body: serde_json::Value| {
        counter.reset();
        async move { (api.admin_call("list", body).await.ok(), counter.counts()) }
    };
    let (cold, cold_requests) = list(count.clone()).await;
    assert_eq!(cold["total_count"], 150);
    assert_eq!(cold_requests.get("GetItem"), Some(&1), "{cold_requests:?}");
    let cold_queries = cold_requests.get("Query").copied().unwrap_or(0);
    // The first page and the last key at once, then the rest in ranges; a range is cut in two
    // where a page suggests more than one page is left, which can cost a few small Queries.
    assert!((3..=8).contains(&cold_queries), "{cold_requests:?}");
    let warm = BTreeMap::from([("GetItem".to_string(), 1), ("Query".to_string(), 1)]);
    // Within the overlap the 150 new users are read again (three pages); after it, nothing is.
    tokio::time::sleep(overlap * 2).await;
    list(count.clone()).await;
    let (again, requests) = list(count.clone()).await;
    assert_eq!((again["total_count"].clone(), requests), (json!(150), warm.clone()));
    // Another function deletes one user and renames another: still one Query.
    let gone = writer
        .get_user(
            &DomainId::parse("d", DOMAIN.into()).expect("domain"),
            &UserId::parse("u", "user-007".into()).expect("id"),
        )
        .await
        .expect("get")
        .expect("exists");
    writer.delete_user(&gone).await.expect("delete");
    let before = writer
        .get_user(
            &DomainId::parse("d", DOMAIN.into()).expect("domain"),
            &UserId::parse("u", "user-100".into()).expect("id"),
        )
        .await
        .expect("get")
        .expect("exists");
    let mut after = before.item.clone();
    after.name = shared::model::Name::parse("name", "Renamed").expect("name");
    writer
        .save_user(&before, &after, shared::store::CodeChange::None)
        .await
        .expect("save");
    let (page, requests) = list(json!({"domain_id": DOMAIN, "query": {"filter": [
        {"k": "name", "v": "Renamed", "o": "eq"}]}}))
    .await;
    assert_eq!(requests, warm);
    assert_eq!(page["total_count"], 1);
    assert_eq!(page["results"][0]["user_id"], "user-100");
    let (after_delete, _) = list(count).await;
    assert_eq!(after_delete["total_count"], 149);
}

/// What each method was seen to need: DynamoDB IAM actions, and whether it sent mail.
#[derive(Default)]
struct Needs(BTreeMap<String, (BTreeSet<String>, bool)>);

impl Counted {
    /// Calls `method` as `token` (None: no token) and records what it needed.
    async fn record(&self, needs: &mut Needs, method: &str, token: Option<&str>, body: Value) -> Reply {
        self.counter.reset();
        let mails_before = self.api.mails().len();
        let reply = self.api.post(&format!("/identity/v2/user/{method}"), token, body).await;
        let entry = needs.0.entry(format!("user-{method}")).or_default();
        entry.0.extend(self.counter.iam_actions());
        entry.1 |= self.api.mails().len() > mails_before;
        reply
    }
}

impl Counted {
    /// POSTs (or GETs) a Token API path and records what it needed as `binary`'s.
    async fn record_path(&self, needs: &mut Needs, binary: &str, method: &str, path: &str, body: Value) -> Reply {
        self.counter.reset();
        let mails_before = self.api.mails().len();
        let mut request = lambda_http::http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .body(lambda_http::Body::from(body.to_string()))
            .expect("request");
        if method == "GET" {
            *request.body_mut() = lambda_http::Body::Empty;
        }
        let reply = self.api.send(request).await;
        let entry = needs.0.entry(binary.into()).or_default();
        entry.0.extend(self.counter.iam_actions());
        entry.1 |= self.api.mails().len() > mails_before;
        reply
    }

    /// The Token API signing with a KMS key on moto, each function with a fresh issuer (a new
    /// execution environment reads the public key first): sign-in with and without MFA, a
    /// failure, a grant, and both key paths.
    async fn record_token_api(&mut self, n: &mut Needs) {
        let kms = moto::kms(&self.counter);
        let key = moto::signing_key(&kms, "ECC_NIST_P256").await;
        let fresh = || {
            let signer = Arc::new(shared::auth::kms::KmsSigner::new(kms.clone(), &key));
            Some(Arc::new(shared::auth::Issuer::new(
                signer,
                vec![],
                "users".into(),
                1800,
                10800,
            )))
        };
        let dev_jwks = tests::tokens::jwks(&[self.api.dev_jwk()]);
        self.api
            .set_verifier(shared::auth::TokenVerifier::from_jwks_json(&dev_jwks).expect("dev jwks"));
        self.api.create_user("signer", json!({})).await;
        self.api.create_user("mfa", json!({})).await;
        let me = self.api.token(DOMAIN, "mfa", shared::model::RoleType::User);
        let mfa = with(
            "mfa",
            json!({"mfa_type": "EMAIL", "options": {"email": "mfa@example.com"}}),
        );
        self.api.call("enable-mfa", &me, mfa).await.ok();
        let code = self.api.last_code("mfa@example.com");
        self.api
            .call("confirm-mfa", &me, with("mfa", json!({"verify_code": code})))
            .await
            .ok();
        let issue = |user: &str, password: &str, extra: Value| {
            let mut body = json!({"credentials": {"user_id": user, "password": password}, "domain_id": DOMAIN});
            tests::merge(&mut body, extra);
            body
        };
        let path = "/identity/v2/token/issue";
        self.api.app.tokens.issuer = fresh();
        let signed_in = self
            .record_path(n, "token-issue", "POST", path, issue("signer", "Secret123", json!({})))
            .await
            .ok();
        self.record_path(n, "token-issue", "POST", path, issue("signer", "Wrong1234", json!({})))
            .await;
        self.record_path(n, "token-issue", "POST", path, issue("mfa", "Secret123", json!({})))
            .await
            .err("ERROR_MFA_REQUIRED", 401);
        let code = self.api.last_code("mfa@example.com");
        let with_code = issue("mfa", "Secret123", json!({"verify_code": code}));
        self.record_path(n, "token-issue", "POST", path, with_code).await.ok();
        self.api.app.tokens.issuer = fresh();
        let grant = json!({"grant_type": "REFRESH_TOKEN", "token": signed_in["refresh_token"], "scope": "USER"});
        self.record_path(n, "token-grant", "POST", "/identity/v2/token/grant", grant)
            .await
            .ok();
        self.api.app.tokens.issuer = fresh();
        self.record_path(n, "token-keys", "GET", "/.well-known/jwks.json", json!({}))
            .await
            .ok();
        self.api.app.tokens.issuer = fresh();
        let domain = json!({"domain_id": DOMAIN});
        self.record_path(n, "token-keys", "POST", "/identity/v2/domain/get-public-key", domain)
            .await
            .ok();
    }

    /// Runs the work requests handed over (on AWS: commands on the provisioning queue, applied
    /// by `users-provision`) and records what it needed, as `users-provision`'s.
    async fn record_handed_over_work(&self, needs: &mut Needs) {
        self.counter.reset();
        let mails_before = self.api.mails().len();
        self.api.settle().await;
        let entry = needs.0.entry("users-provision".into()).or_default();
        entry.0.extend(self.counter.iam_actions());
        entry.1 |= self.api.mails().len() > mails_before;
    }

    /// Applies a provisioning command as `users-provision` does and records what it needed.
    async fn record_command(&self, needs: &mut Needs, command: &Value) {
        self.counter.reset();
        let mails_before = self.api.mails().len();
        let command = shared::provision::Command::from_json(&command.to_string()).expect("a command");
        let outcome = shared::provision::apply(&self.api.app, &command).await;
        assert!(outcome.is_ok(), "{command:?}: {outcome:?}");
        let entry = needs.0.entry("users-provision".into()).or_default();
        entry.0.extend(self.counter.iam_actions());
        entry.1 |= self.api.mails().len() > mails_before;
    }
}

/// Least privilege, checked both ways: every function's policy in template.yaml allows exactly
/// the DynamoDB actions its operation was seen to use over every path below (success, lost
/// rules, failed mail), and SES only if it sent mail.
#[tokio::test]
async fn each_function_policy_allows_exactly_what_its_operation_uses() {
    let mut c = counted_api().await;
    let mut needs = Needs::default();
    let admin = c.api.admin();
    let a = Some(admin.as_str());
    let n = &mut needs;
    // create: a user, two admins, one with a mailed temporary password.
    c.record(n, "create", a, local("alice", json!({"email": "alice@example.com"})))
        .await
        .ok();
    for boss in ["boss", "boss2"] {
        c.record(n, "create", a, local(boss, json!({"role_id": "managed-domain-admin"})))
            .await
            .ok();
    }
    c.record(
        n,
        "create",
        a,
        local("carol", json!({"email": "c@example.com", "reset_password": true})),
    )
    .await
    .ok();
    c.record(n, "get", a, target("alice")).await.ok();
    c.record(
        n,
        "update",
        a,
        with("alice", json!({"name": "Alice", "password": "Other1234"})),
    )
    .await
    .ok();
    c.record(
        n,
        "set-required-actions",
        a,
        with("alice", json!({"actions": ["UPDATE_PASSWORD"]})),
    )
    .await
    .ok();
    // verify/confirm email: a wrong code, the right one, then a forced verification.
    c.record(n, "verify-email", a, target("alice")).await.ok();
    let code = c.api.last_code("alice@example.com");
    c.record(
        n,
        "confirm-email",
        a,
        with("alice", json!({"verify_code": tests::wrong(&code)})),
    )
    .await;
    c.record(n, "confirm-email", a, with("alice", json!({"verify_code": code})))
        .await
        .ok();
    c.record(n, "confirm-email", a, with("alice", json!({"verify_code": "000000"})))
        .await;
    c.record(n, "verify-email", a, with("carol", json!({"force": true})))
        .await
        .ok();
    // update with reset_password mails a temporary password to the verified address.
    c.record(n, "update", a, with("alice", json!({"reset_password": true})))
        .await
        .ok();
    // reset_password hands its work to users-provision: mailed, then a failed mail that
    // reopens the window.
    c.record(n, "reset-password", None, target("carol")).await.ok();
    c.record_handed_over_work(n).await;
    c.api.clock.advance(120);
    c.api.set_mail_failing(true);
    c.record(n, "reset-password", None, target("carol")).await.ok();
    c.record_handed_over_work(n).await;
    c.api.set_mail_failing(false);
    // MFA: enable and confirm, then disable with a code, then forced off. (A token issued
    // now: the password changes above revoked the earlier ones.)
    let alice = c.api.user("alice");
    let me = Some(alice.as_str());
    let mfa = with(
        "alice",
        json!({"mfa_type": "EMAIL", "options": {"email": "alice@example.com"}}),
    );
    c.record(n, "enable-mfa", me, mfa.clone()).await.ok();
    let code = c.api.last_code("alice@example.com");
    c.record(n, "confirm-mfa", me, with("alice", json!({"verify_code": code})))
        .await
        .ok();
    c.record(n, "disable-mfa", me, target("alice")).await.ok();
    let code = c.api.last_code("alice@example.com");
    c.record(n, "confirm-mfa", me, with("alice", json!({"verify_code": code})))
        .await
        .ok();
    c.record(n, "enable-mfa", me, mfa).await.ok();
    let code = c.api.last_code("alice@example.com");
    c.record(n, "confirm-mfa", me, with("alice", json!({"verify_code": code})))
        .await
        .ok();
    c.record(n, "disable-mfa", a, with("alice", json!({"force": true})))
        .await
        .ok();
    // enable/disable: a user, and an admin (the admin counter moves).
    for user in ["alice", "boss"] {
        c.record(n, "disable", a, target(user)).await.ok();
        c.record(n, "enable", a, target(user)).await.ok();
    }
    c.record(n, "list", a, json!({"domain_id": DOMAIN})).await.ok();
    c.record(
        n,
        "stat",
        a,
        json!({"domain_id": DOMAIN, "query": {"aggregate": [{"count": {"name": "n"}}]}}),
    )
    .await
    .ok();
    c.record(n, "delete", a, target("alice")).await.ok();
    // An admin that is a user acting on itself (one read of the pair's single item, GetItem;
    // also the read of a retry after a lost race).
    let boss = c.api.token(DOMAIN, "boss", shared::model::RoleType::DomainAdmin);
    let b = Some(boss.as_str());
    let actions = with("boss", json!({"actions": ["UPDATE_PASSWORD"]}));
    c.record(n, "set-required-actions", b, actions).await.ok();
    c.record(n, "get", b, target("boss")).await.ok();
    c.record(n, "update", b, with("boss", json!({"name": "Boss"})))
        .await
        .ok();
    c.record(n, "verify-email", b, with("boss", json!({"email": "b@example.com"})))
        .await
        .ok();
    let code = c.api.last_code("b@example.com");
    c.record(n, "confirm-email", b, with("boss", json!({"verify_code": code})))
        .await
        .ok();
    c.record(n, "disable", b, target("boss")).await.ok();
    c.record(n, "enable", a, target("boss")).await.ok();
    let boss = c.api.token(DOMAIN, "boss", shared::model::RoleType::DomainAdmin);
    c.record(n, "enable", Some(boss.as_str()), target("boss")).await.ok();
    c.record(n, "delete", Some(boss.as_str()), target("boss")).await.ok();
    c.record_token_api(n).await;
    // The provisioning function: each action, an admin, mail, and message ids (a new one, then
    // one seen before).
    let commands = [
        (
            "create",
            local("dora", json!({"email": "dora@example.com", "reset_password": true})),
        ),
        ("create", local("boss3", json!({"role_id": "managed-domain-admin"}))),
        ("update", with("dora", json!({"name": "Dora"}))),
        (
            "set_required_actions",
            with("dora", json!({"actions": ["UPDATE_PASSWORD"]})),
        ),
        ("verify_email", target("dora")),
        ("disable", target("boss3")),
        ("enable", target("boss3")),
        ("delete", target("dora")),
        ("delete", target("dora")),
    ];
    for (i, (action, params)) in commands.into_iter().enumerate() {
        let command = json!({"id": format!("m-{}", i % 8), "action": action, "domain_id": DOMAIN, "params": params});
        c.record_command(n, &command).await;
    }

    let template = crate::template::template();
    let functions = crate::template::functions(&template);
    let mut problems = Vec::new();
    for (binary, function) in &functions {
        let policy = crate::template::policy(function);
        let (allowed, may_mail) = (policy.table, policy.ses);
        let (mut used, mailed) = needs.0.remove(binary).unwrap_or_default();
        // KMS: the token functions are compared here; the others verify this issuer's tokens
        // with GetPublicKey (checked in template.rs), which these calls with dev tokens skip.
        let used_kms: BTreeSet<String> = used.iter().filter(|a| a.starts_with("kms:")).cloned().collect();
        used.retain(|a| !a.starts_with("kms:"));
        if binary.starts_with("token-") && policy.kms != used_kms {
            problems.push(format!(
                "{binary}: template allows KMS {:?}, operation uses {used_kms:?}",
                policy.kms
            ));
        }
        if allowed != used {
            problems.push(format!(
                "{binary}: template allows {allowed:?}, operation uses {used:?}"
            ));
        }
        if may_mail != mailed {
            problems.push(format!("{binary}: template SES {may_mail}, operation mailed {mailed}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The SDK sends a request again when its answer is lost (a timeout, a 5xx). A create that
/// had landed must not then answer ERROR_NOT_UNIQUE for the user it created.
#[tokio::test]
async fn a_create_whose_answer_was_lost_succeeds_when_the_sdk_sends_it_again() {
    let counter = RequestCounter::default();
    let client = moto::dynamodb_losing_first_answer(&counter, "PutItem");
    let table = moto::fresh_table(&client).await;
    let store = shared::store::dynamo::DynamoStore::new(client, table);
    let dir = tempfile::tempdir().expect("temp dir");
    let api = TestApi::with_store(dir, Arc::new(store));
    counter.reset();
    let created = api.create_user("alice", json!({"name": "Alice"})).await;
    assert_eq!(created["name"], "Alice");
    assert_eq!(
        counter.counts()["PutItem"],
        2,
        "the first answer was lost and the create sent again"
    );
    // A second create of the same user is still refused: only the very same write passes.
    let again = local("alice", json!({}));
    api.admin_call("create", again).await.err("ERROR_NOT_UNIQUE", 409);
}

/// Authenticator-app MFA (SPEC section 10) on DynamoDB with the secret sealed by KMS: the
/// requests of each step. An OTP sign-in costs one KMS request (Decrypt) and no DynamoDB
/// request more than a password sign-in: the secret and its last step live on the user item
/// the sign-in reads and writes anyway (docs/dynamodb.md).
#[tokio::test]
async fn otp_costs_the_documented_requests() {
    let counter = RequestCounter::default();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut api = TestApi::with_store(dir, Arc::new(moto::fresh_store(&counter).await));
    let kms = moto::kms(&counter);
    let key = kms
        .create_key()
        .send()
        .await
        .expect("a symmetric key")
        .key_metadata
        .expect("metadata")
        .key_id;
    api.app.vault = Arc::new(KmsVault::new(kms, key));
    let c = Counted { api, counter };
    c.api.create_user("alice", json!({})).await;
    c.api.create_user("bob", json!({})).await;
    let me = c.api.user("alice");

    let enabled = c
        .expect_as(
            Some(&me),
            "enable-mfa",
            with("alice", json!({"mfa_type": "OTP"})),
            &[("GetItem", 1), ("Encrypt", 1), ("TransactWriteItems", 1)],
        )
        .await;
    let uri = enabled["mfa"]["options"]["otp_qrcode_uri"]
        .as_str()
        .unwrap()
        .to_string();
    let code = c.api.authenticator_code(&uri, 0);
    c.expect_as(
        Some(&me),
        "confirm-mfa",
        with("alice", json!({"verify_code": code})),
        &[
            ("GetItem", 1),
            ("UpdateItem", 1),
            ("Decrypt", 1),
            ("TransactWriteItems", 1),
        ],
    )
    .await;
    c.api.clock.advance(30);

    let sign_in = |user: &str, extra: Value| {
        let mut body = json!({"credentials": {"user_id": user, "password": "Secret123"}, "domain_id": DOMAIN});
        tests::merge(&mut body, extra);
        body
    };
    c.counter.reset();
    c.api
        .post("/identity/v2/token/issue", None, sign_in("bob", json!({})))
        .await
        .ok();
    let password_only = c.counter.counts();
    c.counter.reset();
    let code = c.api.authenticator_code(&uri, 0);
    c.api
        .post(
            "/identity/v2/token/issue",
            None,
            sign_in("alice", json!({"verify_code": code})),
        )
        .await
        .ok();
    let with_otp = c.counter.counts();
    let mut expected = password_only.clone();
    expected.insert("Decrypt".into(), 1);
    assert_eq!(
        with_otp, expected,
        "an OTP sign-in against a password sign-in ({password_only:?})"
    );

    c.api.clock.advance(30);
    c.expect_as(
        Some(&me),
        "disable-mfa",
        target("alice"),
        &[("GetItem", 1), ("PutItem", 1)],
    )
    .await;
    let code = c.api.authenticator_code(&uri, 0);
    c.expect_as(
        Some(&me),
        "confirm-mfa",
        with("alice", json!({"verify_code": code})),
        &[
            ("GetItem", 1),
            ("UpdateItem", 1),
            ("Decrypt", 1),
            ("TransactWriteItems", 1),
        ],
    )
    .await;
}
