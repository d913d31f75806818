//! `StatisticsQuery` for stat: select users like a `Query`, then either list the distinct values
//! of a key or run an aggregation pipeline of stages over the rows.
//!
//! Until the first `group`, rows are user documents and keys must be UserInfo fields; after it,
//! rows hold only the names the group chose, so any name may be used.

use std::borrow::Cow;
use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde_json::{Map, Number, Value, json};

use super::condition::{ParseContext, parse_condition, parse_datetime};
use super::doc::{Doc, Field};
use super::keys::{QueryError, check_key, quoted};
use super::select::{
    Compile, Page, Selection, SortKey, Uncompiled, default_order, parse_sort, sort_docs, sorted_order,
};
use super::value::{compare, equal, lookup};
use crate::error::ApiError;
use crate::input::Fields;

/// Identity strings to what they index. foldhash, seeded per process like std's SipHash
/// (so a domain's values cannot be chosen to collide), at a fraction of its cost per row:
/// a stat over 100,000 users looks up two identities per user (issue 14).
type FastMap<V> = std::collections::HashMap<String, V, foldhash::fast::RandomState>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Accumulator {
    Count,
    Sum,
    Average,
    Max,
    Min,
    First,
    Last,
    Push,
    AddToSet,
    MergeObjects,
}

impl Accumulator {
    fn parse(name: &str, at: &str) -> Result<Self, QueryError> {
        Ok(match name {
            "count" => Self::Count,
            "sum" => Self::Sum,
            "average" => Self::Average,
            "max" => Self::Max,
            "min" => Self::Min,
            "first" => Self::First,
            "last" => Self::Last,
            "push" => Self::Push,
            "add_to_set" => Self::AddToSet,
            "merge_objects" => Self::MergeObjects,
            other => return Err(QueryError::new(format!("{at}: operator {} is unknown", quoted(other)))),
        })
    }
}

#[derive(Debug, Clone)]
struct GroupKey {
    key: String,
    name: String,
    date_format: Option<String>,
}

#[derive(Debug, Clone)]
struct GroupField {
    key: Option<String>,
    name: String,
    operator: Accumulator,
    /// For push: push objects of these `(key, name)` pairs instead of one value.
    fields: Vec<(String, String)>,
    /// Only rows matching these conditions feed this field.
    conditions: Vec<super::condition::Condition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reducer {
    Copy,
    Size,
    Sum,
    Average,
    Max,
    Min,
}

#[derive(Debug, Clone)]
enum Stage {
    Group {
        keys: Vec<GroupKey>,
        fields: Vec<GroupField>,
    },
    Count {
        name: String,
    },
    Sort(Vec<SortKey>),
    /// `keep`: the group key fields carried over (none with exclude_keys or before any group).
    Project {
        fields: Vec<(String, String, Reducer)>,
        keep: Vec<String>,
    },
    Unwind {
        path: String,
    },
    Limit(usize),
    Skip(usize),
}

#[derive(Debug, Clone)]
enum Action {
    Distinct(String),
    Aggregate(Vec<Stage>),
}

/// A parsed `StatisticsQuery`.
#[derive(Debug, Clone)]
pub struct StatQuery {
    pub selection: Selection,
    action: Action,
    page: Option<Page>,
}

/// Key rules for a stage: user fields before the first group, any name after it.
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

impl StatQuery {
    /// Parses a query; neither `distinct` nor `aggregate` is ERROR_REQUIRED_PARAMETER.
    pub fn parse(raw: Map<String, Value>, now: DateTime<Utc>) -> Result<Uncompiled<Self>, ApiError> {
        let cx = ParseContext::new(now);
        let mut reader = Fields::query(raw, "query");
        let selection = Selection::read(&mut reader, &cx)?;
        let page = reader
            .take("page")
            .map(|p| Page::parse(Some(p), "query.page"))
            .transpose()?;
        // "" is the proto3 default: not given.
        let distinct = reader.non_empty("distinct")?;
        let aggregate = reader.take("aggregate");
        reader.finish()?;
        let action = match (distinct, aggregate) {
            (Some(key), None) => {
                check_key(&key, "query.distinct")?;
                Action::Distinct(key)
            }
            (None, Some(Value::Array(stages))) => Action::Aggregate(parse_stages(&stages, &cx)?),
            (None, Some(_)) => return Err(QueryError::new("query.aggregate must be a list of stages").into()),
            (Some(_), Some(_)) => return Err(QueryError::new("query: give distinct or aggregate, not both").into()),
            (None, None) => return Err(ApiError::required("aggregate")),
        };
        Ok(Uncompiled(Self {
            selection,
            action,
            page,
        }))
    }

    /// Runs over the users' documents: `{"results": [...]}`, plus `total_count` with a page limit.
    /// A leading group reads the users directly; only its rows become JSON.
    pub fn run<D: Doc>(&self, docs: &[D]) -> Value {
        let selected: Vec<&D> = docs.iter().filter(|d| self.selection.matches(*d)).collect();
        let rows = match &self.action {
            // Distinct sorts its values itself, so the users' order does not matter.
            Action::Distinct(key) => distinct(&selected, key),
            Action::Aggregate(stages) => {
                let (rows, rest) = match stages.split_first() {
                    // A leading count does not care about order.
                    Some((Stage::Count { name }, rest)) => (vec![json!({ name.as_str(): selected.len() })], rest),
                    // A leading group ranks users by the default order instead of sorting them.
                    Some((Stage::Group { keys, fields }, rest)) => {
                        let ranked = selected.iter().map(|d| (DefaultRank::of(*d), *d));
                        (group(ranked, keys, fields), rest)
                    }
                    _ => {
                        // Other stages see the users in the default order.
                        let order = sorted_order(&selected, &default_order());
                        (
                            order.into_iter().map(|i| selected[i].to_value()).collect(),
                            stages.as_slice(),
                        )
                    }
                };
                rest.iter().fold(rows, |rows, stage| stage.apply(rows))
            }
        };
        match self.page {
            Some(page) if page.limit.is_some() => {
                let total = rows.len();
                json!({"results": page.apply(rows), "total_count": total})
            }
            Some(page) => json!({"results": page.apply(rows)}),
            None => json!({"results": rows}),
        }
    }
}

impl Compile for StatQuery {
    fn compile_patterns(&mut self) -> Result<(), QueryError> {
        self.selection.compile()?;
        let Action::Aggregate(stages) = &mut self.action else {
            return Ok(());
        };
        for stage in stages {
            if let Stage::Group { fields, .. } = stage {
                for field in fields {
                    field
                        .conditions
                        .iter_mut()
                        .try_for_each(super::condition::Condition::compile)?;
                }
            }
        }
        Ok(())
    }
}

fn parse_stages(stages: &[Value], cx: &ParseContext) -> Result<Vec<Stage>, QueryError> {
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

/// Sorted distinct values of `key`; list values count element by element; missing and null skipped.
fn distinct<D: Doc>(docs: &[D], key: &str) -> Vec<Value> {
    let mut values: Vec<Value> = Vec::new();
    for doc in docs {
        match doc.field(key).map(Cow::into_owned) {
            Some(Value::Array(items)) => values.extend(items),
            Some(Value::Null) | None => {}
            Some(v) => values.push(v),
        }
    }
    values.sort_by(compare);
    values.dedup_by(|a, b| equal(a, b));
    values
}

fn number(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        Value::from(value as i64)
    } else {
        Number::from_f64(value).map(Value::Number).unwrap_or(Value::Null)
    }
}

fn numbers<'a>(values: impl Iterator<Item = &'a Value>) -> Vec<f64> {
    values.filter_map(Value::as_f64).collect()
}

fn extreme<'a>(values: impl Iterator<Item = &'a Value>, max: bool) -> Value {
    let present = values.filter(|v| !v.is_null());
    let pick = if max {
        present.max_by(|a, b| compare(a, b))
    } else {
        present.min_by(|a, b| compare(a, b))
    };
    pick.cloned().unwrap_or(Value::Null)
}

fn average(values: &[f64]) -> Value {
    if values.is_empty() {
        Value::Null
    } else {
        number(values.iter().sum::<f64>() / values.len() as f64)
    }
}

impl Stage {
    fn apply(&self, rows: Vec<Value>) -> Vec<Value> {
        match self {
            Stage::Group { keys, fields } => group(rows.iter().enumerate(), keys, fields),
            Stage::Count { name } => vec![json!({ name.as_str(): rows.len() })],
            Stage::Sort(keys) => {
                let mut rows = rows;
                sort_docs(&mut rows, keys);
                rows
            }
            Stage::Project { fields, keep } => rows.into_iter().map(|r| project(r, fields, keep)).collect(),
            Stage::Unwind { path } => unwind(rows, path),
            Stage::Limit(n) => rows.into_iter().take(*n).collect(),
            Stage::Skip(n) => rows.into_iter().skip(*n).collect(),
        }
    }
}

fn group_key<'a, D: Doc>(row: &'a D, key: &GroupKey) -> Field<'a> {
    let field = Field::read(row, &key.key);
    let formatted = match (&key.date_format, &field) {
        (Some(format), Field::Text(text)) => parse_datetime(text).map(|when| when.format(format).to_string()),
        (Some(format), Field::Value(value)) => value
            .as_str()
            .and_then(parse_datetime)
            .map(|when| when.format(format).to_string()),
        (None, _) => None,
    };
    match formatted {
        Some(text) => Field::Value(Cow::Owned(Value::String(text))),
        None => field,
    }
}

/// Where a user stands in the default order (name, then user_id): the order a leading group's
/// rows count as arriving in. Ranks replace a sort of the whole domain: order-sensitive results
/// keep the rank of what they hold and are put in order at the end.
#[derive(Clone)]
struct DefaultRank<'a>(Field<'a>, Field<'a>);

impl<'a> DefaultRank<'a> {
    fn of<D: Doc + ?Sized>(doc: &'a D) -> Self {
        Self(Field::read(doc, "name"), Field::read(doc, "user_id"))
    }
}

impl Ord for DefaultRank<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.order(&other.0).then_with(|| self.1.order(&other.1))
    }
}

impl PartialOrd for DefaultRank<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for DefaultRank<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for DefaultRank<'_> {}

/// One group field's running state, folded in as rows arrive in any order: everything that
/// depends on arrival order holds the rank `R` of the row it came from.
enum Acc<R> {
    Count(usize),
    Sum(f64),
    Average(f64, usize),
    /// The best value so far (max when true); among equal values the earliest row's.
    Extreme(Option<(R, Value)>, bool),
    First(Option<(R, Value)>),
    Last(Option<(R, Value)>),
    Push(Vec<(R, Value)>),
    /// Each member with its earliest row, and where each member's identity is in the list.
    Set(Vec<(R, Value)>, FastMap<usize>),
    Merge(Vec<(R, Map<String, Value>)>),
}

/// Values in rank order.
fn in_order<R: Ord, T>(mut items: Vec<(R, T)>) -> impl Iterator<Item = T> {
    items.sort_by(|a, b| a.0.cmp(&b.0));
    items.into_iter().map(|(_, v)| v)
}

impl<R: Ord + Clone> Acc<R> {
    fn new(operator: Accumulator) -> Self {
        match operator {
            Accumulator::Count => Acc::Count(0),
            Accumulator::Sum => Acc::Sum(0.0),
            Accumulator::Average => Acc::Average(0.0, 0),
            Accumulator::Max => Acc::Extreme(None, true),
            Accumulator::Min => Acc::Extreme(None, false),
            Accumulator::First => Acc::First(None),
            Accumulator::Last => Acc::Last(None),
            Accumulator::Push => Acc::Push(Vec::new()),
            Accumulator::AddToSet => Acc::Set(Vec::new(), FastMap::default()),
            Accumulator::MergeObjects => Acc::Merge(Vec::new()),
        }
    }

    /// Folds in the field of the row at `rank`; `read` is only called when the value is needed,
    /// and add_to_set turns it into JSON only for a new member. `scratch` is reused between rows.
    fn add<'a>(&mut self, rank: &R, read: impl FnOnce() -> Field<'a>, scratch: &mut String) {
        match self {
            Acc::Count(n) => *n += 1,
            Acc::Sum(total) => *total += read().to_value().as_f64().unwrap_or(0.0),
            Acc::Average(total, n) => {
                if let Some(x) = read().to_value().as_f64() {
                    *total += x;
                    *n += 1;
                }
            }
            Acc::Extreme(best, max) => {
                let v = read().to_value();
                let better = |(r, b): &(R, Value)| {
                    let o = compare(&v, b);
                    (if *max { o.is_gt() } else { o.is_lt() }) || (o.is_eq() && rank < r)
                };
                if !v.is_null() && best.as_ref().is_none_or(better) {
                    *best = Some((rank.clone(), v));
                }
            }
            Acc::First(first) => {
                if first.as_ref().is_none_or(|(r, _)| rank < r) {
                    *first = Some((rank.clone(), read().to_value()));
                }
            }
            Acc::Last(last) => {
                if last.as_ref().is_none_or(|(r, _)| rank > r) {
                    *last = Some((rank.clone(), read().to_value()));
                }
            }
            Acc::Push(items) => items.push((rank.clone(), read().to_value())),
            Acc::Set(items, members) => {
                let field = read();
                scratch.clear();
                field.identity(scratch);
                match members.get(scratch.as_str()) {
                    Some(&i) if rank < &items[i].0 => items[i].0 = rank.clone(),
                    Some(_) => {}
                    None => {
                        members.insert(scratch.clone(), items.len());
                        items.push((rank.clone(), field.to_value()));
                    }
                }
            }
            Acc::Merge(objects) => {
                if let Value::Object(m) = read().to_value() {
                    objects.push((rank.clone(), m));
                }
            }
        }
    }

    fn finish(self) -> Value {
        match self {
            Acc::Count(n) => Value::from(n),
            Acc::Sum(total) => number(total),
            Acc::Average(total, n) => {
                if n == 0 {
                    Value::Null
                } else {
                    number(total / n as f64)
                }
            }
            Acc::Extreme(best, _) | Acc::First(best) | Acc::Last(best) => best.map(|(_, v)| v).unwrap_or(Value::Null),
            Acc::Push(items) | Acc::Set(items, _) => Value::Array(in_order(items).collect()),
            Acc::Merge(objects) => Value::Object(in_order(objects).flatten().collect()),
        }
    }
}

struct Group<R> {
    /// The earliest row's rank: groups come out in the order their first row arrived.
    rank: R,
    key_values: Vec<Value>,
    accs: Vec<Acc<R>>,
}

/// Groups rows given with their rank (their position in arrival order), in any order; the
/// result is as if they had arrived in rank order.
fn group<'a, D: Doc + 'a, R: Ord + Clone>(
    rows: impl IntoIterator<Item = (R, &'a D)>,
    keys: &[GroupKey],
    fields: &[GroupField],
) -> Vec<Value> {
    let mut index: FastMap<usize> = FastMap::default();
    let mut groups: Vec<Group<R>> = Vec::new();
    let (mut id, mut scratch) = (String::new(), String::new());
    let mut key_fields: Vec<Field<'a>> = Vec::with_capacity(keys.len());
    for (rank, row) in rows {
        key_fields.clear();
        key_fields.extend(keys.iter().map(|k| group_key(row, k)));
        id.clear();
        key_fields.iter().for_each(|f| f.identity(&mut id));
        let slot = match index.get(id.as_str()) {
            Some(&slot) => {
                if rank < groups[slot].rank {
                    groups[slot].rank = rank.clone();
                }
                slot
            }
            None => {
                index.insert(id.clone(), groups.len());
                groups.push(Group {
                    rank: rank.clone(),
                    key_values: key_fields.iter().map(Field::to_value).collect(),
                    accs: fields.iter().map(|f| Acc::new(f.operator)).collect(),
                });
                groups.len() - 1
            }
        };
        for (field, acc) in fields.iter().zip(groups[slot].accs.iter_mut()) {
            if field.conditions.iter().all(|c| c.matches(row)) {
                acc.add(&rank, || field_value(row, field), &mut scratch);
            }
        }
    }
    groups.sort_by(|a, b| a.rank.cmp(&b.rank));
    groups
        .into_iter()
        .map(|g| {
            let mut out = Map::new();
            for (key, value) in keys.iter().zip(g.key_values) {
                out.insert(key.name.clone(), value);
            }
            for (field, acc) in fields.iter().zip(g.accs) {
                out.insert(field.name.clone(), acc.finish());
            }
            Value::Object(out)
        })
        .collect()
}

/// What a row contributes to a field: the key's value, or an object of `fields` for push.
fn field_value<'a, D: Doc>(row: &'a D, field: &GroupField) -> Field<'a> {
    if field.fields.is_empty() {
        return match field.key.as_deref() {
            Some(key) => Field::read(row, key),
            None => Field::Value(Cow::Owned(Value::Null)),
        };
    }
    let mut obj = Map::new();
    for (k, n) in &field.fields {
        obj.insert(n.clone(), Field::read(row, k).to_value());
    }
    Field::Value(Cow::Owned(Value::Object(obj)))
}

/// Project carries over the group key fields in `keep`, then adds each projected field.
fn project(row: Value, fields: &[(String, String, Reducer)], keep: &[String]) -> Value {
    let mut out = Map::new();
    for key in keep {
        if let Some(v) = row.get(key) {
            out.insert(key.clone(), v.clone());
        }
    }
    for (key, name, reducer) in fields {
        let value = lookup(&row, key).cloned().unwrap_or(Value::Null);
        let items = || value.as_array().map(|a| a.iter()).into_iter().flatten();
        let reduced = match reducer {
            Reducer::Copy => value.clone(),
            Reducer::Size => value.as_array().map(|a| Value::from(a.len())).unwrap_or(Value::Null),
            Reducer::Sum => number(numbers(items()).iter().sum()),
            Reducer::Average => average(&numbers(items())),
            Reducer::Max => extreme(items(), true),
            Reducer::Min => extreme(items(), false),
        };
        out.insert(name.clone(), reduced);
    }
    Value::Object(out)
}

/// One row per element of the list at `path`; rows whose path is missing or an empty list go.
fn unwind(rows: Vec<Value>, path: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for row in rows {
        match lookup(&row, path) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for item in items.clone() {
                    let mut copy = row.clone();
                    super::value::insert_path(&mut copy, path, item);
                    out.push(copy);
                }
            }
            Some(_) => out.push(row),
        }
    }
    out
}
