//! `Query`, for list: select, sort, page and project the users.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::condition::{Condition, ParseContext};
use super::doc::Doc;
use super::keys::{QueryError, check_key};
use super::select::{Compile, Page, Selection, SortKey, Uncompiled, default_order, first_in_order, parse_sort};
use super::value::{insert_path, lookup};
use crate::error::ApiError;
use crate::input::Fields;

/// What `minimal: true` returns.
const MINIMAL_FIELDS: [&str; 5] = ["user_id", "name", "state", "auth_type", "role_type"];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Projection {
    All,
    Only(Vec<String>),
}

/// A `Query` for list.
#[derive(Debug, Clone)]
pub struct Query {
    pub selection: Selection,
    sort: Vec<SortKey>,
    page: Page,
    projection: Projection,
    count_only: bool,
}

impl Query {
    /// Parses a query; `now` resolves `timediff_*` values.
    pub fn parse(raw: Option<Map<String, Value>>, now: DateTime<Utc>) -> Result<Uncompiled<Self>, ApiError> {
        let mut reader = Fields::query(raw.unwrap_or_default(), "query");
        let selection = Selection::read(&mut reader, &ParseContext::new(now))?;
        let sort = match reader.take("sort") {
            Some(raw) => parse_sort(raw, "query.sort", check_key)?,
            None => default_order(),
        };
        let page = Page::parse(reader.take("page"), "query.page")?;
        let minimal = reader.flag("minimal")?;
        let count_only = reader.flag("count_only")?;
        let only = reader
            .list("only")?
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let at = format!("query.only[{i}]");
                let key = v
                    .as_str()
                    .ok_or_else(|| QueryError::new(format!("{at} must be a string")))?
                    .to_string();
                check_key(&key, &at)?;
                Ok(key)
            })
            .collect::<Result<Vec<_>, QueryError>>()?;
        reader.finish()?;
        let projection = if !only.is_empty() {
            Projection::Only(only)
        } else if minimal {
            Projection::Only(MINIMAL_FIELDS.iter().map(|s| s.to_string()).collect())
        } else {
            Projection::All
        };
        Ok(Uncompiled(Self {
            selection,
            sort,
            page,
            projection,
            count_only,
        }))
    }

    /// Adds an `eq` condition (the list shortcuts).
    pub fn require(&mut self, condition: Condition) {
        self.selection.filter.push(condition);
    }

    /// Runs the query: `{"results": [...], "total_count": n}`.
    /// Only the returned page becomes JSON documents.
    pub fn run<D: Doc>(&self, docs: &[D]) -> Value {
        let matched: Vec<&D> = docs.iter().filter(|d| self.selection.matches(*d)).collect();
        let total = matched.len();
        if self.count_only {
            return json!({"results": [], "total_count": total});
        }
        let order = first_in_order(&matched, &self.sort, self.page.end());
        let results: Vec<Value> = self
            .page
            .apply(order)
            .into_iter()
            .map(|i| self.project(matched[i].to_value()))
            .collect();
        json!({"results": results, "total_count": total})
    }

    fn project(&self, doc: Value) -> Value {
        match &self.projection {
            Projection::All => doc,
            Projection::Only(keys) => {
                let mut out = Value::Object(Map::new());
                for key in keys {
                    if let Some(v) = lookup(&doc, key) {
                        insert_path(&mut out, key, v.clone());
                    }
                }
                out
            }
        }
    }
}

impl Compile for Query {
    fn compile_patterns(&mut self) -> Result<(), QueryError> {
        self.selection.compile()
    }
}
