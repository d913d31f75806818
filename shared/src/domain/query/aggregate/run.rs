//! Running the stages over the rows: distinct values, groups and their accumulators,
//! project, unwind.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Map, Number, Value, json};

use super::{Accumulator, FastMap, GroupField, GroupKey, Reducer, Stage};
use crate::query::condition::parse_datetime;
use crate::query::doc::{Doc, Field};
use crate::query::select::sort_docs;
use crate::query::value::{compare, equal, lookup};

/// Sorted distinct values of `key`; list values count element by element; missing and null skipped.
pub(super) fn distinct<D: Doc>(docs: &[D], key: &str) -> Vec<Value> {
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
    pub(super) fn apply(&self, rows: Vec<Value>) -> Vec<Value> {
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
pub(super) struct DefaultRank<'a>(Field<'a>, Field<'a>);

impl<'a> DefaultRank<'a> {
    pub(super) fn of<D: Doc + ?Sized>(doc: &'a D) -> Self {
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
pub(super) fn group<'a, D: Doc + 'a, R: Ord + Clone>(
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
                    crate::query::value::insert_path(&mut copy, path, item);
                    out.push(copy);
                }
            }
            Some(_) => out.push(row),
        }
    }
    out
}
