//! Selecting and ordering users, shared by list and stat: the conditions (`filter`,
//! `filter_or`, `keyword`), sort keys and the default order, pages, and the compile step
//! between parsing a query and running it.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::condition::{Condition, ParseContext, parse_condition};
use super::doc::{Doc, Field};
use super::keys::{QueryError, quoted};
use crate::error::ApiError;
use crate::input::Fields;

/// The most results one response carries.
pub const MAX_PAGE: usize = 1000;

/// A parsed query whose regular expressions are not compiled yet. Parsing is cheap and bounded
/// (SPEC 4.14: at most [`MAX_PATTERNS`] patterns of [`MAX_PATTERN_BYTES`] each); compiling is
/// not, so it waits until the caller is authorized. Only a compiled query can run.
#[derive(Debug)]
pub struct Uncompiled<Q>(pub(super) Q);

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

/// Which users a query selects: `filter` (all hold) AND `filter_or` (one holds) AND `keyword`.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub filter: Vec<Condition>,
    pub filter_or: Vec<Condition>,
    keyword: Option<String>,
}

impl Selection {
    pub(crate) fn read(reader: &mut Fields, cx: &ParseContext) -> Result<Self, ApiError> {
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

    pub(super) fn compile(&mut self) -> Result<(), QueryError> {
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
            return Err(QueryError::new(format!("{at}.{} is not a known field", quoted(extra))));
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
    if n == 0 {
        return Vec::new();
    }
    if n.saturating_mul(64) < docs.len() {
        // A page of a large domain: one pass keeping the best n. Most rows lose to the worst
        // kept one after a single comparison, where a selection over all rows compares each
        // several times, each time reading two sort values from scattered memory.
        let mut best: Vec<usize> = Vec::with_capacity(n + 1);
        for i in 0..docs.len() {
            if best.len() == n && best.last().is_some_and(|worst| compare(&i, worst).is_ge()) {
                continue;
            }
            let at = best.partition_point(|b| compare(b, &i).is_lt());
            best.insert(at, i);
            best.truncate(n);
        }
        return best;
    }
    let mut order: Vec<usize> = (0..docs.len()).collect();
    if n < order.len() {
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
                .ok_or_else(|| QueryError::new(format!("{at}.{} must be a whole number", quoted(&key))))?;
            match key.as_str() {
                "start" => page.start = usize::try_from(number.max(1)).unwrap_or(1),
                "limit" if number < 0 => return Err(QueryError::new(format!("{at}.limit must not be negative"))),
                "limit" => page.limit = usize::try_from(number).ok().filter(|l| *l > 0),
                _ => return Err(QueryError::new(format!("{at}.{} is not a known field", quoted(&key)))),
            }
        }
        Ok(page)
    }

    /// The rows of this page, never more than [`MAX_PAGE`].
    pub fn apply<T>(&self, rows: Vec<T>) -> Vec<T> {
        rows.into_iter().skip(self.start - 1).take(self.size()).collect()
    }

    pub(super) fn size(&self) -> usize {
        self.limit.unwrap_or(MAX_PAGE).min(MAX_PAGE)
    }

    /// How many rows from the first the page reaches to.
    pub(super) fn end(&self) -> usize {
        (self.start - 1).saturating_add(self.size())
    }
}
