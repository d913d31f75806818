//! SPEC 4.12 list and 4.14 Query, through the HTTP surface.

use serde_json::{Value, json};
use tests::DOMAIN;

use super::fixture::{domain, ids, list};

/// Users matching one condition, in user_id order.
async fn matching(api: &tests::TestApi, condition: Value) -> Vec<String> {
    let body = list(api, json!({"filter": [condition], "sort": {"key": "user_id"}}))
        .await
        .ok();
    ids(&body)
}

#[tokio::test]
async fn every_operator_matches_and_misses() {
    let api = domain().await;
    let cases: Vec<(Value, &[&str])> = vec![
        (json!({"k": "name", "v": "Alice", "o": "eq"}), &["alice"]),
        (json!({"key": "state", "value": "DISABLED"}), &["bob"]),
        (
            json!({"k": "state", "v": "DISABLED", "o": "not"}),
            &["alice", "carol", "dave", "erin"],
        ),
        (
            json!({"k": "tags.team", "v": "core", "o": "not"}),
            &["bob", "carol", "dave", "erin"],
        ),
        (json!({"k": "tags.team", "v": true, "o": "exists"}), &["alice", "bob"]),
        (
            json!({"k": "tags.team", "v": false, "o": "exists"}),
            &["carol", "dave", "erin"],
        ),
        (
            json!({"k": "email", "v": "EXAMPLE", "o": "contain"}),
            &["alice", "erin"],
        ),
        (
            json!({"k": "email", "v": "example", "o": "not_contain"}),
            &["bob", "carol", "dave"],
        ),
        (
            json!({"k": "user_id", "v": ["alice", "bob", "zed"], "o": "in"}),
            &["alice", "bob"],
        ),
        (
            json!({"k": "auth_type", "v": ["LOCAL"], "o": "not_in"}),
            &["bob", "dave"],
        ),
        (
            json!({"k": "email", "v": ["CORP", "erin@"], "o": "contain_in"}),
            &["bob", "erin"],
        ),
        (
            json!({"k": "email", "v": ["corp", "erin"], "o": "not_contain_in"}),
            &["alice", "carol", "dave"],
        ),
        (json!({"k": "tags.level", "v": 4, "o": "lt"}), &["alice"]),
        (json!({"k": "tags.level", "v": 3, "o": "lte"}), &["alice"]),
        (json!({"k": "tags.level", "v": 3, "o": "gt"}), &["bob"]),
        (json!({"k": "tags.level", "v": 3, "o": "gte"}), &["alice", "bob"]),
        (json!({"k": "tags.level", "v": "a", "o": "gte"}), &["dave"]),
        (json!({"k": "name", "v": "B", "o": "gt"}), &["bob", "carol", "erin"]),
        (json!({"k": "user_id", "v": "^[AB]", "o": "regex"}), &["alice", "bob"]),
        (
            json!({"k": "name", "v": ["^car", "in$"], "o": "regex_in"}),
            &["carol", "erin"],
        ),
        (
            json!({"k": "required_actions", "v": "UPDATE_PASSWORD", "o": "eq"}),
            &["carol"],
        ),
        (
            json!({"k": "required_actions", "v": ["UPDATE_PASSWORD"], "o": "in"}),
            &["carol"],
        ),
        (
            json!({"k": "mfa.state", "v": "DISABLED"}),
            &["alice", "bob", "carol", "dave", "erin"],
        ),
        (json!({"k": "role_type", "v": "WORKSPACE_OWNER"}), &["erin"]),
        (json!({"k": "timezone", "v": "asia/", "o": "contain"}), &["erin"]),
    ];
    for (condition, expected) in cases {
        assert_eq!(matching(&api, condition.clone()).await, expected, "{condition}");
    }
}

#[tokio::test]
async fn datetime_and_timediff_compare_created_at() {
    let api = domain().await;
    let carol = api.get("carol").await["created_at"].as_str().unwrap().to_string();
    let cases: Vec<(Value, &[&str])> = vec![
        (
            json!({"k": "created_at", "v": carol, "o": "datetime_lt"}),
            &["alice", "bob"],
        ),
        (
            json!({"k": "created_at", "v": carol, "o": "datetime_lte"}),
            &["alice", "bob", "carol"],
        ),
        (
            json!({"k": "created_at", "v": carol, "o": "datetime_gt"}),
            &["dave", "erin"],
        ),
        (
            json!({"k": "created_at", "v": carol, "o": "datetime_gte"}),
            &["carol", "dave", "erin"],
        ),
        // The clock stands one day after erin was created.
        (json!({"k": "created_at", "v": "now-2d", "o": "timediff_gt"}), &["erin"]),
        (
            json!({"k": "created_at", "v": "now-2d-1h", "o": "timediff_gte"}),
            &["dave", "erin"],
        ),
        (
            json!({"k": "created_at", "v": "now-3d", "o": "timediff_lt"}),
            &["alice", "bob"],
        ),
        (json!({"k": "created_at", "v": "now-1w", "o": "timediff_lte"}), &[]),
        (json!({"k": "last_accessed_at", "v": "now", "o": "timediff_lt"}), &[]),
    ];
    for (condition, expected) in cases {
        assert_eq!(matching(&api, condition.clone()).await, expected, "{condition}");
    }
}

#[tokio::test]
async fn malformed_queries_are_db_query_errors_naming_the_condition() {
    let api = domain().await;
    let cases = [
        (json!({"filter": [{"k": "name", "v": "x", "o": "like"}]}), "filter[0]"),
        (json!({"filter": [{"k": "name", "v": ["x"], "o": "eq"}]}), "filter[0]"),
        (json!({"filter": [{"k": "name", "v": "x", "o": "in"}]}), "filter[0]"),
        (
            json!({"filter": [{"k": "name", "v": "x"}, {"k": "name", "v": 1, "o": "contain"}]}),
            "filter[1]",
        ),
        (
            json!({"filter": [{"k": "name", "v": "yes", "o": "exists"}]}),
            "filter[0]",
        ),
        (
            json!({"filter": [{"k": "name", "v": {"a": 1}, "o": "lt"}]}),
            "filter[0]",
        ),
        (json!({"filter": [{"k": "name", "v": "(", "o": "regex"}]}), "filter[0]"),
        (
            json!({"filter": [{"k": "created_at", "v": "yesterday", "o": "datetime_lt"}]}),
            "filter[0]",
        ),
        (
            json!({"filter": [{"k": "created_at", "v": "now-7y", "o": "timediff_lt"}]}),
            "filter[0]",
        ),
        (json!({"filter": [{"k": "name", "key": "name", "v": "x"}]}), "filter[0]"),
        (json!({"filter": [{"v": "x"}]}), "filter[0]"),
        (json!({"filter": [{"k": "name", "v": "x", "extra": 1}]}), "filter[0]"),
        (json!({"filter_or": ["name"]}), "filter_or[0]"),
        (json!({"filter": {"k": "name"}}), "query.filter"),
        (json!({"page": {"limit": -1}}), "query.page"),
        (json!({"page": {"start": 1.5}}), "query.page"),
        (json!({"sort": {"key": "name", "desc": "yes"}}), "query.sort"),
        (json!({"minimal": 1}), "query.minimal"),
        (json!({"group_by": ["name"]}), "query.group_by"),
    ];
    for (query, named) in cases {
        let message = list(&api, query.clone()).await.err("ERROR_DB_QUERY", 400);
        assert!(message.contains(named), "{query}: {message}");
    }
}

#[tokio::test]
async fn hidden_and_unknown_keys_are_refused_by_every_route() {
    let api = domain().await;
    for key in [
        "password_hash",
        "password",
        "role_binding",
        "workspace_id",
        "version",
        "pk",
        "mfa_secret",
        "tags..x",
    ] {
        let routes = [
            json!({"filter": [{"k": key, "v": "x"}]}),
            json!({"filter_or": [{"k": key, "v": true, "o": "exists"}]}),
            json!({"sort": {"key": key}}),
            json!({"sort": {"keys": [{"key": "name"}, {"key": key}]}}),
            json!({"only": ["user_id", key]}),
        ];
        for query in routes {
            list(&api, query.clone()).await.err("ERROR_DB_QUERY", 400);
        }
    }
}

#[tokio::test]
async fn filter_and_filter_or_combine() {
    let api = domain().await;
    let query = json!({
        "filter": [{"k": "auth_type", "v": "LOCAL"}],
        "filter_or": [{"k": "user_id", "v": "alice"}, {"k": "user_id", "v": "bob"}, {"k": "user_id", "v": "erin"}],
        "sort": {"key": "user_id"},
    });
    assert_eq!(ids(&list(&api, query).await.ok()), ["alice", "erin"]);
}

#[tokio::test]
async fn default_order_is_name_then_user_id_and_ties_break_on_user_id() {
    let api = domain().await;
    // Names: "" (dave), "Alice", "Bob", "Erin", "carol" — code point order.
    assert_eq!(
        ids(&list(&api, json!({})).await.ok()),
        ["dave", "alice", "bob", "erin", "carol"]
    );
    let desc = list(&api, json!({"sort": {"key": "auth_type", "desc": true}}))
        .await
        .ok();
    assert_eq!(ids(&desc), ["alice", "carol", "erin", "bob", "dave"]);
    let keys = list(
        &api,
        json!({"sort": {"keys": [{"key": "auth_type"}, {"key": "name", "desc": true}]}}),
    )
    .await
    .ok();
    assert_eq!(ids(&keys), ["bob", "dave", "carol", "erin", "alice"]);
}

#[tokio::test]
async fn pages_walk_every_user_exactly_once() {
    let api = tests::TestApi::new().await;
    for i in 0..23 {
        let name = ["same", "other", ""][i % 3];
        let body = json!({"user_id": format!("u{i:02}"), "name": name, "auth_type": "EXTERNAL", "permission_group": "DOMAIN", "domain_id": DOMAIN});
        api.admin_call("create", body).await.ok();
    }
    let mut seen = Vec::new();
    for start in (1..=23).step_by(7) {
        let body = list(&api, json!({"page": {"start": start, "limit": 7}})).await.ok();
        assert_eq!(body["total_count"], 23);
        seen.extend(ids(&body));
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!((seen.len(), sorted.len()), (23, 23));
    // start below 1 means 1; limit 0 means all.
    assert_eq!(
        ids(&list(&api, json!({"page": {"start": -5, "limit": 2}})).await.ok()),
        seen[..2]
    );
    assert_eq!(
        list(&api, json!({"page": {"limit": 0}})).await.ok()["results"]
            .as_array()
            .unwrap()
            .len(),
        23
    );
}

#[tokio::test]
async fn minimal_only_and_count_only_shape_the_results() {
    let api = domain().await;
    let minimal = list(&api, json!({"minimal": true, "filter": [{"k": "user_id", "v": "bob"}]}))
        .await
        .ok();
    assert_eq!(
        minimal["results"][0],
        json!({"user_id": "bob", "name": "Bob", "state": "DISABLED", "auth_type": "EXTERNAL", "role_type": "USER"})
    );
    let only = list(
        &api,
        json!({"only": ["user_id", "tags.team"], "filter": [{"k": "user_id", "v": "alice"}]}),
    )
    .await
    .ok();
    assert_eq!(
        only["results"][0],
        json!({"user_id": "alice", "tags": {"team": "core"}})
    );
    let count = list(
        &api,
        json!({"count_only": true, "filter": [{"k": "auth_type", "v": "LOCAL"}]}),
    )
    .await
    .ok();
    assert_eq!(count, json!({"results": [], "total_count": 3}));
}

#[tokio::test]
async fn keyword_searches_user_id_name_and_email() {
    let api = domain().await;
    let by = |k: &str| json!({"keyword": k, "sort": {"key": "user_id"}});
    assert_eq!(ids(&list(&api, by("CORP")).await.ok()), ["bob"]);
    assert_eq!(ids(&list(&api, by("ar")).await.ok()), ["carol"]);
    assert_eq!(ids(&list(&api, by("e")).await.ok()), ["alice", "dave", "erin"]);
}

#[tokio::test]
async fn shortcut_filters_including_workspace_membership() {
    let api = domain().await;
    let call = |extra: Value| {
        let mut body = json!({"domain_id": DOMAIN, "query": {"sort": {"key": "user_id"}}});
        tests::merge(&mut body, extra);
        body
    };
    let cases: Vec<(Value, &[&str])> = vec![
        (json!({"user_id": "alice"}), &["alice"]),
        (json!({"name": "Bob"}), &["bob"]),
        (json!({"state": "ENABLED"}), &["alice", "carol", "dave", "erin"]),
        (json!({"email": "erin@example.com"}), &["erin"]),
        (json!({"auth_type": "EXTERNAL"}), &["bob", "dave"]),
        (json!({"workspace_id": "ws-1"}), &["dave"]),
        (json!({"workspace_id": "ws-2", "state": "ENABLED"}), &["erin"]),
        (json!({"workspace_id": "ws-9"}), &[]),
    ];
    for (extra, expected) in cases {
        assert_eq!(
            ids(&api.admin_call("list", call(extra.clone())).await.ok()),
            expected,
            "{extra}"
        );
    }
    api.admin_call("list", call(json!({"state": "ASLEEP"})))
        .await
        .err("ERROR_INVALID_PARAMETER", 400);
}

#[tokio::test]
async fn results_never_include_secrets_and_other_domains_stay_out() {
    let api = domain().await;
    let other = api.token("domain-other", "root", shared::model::RoleType::DomainAdmin);
    let create =
        json!({"user_id": "zed", "auth_type": "EXTERNAL", "permission_group": "DOMAIN", "domain_id": "domain-other"});
    api.call("create", &other, create).await.ok();
    let body = list(&api, json!({})).await.ok();
    assert_eq!(body["total_count"], 5);
    assert!(!body.to_string().contains("argon2"));
    assert!(!body.to_string().contains("zed"));
}
