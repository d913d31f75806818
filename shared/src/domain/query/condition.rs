//! Filter conditions: `{key|k, value|v, operator|o}` parsed into an [`Operator`] whose value has
//! the right type, then evaluated against a user document.

use std::cell::Cell;
use std::cmp::Ordering;

use chrono::{DateTime, TimeDelta, Utc};
use regex::{Regex, RegexBuilder};
use serde_json::{Map, Value};

use super::doc::Doc;
use super::keys::{QueryError, check_key, quoted};
use super::value::{compare, equal};

/// The longest regex pattern accepted (bytes), how many one request may hold (every `regex`
/// value and `regex_in` element, wherever they stand), and the compiled-size ceiling of each.
/// Together they bound what compiling can cost (100 × 1 MiB), and the `regex` crate matches
/// in linear time, so no query can hang the engine (SPEC 4.14).
pub const MAX_PATTERN_BYTES: usize = 1024;
pub const MAX_PATTERNS: usize = 100;
/// The compiled size one pattern may reach: `\w{20}` (Unicode word characters, case-insensitive)
/// needs 0.95 MiB, `\w{10}` half that. 100 patterns at this limit cost at most ~100 MiB
/// (measured: `cargo bench -p shared --bench regex_memory`, docs/performance.md).
const REGEX_SIZE_LIMIT: usize = 1024 * 1024;
/// The lazy DFA's cache per pattern; a pattern whose DFA needs more falls back to a slower engine
/// that is still linear in time.
const REGEX_DFA_SIZE_LIMIT: usize = 256 * 1024;

/// What parsing one request's query needs besides its JSON: the time `timediff_*` counts from,
/// and the regex budget every condition of the request draws from.
pub struct ParseContext {
    pub now: DateTime<Utc>,
    patterns: Cell<usize>,
}

impl ParseContext {
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            now,
            patterns: Cell::new(0),
        }
    }

    /// Counts one more pattern; beyond [`MAX_PATTERNS`] the query is refused before anything
    /// is compiled.
    fn count_pattern(&self, source: &str, at: &str) -> Result<(), QueryError> {
        if source.len() > MAX_PATTERN_BYTES {
            return Err(QueryError::new(format!(
                "{at}: regex longer than {MAX_PATTERN_BYTES} bytes"
            )));
        }
        let count = self.patterns.get() + 1;
        if count > MAX_PATTERNS {
            return Err(QueryError::new(format!(
                "{at}: more than {MAX_PATTERNS} regular expressions in one request"
            )));
        }
        self.patterns.set(count);
        Ok(())
    }
}

/// A regular expression as given, compiled only once the caller is authorized
/// ([`super::Uncompiled::compile`]): compiling is the costly part, and an unauthorized caller
/// must not be able to make the service pay for it.
#[derive(Debug, Clone)]
pub struct Pattern {
    source: String,
    at: String,
    compiled: Option<Regex>,
}

impl Pattern {
    fn new(source: String, at: &str, cx: &ParseContext) -> Result<Self, QueryError> {
        cx.count_pattern(&source, at)?;
        Ok(Self {
            source,
            at: at.to_string(),
            compiled: None,
        })
    }

    fn compile(&mut self) -> Result<(), QueryError> {
        if self.compiled.is_none() {
            self.compiled = Some(compile(&self.source, &self.at)?);
        }
        Ok(())
    }

    /// An uncompiled pattern matches nothing; [`super::Uncompiled`] keeps one from running.
    fn is_match(&self, text: &str) -> bool {
        self.compiled.as_ref().is_some_and(|re| re.is_match(text))
    }
}

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
    Regex(Pattern),
    RegexIn(Vec<Pattern>),
    /// datetime_* and timediff_* (the latter resolved against "now" when parsed).
    Datetime(Bound, DateTime<Utc>),
}

#[derive(Debug, Clone)]
pub struct Condition {
    pub key: String,
    pub operator: Operator,
}

/// Reads `{key|k, value|v, operator|o}`; `at` names the condition in errors (`filter[2]`).
pub fn parse_condition(raw: &Value, at: &str, cx: &ParseContext) -> Result<Condition, QueryError> {
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
        return Err(QueryError::new(format!("{at}: unknown field {}", quoted(extra))));
    }
    let operator = parse_operator(&operator, value, at, cx)?;
    Ok(Condition { key, operator })
}

/// Takes `long` or its alias `short`; both at once is an error.
fn take_alias(map: &mut Map<String, Value>, long: &str, short: &str, at: &str) -> Result<Option<Value>, QueryError> {
    match (map.remove(long), map.remove(short)) {
        (Some(_), Some(_)) => Err(QueryError::new(format!("{at}: give {long} or {short}, not both"))),
        (a, b) => Ok(a.or(b)),
    }
}

fn parse_operator(name: &str, value: Value, at: &str, cx: &ParseContext) -> Result<Operator, QueryError> {
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
        "regex" => Operator::Regex(Pattern::new(text(value)?, at, cx)?),
        "regex_in" => Operator::RegexIn(
            texts(value)?
                .into_iter()
                .map(|p| Pattern::new(p, at, cx))
                .collect::<Result<_, _>>()?,
        ),
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
                let when = cx
                    .now
                    .checked_add_signed(offset)
                    .ok_or_else(|| QueryError::new(format!("{at}: {name} lies outside the representable dates")))?;
                Operator::Datetime(b, when)
            } else {
                return Err(QueryError::new(format!("{at}: operator {} is unknown", quoted(name))));
            }
        }
    };
    Ok(operator)
}

fn compile(pattern: &str, at: &str) -> Result<Regex, QueryError> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_SIZE_LIMIT)
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

/// `now`, `now-7d`, `now+1h`, `now-30m+10s`: units s, m, h, d, w. Every step is checked: a
/// sum past what a `TimeDelta` holds is no value (ERROR_DB_QUERY), never an overflow.
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
        total = total.checked_add(&TimeDelta::try_seconds(
            amount.checked_mul(seconds)?.checked_mul(sign)?,
        )?)?;
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

    /// Compiles the condition's regular expressions (see [`Pattern`]).
    pub fn compile(&mut self) -> Result<(), QueryError> {
        match &mut self.operator {
            Operator::Regex(pattern) => pattern.compile(),
            Operator::RegexIn(patterns) => patterns.iter_mut().try_for_each(Pattern::compile),
            _ => Ok(()),
        }
    }

    pub fn matches<D: Doc + ?Sized>(&self, doc: &D) -> bool {
        // A text field is compared as it is: building its JSON value first cost an allocation
        // per user and condition, a third of a filter over a large domain.
        if let Some(answer) = doc.text(&self.key).and_then(|text| self.matches_text(text)) {
            return answer;
        }
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

impl Condition {
    /// [`Condition::matches`] on a text field, for the operators that read it as a plain
    /// string (the answers are those of the general path on `Value::String(text)`); `None`
    /// for the others.
    fn matches_text(&self, text: &str) -> Option<bool> {
        let is = |v: &Value| v.as_str() == Some(text);
        Some(match &self.operator {
            Operator::Eq(expected) => is(expected),
            Operator::Not(expected) => !is(expected),
            Operator::In(options) => options.iter().any(is),
            Operator::NotIn(options) => !options.iter().any(is),
            Operator::Exists(wanted) => *wanted,
            Operator::Regex(re) => re.is_match(text),
            Operator::RegexIn(res) => res.iter().any(|re| re.is_match(text)),
            _ => return None,
        })
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

    fn cx() -> ParseContext {
        ParseContext::new(now())
    }

    fn compiled(raw: Value) -> Result<Condition, QueryError> {
        let mut condition = parse_condition(&raw, "filter[0]", &cx())?;
        condition.compile()?;
        Ok(condition)
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
        let err = compiled(json!({"k": "name", "v": big, "o": "regex"})).unwrap_err();
        assert!(err.to_string().contains("filter[0]"));
        assert!(compiled(json!({"k": "name", "v": "x".repeat(1025), "o": "regex"})).is_err());
        assert!(compiled(json!({"k": "name", "v": "x".repeat(1024), "o": "regex"})).is_ok());
        assert!(compiled(json!({"k": "name", "v": "(", "o": "regex"})).is_err());
        // Catastrophic for backtracking engines, linear here.
        let c = compiled(json!({"k": "name", "v": "(a+)+$", "o": "regex"})).unwrap();
        assert!(!c.matches(&json!({"name": format!("{}!", "a".repeat(10_000))})));
    }

    #[test]
    fn timediffs_past_the_date_range_are_refused_not_overflowed() {
        for value in [
            "now+10000000000000s",
            "now-10000000000000s",
            "now+9223372036854775807s",
            "now+15250284452w",
            "now+100000000000000s+100000000000000s",
            "now+1000000000000000s-1s",
        ] {
            for op in ["timediff_lt", "timediff_gte"] {
                let err =
                    parse_condition(&json!({"k": "created_at", "v": value, "o": op}), "filter[3]", &cx()).unwrap_err();
                assert!(err.to_string().starts_with("filter[3]"), "{value}: {err}");
            }
        }
    }

    #[test]
    fn a_request_may_hold_at_most_100_patterns_counted_before_compiling() {
        let cx = cx();
        let many: Vec<String> = (0..60).map(|i| format!("(\\w{{50}}){{50}}{i}")).collect();
        // 60 + 40 = 100 fit (and are never compiled here: these would be too complex)...
        let first = parse_condition(&json!({"k": "name", "v": many, "o": "regex_in"}), "filter[0]", &cx).unwrap();
        assert!(matches!(first.operator, Operator::RegexIn(ref p) if p.len() == 60));
        for i in 0..40 {
            parse_condition(&json!({"k": "name", "v": format!("x{i}"), "o": "regex"}), "f", &cx).unwrap();
        }
        // ...the 101st does not, wherever it stands.
        let err =
            parse_condition(&json!({"k": "email", "v": ["a"], "o": "regex_in"}), "filter_or[1]", &cx).unwrap_err();
        assert_eq!(
            err.to_string(),
            "filter_or[1]: more than 100 regular expressions in one request"
        );
    }

    #[test]
    fn an_uncompiled_pattern_matches_nothing() {
        let c = parse_condition(&json!({"k": "name", "v": "a", "o": "regex"}), "f", &cx()).unwrap();
        assert!(!c.matches(&json!({"name": "a"})));
    }
}
