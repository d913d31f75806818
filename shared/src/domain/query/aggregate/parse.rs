//! Parsing a StatisticsQuery's stages: each field checked, each key named in its error.

use serde_json::{Map, Value};

use super::{Accumulator, GroupField, GroupKey, Reducer, Stage};
use crate::query::condition::{ParseContext, parse_condition};
use crate::query::keys::{QueryError, check_key, quoted};
use crate::query::select::parse_sort;

fn key_checker(grouped: bool) -> impl Fn(&str, &str) -> Result<(), QueryError> {
    move |key: &str, at: &str| {
        if grouped {
            if key.is_empty() {
                Err(QueryError::new(format!("{at}: key is empty")))
            } else {
                Ok(())
            }
        } else {
            check_key(key, at)
        }
    }
}

/// Refuses any field of a stage object that is not in `known`.
fn only_known(map: &Map<String, Value>, known: &[&str], at: &str) -> Result<(), QueryError> {
    match map.keys().find(|k| !known.contains(&k.as_str())) {
        Some(extra) => Err(QueryError::new(format!("{at}.{} is not a known field", quoted(extra)))),
        None => Ok(()),
    }
}

/// The text under `long` or its alias `short` (not both).
fn text_of(map: &Map<String, Value>, long: &str, short: &str, at: &str) -> Result<Option<String>, QueryError> {
    if long != short && map.contains_key(long) && map.contains_key(short) {
        return Err(QueryError::new(format!("{at}: give {long} or {short}, not both")));
    }
    match map.get(long).or_else(|| map.get(short)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(QueryError::new(format!("{at}.{long} must be a string"))),
    }
}

/// `{key|k, name|n}`: a required, checked key and a name that defaults to the key.
fn key_and_name(
    map: &Map<String, Value>,
    at: &str,
    check: &impl Fn(&str, &str) -> Result<(), QueryError>,
) -> Result<(String, String), QueryError> {
    let key = text_of(map, "key", "k", at)?.ok_or_else(|| QueryError::new(format!("{at}.key is required")))?;
    check(&key, at)?;
    let name = text_of(map, "name", "n", at)?.unwrap_or_else(|| key.clone());
    Ok((key, name))
}

fn object<'a>(value: &'a Value, at: &str) -> Result<&'a Map<String, Value>, QueryError> {
    value
        .as_object()
        .ok_or_else(|| QueryError::new(format!("{at} must be an object")))
}

fn whole(value: &Value, at: &str) -> Result<usize, QueryError> {
    value
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| QueryError::new(format!("{at} must be a whole number, 0 or more")))
}

/// A strftime format limited to `%Y %m %d %H %M %S` (and `%%`), so formatting cannot fail.
fn check_date_format(format: &str, at: &str) -> Result<(), QueryError> {
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c == '%' && !matches!(chars.next(), Some('Y' | 'm' | 'd' | 'H' | 'M' | 'S' | '%')) {
            return Err(QueryError::new(format!(
                "{at}: date_format may use only %Y %m %d %H %M %S"
            )));
        }
    }
    Ok(())
}

pub(super) fn parse_stages(stages: &[Value], cx: &ParseContext) -> Result<Vec<Stage>, QueryError> {
    let mut grouped = false;
    // The key names of the last group, which project carries over unless told not to.
    let mut group_keys: Vec<String> = Vec::new();
    let mut out = Vec::with_capacity(stages.len());
    for (i, raw) in stages.iter().enumerate() {
        let at = format!("aggregate[{i}]");
        let map = object(raw, &at)?;
        let [(name, body)] = map.iter().collect::<Vec<_>>()[..] else {
            return Err(QueryError::new(format!("{at} must have exactly one stage")));
        };
        let at = format!("{at}.{}", quoted(name));
        let check = key_checker(grouped);
        let stage = match name.as_str() {
            "group" => {
                let stage = parse_group(object(body, &at)?, &at, &check, cx)?;
                if let Stage::Group { keys, .. } = &stage {
                    group_keys = keys.iter().map(|k| k.name.clone()).collect();
                }
                grouped = true;
                stage
            }
            "count" => {
                let body = object(body, &at)?;
                only_known(body, &["name", "n"], &at)?;
                let name = text_of(body, "name", "n", &at)?.unwrap_or_else(|| "count".into());
                group_keys.clear();
                grouped = true;
                Stage::Count { name }
            }
            "sort" => Stage::Sort(parse_sort(body.clone(), &at, &check)?),
            "project" => {
                let stage = parse_project(object(body, &at)?, &at, &check, &group_keys)?;
                if let Stage::Project { keep, .. } = &stage {
                    group_keys = keep.clone();
                }
                grouped = true;
                stage
            }
            "unwind" => {
                let body = object(body, &at)?;
                only_known(body, &["path"], &at)?;
                let path = text_of(body, "path", "path", &at)?
                    .ok_or_else(|| QueryError::new(format!("{at}.path is required")))?;
                check(&path, &at)?;
                Stage::Unwind { path }
            }
            "limit" => Stage::Limit(whole(body, &at)?),
            "skip" => Stage::Skip(whole(body, &at)?),
            other => return Err(QueryError::new(format!("{at}: stage {} is unknown", quoted(other)))),
        };
        out.push(stage);
    }
    Ok(out)
}

fn parse_group(
    map: &Map<String, Value>,
    at: &str,
    check: &impl Fn(&str, &str) -> Result<(), QueryError>,
    cx: &ParseContext,
) -> Result<Stage, QueryError> {
    let list = |name: &str| match map.get(name) {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Array(items)) => Ok(items.clone()),
        Some(_) => Err(QueryError::new(format!("{at}.{name} must be a list"))),
    };
    only_known(map, &["keys", "fields"], at)?;
    let mut keys = Vec::new();
    for (i, raw) in list("keys")?.iter().enumerate() {
        let at = format!("{at}.keys[{i}]");
        let m = object(raw, &at)?;
        only_known(m, &["key", "k", "name", "n", "date_format"], &at)?;
        let (key, name) = key_and_name(m, &at, check)?;
        let date_format = text_of(m, "date_format", "date_format", &at)?;
        if let Some(f) = &date_format {
            check_date_format(f, &at)?;
        }
        keys.push(GroupKey { key, name, date_format });
    }
    let mut fields = Vec::new();
    for (i, raw) in list("fields")?.iter().enumerate() {
        let at = format!("{at}.fields[{i}]");
        let m = object(raw, &at)?;
        only_known(
            m,
            &["key", "k", "name", "n", "operator", "o", "fields", "conditions"],
            &at,
        )?;
        let operator =
            text_of(m, "operator", "o", &at)?.ok_or_else(|| QueryError::new(format!("{at}.operator is required")))?;
        let operator = Accumulator::parse(&operator, &at)?;
        let key = text_of(m, "key", "k", &at)?;
        if let Some(key) = &key {
            check(key, &at)?;
        }
        let name = text_of(m, "name", "n", &at)?.ok_or_else(|| QueryError::new(format!("{at}.name is required")))?;
        let mut pushed = Vec::new();
        match m.get("fields") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (j, f) in items.iter().enumerate() {
                    let at = format!("{at}.fields[{j}]");
                    let f = object(f, &at)?;
                    only_known(f, &["key", "k", "name", "n"], &at)?;
                    pushed.push(key_and_name(f, &at, check)?);
                }
            }
            Some(_) => return Err(QueryError::new(format!("{at}.fields must be a list"))),
        }
        let conditions = match m.get("conditions") {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(j, c)| parse_condition(c, &format!("{at}.conditions[{j}]"), cx))
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(QueryError::new(format!("{at}.conditions must be a list"))),
        };
        if operator != Accumulator::Count && key.is_none() && pushed.is_empty() {
            return Err(QueryError::new(format!("{at}.key is required for this operator")));
        }
        fields.push(GroupField {
            key,
            name,
            operator,
            fields: pushed,
            conditions,
        });
    }
    Ok(Stage::Group { keys, fields })
}

fn parse_project(
    map: &Map<String, Value>,
    at: &str,
    check: &impl Fn(&str, &str) -> Result<(), QueryError>,
    group_keys: &[String],
) -> Result<Stage, QueryError> {
    only_known(map, &["fields", "exclude_keys"], at)?;
    let exclude_keys = match map.get("exclude_keys") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(QueryError::new(format!("{at}.exclude_keys must be true or false"))),
    };
    let items = match map.get("fields") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(items)) => items.as_slice(),
        Some(_) => return Err(QueryError::new(format!("{at}.fields must be a list"))),
    };
    let mut fields = Vec::new();
    for (i, raw) in items.iter().enumerate() {
        let at = format!("{at}.fields[{i}]");
        let m = object(raw, &at)?;
        only_known(m, &["key", "k", "name", "n", "operator", "o"], &at)?;
        let (key, name) = key_and_name(m, &at, check)?;
        let reducer = match text_of(m, "operator", "o", &at)?.as_deref() {
            None => Reducer::Copy,
            Some("size") => Reducer::Size,
            Some("sum") => Reducer::Sum,
            Some("average") => Reducer::Average,
            Some("max") => Reducer::Max,
            Some("min") => Reducer::Min,
            Some(other) => return Err(QueryError::new(format!("{at}: operator {} is unknown", quoted(other)))),
        };
        fields.push((key, name, reducer));
    }
    let keep = if exclude_keys { vec![] } else { group_keys.to_vec() };
    Ok(Stage::Project { fields, keep })
}
