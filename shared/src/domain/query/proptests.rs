//! Property tests: the engine's filter agrees with a plain reference predicate on random users
//! and random conditions, and pages of any size partition the result.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::{ParseContext, Query, StatQuery, parse_condition};

fn doc_strategy() -> impl Strategy<Value = Value> {
    let name = prop::sample::select(vec!["", "Ann", "ann", "Bob", "bo", "Zed"]);
    let state = prop::sample::select(vec!["ENABLED", "DISABLED"]);
    let level = prop_oneof![Just(Value::Null), (-3i64..4).prop_map(Value::from), Just(json!("x"))];
    let actions = prop::collection::vec(prop::sample::select(vec!["UPDATE_PASSWORD", "OTHER"]), 0..3);
    (0u32..1000, name, state, level, actions).prop_map(|(id, name, state, level, actions)| {
        let mut tags = serde_json::Map::new();
        if !level.is_null() {
            tags.insert("level".into(), level);
        }
        json!({"user_id": format!("u{id:03}"), "name": name, "state": state, "tags": tags, "required_actions": actions})
    })
}

fn condition_strategy() -> impl Strategy<Value = (String, String, Value)> {
    let key = prop::sample::select(vec!["name", "state", "tags.level", "required_actions"]);
    let op = prop::sample::select(vec![
        "eq",
        "not",
        "in",
        "not_in",
        "contain",
        "not_contain",
        "lt",
        "gte",
        "exists",
    ]);
    let scalar = prop_oneof![
        prop::sample::select(vec!["Ann", "an", "B", "ENABLED", "UPDATE_PASSWORD", "x"]).prop_map(Value::from),
        (-3i64..4).prop_map(Value::from),
    ];
    (
        key,
        op,
        scalar.clone(),
        prop::collection::vec(scalar, 0..3),
        any::<bool>(),
    )
        .prop_map(|(key, op, one, many, flag)| {
            let value = match op {
                "in" | "not_in" => Value::Array(many),
                "exists" => Value::Bool(flag),
                "contain" | "not_contain" => Value::String(one.as_str().unwrap_or("a").to_string()),
                _ => one,
            };
            (key.to_string(), op.to_string(), value)
        })
}

/// The reference: each operator written out the obvious way for this small domain.
fn reference(doc: &Value, key: &str, op: &str, value: &Value) -> bool {
    let field = match key {
        "tags.level" => doc["tags"].get("level").cloned(),
        _ => doc.get(key).cloned(),
    };
    let elements: Vec<Value> = match &field {
        None => vec![],
        Some(Value::Array(items)) => items.clone(),
        Some(v) => vec![v.clone()],
    };
    let eq = |v: &Value| elements.iter().any(|e| e == v);
    let contains = |needle: &str| {
        elements.iter().any(|e| {
            e.as_str()
                .is_some_and(|s| s.to_lowercase().contains(&needle.to_lowercase()))
        })
    };
    let cmp = |keep: fn(std::cmp::Ordering) -> bool| {
        elements.iter().any(|e| match (e, value) {
            (Value::Number(a), Value::Number(b)) => keep(a.as_i64().cmp(&b.as_i64())),
            (Value::String(a), Value::String(b)) => keep(a.as_str().cmp(b.as_str())),
            _ => false,
        })
    };
    match op {
        "eq" => eq(value),
        "not" => !eq(value),
        "in" => value.as_array().is_some_and(|vs| vs.iter().any(eq)),
        "not_in" => !value.as_array().is_some_and(|vs| vs.iter().any(eq)),
        "contain" => contains(value.as_str().unwrap_or_default()),
        "not_contain" => !contains(value.as_str().unwrap_or_default()),
        "lt" => cmp(|o| o.is_lt()),
        "gte" => cmp(|o| o.is_ge()),
        "exists" => field.is_some() == (value == &Value::Bool(true)),
        _ => unreachable!(),
    }
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

proptest! {
    #[test]
    fn filter_agrees_with_the_reference(doc in doc_strategy(), (key, op, value) in condition_strategy()) {
        let condition = parse_condition(&json!({"k": key, "v": value, "o": op}), "filter[0]", &ParseContext::new(now())).unwrap();
        prop_assert_eq!(condition.matches(&doc), reference(&doc, &key, &op, &value), "{} {} {} on {}", key, op, value, doc);
    }

    #[test]
    fn a_short_page_of_many_rows_is_the_head_of_the_whole_order(
        docs in prop::collection::vec(doc_strategy(), 0..400),
        n in 1usize..6,
        desc in any::<bool>(),
    ) {
        // n * 64 < rows takes the one-pass path of first_in_order; the whole order does not.
        let keys = [super::SortKey { key: "name".into(), desc }];
        let head = super::first_in_order(&docs, &keys, n);
        let whole = super::sorted_order(&docs, &keys);
        prop_assert_eq!(&head[..], &whole[..n.min(whole.len())]);
    }

    #[test]
    fn pages_partition_the_result(docs in prop::collection::vec(doc_strategy(), 0..60), size in 1usize..11, desc in any::<bool>()) {
        let mut seen_ids = std::collections::HashSet::new();
        let docs: Vec<Value> = docs.into_iter().filter(|d| seen_ids.insert(d["user_id"].clone())).collect();
        let sort = json!({"key": "name", "desc": desc});
        let all = Query::parse(json!({"sort": sort}).as_object().cloned(), now()).unwrap().compile().unwrap().run(&docs);
        let mut walked = Vec::new();
        let mut start = 1;
        loop {
            let page = json!({"sort": sort, "page": {"start": start, "limit": size}});
            let body = Query::parse(page.as_object().cloned(), now()).unwrap().compile().unwrap().run(&docs);
            prop_assert_eq!(&body["total_count"], &json!(docs.len()));
            let results = body["results"].as_array().unwrap().clone();
            if results.is_empty() { break; }
            walked.extend(results);
            start += size;
        }
        prop_assert_eq!(&Value::Array(walked), &all["results"]);
    }

    /// A leading group does not sort the users; it ranks them. The reference sorts them: a
    /// leading `skip: 0` puts the users in the default order before the same group runs.
    #[test]
    fn a_leading_group_is_as_if_users_arrived_in_the_default_order(
        docs in prop::collection::vec(doc_strategy(), 0..40),
        key in prop::sample::select(vec!["state", "name", "tags.level"]),
    ) {
        // user_id is unique in a domain.
        let docs: Vec<Value> = docs
            .into_iter()
            .enumerate()
            .map(|(i, mut d)| {
                d["user_id"] = json!(format!("{}-{i}", d["user_id"].as_str().unwrap_or_default()));
                d
            })
            .collect();
        let fields = json!([
            {"name": "n", "operator": "count"},
            {"key": "user_id", "name": "first", "operator": "first"},
            {"key": "user_id", "name": "last", "operator": "last"},
            {"key": "name", "name": "names", "operator": "push"},
            {"key": "name", "name": "set", "operator": "add_to_set"},
            {"key": "required_actions", "name": "actions", "operator": "add_to_set"},
            {"key": "tags", "name": "merged", "operator": "merge_objects"},
            {"key": "tags.level", "name": "max", "operator": "max"},
            {"key": "tags.level", "name": "min", "operator": "min"},
            {"key": "tags.level", "name": "sum", "operator": "sum"},
            {"name": "people", "operator": "push", "fields": [{"key": "user_id", "name": "id"}]},
        ]);
        let group = json!({"group": {"keys": [{"key": key, "name": "k"}], "fields": fields}});
        let run = |stages: Value| {
            let query = json!({"aggregate": stages});
            StatQuery::parse(query.as_object().cloned().unwrap(), now()).unwrap().compile().unwrap().run(&docs)
        };
        prop_assert_eq!(run(json!([group.clone()])), run(json!([{"skip": 0}, group])));
    }
}

#[test]
fn a_response_carries_at_most_1000_results_but_counts_all() {
    let docs: Vec<Value> = (0..1500)
        .map(|i| json!({"user_id": format!("u{i:04}"), "name": ""}))
        .collect();
    for limit in [json!(null), json!(0), json!(5000)] {
        let query = json!({"page": {"limit": limit}});
        let body = Query::parse(query.as_object().cloned(), now())
            .unwrap()
            .compile()
            .unwrap()
            .run(&docs);
        assert_eq!(body["results"].as_array().unwrap().len(), 1000);
        assert_eq!(body["total_count"], 1500);
    }
}
