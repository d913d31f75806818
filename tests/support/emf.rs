//! CloudWatch Embedded Metric Format documents in a function's logs, checked against the
//! specification ("Specification: Embedded metric format", Amazon CloudWatch User Guide, and
//! its JSON schema) and summed, so that a test can say what a scripted sequence counted.

use serde_json::{Map, Value};

/// The units a MetricDefinition may name (the specification's `Unit` enum).
const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// Every log line that is an EMF document (a JSON object with an `_aws` member), each checked
/// against the specification: a line that claims to be one and is not fails the test.
pub fn documents(logs: &str) -> Vec<Map<String, Value>> {
    logs.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|value| match value {
            Value::Object(root) if root.contains_key("_aws") => Some(root),
            _ => None,
        })
        .inspect(|root| {
            if let Err(problem) = check(root) {
                panic!("not an EMF document ({problem}): {}", Value::Object(root.clone()));
            }
        })
        .collect()
}

/// The specification's rules for one document.
pub fn check(root: &Map<String, Value>) -> Result<(), String> {
    let aws = root["_aws"].as_object().ok_or("_aws is not an object")?;
    let timestamp = aws.get("Timestamp").and_then(Value::as_u64).ok_or("no Timestamp")?;
    // Milliseconds since the epoch (after September 2001, before 2100), not seconds.
    if !(1_000_000_000_000..4_102_444_800_000).contains(&timestamp) {
        return Err(format!("Timestamp {timestamp} is not in milliseconds"));
    }
    let directives = aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .ok_or("no CloudWatchMetrics array")?;
    for directive in directives {
        let namespace = directive["Namespace"].as_str().ok_or("no Namespace")?;
        if namespace.is_empty() || namespace.len() > 1024 || namespace.starts_with(':') {
            return Err(format!("Namespace {namespace:?}"));
        }
        let sets = directive["Dimensions"].as_array().ok_or("no Dimensions array")?;
        for set in sets {
            let keys = set.as_array().ok_or("a DimensionSet is not an array")?;
            if keys.len() > 30 {
                return Err("a DimensionSet of more than 30 keys".into());
            }
            for key in keys {
                let key = key.as_str().filter(|k| !k.is_empty() && k.len() <= 250);
                let key = key.ok_or("a dimension key is not a string of 1 to 250 characters")?;
                match root.get(key) {
                    Some(Value::String(value)) if !value.is_empty() && value.len() <= 1024 => {}
                    _ => return Err(format!("dimension {key} has no string value at the root")),
                }
            }
        }
        let metrics = directive["Metrics"].as_array().ok_or("no Metrics array")?;
        if metrics.len() > 100 {
            return Err("more than 100 MetricDefinitions".into());
        }
        for metric in metrics {
            let name = metric["Name"].as_str().filter(|n| !n.is_empty() && n.len() <= 1024);
            let name = name.ok_or("a MetricDefinition without a Name")?;
            if let Some(unit) = metric.get("Unit") {
                let unit = unit.as_str().unwrap_or_default();
                if !UNITS.contains(&unit) {
                    return Err(format!("{name}: unit {unit:?}"));
                }
            }
            if let Some(resolution) = metric.get("StorageResolution")
                && resolution != 1
                && resolution != 60
            {
                return Err(format!("{name}: StorageResolution {resolution}"));
            }
            match root.get(name) {
                Some(Value::Number(_)) => {}
                Some(Value::Array(values)) if values.len() <= 100 && values.iter().all(Value::is_number) => {}
                _ => return Err(format!("metric {name} has no numeric value at the root")),
            }
        }
    }
    Ok(())
}

/// The sum of metric `name` over `documents`, in those whose dimensions are exactly
/// `dimensions` (keys and values), in namespace `namespace`.
pub fn total(documents: &[Map<String, Value>], namespace: &str, name: &str, dimensions: &[(&str, &str)]) -> f64 {
    let mut sum = 0.0;
    for root in documents {
        for directive in root["_aws"]["CloudWatchMetrics"].as_array().into_iter().flatten() {
            if directive["Namespace"] != namespace {
                continue;
            }
            let defines = directive["Metrics"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|m| m["Name"] == name);
            let exact = |set: &Value| {
                let keys: Vec<&str> = set.as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                keys.len() == dimensions.len()
                    && dimensions.iter().all(|(key, value)| {
                        keys.contains(key) && root.get(*key).and_then(Value::as_str) == Some(*value)
                    })
            };
            let sets = directive["Dimensions"].as_array().into_iter().flatten();
            if defines && sets.clone().any(exact) {
                sum += match &root[name] {
                    Value::Array(values) => values.iter().filter_map(Value::as_f64).sum(),
                    value => value.as_f64().unwrap_or_default(),
                };
            }
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Map<String, Value> {
        serde_json::from_str(text).expect("JSON")
    }

    #[test]
    fn the_specification_example_passes_and_broken_documents_fail() {
        let good = doc(
            r#"{"_aws":{"Timestamp":1574109732004,"CloudWatchMetrics":[{"Namespace":"lambda-function-metrics",
            "Dimensions":[["functionVersion"]],"Metrics":[{"Name":"time","Unit":"Milliseconds"}]}]},
            "functionVersion":"$LATEST","time":100,"requestId":"989ffbf8"}"#,
        );
        assert_eq!(check(&good), Ok(()));
        assert_eq!(
            total(
                std::slice::from_ref(&good),
                "lambda-function-metrics",
                "time",
                &[("functionVersion", "$LATEST")]
            ),
            100.0
        );
        assert_eq!(
            total(std::slice::from_ref(&good), "lambda-function-metrics", "time", &[]),
            0.0
        );
        for broken in [
            r#"{"_aws":{"Timestamp":1574109732,"CloudWatchMetrics":[]}}"#,
            r#"{"_aws":{"Timestamp":1574109732004,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[["d"]],"Metrics":[]}]}}"#,
            r#"{"_aws":{"Timestamp":1574109732004,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"m"}]}]}}"#,
            r#"{"_aws":{"Timestamp":1574109732004,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"m","Unit":"Things"}]}]},"m":1}"#,
        ] {
            assert!(check(&doc(broken)).is_err(), "{broken}");
        }
    }
}
