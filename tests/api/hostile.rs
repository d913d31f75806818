//! A hostile caller (SPEC sections 1, 4.14, 5): numbers past the date range, more regular
//! expressions than a request may hold, patterns an unauthorized caller sends to make the
//! service compile them, tokens from the future, and a bug that panics. Each gets a clear
//! answer; none drops the connection or costs work before the caller is authorized.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use shared::clock::Clock;
use shared::model::RoleType;
use tests::tokens::{self, DEV_KID};
use tests::{DOMAIN, TestApi};

use super::fixture::ids;

fn list(query: Value) -> Value {
    json!({"domain_id": DOMAIN, "query": query})
}

fn stat_group_with(condition: Value) -> Value {
    json!({"domain_id": DOMAIN, "query": {"aggregate": [{"group": {
        "keys": [{"key": "state", "name": "state"}],
        "fields": [{"operator": "count", "name": "n", "conditions": [condition]}],
    }}]}})
}

#[tokio::test]
async fn timediffs_past_the_date_range_are_db_query_errors_everywhere_they_can_stand() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    for value in [
        "now+10000000000000s",
        "now+5000000000000s+5000000000000s",
        "now-99999999999w",
    ] {
        let condition = json!({"k": "created_at", "v": value, "o": "timediff_lt"});
        let bodies = [
            ("list", list(json!({"filter": [condition]})), "filter[0]"),
            (
                "list",
                list(json!({"filter_or": [{"k": "name", "v": "x"}, condition]})),
                "filter_or[1]",
            ),
            ("stat", stat_group_with(condition.clone()), "conditions[0]"),
        ];
        for (method, body, named) in bodies {
            let message = api.admin_call(method, body).await.err("ERROR_DB_QUERY", 400);
            assert!(message.contains(named), "{method} {value}: {message}");
        }
    }
    // The server is still there.
    api.admin_call("list", list(json!({}))).await.ok();
}

fn patterns(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("^user-{i}$")).collect()
}

#[tokio::test]
async fn at_most_100_regular_expressions_per_request_counted_across_the_query() {
    let api = TestApi::new().await;
    api.create_user("user-7", json!({})).await;
    let found = api
        .admin_call(
            "list",
            list(json!({
                "filter": [{"k": "user_id", "v": patterns(60), "o": "regex_in"}],
                "filter_or": [{"k": "user_id", "v": patterns(40), "o": "regex_in"}],
            })),
        )
        .await
        .ok();
    assert_eq!(found["total_count"], 1);
    let over = list(json!({
        "filter": [{"k": "user_id", "v": patterns(60), "o": "regex_in"}],
        "filter_or": [{"k": "user_id", "v": patterns(40), "o": "regex_in"}, {"k": "name", "v": "x", "o": "regex"}],
    }));
    let message = api.admin_call("list", over).await.err("ERROR_DB_QUERY", 400);
    assert!(message.contains("more than 100 regular expressions"), "{message}");
    let long = list(json!({"filter": [{"k": "name", "v": "a".repeat(1025), "o": "regex"}]}));
    let message = api.admin_call("list", long).await.err("ERROR_DB_QUERY", 400);
    assert!(message.contains("1024 bytes"), "{message}");
    let stat = stat_group_with(json!({"k": "name", "v": patterns(101), "o": "regex_in"}));
    api.admin_call("stat", stat).await.err("ERROR_DB_QUERY", 400);
}

/// The bounds are parse errors for anyone (400 before 403), but compiling waits for
/// authorization: a pattern that cannot compile is a 403 for a caller who may not list, and
/// only an administrator learns that it is invalid.
#[tokio::test]
async fn patterns_are_compiled_only_for_an_authorized_caller() {
    let api = TestApi::new().await;
    let stranger = api.token("domain-other", "mallory", RoleType::User);
    let user = api.user("alice");
    let invalid = list(json!({"filter": [{"k": "name", "v": ["(", r"(\w{100}){100}"], "o": "regex_in"}]}));
    for token in [&stranger, &user] {
        api.call("list", token, invalid.clone())
            .await
            .err("ERROR_PERMISSION_DENIED", 403);
        api.call(
            "list",
            token,
            list(json!({"filter": [{"k": "name", "v": patterns(101), "o": "regex_in"}]})),
        )
        .await
        .err("ERROR_DB_QUERY", 400);
    }
    let message = api.admin_call("list", invalid).await.err("ERROR_DB_QUERY", 400);
    assert!(message.contains("filter[0]"), "{message}");
}

#[tokio::test]
async fn tokens_not_valid_yet_or_issued_in_the_future_are_401() {
    let api = TestApi::new().await;
    let pem = api.dev_key_pem();
    let now = chrono::Utc::now().timestamp();
    let get = |claims: Value| {
        let token = tokens::sign_es256(&pem, Some(DEV_KID), &claims);
        let api = &api;
        async move {
            api.call("get", &token, json!({"user_id": "root", "domain_id": DOMAIN}))
                .await
        }
    };
    let mut claims = tokens::claims(DOMAIN, "root", "DOMAIN_ADMIN");
    claims["exp"] = json!(now + 7200);
    claims["nbf"] = json!(now + 3600);
    get(claims.clone()).await.err("ERROR_AUTHENTICATE_FAILURE", 401);
    claims["nbf"] = json!(now + 30);
    get(claims.clone()).await.err("ERROR_NOT_FOUND", 404);
    claims.as_object_mut().map(|c| c.remove("nbf"));
    claims["iat"] = json!(now + 3600);
    get(claims.clone()).await.err("ERROR_AUTHENTICATE_FAILURE", 401);
    claims["iat"] = json!(now + 30);
    get(claims).await.err("ERROR_NOT_FOUND", 404);
}

/// A clock that panics: any operation that asks it the time hits a bug.
struct PanickingClock;

impl Clock for PanickingClock {
    fn now(&self) -> DateTime<Utc> {
        panic!("a bug, for the test")
    }
}

#[tokio::test]
async fn a_panic_is_a_500_naming_the_request_never_a_dropped_answer() {
    let mut api = TestApi::new().await;
    api.app.clock = Arc::new(PanickingClock);
    let reply = api.admin_call("list", list(json!({}))).await;
    let message = reply.err("ERROR_UNKNOWN", 500);
    assert!(message.contains("request_id = "), "{message}");
    let id = message
        .split("request_id = ")
        .nth(1)
        .unwrap_or_default()
        .trim_end_matches(')');
    assert_eq!(id.len(), 16, "{message}");
    assert!(!message.contains("a bug"), "{message}");
    // The process goes on serving: a request that does not ask the time still works.
    api.admin_call("get", json!({"user_id": "nobody", "domain_id": DOMAIN}))
        .await
        .err("ERROR_NOT_FOUND", 404);
}

/// A raw body (a string, so it can say what `serde_json::Value` cannot: a key twice).
async fn post_raw(api: &TestApi, method: &str, token: Option<&str>, body: String) -> tests::Reply {
    let mut builder = lambda_http::http::Request::builder()
        .method("POST")
        .uri(format!("/identity/v2/user/{method}"))
        .header("content-type", "application/json");
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    api.send(builder.body(lambda_http::Body::from(body)).unwrap()).await
}

#[tokio::test]
async fn a_key_named_twice_is_refused_at_any_depth() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    let admin = api.admin();
    // Issue 21's finding: a 250 KiB body of repeated domain_id, the last copy winning.
    let repeated = format!(
        "{{\"user_id\": \"alice\", {} \"domain_id\": \"{DOMAIN}\"}}",
        "\"domain_id\": \"other\",".repeat(10_000)
    );
    assert!(repeated.len() > 200 * 1024);
    let message = post_raw(&api, "get", Some(&admin), repeated)
        .await
        .err("ERROR_INVALID_PARAMETER", 400);
    assert!(message.contains("key = domain_id"), "{message}");
    for (method, body, key) in [
        (
            "get",
            format!(r#"{{"user_id": "alice", "user_id": "bob", "domain_id": "{DOMAIN}"}}"#),
            "user_id",
        ),
        (
            "update",
            format!(r#"{{"user_id": "alice", "domain_id": "{DOMAIN}", "tags": {{"team": "a", "team": "b"}}}}"#),
            "team",
        ),
        (
            "list",
            format!(r#"{{"domain_id": "{DOMAIN}", "query": {{"filter": [{{"k": "name", "v": "a", "v": "b"}}]}}}}"#),
            "v",
        ),
        // proto3's other spelling of the same field is the proto3 rule's business, not this one's.
        (
            "create",
            format!(r#"{{"user_id": "x", "user_id": "y", "domain_id": "{DOMAIN}"}}"#),
            "user_id",
        ),
    ] {
        let message = post_raw(&api, method, Some(&admin), body)
            .await
            .err("ERROR_INVALID_PARAMETER", 400);
        assert!(message.contains(&format!("key = {key}")), "{method}: {message}");
    }
    // Nothing changed, and the Token API reads its bodies the same way.
    assert_eq!(api.get("alice").await["tags"], json!({}));
    let sign_in = format!(
        r#"{{"credentials": {{"user_id": "alice", "password": "x", "password": "{}"}}, "domain_id": "{DOMAIN}"}}"#,
        tests::PASSWORD
    );
    let request = lambda_http::http::Request::builder()
        .method("POST")
        .uri("/identity/v2/token/issue")
        .header("content-type", "application/json")
        .body(lambda_http::Body::from(sign_in))
        .unwrap();
    api.send(request).await.err("ERROR_INVALID_PARAMETER", 400);
}

#[tokio::test]
async fn error_messages_quote_at_most_128_characters_of_a_key_or_value() {
    let api = TestApi::new().await;
    let long = "k".repeat(200_000);
    let mut body = json!({"user_id": "alice", "domain_id": DOMAIN});
    body[&long] = json!(1);
    let reply = api.admin_call("get", body).await;
    let message = reply.err("ERROR_INVALID_PARAMETER", 400);
    assert!(
        message.contains(&format!("{}…", "k".repeat(128))),
        "{}",
        &message[..200.min(message.len())]
    );
    assert!(
        reply.body.to_string().len() < 1024,
        "{} bytes",
        reply.body.to_string().len()
    );
    // In a query, and as a value.
    for (method, body, code) in [
        (
            "list",
            list(json!({"filter": [{"k": "name", "v": "x", "o": "eq", &long: 1}]})),
            "ERROR_DB_QUERY",
        ),
        (
            "list",
            list(json!({"filter": [{"k": "name", "v": "x", "o": &long}]})),
            "ERROR_DB_QUERY",
        ),
        (
            "get",
            json!({"user_id": &long, "domain_id": DOMAIN}),
            "ERROR_INVALID_PARAMETER",
        ),
    ] {
        let reply = api.admin_call(method, body).await;
        reply.err(code, 400);
        let size = reply.body.to_string().len();
        assert!(size < 1024, "{method}: {size} bytes");
    }
}

/// The longest run of `c` in `text`.
fn longest_run(text: &str, c: char) -> usize {
    text.split(|x| x != c).map(|run| run.chars().count()).max().unwrap_or(0)
}

/// A 200,000-character key, operator or stage name reaches each message the query parsers can
/// give (list and stat): each names it, and quotes at most 128 of its characters (SPEC 1).
#[tokio::test]
async fn query_messages_quote_at_most_128_characters_of_the_clients_text() {
    let api = TestApi::new().await;
    let long = "Z".repeat(200_000);
    let dotted = format!("{long}.");
    let filter = |condition: Value| json!({"filter": [condition]});
    let lists = [
        filter(json!({"k": "name", "v": "x", "o": &long})),
        filter(json!({"k": "name", "v": "x", "o": "eq", &long: 1})),
        filter(json!({"k": &long, "v": "x", "o": "eq"})),
        filter(json!({"k": &dotted, "v": "x", "o": "eq"})),
        json!({"sort": {"key": "name", &long: true}}),
        json!({"sort": {"key": &long}}),
        json!({"page": {&long: 1}}),
        json!({"page": {&long: "x"}}),
        json!({"only": [&long]}),
    ];
    let group = |keys: Value, fields: Value| json!({"aggregate": [{"group": {"keys": keys, "fields": fields}}]});
    let stats = [
        json!({"aggregate": [{&long: {}}]}),
        group(json!([{"key": "state", "name": "s", &long: 1}]), json!([])),
        group(json!([{"key": &long, "name": "s"}]), json!([])),
        group(json!([]), json!([{"name": "n", "operator": &long}])),
        group(
            json!([]),
            json!([{"name": "people", "operator": "push", "fields": [{"key": "user_id", "name": "id", &long: 1}]}]),
        ),
        json!({"aggregate": [{"count": {"name": "n", &long: 1}}]}),
        json!({"aggregate": [{"sort": {"keys": [{"key": &long}]}}]}),
        json!({"aggregate": [{"project": {"fields": [{"key": &long, "name": "x"}]}}]}),
    ];
    let mut seen = 0;
    for (method, query) in lists
        .iter()
        .map(|q| ("list", q))
        .chain(stats.iter().map(|q| ("stat", q)))
    {
        let reply = match method {
            "list" => {
                api.admin_call("list", json!({"domain_id": DOMAIN, "query": query}))
                    .await
            }
            _ => {
                api.post(
                    "/identity/v1/user/stat",
                    Some(&api.admin()),
                    json!({"domain_id": DOMAIN, "query": query}),
                )
                .await
            }
        };
        let message = reply.err("ERROR_DB_QUERY", 400);
        let run = longest_run(&message, 'Z');
        assert!(run > 0, "{method}: the message does not name the text: {message}");
        assert!(
            run <= 128,
            "{method}: {run} characters quoted: {}…",
            &message[..300.min(message.len())]
        );
        seen += 1;
    }
    assert_eq!(seen, lists.len() + stats.len());
}

/// A 200,000-character value in every field of every operation's request message, an unknown
/// key of 200,000 characters, and the nested keys a request reads (credentials, MFA options,
/// tags): whatever the answer, its message quotes at most 128 characters of that text (SPEC 1).
/// The operations and their fields are read from their descriptions, so a new field or
/// operation is covered without a change here.
#[tokio::test]
async fn every_field_of_every_operation_quotes_at_most_128_characters() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({"email": "alice@example.com"})).await;
    let long = "Z".repeat(200_000);
    let mut cases: Vec<(shared::Operation, Value)> = Vec::new();
    for op in shared::Operation::ALL {
        let described = op.describe();
        if described.example.is_empty() {
            continue;
        }
        let mut base: Value = serde_json::from_str(described.example).expect("example");
        if base.get("domain_id").is_some() {
            base["domain_id"] = json!(DOMAIN);
        }
        for field in described.request.fields {
            let mut body = base.clone();
            body[field.name] = json!(&long);
            cases.push((op, body));
        }
        let mut body = base.clone();
        body[&long] = json!(1);
        cases.push((op, body));
    }
    let nested = [
        (
            shared::Operation::TokenIssue,
            json!({"domain_id": DOMAIN, "credentials": {"user_id": &long, "password": "x"}}),
        ),
        (
            shared::Operation::TokenIssue,
            json!({"domain_id": DOMAIN, "credentials": {"user_id": "alice", "password": "x", &long: 1}}),
        ),
        (
            shared::Operation::EnableMfa,
            json!({"domain_id": DOMAIN, "user_id": "alice", "mfa_type": "EMAIL", "options": {"email": &long}}),
        ),
        (
            shared::Operation::EnableMfa,
            json!({"domain_id": DOMAIN, "user_id": "alice", "mfa_type": "EMAIL", "options": {&long: 1}}),
        ),
        (
            shared::Operation::Update,
            json!({"domain_id": DOMAIN, "user_id": "alice", "tags": {&long: "x"}}),
        ),
        (
            shared::Operation::Update,
            json!({"domain_id": DOMAIN, "user_id": "alice", "tags": {"team": &long}}),
        ),
    ];
    cases.extend(nested);
    let mut refused = 0;
    for (op, body) in &cases {
        let token = api.admin();
        let reply = api
            .post(op.path(), op.needs_token().then_some(token.as_str()), body.clone())
            .await;
        let text = reply.body.to_string();
        let run = longest_run(&text, 'Z');
        assert!(
            run <= 128,
            "{op:?}: {run} characters quoted ({}): {}…",
            reply.status,
            &text[..300.min(text.len())]
        );
        if reply.status >= 400 {
            refused += 1;
        }
    }
    assert!(refused * 10 >= cases.len() * 9, "{refused} of {} refused", cases.len());
}

#[tokio::test]
async fn ordinary_patterns_compile() {
    let api = TestApi::new().await;
    api.create_user(
        "kim.jane",
        json!({"email": "kim.jane@example.com", "name": "Kimberlynne Jane"}),
    )
    .await;
    api.create_user("bo", json!({"email": "bo@other.org"})).await;
    for (key, pattern, expected) in [
        ("name", r"\w{10}", vec!["kim.jane"]),
        ("email", r"^[a-z0-9._%+-]+@example\.com$", vec!["kim.jane"]),
        ("user_id", r"(?i)^kim", vec!["kim.jane"]),
        ("user_id", r"^\w{2}$", vec!["bo"]),
        ("email", r"\w+@\w+\.\w{2,}", vec!["bo", "kim.jane"]),
    ] {
        let answer = api
            .admin_call(
                "list",
                list(json!({"filter": [{"k": key, "v": pattern, "o": "regex"}], "sort": {"key": "user_id"}})),
            )
            .await
            .ok();
        assert_eq!(ids(&answer), expected, "{pattern}");
    }
    // 100 of them in one request, each at 1 KiB, still within the bounds.
    let many: Vec<String> = (0..100)
        .map(|i| format!("{i:03}\\w{{10}}{}", "z".repeat(1024 - 10)))
        .collect();
    api.admin_call(
        "list",
        list(json!({"filter": [{"k": "name", "v": many, "o": "regex_in"}]})),
    )
    .await
    .ok();
}

#[tokio::test]
async fn every_email_field_takes_one_plain_address() {
    let api = TestApi::new().await;
    api.create_user("alice", json!({})).await;
    let alice = api.user("alice");
    for bad in [
        "Victim <attacker@evil.com>",
        "x,y@z.com",
        "a b@c.de",
        "a;b@c.de",
        "\"a\"@c.de",
    ] {
        let create = json!({"user_id": "mallory", "auth_type": "LOCAL", "password": tests::PASSWORD,
            "permission_group": "DOMAIN", "domain_id": DOMAIN, "email": bad});
        api.admin_call("create", create)
            .await
            .err("ERROR_INCORRECT_EMAIL_FORMAT", 400);
        let target = json!({"user_id": "alice", "domain_id": DOMAIN, "email": bad});
        api.admin_call("update", target.clone())
            .await
            .err("ERROR_INCORRECT_EMAIL_FORMAT", 400);
        api.call("verify-email", &alice, target.clone())
            .await
            .err("ERROR_INCORRECT_EMAIL_FORMAT", 400);
        let mut forced = target;
        forced["force"] = json!(true);
        api.admin_call("verify-email", forced)
            .await
            .err("ERROR_INCORRECT_EMAIL_FORMAT", 400);
        let mfa = json!({"user_id": "alice", "domain_id": DOMAIN, "mfa_type": "EMAIL", "options": {"email": bad}});
        api.call("enable-mfa", &alice, mfa)
            .await
            .err("ERROR_INCORRECT_EMAIL_FORMAT", 400);
    }
    // Nothing was stored, no mail went out.
    assert_eq!(api.get("alice").await["email"], "");
    assert!(api.mails().is_empty(), "{:?}", api.mails());
}
