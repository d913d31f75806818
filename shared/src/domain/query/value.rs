//! Reading and ordering JSON values: dotted-path lookup and the one total order used by sort,
//! min/max, distinct and comparisons.

use std::cmp::Ordering;

use serde_json::{Map, Value};

/// The value at a dotted path (`tags.team`, `mfa.options.email`), through objects only.
pub fn lookup<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(doc, |value, part| value.as_object()?.get(part))
}

fn rank(value: &Value) -> u8 {
    match value {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

/// A total order over JSON values: null < booleans < numbers < strings < lists < objects;
/// numbers numerically, strings by code point, lists and objects element by element.
pub fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            x.total_cmp(&y)
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => x
            .iter()
            .zip(y)
            .map(|(x, y)| compare(x, y))
            .find(|o| o.is_ne())
            .unwrap_or(x.len().cmp(&y.len())),
        (Value::Object(x), Value::Object(y)) => {
            let pairs = x.iter().zip(y.iter());
            pairs
                .map(|((kx, vx), (ky, vy))| kx.cmp(ky).then_with(|| compare(vx, vy)))
                .find(|o| o.is_ne())
                .unwrap_or(x.len().cmp(&y.len()))
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

/// Equality as the query language sees it: numbers by value (`1` equals `1.0`).
pub fn equal(a: &Value, b: &Value) -> bool {
    compare(a, b).is_eq()
}

/// Sets `path` (dotted) in `out`, creating objects along the way.
pub(crate) fn insert_path(out: &mut Value, path: &str, value: Value) {
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

/// A string that is equal for values the query language calls equal (numbers by value), used
/// to find a row's group and to de-duplicate add_to_set without comparing against every member.
pub(crate) fn identity(value: &Value, out: &mut String) {
    if let Value::String(s) = value {
        return text_identity(s, out);
    }
    use std::fmt::Write;
    let _ = match value {
        Value::Null => write!(out, "z"),
        Value::Bool(b) => write!(out, "b{b}"),
        Value::Number(n) => write!(out, "n{}", n.as_f64().unwrap_or(0.0)),
        other => write!(out, "j{other}"),
    };
    out.push('\u{0}');
}

/// [`identity`] of a text: its length, so that no text's identity is a prefix of another's,
/// then the text. Written without the formatting machinery: it runs once per row and key.
pub(crate) fn text_identity(text: &str, out: &mut String) {
    out.push('s');
    push_decimal(text.len(), out);
    out.push(':');
    out.push_str(text);
    out.push('\u{0}');
}

fn push_decimal(n: usize, out: &mut String) {
    if n >= 10 {
        push_decimal(n / 10, out);
    }
    out.push(char::from(b'0' + (n % 10) as u8));
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn text_identities_carry_the_length_so_keys_cannot_run_together() {
        let of = |texts: &[&str]| {
            let mut out = String::new();
            texts.iter().for_each(|t| text_identity(t, &mut out));
            out
        };
        assert_eq!(of(&[""]), "s0:\u{0}");
        assert_eq!(of(&[&"x".repeat(1203)]), format!("s1203:{}\u{0}", "x".repeat(1203)));
        assert_ne!(of(&["a", "b"]), of(&["ab", ""]));
        assert_ne!(of(&["a\u{0}s1:b"]), of(&["a", "b"]));
        let mut as_value = String::new();
        identity(&json!("café"), &mut as_value);
        assert_eq!(as_value, of(&["café"]));
    }

    #[test]
    fn lookup_follows_objects_only() {
        let doc = json!({"tags": {"team": "core"}, "list": [{"a": 1}], "mfa": {"options": {"email": "e"}}});
        assert_eq!(lookup(&doc, "tags.team"), Some(&json!("core")));
        assert_eq!(lookup(&doc, "mfa.options.email"), Some(&json!("e")));
        assert_eq!(lookup(&doc, "tags.none"), None);
        assert_eq!(lookup(&doc, "list.a"), None);
    }

    #[test]
    fn order_is_total_and_typed() {
        let ordered = [
            json!(null),
            json!(false),
            json!(true),
            json!(-1),
            json!(2.5),
            json!(10),
            json!("B"),
            json!("a"),
            json!("é"),
            json!([1]),
            json!({}),
        ];
        for pair in ordered.windows(2) {
            assert_eq!(compare(&pair[0], &pair[1]), Ordering::Less, "{} < {}", pair[0], pair[1]);
        }
        assert!(equal(&json!(1), &json!(1.0)));
    }
}
