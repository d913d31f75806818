//! SPEC 4.13 stat and 4.15 StatisticsQuery, through the HTTP surface.

use serde_json::json;

use super::fixture::{domain, stat};

#[tokio::test]
async fn distinct_lists_sorted_values_and_flattens_lists() {
    let api = domain().await;
    assert_eq!(
        stat(&api, json!({"distinct": "state"})).await.ok(),
        json!({"results": ["DISABLED", "ENABLED"]})
    );
    assert_eq!(
        stat(&api, json!({"distinct": "required_actions"})).await.ok(),
        json!({"results": ["UPDATE_PASSWORD"]})
    );
    // Missing values are skipped; numbers sort before strings.
    assert_eq!(
        stat(&api, json!({"distinct": "tags.level"})).await.ok(),
        json!({"results": [3, 5, "high"]})
    );
    let filtered = json!({"distinct": "user_id", "filter": [{"k": "auth_type", "v": "EXTERNAL"}], "keyword": "b"});
    assert_eq!(stat(&api, filtered).await.ok(), json!({"results": ["bob"]}));
}

#[tokio::test]
async fn group_counts_by_several_keys() {
    let api = domain().await;
    let query = json!({"aggregate": [
        {"group": {"keys": [{"key": "state", "name": "state"}, {"k": "auth_type", "n": "auth"}], "fields": [{"n": "count", "o": "count"}]}},
        {"sort": {"keys": [{"key": "state"}, {"key": "auth"}]}},
    ]});
    assert_eq!(
        stat(&api, query).await.ok(),
        json!({"results": [
            {"state": "DISABLED", "auth": "EXTERNAL", "count": 1},
            {"state": "ENABLED", "auth": "EXTERNAL", "count": 1},
            {"state": "ENABLED", "auth": "LOCAL", "count": 3},
        ]})
    );
}

#[tokio::test]
async fn all_ten_group_operators() {
    let api = domain().await;
    let query = json!({
        "filter": [{"k": "tags", "v": true, "o": "exists"}],
        "aggregate": [{"group": {"keys": [], "fields": [
            {"name": "n", "operator": "count"},
            {"key": "tags.level", "name": "sum", "operator": "sum"},
            {"key": "tags.level", "name": "avg", "operator": "average"},
            {"key": "tags.level", "name": "max", "operator": "max"},
            {"key": "tags.level", "name": "min", "operator": "min"},
            {"key": "user_id", "name": "first", "operator": "first"},
            {"key": "user_id", "name": "last", "operator": "last"},
            {"key": "auth_type", "name": "pushed", "operator": "push"},
            {"key": "auth_type", "name": "set", "operator": "add_to_set"},
            {"key": "tags", "name": "merged", "operator": "merge_objects"},
            {"name": "people", "operator": "push", "fields": [{"key": "user_id", "name": "id"}, {"key": "state", "name": "s"}]},
            {"name": "locals", "operator": "count", "conditions": [{"k": "auth_type", "v": "LOCAL"}]},
        ]}}],
    });
    // Users reach the stage in the default order: name, then user_id.
    let row = &stat(&api, query).await.ok()["results"][0];
    assert_eq!(row["n"], 5);
    assert_eq!(row["sum"], 8);
    assert_eq!(row["avg"], 4);
    assert_eq!(row["max"], "high");
    assert_eq!(row["min"], 3);
    assert_eq!(row["first"], "dave");
    assert_eq!(row["last"], "carol");
    assert_eq!(
        row["pushed"],
        json!(["EXTERNAL", "LOCAL", "EXTERNAL", "LOCAL", "LOCAL"])
    );
    assert_eq!(row["set"], json!(["EXTERNAL", "LOCAL"]));
    assert_eq!(row["merged"], json!({"level": 5, "team": "edge"}));
    assert_eq!(row["people"][0], json!({"id": "dave", "s": "ENABLED"}));
    assert_eq!(row["locals"], 3);
}

#[tokio::test]
async fn date_format_groups_timestamps() {
    let api = domain().await;
    let query = json!({"aggregate": [
        {"group": {"keys": [{"key": "created_at", "name": "year", "date_format": "%Y"}], "fields": [{"name": "n", "operator": "count"}]}},
    ]});
    let results = stat(&api, query).await.ok()["results"].clone();
    let total: u64 = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["n"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 5);
    assert!(results[0]["year"].as_str().unwrap().len() == 4);
    let bad = json!({"aggregate": [{"group": {"keys": [{"key": "created_at", "date_format": "%Q"}]}}]});
    stat(&api, bad).await.err("ERROR_DB_QUERY", 400);
}

#[tokio::test]
async fn count_sort_limit_skip_and_unwind_stages() {
    let api = domain().await;
    assert_eq!(
        stat(&api, json!({"aggregate": [{"count": {"name": "total"}}]}))
            .await
            .ok(),
        json!({"results": [{"total": 5}]})
    );
    let pipeline = json!({"aggregate": [
        {"sort": {"key": "user_id", "desc": true}},
        {"skip": 1},
        {"limit": 2},
        {"project": {"fields": [{"key": "user_id", "name": "id"}]}},
    ]});
    assert_eq!(
        stat(&api, pipeline).await.ok(),
        json!({"results": [{"id": "dave"}, {"id": "carol"}]})
    );
    let unwind = json!({"aggregate": [
        {"unwind": {"path": "required_actions"}},
        {"project": {"fields": [{"key": "user_id", "name": "id"}, {"key": "required_actions", "name": "action"}]}},
    ]});
    assert_eq!(
        stat(&api, unwind).await.ok(),
        json!({"results": [{"id": "carol", "action": "UPDATE_PASSWORD"}]})
    );
}

#[tokio::test]
async fn project_keeps_group_keys_unless_excluded_and_reduces_lists() {
    let api = domain().await;
    let group = json!({"group": {"keys": [{"key": "auth_type", "name": "auth"}], "fields": [{"key": "user_id", "name": "ids", "operator": "push"}]}});
    let keep = json!({"aggregate": [group, {"sort": {"key": "auth"}}, {"project": {"fields": [{"key": "ids", "name": "n", "operator": "size"}]}}]});
    assert_eq!(
        stat(&api, keep).await.ok(),
        json!({"results": [{"auth": "EXTERNAL", "n": 2}, {"auth": "LOCAL", "n": 3}]})
    );
    let exclude = json!({"aggregate": [group, {"sort": {"key": "auth"}}, {"project": {"fields": [{"key": "ids", "name": "n", "operator": "size"}], "exclude_keys": true}}]});
    assert_eq!(stat(&api, exclude).await.ok(), json!({"results": [{"n": 2}, {"n": 3}]}));
}

#[tokio::test]
async fn page_adds_total_count() {
    let api = domain().await;
    let query = json!({"distinct": "user_id", "page": {"start": 2, "limit": 2}});
    assert_eq!(
        stat(&api, query).await.ok(),
        json!({"results": ["bob", "carol"], "total_count": 5})
    );
}

#[tokio::test]
async fn stat_needs_a_query_with_distinct_or_aggregate() {
    let api = domain().await;
    let message = api
        .post(
            "/identity/v1/user/stat",
            Some(&api.admin()),
            json!({"domain_id": tests::DOMAIN}),
        )
        .await;
    assert!(message.err("ERROR_REQUIRED_PARAMETER", 400).contains("key = query"));
    let message = stat(&api, json!({"filter": []}))
        .await
        .err("ERROR_REQUIRED_PARAMETER", 400);
    assert!(message.contains("key = aggregate"));
}

#[tokio::test]
async fn hidden_keys_are_refused_by_every_stat_route() {
    let api = domain().await;
    let routes = [
        json!({"distinct": "password_hash"}),
        json!({"aggregate": [{"group": {"keys": [{"key": "password_hash"}]}}]}),
        json!({"aggregate": [{"group": {"fields": [{"key": "role_binding", "name": "x", "operator": "push"}]}}]}),
        json!({"aggregate": [{"group": {"fields": [{"name": "x", "operator": "push", "fields": [{"key": "password_hash"}]}]}}]}),
        json!({"aggregate": [{"unwind": {"path": "password_hash"}}]}),
        json!({"aggregate": [{"sort": {"key": "workspace_id"}}]}),
        json!({"aggregate": [{"project": {"fields": [{"key": "password_hash"}]}}]}),
        json!({"filter": [{"k": "password_hash", "v": true, "o": "exists"}], "distinct": "user_id"}),
    ];
    for query in routes {
        stat(&api, query.clone()).await.err("ERROR_DB_QUERY", 400);
    }
    // After a group, rows hold only the group's names, so any name may be used.
    let after = json!({"aggregate": [{"group": {"keys": [{"key": "state", "name": "password_hash"}]}}, {"sort": {"key": "password_hash"}}]});
    assert_eq!(
        stat(&api, after).await.ok(),
        json!({"results": [{"password_hash": "DISABLED"}, {"password_hash": "ENABLED"}]})
    );
}

#[tokio::test]
async fn malformed_stages_are_db_query_errors() {
    let api = domain().await;
    for aggregate in [
        json!([{"bogus": {}}]),
        json!([{"limit": -1}]),
        json!([{"limit": 1, "skip": 1}]),
        json!([{"group": {"fields": [{"key": "user_id", "name": "x", "operator": "median"}]}}]),
        json!([{"group": {"fields": [{"name": "x", "operator": "sum"}]}}]),
        json!([{"unwind": {}}]),
        json!("count"),
    ] {
        stat(&api, json!({"aggregate": aggregate.clone()}))
            .await
            .err("ERROR_DB_QUERY", 400);
    }
}

#[tokio::test]
async fn stages_refuse_unknown_fields_and_doubled_aliases_naming_them() {
    let api = domain().await;
    let count = json!({"name": "n", "operator": "count"});
    for (aggregate, named) in [
        (
            json!([{"group": {"keys": [{"key": "state", "nmae": "s"}]}}]),
            "keys[0].nmae",
        ),
        (
            json!([{"group": {"keys": [{"key": "state", "k": "name"}]}}]),
            "give key or k",
        ),
        (
            json!([{"group": {"fields": [{"name": "n", "operator": "count", "extra": 1}]}}]),
            "fields[0].extra",
        ),
        (
            json!([{"group": {"fields": [{"name": "n", "n": "m", "operator": "count"}]}}]),
            "give name or n",
        ),
        (
            json!([{"group": {"fields": [{"name": "n", "operator": "count", "o": "sum"}]}}]),
            "give operator or o",
        ),
        (
            json!([{"group": {"fields": [{"name": "p", "operator": "push", "fields": [{"key": "state", "as": "s"}]}]}}]),
            "fields[0].as",
        ),
        (
            json!([{"group": {"fields": [{"name": "p", "operator": "push", "fields": {"key": "state"}}]}}]),
            "fields must be a list",
        ),
        (
            json!([{"group": {"fields": [count.clone()]}}, {"project": {"fields": [{"key": "n", "op": "size"}]}}]),
            "fields[0].op",
        ),
        (
            json!([{"group": {"fields": [count.clone()]}}, {"project": {"field": [{"key": "n"}]}}]),
            "project.field",
        ),
        (
            json!([{"group": {"fields": [count.clone()]}}, {"project": {"exclude_keys": "yes"}}]),
            "exclude_keys must be",
        ),
        (
            json!([{"group": {"fields": [count.clone()]}}, {"project": {"fields": {"key": "n"}}}]),
            "fields must be a list",
        ),
        (json!([{"count": {"name": "c", "as": "d"}}]), "count.as"),
        (
            json!([{"unwind": {"path": "required_actions", "keep_empty": true}}]),
            "unwind.keep_empty",
        ),
    ] {
        let message = stat(&api, json!({"aggregate": aggregate.clone()}))
            .await
            .err("ERROR_DB_QUERY", 400);
        assert!(message.contains(named), "{aggregate}: {message}");
    }
}
