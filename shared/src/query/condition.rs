//! Filter conditions: `{key|k, value|v, operator|o}` parsed into an [`Operator`] whose value has
//! the right type, then evaluated against a user document.

use std::cmp::Ordering;

use chrono::{DateTime, TimeDelta, Utc};
use regex::{Regex, RegexBuilder};
use serde_json::{Map, Value};

use super::doc::Doc;
use super::value::{compare, equal};
use super::{QueryError, check_key};

/// The longest regex pattern accepted, and the compiled-size ceiling: patterns stay cheap, and
/// the `regex` crate matches in linear time, so no query can hang the engine.
const MAX_PATTERN_CHARS: usize = 1_000;
const REGEX_SIZE_LIMIT: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Lt,
    Lte,
    Gt,
    Gte,
}

impl Bound {
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Bound::Lt => ordering.is_lt(),
            Bound::Lte => ordering.is_le(),
            Bound::Gt => ordering.is_gt(),
            Bound::Gte => ordering.is_ge(),
        }
    }
}

#[derive(Debug, Clone)]
pub enum Operator {
    Eq(Value),
    Not(Value),
    Exists(bool),
    Contain(String),
    NotContain(String),
    In(Vec<Value>),
    NotIn(Vec<Value>),
    ContainIn(Vec<String>),
    NotContainIn(Vec<String>),
    /// lt, lte, gt, gte against a number or a string.
    Compare(Bound, Value),
    Regex(Regex),
    RegexIn(Vec<Regex>),
    /// datetime_* and timediff_* (the latter resolved against "now" when parsed).
    Datetime(Bound, DateTime<Utc>),
}

#[derive(Debug, Clone)]
pub struct Condition {
    pub key: String,
    pub operator: Operator,
}

/// Reads `{key|k, value|v, operator|o}`; `at` names the condition in errors (`filter[2]`).
pub fn parse_condition(raw: &Value, at: &str, now: DateTime<Utc>) -> Result<Condition, QueryError> {
    let Value::Object(map) = raw else {
        return Err(QueryError::new(format!(
            "{at} must be an object with key, value and operator"
        )));
    };
    let mut map = map.clone();
    let key = take_alias(&mut map, "key", "k", at)?
        .and_then(|v| v.as_str().map(str::to_string))
        .ok_or_else(|| QueryError::new(format!("{at}: key must be a string")))?;
    check_key(&key, at)?;
    let value = take_alias(&mut map, "value", "v", at)?.unwrap_or(Value::Null);
    let operator = match take_alias(&mut map, "operator", "o", at)? {
        None => "eq".to_string(),
        Some(Value::String(op)) => op,
        Some(_) => return Err(QueryError::new(format!("{at}: operator must be a string"))),
    };
    if let Some(extra) = map.keys().next() {
        return Err(QueryError::new(format!("{at}: unknown field {extra}")));
    }
    let operator = parse_operator(&operator, value, at, now)?;
    Ok(Condition { key, operator })
}

/// Takes `long` or its alias `short`; both at once is an error.
fn take_alias(map: &mut Map<String, Value>, long: &str, short: &str, at: &str) -> Result<Option<Value>, QueryError> {
    match (map.remove(long), map.remove(short)) {
        (Some(_), Some(_)) => Err(QueryError::new(format!("{at}: give {long} or {short}, not both"))),
        (a, b) => Ok(a.or(b)),
    }
}

fn parse_operator(name: &str, value: Value, at: &str, now: DateTime<Utc>) -> Result<Operator, QueryError> {
    let scalar = |value: Value| -> Result<Value, QueryError> {
        if value.is_array() {
            Err(QueryError::new(format!(
                "{at}: operator {name} takes a single value, not a list"
            )))
        } else {
            Ok(value)
        }
    };
    let list = |value: Value| -> Result<Vec<Value>, QueryError> {
        match value {
            Value::Array(items) => Ok(items),
            _ => Err(QueryError::new(format!("{at}: operator {name} takes a list value"))),
        }
    };
    let text = |value: Value| -> Result<String, QueryError> {
        match value {
            Value::String(s) => Ok(s),
            Value::Array(_) => Err(QueryError::new(format!(
                "{at}: operator {name} takes a single value, not a list"
            ))),
            _ => Err(QueryError::new(format!("{at}: operator {name} takes a string value"))),
        }
    };
    let texts = |value: Value| -> Result<Vec<String>, QueryError> {
        list(value)?
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(QueryError::new(format!(
                    "{at}: operator {name} takes a list of strings"
                ))),
            })
            .collect()
    };
    let bound = |suffix: &str| match suffix {
        "lt" => Some(Bound::Lt),
        "lte" => Some(Bound::Lte),
        "gt" => Some(Bound::Gt),
        "gte" => Some(Bound::Gte),
        _ => None,
    };
    let operator = match name {
        "eq" => Operator::Eq(scalar(value)?),
        "not" => Operator::Not(scalar(value)?),
        "exists" => match value {
            Value::Bool(b) => Operator::Exists(b),
            _ => return Err(QueryError::new(format!("{at}: operator exists takes true or false"))),
        },
        "contain" => Operator::Contain(text(value)?.to_lowercase()),
        "not_contain" => Operator::NotContain(text(value)?.to_lowercase()),
        "in" => Operator::In(list(value)?),
        "not_in" => Operator::NotIn(list(value)?),
        "contain_in" => Operator::ContainIn(texts(value)?.iter().map(|s| s.to_lowercase()).collect()),
        "not_contain_in" => Operator::NotContainIn(texts(value)?.iter().map(|s| s.to_lowercase()).collect()),
        "regex" => Operator::Regex(compile(&text(value)?, at)?),
        "regex_in" => Operator::RegexIn(texts(value)?.iter().map(|p| compile(p, at)).collect::<Result<_, _>>()?),
        _ => {
            if let Some(b) = bound(name) {
                match scalar(value)? {
                    v @ (Value::Number(_) | Value::String(_)) => Operator::Compare(b, v),
                    _ => {
                        return Err(QueryError::new(format!(
                            "{at}: operator {name} takes a number or a string"
                        )));
                    }
                }
            } else if let Some(b) = name.strip_prefix("datetime_").and_then(bound) {
                let when = parse_datetime(&text(value)?)
                    .ok_or_else(|| QueryError::new(format!("{at}: {name} takes an ISO 8601 date-time")))?;
                Operator::Datetime(b, when)
            } else if let Some(b) = name.strip_prefix("timediff_").and_then(bound) {
                let offset = parse_timediff(&text(value)?).ok_or_else(|| {
                    QueryError::new(format!("{at}: {name} takes a value like now-7d (units s m h d w)"))
                })?;
                Operator::Datetime(b, now + offset)
            } else {
                return Err(QueryError::new(format!("{at}: operator {name} is unknown")));
            }
        }
    };
    Ok(operator)
}

fn compile(pattern: &str, at: &str) -> Result<Regex, QueryError> {
    if pattern.chars().count() > MAX_PATTERN_CHARS {
        return Err(QueryError::new(format!(
            "{at}: regex longer than {MAX_PATTERN_CHARS} characters"
        )));
    }
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => QueryError::new(format!("{at}: regex is too complex")),
            _ => QueryError::new(format!("{at}: regex is not valid")),
        })
}

/// ISO 8601: a full date-time with offset, a date-time taken as UTC, or a date (midnight UTC).
pub fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc());
        }
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()?
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
}

/// `now`, `now-7d`, `now+1h`, `now-30m+10s`: units s, m, h, d, w.
fn parse_timediff(text: &str) -> Option<TimeDelta> {
    let mut rest = text.trim().strip_prefix("now")?;
    let mut total = TimeDelta::zero();
    while !rest.is_empty() {
        let sign = match rest.as_bytes()[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let digits = rest[1..].find(|c: char| !c.is_ascii_digit()).map(|i| i + 1)?;
        let amount: i64 = rest[1..digits].parse().ok()?;
        let unit = rest[digits..].chars().next()?;
        let seconds = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        total += TimeDelta::try_seconds(amount.checked_mul(seconds)?.checked_mul(sign)?)?;
        rest = &rest[digits + 1..];
    }
    Some(total)
}

fn contains_text(value: &Value, needle: &str) -> bool {
    value.as_str().is_some_and(|s| s.to_lowercase().contains(needle))
}

/// True when `test` holds for the value, or for any element when the value is a list.
fn any(value: Option<&Value>, test: impl Fn(&Value) -> bool) -> bool {
    match value {
        None => false,
        Some(Value::Array(items)) => items.iter().any(&test),
        Some(v) => test(v),
    }
}

fn same_type(a: &Value, b: &Value) -> bool {
    matches!(
        (a, b),
        (Value::Number(_), Value::Number(_)) | (Value::String(_), Value::String(_))
    )
}

impl Condition {
    /// `key eq value`, for the list shortcuts.
    pub fn eq(key: &str, value: Value) -> Self {
        Self {
            key: key.to_string(),
            operator: Operator::Eq(value),
        }
    }

    pub fn matches<D: Doc + ?Sized>(&self, doc: &D) -> bool {
        let field = doc.field(&self.key);
        let value = field.as_deref().filter(|v| !v.is_null());
        match &self.operator {
            Operator::Eq(expected) => eq(value, expected),
            Operator::Not(expected) => !eq(value, expected),
            Operator::Exists(wanted) => value.is_some() == *wanted,
            Operator::Contain(needle) => any(value, |v| contains_text(v, needle)),
            Operator::NotContain(needle) => !any(value, |v| contains_text(v, needle)),
            Operator::In(options) => options.iter().any(|o| eq(value, o)),
            Operator::NotIn(options) => !options.iter().any(|o| eq(value, o)),
            Operator::ContainIn(needles) => needles.iter().any(|n| any(value, |v| contains_text(v, n))),
            Operator::NotContainIn(needles) => !needles.iter().any(|n| any(value, |v| contains_text(v, n))),
            Operator::Compare(bound, limit) => any(value, |v| same_type(v, limit) && bound.holds(compare(v, limit))),
            Operator::Regex(re) => any(value, |v| v.as_str().is_some_and(|s| re.is_match(s))),
            Operator::RegexIn(res) => res
                .iter()
                .any(|re| any(value, |v| v.as_str().is_some_and(|s| re.is_match(s)))),
            Operator::Datetime(bound, when) => any(value, |v| {
                v.as_str()
                    .and_then(parse_datetime)
                    .is_some_and(|t| bound.holds(t.cmp(when)))
            }),
        }
    }
}

/// `eq`: equal values; on a list field, any element equal (or the whole list equal).
fn eq(value: Option<&Value>, expected: &Value) -> bool {
    match (value, expected) {
        (None, Value::Null) => true,
        (None, _) => false,
        (Some(v), _) if equal(v, expected) => true,
        (Some(Value::Array(items)), _) => items.iter().any(|item| equal(item, expected)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn now() -> DateTime<Utc> {
        parse_datetime("2026-11-29T12:00:00Z").unwrap()
    }

    #[test]
    fn timediff_values() {
        assert_eq!(parse_timediff("now"), Some(TimeDelta::zero()));
        assert_eq!(parse_timediff("now-7d"), Some(TimeDelta::days(-7)));
        assert_eq!(parse_timediff("now+1h-30m"), Some(TimeDelta::minutes(30)));
        assert_eq!(parse_timediff("now+2w"), Some(TimeDelta::weeks(2)));
        for bad in [
            "",
            "today",
            "now-7",
            "now-d",
            "now*2d",
            "now-7y",
            "now-99999999999999999d",
        ] {
            assert_eq!(parse_timediff(bad), None, "{bad}");
        }
    }

    #[test]
    fn datetimes() {
        assert!(parse_datetime("2026-11-29T04:05:06.123Z").is_some());
        assert!(parse_datetime("2026-11-29T04:05:06+09:00").is_some());
        assert!(parse_datetime("2026-11-29").is_some());
        assert!(parse_datetime("29/11/2026").is_none());
    }

    #[test]
    fn hostile_regexes_are_refused_not_run() {
        let big = r"(\w{100}){100}".to_string();
        let err = parse_condition(&json!({"k": "name", "v": big, "o": "regex"}), "filter[0]", now()).unwrap_err();
        assert!(err.to_string().contains("filter[0]"));
        assert!(parse_condition(&json!({"k": "name", "v": "x".repeat(1001), "o": "regex"}), "f", now()).is_err());
        assert!(parse_condition(&json!({"k": "name", "v": "(", "o": "regex"}), "f", now()).is_err());
        // Catastrophic for backtracking engines, linear here.
        let c = parse_condition(&json!({"k": "name", "v": "(a+)+$", "o": "regex"}), "f", now()).unwrap();
        assert!(!c.matches(&json!({"name": format!("{}!", "a".repeat(10_000))})));
    }
}
