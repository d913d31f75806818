//! The fuzzer that runs in CI: arbitrary JSON, shaped like what the API reads (query and stat
//! stages, conditions, operators, pages, user fields) and seeded with the shapes that once broke
//! it (timediff values past the date range, thousands of patterns, numbers at the edges), into
//! the request parsers and the query/stat engine. It fails on any panic: the engine is called
//! directly (proptest reports a panic as a failure), and every HTTP answer must be a 200 or a
//! 4xx with the error body, never the 500 the panic net would turn a panic into.
//!
//! Bounded: `FUZZ_CASES` cases per property (default 2000; the HTTP one runs half); `./scripts/test.sh` runs it as part
//! of the workspace tests.

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};
use shared::ops::Operation;
use shared::query::{Query, StatQuery};
use tests::{DOMAIN, TestApi};

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

const KEYS: &[&str] = &[
    "filter",
    "filter_or",
    "keyword",
    "sort",
    "page",
    "start",
    "limit",
    "only",
    "minimal",
    "count_only",
    "distinct",
    "aggregate",
    "group",
    "keys",
    "fields",
    "conditions",
    "key",
    "k",
    "value",
    "v",
    "operator",
    "o",
    "name",
    "n",
    "date_format",
    "count",
    "project",
    "exclude_keys",
    "unwind",
    "path",
    "skip",
    "desc",
    "user_id",
    "domain_id",
    "name",
    "email",
    "state",
    "auth_type",
    "tags",
    "tags.team",
    "mfa.state",
    "created_at",
    "last_accessed_at",
    "required_actions",
    "password",
    "query",
    "actions",
    "force",
    "verify_code",
    "mfa_type",
    "options",
    "role_id",
    "workspace_id",
    "permission_group",
    "reset_password",
    "language",
    "timezone",
];

const WORDS: &[&str] = &[
    "eq",
    "not",
    "exists",
    "contain",
    "not_contain",
    "in",
    "not_in",
    "contain_in",
    "not_contain_in",
    "lt",
    "lte",
    "gt",
    "gte",
    "regex",
    "regex_in",
    "datetime_lt",
    "datetime_gte",
    "timediff_lt",
    "timediff_gte",
    "count",
    "sum",
    "average",
    "max",
    "min",
    "first",
    "last",
    "push",
    "add_to_set",
    "merge_objects",
    "size",
    "now",
    "now-7d",
    "now+1h-30m",
    "now+10000000000000s",
    "now-99999999999w",
    "now+5000000000000s+5000000000000s",
    "now+9223372036854775807s",
    "2026-11-29T04:05:06.123Z",
    "262143-12-31",
    "-262144-01-01T00:00:00Z",
    "%Y-%m-%d %H",
    "%",
    "%Q",
    "(",
    "(a+)+$",
    r"(\w{100}){100}",
    "ENABLED",
    "DISABLED",
    "LOCAL",
    "EXTERNAL",
    "DOMAIN_ADMIN",
    "USER",
    "UPDATE_PASSWORD",
    "EMAIL",
    "domain-fuzz",
    "alice",
    "a@example.com",
    "Asia/Seoul",
    "Mars/Olympus",
    "",
    " ",
    "\u{0}",
    "😀",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop::sample::select(vec![
            json!(0),
            json!(-1),
            json!(1),
            json!(20),
            json!(1001),
            json!(i64::MAX),
            json!(i64::MIN),
            json!(u64::MAX),
            json!(1e308),
            json!(-1e308),
            json!(0.5),
            json!(-0.0),
            json!(4294967296u64),
        ]),
        any::<i64>().prop_map(Value::from),
        prop::sample::select(WORDS).prop_map(Value::from),
        "[a-z0-9%+\\-.:* ]{0,12}".prop_map(Value::from),
    ]
}

/// JSON whose objects use the API's own keys, nested a few levels.
fn shaped_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

/// Hand-made shapes that once broke the engine, mutated by proptest's shrinking neighbours.
fn seeds() -> Vec<Value> {
    let huge = json!({"k": "created_at", "v": "now+10000000000000s", "o": "timediff_lt"});
    let patterns: Vec<String> = (0..3000).map(|i| format!("^u{i}$")).collect();
    vec![
        json!({"filter": [huge.clone()]}),
        json!({"filter_or": [huge.clone()]}),
        json!({"aggregate": [{"group": {"keys": [{"key": "state", "name": "s"}], "fields": [{"operator": "count", "name": "n", "conditions": [huge]}]}}]}),
        json!({"filter": [{"k": "name", "v": patterns, "o": "regex_in"}]}),
        json!({"page": {"start": i64::MIN, "limit": u64::MAX}}),
        json!({"aggregate": [{"group": {"keys": [{"key": "created_at", "name": "d", "date_format": "%Y%"}]}}]}),
        json!({"aggregate": [{"skip": u64::MAX}, {"limit": -1}, {"unwind": {"path": "required_actions"}}]}),
    ]
}

fn sample_docs() -> Vec<Value> {
    let created = Utc
        .with_ymd_and_hms(2026, 11, 29, 4, 5, 6)
        .single()
        .map(|t| t.to_rfc3339());
    (0..12)
        .map(|i| {
            let name = ["", "Ann", "bob", "😀"][i % 4];
            let state = ["ENABLED", "DISABLED"][i % 2];
            let team = ["a", "b"][i % 2];
            json!({
                "user_id": format!("u{i}"), "name": name,
                "state": state, "email": format!("u{i}@example.com"),
                "tags": {"team": team, "n": i, "deep": {"x": [i, "y"]}},
                "required_actions": if i % 3 == 0 { json!(["UPDATE_PASSWORD"]) } else { json!([]) },
                "mfa": {"state": "DISABLED"}, "created_at": created,
                "last_accessed_at": if i % 2 == 0 { Value::Null } else { json!("2026-11-30T00:00:00.000Z") },
            })
        })
        .collect()
}

/// Parses, compiles and runs a query or stat query; only a panic fails.
fn run_engine(raw: &Value, docs: &[Value]) {
    let now = Utc::now();
    let map = raw.as_object().cloned().unwrap_or_else(Map::new);
    if let Ok(query) = Query::parse(Some(map.clone()), now)
        && let Ok(query) = query.compile()
    {
        let _ = query.run(docs);
    }
    if let Ok(query) = StatQuery::parse(map, now)
        && let Ok(query) = query.compile()
    {
        let _ = query.run(docs);
    }
}

#[test]
fn the_query_and_stat_engine_never_panics() {
    let docs = sample_docs();
    for seed in seeds() {
        run_engine(&seed, &docs);
    }
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        ..Config::default()
    });
    let result = runner.run(&shaped_json(), |raw| {
        run_engine(&raw, &docs);
        Ok(())
    });
    assert!(result.is_ok(), "{result:?}");
}

/// Every answer to arbitrary bodies is 200 or a 4xx with the error body: never a 500 (which
/// is what a panic becomes) nor a 503 (nothing here is unavailable).
#[test]
fn every_method_answers_arbitrary_bodies_with_200_or_a_clear_4xx() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let api = runtime.block_on(async {
        let api = TestApi::new().await;
        api.create_user("alice", json!({"email": "a@example.com"})).await;
        api
    });
    let admin = api.admin();
    let ops: Vec<Operation> = Operation::ALL.into_iter().collect();
    let bodies = (prop::sample::select(ops), shaped_json(), any::<bool>()).prop_map(|(op, raw, wrap)| {
        // Half the bodies are a valid envelope around the arbitrary part, to reach past the
        // first field checks into each operation.
        let body = match (wrap, op) {
            (false, _) => raw,
            (true, Operation::TokenIssue) => json!({"domain_id": DOMAIN, "credentials": raw}),
            (true, Operation::TokenGrant) => json!({"grant_type": "REFRESH_TOKEN", "scope": "USER", "token": raw}),
            (true, _) => json!({"domain_id": DOMAIN, "user_id": "alice", "query": raw}),
        };
        (op, body)
    });
    let mut runner = TestRunner::new(Config {
        cases: cases() / 2,
        ..Config::default()
    });
    let result = runner.run(&bodies, |(op, body)| {
        let path = op.path();
        let reply = runtime.block_on(api.post(path, Some(&admin), body.clone()));
        prop_assert!(
            reply.status == 200 || (400..500).contains(&reply.status),
            "{path} {body}: {} {}",
            reply.status,
            reply.body
        );
        if reply.status != 200 {
            prop_assert!(reply.body["detail"]["code"].is_string(), "{path}: {}", reply.body);
        }
        Ok(())
    });
    assert!(result.is_ok(), "{result:?}");
    for seed in seeds() {
        for op in [Operation::List, Operation::Stat] {
            let body = json!({"domain_id": DOMAIN, "query": seed});
            let reply = runtime.block_on(api.post(op.path(), Some(&admin), body));
            assert!((200..500).contains(&reply.status), "{op:?} {seed}: {}", reply.body);
        }
    }
}
