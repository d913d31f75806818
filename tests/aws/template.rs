//! template.yaml against the code: the table it declares is the one the setup command creates,
//! every method is routed to its own binary, and the functions run on provided.al2023/arm64
//! built by cargo-lambda. Also read by `requests.rs` for the per-function IAM policies.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_norway::Value;
use users::Operation;
use users::store::dynamo::schema;
use users_tests::moto::{self, RequestCounter};

pub fn template() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    serde_norway::from_str(&std::fs::read_to_string(path).expect("template.yaml")).expect("template YAML")
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}

/// The template's functions: binary name → resource.
pub fn functions(template: &Value) -> BTreeMap<String, Value> {
    template["Resources"]
        .as_mapping()
        .expect("Resources")
        .values()
        .filter(|r| r["Type"] == "AWS::Serverless::Function")
        .map(|r| (text(&r["Metadata"]["BuildProperties"]["Binary"]), r.clone()))
        .collect()
}

/// What a function's policy allows: its DynamoDB actions, and whether it may send mail.
pub fn policy(function: &Value) -> (BTreeSet<String>, bool) {
    let mut dynamodb = BTreeSet::new();
    let mut ses = false;
    for policy in function["Properties"]["Policies"].as_sequence().expect("Policies") {
        for statement in policy["Statement"].as_sequence().expect("Statement") {
            let actions: Vec<String> = match &statement["Action"] {
                Value::Sequence(list) => list.iter().map(text).collect(),
                single => vec![text(single)],
            };
            for action in actions {
                if action == "ses:SendEmail" {
                    ses = true;
                } else {
                    assert!(action.starts_with("dynamodb:"), "unexpected action {action}");
                    let resource = format!("{:?}", statement["Resource"]);
                    assert!(
                        resource.contains("UsersTable.Arn"),
                        "{action} must be on the users table only"
                    );
                    dynamodb.insert(action);
                }
            }
        }
    }
    (dynamodb, ses)
}

/// `(a, b)` of each entry of a list, e.g. `(AttributeName, KeyType)` of a KeySchema.
fn pairs(list: &Value, a: &str, b: &str) -> Vec<(String, String)> {
    list.as_sequence()
        .expect("a list")
        .iter()
        .map(|entry| (text(&entry[a]), text(&entry[b])))
        .collect()
}

/// The binary that serves an operation.
pub fn binary_of(op: Operation) -> String {
    format!("user-{}", op.name().replace('_', "-"))
}

#[test]
fn the_table_is_the_one_the_code_expects() {
    let template = template();
    let table = &template["Resources"]["UsersTable"]["Properties"];
    assert_eq!(template["Resources"]["UsersTable"]["Type"], "AWS::DynamoDB::Table");
    assert_eq!(table["BillingMode"], schema::BILLING_MODE);
    let keys = pairs(&table["KeySchema"], "AttributeName", "KeyType");
    assert_eq!(
        keys,
        [
            (schema::PARTITION_KEY.into(), "HASH".into()),
            (schema::SORT_KEY.into(), "RANGE".into())
        ]
    );
    let attributes = pairs(&table["AttributeDefinitions"], "AttributeName", "AttributeType");
    assert_eq!(
        attributes,
        [
            (schema::PARTITION_KEY.into(), "S".into()),
            (schema::SORT_KEY.into(), "S".into())
        ]
    );
    assert_eq!(table["TimeToLiveSpecification"]["AttributeName"], schema::TTL_ATTRIBUTE);
    assert_eq!(table["TimeToLiveSpecification"]["Enabled"], true);
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    let indexes = table["GlobalSecondaryIndexes"].as_sequence().map_or(0, Vec::len);
    assert_eq!(indexes, schema::GLOBAL_SECONDARY_INDEXES.len());
    assert!(
        matches!(table["DeletionProtectionEnabled"], Value::Tagged(_)),
        "deletion protection follows its parameter"
    );
}

#[tokio::test]
async fn the_setup_command_creates_the_table_the_template_declares() {
    let client = moto::dynamodb(&RequestCounter::default());
    let table = moto::fresh_table(&client).await;
    let described = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .expect("describe");
    let described = described.table.expect("table");
    let keys: Vec<(String, String)> = described
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name().to_string(), k.key_type().as_str().to_string()))
        .collect();
    let template = template();
    let declared = &template["Resources"]["UsersTable"]["Properties"];
    let declared_keys = pairs(&declared["KeySchema"], "AttributeName", "KeyType");
    assert_eq!(keys, declared_keys);
    let billing = described
        .billing_mode_summary()
        .and_then(|b| b.billing_mode())
        .map(|m| m.as_str().to_string());
    assert_eq!(billing.as_deref(), Some(text(&declared["BillingMode"]).as_str()));
    assert!(described.global_secondary_indexes().is_empty());
    let ttl = client
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .expect("describe TTL");
    let ttl = ttl.time_to_live_description().expect("TTL");
    assert_eq!(
        ttl.attribute_name(),
        Some(text(&declared["TimeToLiveSpecification"]["AttributeName"]).as_str())
    );
    assert_eq!(ttl.time_to_live_status().map(|s| s.as_str()), Some("ENABLED"));
}

#[test]
fn every_method_has_its_own_function_on_its_paths() {
    let template = template();
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"][0], "arm64");
    assert_eq!(globals["Handler"], "bootstrap");
    assert_eq!(globals["Environment"]["Variables"]["MAIL_TRANSPORT"], "ses");
    let functions = functions(&template);
    assert_eq!(functions.len(), Operation::ALL.len(), "one function per method");
    for op in Operation::ALL {
        let binary = binary_of(op);
        let function = functions
            .get(&binary)
            .unwrap_or_else(|| panic!("no function for {binary}"));
        assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda");
        assert_eq!(policy(function).1, op.sends_mail(), "SES permission of {binary}");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../functions/src/bin/{binary}.rs"));
        assert!(source.exists(), "{binary} has no source at {}", source.display());
        let mut paths: Vec<String> = function["Properties"]["Events"]
            .as_mapping()
            .expect("Events")
            .values()
            .map(|e| {
                assert_eq!(e["Type"], "HttpApi");
                assert_eq!(e["Properties"]["Method"], "POST");
                text(&e["Properties"]["Path"])
            })
            .collect();
        paths.sort();
        let mut expected = vec![op.path().to_string()];
        if op == Operation::Stat {
            expected.push("/identity/v2/user/stat".into());
        }
        expected.sort();
        assert_eq!(paths, expected, "routes of {binary}");
    }
}
