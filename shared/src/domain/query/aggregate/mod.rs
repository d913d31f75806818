//! `StatisticsQuery` for stat: select users like a `Query`, then either list the distinct values
//! of a key or run an aggregation pipeline of stages over the rows.
//!
//! Until the first `group`, rows are user documents and keys must be UserInfo fields; after it,
//! rows hold only the names the group chose, so any name may be used.
//!
//! This file holds the query's types and its two steps; `parse.rs` reads the stages (every
//! field checked, every key named in its error), `run.rs` runs them over the rows.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::condition::ParseContext;
use super::doc::Doc;
use super::keys::{QueryError, check_key, quoted};
use super::select::{Compile, Page, Selection, SortKey, Uncompiled, default_order, sorted_order};
use crate::error::ApiError;
use crate::input::Fields;

/// Identity strings to what they index. foldhash, seeded per process like std's SipHash
/// (so a domain's values cannot be chosen to collide), at a fraction of its cost per row:
/// a stat over 100,000 users looks up two identities per user (issue 14).
mod parse;
mod run;

use parse::parse_stages;
use run::{DefaultRank, distinct, group};

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

/// The accumulators' names, as a group field's `operator` takes them.
pub const ACCUMULATORS: [&str; 10] = [
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
];

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

#[cfg(test)]
mod tests {
    use super::*;

    /// The list the document states is the list the parser knows.
    #[test]
    fn every_accumulator_name_parses() {
        for name in ACCUMULATORS {
            assert!(Accumulator::parse(name, "at").is_ok(), "{name}");
        }
        assert!(Accumulator::parse("median", "at").is_err());
    }
}
