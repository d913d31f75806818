//! The Cloudforet query language over one domain's users, independent of any store: the store
//! hands over the users, this module parses, validates, filters, sorts, pages, projects
//! ([`Query`], for list) and aggregates ([`StatQuery`], for stat).
//!
//! Queries see users only as their `UserInfo` documents, so the password hash and internal
//! attributes are not there to reach; naming them (or any key that is not a UserInfo field) is
//! refused up front with ERROR_DB_QUERY. Every query is parsed completely before storage is read.

mod aggregate;
mod condition;
mod doc;
mod value;

pub use aggregate::StatQuery;
pub use condition::{Condition, MAX_PATTERN_BYTES, MAX_PATTERNS, ParseContext, parse_condition, parse_datetime};
pub use doc::{Doc, Field};
pub use value::{compare, lookup};

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::error::ApiError;

/// The UserInfo fields: the only roots a query key may start with.
pub const USER_FIELDS: [&str; 15] = [
    "user_id",
    "name",
    "state",
    "email",
    "email_verified",
    "auth_type",
    "role_type",
    "mfa",
    "language",
    "timezone",
    "required_actions",
    "tags",
    "domain_id",
    "created_at",
    "last_accessed_at",
];

/// What `minimal: true` returns.
const MINIMAL_FIELDS: [&str; 5] = ["user_id", "name", "state", "auth_type", "role_type"];

/// The most results one response carries.
pub const MAX_PAGE: usize = 1000;

/// A malformed query; becomes ERROR_DB_QUERY naming where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(String);

impl QueryError {
    pub fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}

/// A parsed query whose regular expressions are not compiled yet. Parsing is cheap and bounded
/// (SPEC 4.14: at most [`MAX_PATTERNS`] patterns of [`MAX_PATTERN_BYTES`] each); compiling is
/// not, so it waits until the caller is authorized. Only a compiled query can run.
#[derive(Debug)]
pub struct Uncompiled<Q>(Q);

/// A query with regular expressions to compile.
pub trait Compile {
    fn compile_patterns(&mut self) -> Result<(), QueryError>;
}

impl<Q: Compile> Uncompiled<Q> {
    /// Compiles every pattern; an invalid or too complex one is ERROR_DB_QUERY naming it.
    pub fn compile(mut self) -> Result<Q, QueryError> {
        self.0.compile_patterns()?;
        Ok(self.0)
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        ApiError::DbQuery { reason: e.0 }
    }
}

/// A key must be a UserInfo field or a dotted path into one.
pub fn check_key(key: &str, at: &str) -> Result<(), QueryError> {
    let root = key.split('.').next().unwrap_or_default();
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(QueryError::new(format!("{at}: key {key:?} is not a field path")));
    }
    if !USER_FIELDS.contains(&root) {
        return Err(QueryError::new(format!(
            "{at}: key {key} cannot be queried (not a UserInfo field)"
        )));
    }
    Ok(())
}

/// Reads the fields of a query object one by one; leftovers are unknown fields.
pub(crate) struct Reader {
    map: Map<String, Value>,
    name: &'static str,
}

impl Reader {
    pub fn new(map: Map<String, Value>, name: &'static str) -> Self {
        Self { map, name }
    }

    pub fn take(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key).filter(|v| !v.is_null())
    }

    pub fn flag(&mut self, key: &str) -> Result<bool, QueryError> {
        match self.take(key) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(b),
            Some(_) => Err(QueryError::new(format!("{}.{key} must be true or false", self.name))),
        }
    }

    pub fn list(&mut self, key: &str) -> Result<Vec<Value>, QueryError> {
        match self.take(key) {
            None => Ok(vec![]),
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(QueryError::new(format!("{}.{key} must be a list", self.name))),
        }
    }

    pub fn string(&mut self, key: &str) -> Result<Option<String>, QueryError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(QueryError::new(format!("{}.{key} must be a string", self.name))),
        }
    }

    pub fn finish(self) -> Result<(), QueryError> {
        match self.map.keys().next() {
            None => Ok(()),
            Some(key) => Err(QueryError::new(format!("{}.{key} is not a known field", self.name))),
        }
    }
}

/// Which users a query selects: `filter` (all hold) AND `filter_or` (one holds) AND `keyword`.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub filter: Vec<Condition>,
    pub filter_or: Vec<Condition>,
    keyword: Option<String>,
}

impl Selection {
    pub(crate) fn read(reader: &mut Reader, cx: &ParseContext) -> Result<Self, QueryError> {
        let conditions = |items: Vec<Value>, name: &str| {
            items
                .iter()
                .enumerate()
                .map(|(i, raw)| parse_condition(raw, &format!("{name}[{i}]"), cx))
                .collect::<Result<Vec<_>, _>>()
        };
        let filter = conditions(reader.list("filter")?, "filter")?;
        let filter_or = conditions(reader.list("filter_or")?, "filter_or")?;
        let keyword = reader
            .string("keyword")?
            .map(|k| k.trim().to_lowercase())
            .filter(|k| !k.is_empty());
        Ok(Self {
            filter,
            filter_or,
            keyword,
        })
    }

    fn compile(&mut self) -> Result<(), QueryError> {
        self.filter
            .iter_mut()
            .chain(self.filter_or.iter_mut())
            .try_for_each(Condition::compile)
    }

    pub fn matches<D: Doc + ?Sized>(&self, doc: &D) -> bool {
        self.filter.iter().all(|c| c.matches(doc))
            && (self.filter_or.is_empty() || self.filter_or.iter().any(|c| c.matches(doc)))
            && self.keyword.as_ref().is_none_or(|k| keyword_matches(doc, k))
    }
}

fn keyword_matches<D: Doc + ?Sized>(doc: &D, keyword: &str) -> bool {
    ["user_id", "name", "email"].iter().any(|field| {
        doc.field(field)
            .as_deref()
            .and_then(Value::as_str)
            .is_some_and(|s| s.to_lowercase().contains(keyword))
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    pub key: String,
    pub desc: bool,
}

/// `{key, desc}` or `{keys: [{key, desc}, ...]}`. `check` validates each key.
pub(crate) fn parse_sort(
    raw: Value,
    at: &str,
    check: impl Fn(&str, &str) -> Result<(), QueryError>,
) -> Result<Vec<SortKey>, QueryError> {
    let Value::Object(map) = raw else {
        return Err(QueryError::new(format!("{at} must be an object")));
    };
    let one = |map: &Map<String, Value>, at: &str| -> Result<SortKey, QueryError> {
        let key = map
            .get("key")
            .and_then(Value::as_str)
            .ok_or_else(|| QueryError::new(format!("{at}.key must be a string")))?;
        check(key, at)?;
        let desc = match map.get("desc") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(QueryError::new(format!("{at}.desc must be true or false"))),
        };
        if let Some(extra) = map.keys().find(|k| !["key", "desc"].contains(&k.as_str())) {
            return Err(QueryError::new(format!("{at}.{extra} is not a known field")));
        }
        Ok(SortKey {
            key: key.to_string(),
            desc,
        })
    };
    match map.get("keys") {
        Some(Value::Array(keys)) if map.len() == 1 => keys
            .iter()
            .enumerate()
            .map(|(i, k)| match k {
                Value::Object(m) => one(m, &format!("{at}.keys[{i}]")),
                _ => Err(QueryError::new(format!("{at}.keys[{i}] must be an object"))),
            })
            .collect(),
        Some(_) => Err(QueryError::new(format!("{at}.keys must be the only field, a list"))),
        None => Ok(vec![one(&map, at)?]),
    }
}

/// Name, then user_id (the tie-break every order ends with).
pub(crate) fn default_order() -> Vec<SortKey> {
    vec![SortKey {
        key: "name".into(),
        desc: false,
    }]
}

/// The order of `docs` by `keys`, as indices: missing values first, ties always broken by
/// user_id ascending (so paging is stable), then by position. Each document's sort values are
/// read once, and the documents themselves never move.
pub fn sorted_order<D: Doc>(docs: &[D], keys: &[SortKey]) -> Vec<usize> {
    first_in_order(docs, keys, docs.len())
}

/// The first `n` indices of [`sorted_order`], without ordering the rest: a page needs only
/// the rows up to its end.
pub fn first_in_order<D: Doc>(docs: &[D], keys: &[SortKey], n: usize) -> Vec<usize> {
    let width = keys.len() + 1;
    let paths: Vec<&str> = keys.iter().map(|k| k.key.as_str()).chain(["user_id"]).collect();
    let values: Vec<Field<'_>> = docs
        .iter()
        .flat_map(|d| paths.iter().map(move |p| Field::read(d, p)))
        .collect();
    let row = |i: usize| &values[i * width..(i + 1) * width];
    // A total order (position breaks the last ties), so an unstable sort is deterministic.
    let compare = |&a: &usize, &b: &usize| {
        let (ra, rb) = (row(a), row(b));
        let by_keys = keys.iter().enumerate().map(|(i, k)| {
            let o = ra[i].order(&rb[i]);
            if k.desc { o.reverse() } else { o }
        });
        by_keys
            .chain([ra[keys.len()].order(&rb[keys.len()]), a.cmp(&b)])
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    };
    let mut order: Vec<usize> = (0..docs.len()).collect();
    if n < order.len() {
        if n == 0 {
            return Vec::new();
        }
        order.select_nth_unstable_by(n - 1, compare);
        order.truncate(n);
    }
    order.sort_unstable_by(compare);
    order
}

/// Sorts documents in place by `keys` (see [`sorted_order`]).
pub fn sort_docs<D: Doc>(docs: &mut Vec<D>, keys: &[SortKey]) {
    let order = sorted_order(docs, keys);
    let mut slots: Vec<Option<D>> = docs.drain(..).map(Some).collect();
    docs.extend(order.into_iter().filter_map(|i| slots[i].take()));
}

/// `{start, limit}`: start is 1-based (below 1 means 1); limit 0 or absent means all, capped at
/// [`MAX_PAGE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub start: usize,
    pub limit: Option<usize>,
}

impl Page {
    pub(crate) fn parse(raw: Option<Value>, at: &str) -> Result<Self, QueryError> {
        let mut page = Page { start: 1, limit: None };
        let Some(raw) = raw else { return Ok(page) };
        let Value::Object(map) = raw else {
            return Err(QueryError::new(format!("{at} must be an object")));
        };
        for (key, value) in map.into_iter().filter(|(_, v)| !v.is_null()) {
            let number = value
                .as_i64()
                .or_else(|| value.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                .ok_or_else(|| QueryError::new(format!("{at}.{key} must be a whole number")))?;
            match key.as_str() {
                "start" => page.start = usize::try_from(number.max(1)).unwrap_or(1),
                "limit" if number < 0 => return Err(QueryError::new(format!("{at}.limit must not be negative"))),
                "limit" => page.limit = usize::try_from(number).ok().filter(|l| *l > 0),
                _ => return Err(QueryError::new(format!("{at}.{key} is not a known field"))),
            }
        }
        Ok(page)
    }

    /// The rows of this page, never more than [`MAX_PAGE`].
    pub fn apply<T>(&self, rows: Vec<T>) -> Vec<T> {
        rows.into_iter().skip(self.start - 1).take(self.size()).collect()
    }

    fn size(&self) -> usize {
        self.limit.unwrap_or(MAX_PAGE).min(MAX_PAGE)
    }

    /// How many rows from the first the page reaches to.
    fn end(&self) -> usize {
        (self.start - 1).saturating_add(self.size())
    }
}

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
    pub fn parse(raw: Option<Map<String, Value>>, now: DateTime<Utc>) -> Result<Uncompiled<Self>, QueryError> {
        let mut reader = Reader::new(raw.unwrap_or_default(), "query");
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

/// Sets `path` (dotted) in `out`, creating objects along the way.
fn insert_path(out: &mut Value, path: &str, value: Value) {
    let mut parts = path.split('.').peekable();
    let mut node = out;
    while let Some(part) = parts.next() {
        let Value::Object(map) = node else { return };
        if parts.peek().is_none() {
            map.insert(part.to_string(), value);
            return;
        }
        node = map.entry(part.to_string()).or_insert_with(|| Value::Object(Map::new()));
    }
}

#[cfg(test)]
mod proptests;
