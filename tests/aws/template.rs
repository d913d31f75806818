//! template.yaml against the code: the table it declares is the one the setup command creates,
//! every method is routed to its own binary, and the functions run on provided.al2023/arm64
//! built by cargo-lambda. Also read by `requests.rs` for the per-function IAM policies.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_norway::Value;
use shared::Operation;
use shared::ops::description::OtpSecrets;
use shared::store::dynamo::schema;
use tests::moto::{self, RequestCounter};

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

/// What a function's policy allows: its DynamoDB actions on the users table, whether it may
/// send mail, its KMS actions on the token signing key, and any other (action, resource) pair.
pub struct Policy {
    pub table: BTreeSet<String>,
    pub ses: bool,
    pub kms: BTreeSet<String>,
    /// KMS actions on MfaSecretKey, the key of the OTP secrets.
    pub otp: BTreeSet<String>,
    pub other: BTreeSet<(String, String)>,
}

pub fn policy(function: &Value) -> Policy {
    let mut policy = Policy {
        table: BTreeSet::new(),
        ses: false,
        kms: BTreeSet::new(),
        otp: BTreeSet::new(),
        other: BTreeSet::new(),
    };
    // A function with no Policies (users-console) gets only its logs.
    let documents = function["Properties"]["Policies"]
        .as_sequence()
        .cloned()
        .unwrap_or_default();
    for document in &documents {
        for statement in document["Statement"].as_sequence().expect("Statement") {
            assert_eq!(statement["Effect"], "Allow");
            let actions: Vec<String> = match &statement["Action"] {
                Value::Sequence(list) => list.iter().map(text).collect(),
                single => vec![text(single)],
            };
            let resource = format!("{:?}", statement["Resource"]);
            for action in actions {
                if action == "ses:SendEmail" {
                    policy.ses = true;
                } else if action.starts_with("dynamodb:") && resource.contains("\"UsersTable.Arn\"") {
                    policy.table.insert(action);
                } else if action.starts_with("kms:") && resource.contains("MfaSecretKey.Arn") {
                    policy.otp.insert(action);
                } else if action.starts_with("kms:") && resource.contains("TokenSigningKey.Arn") {
                    // Sign only ever on the current key; reading public keys also on the
                    // previous keys of a rotation.
                    assert!(
                        action == "kms:GetPublicKey" || !resource.contains("TokenPreviousKeys"),
                        "{action} on {resource}"
                    );
                    // A rotation (TokenSigningKeyArn) moves signing and reading to the new key.
                    assert!(
                        resource.contains("TokenSigningKeyArn") && resource.contains("OwnSigningKey"),
                        "{action} on {resource} ignores a rotation"
                    );
                    policy.kms.insert(action);
                } else {
                    assert!(
                        !resource.contains('*') || action == "dynamodb:ListStreams",
                        "{action} on {resource}"
                    );
                    policy.other.insert((action, resource.clone()));
                }
            }
        }
    }
    policy
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
    match op {
        Operation::TokenIssue => "token-issue".into(),
        Operation::TokenGrant => "token-grant".into(),
        Operation::PublicKey | Operation::Jwks => "token-keys".into(),
        _ => format!("user-{}", op.name().replace('_', "-")),
    }
}

fn kms_actions(actions: &[&str]) -> BTreeSet<String> {
    actions.iter().map(|a| format!("kms:{a}")).collect()
}

/// The KMS actions on MfaSecretKey an operation's function needs: what it does with OTP secrets.
fn otp_actions(op: Operation) -> BTreeSet<String> {
    match op.otp_secrets() {
        OtpSecrets::None => BTreeSet::new(),
        OtpSecrets::Seals => kms_actions(&["Encrypt"]),
        OtpSecrets::Opens => kms_actions(&["Decrypt"]),
    }
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
            (schema::SORT_KEY.into(), "S".into()),
            (schema::CHANGE_ATTRIBUTE.into(), "N".into())
        ]
    );
    let local = table["LocalSecondaryIndexes"].as_sequence().expect("the change index");
    assert_eq!(local.len(), 1);
    assert_eq!(local[0]["IndexName"], schema::CHANGE_INDEX);
    assert_eq!(
        pairs(&local[0]["KeySchema"], "AttributeName", "KeyType"),
        [
            (schema::PARTITION_KEY.into(), "HASH".into()),
            (schema::CHANGE_ATTRIBUTE.into(), "RANGE".into())
        ]
    );
    assert_eq!(local[0]["Projection"]["ProjectionType"], "ALL");
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
    type Index = (String, Vec<(String, String)>, Option<String>);
    let local: Vec<Index> = described
        .local_secondary_indexes()
        .iter()
        .map(|index| {
            let keys = index
                .key_schema()
                .iter()
                .map(|k| (k.attribute_name().to_string(), k.key_type().as_str().to_string()))
                .collect();
            let projection = index
                .projection()
                .and_then(|p| p.projection_type())
                .map(|p| p.as_str().to_string());
            (index.index_name().unwrap_or_default().to_string(), keys, projection)
        })
        .collect();
    let declared_local = &declared["LocalSecondaryIndexes"][0];
    assert_eq!(
        local,
        [(
            text(&declared_local["IndexName"]),
            pairs(&declared_local["KeySchema"], "AttributeName", "KeyType"),
            Some(text(&declared_local["Projection"]["ProjectionType"]))
        )]
    );
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
    let stream = described.stream_specification().expect("a stream");
    assert!(stream.stream_enabled());
    assert_eq!(
        stream.stream_view_type().map(|v| v.as_str()),
        Some(text(&declared["StreamSpecification"]["StreamViewType"]).as_str())
    );
}

#[test]
fn every_method_has_its_own_function_on_its_paths() {
    let template = template();
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    // arm64 as deployed: the Architecture parameter, which only `sam local` overrides.
    assert_eq!(template["Parameters"]["Architecture"]["Default"], "arm64");
    assert_eq!(
        serde_norway::to_string(&globals["Architectures"][0])
            .expect("YAML")
            .trim(),
        "!Ref Architecture"
    );
    assert_eq!(globals["Handler"], "bootstrap");
    assert_eq!(globals["Environment"]["Variables"]["MAIL_TRANSPORT"], "ses");
    let functions = functions(&template);
    let methods = functions.keys().filter(|b| b.starts_with("user-")).count();
    assert_eq!(methods, Operation::user_api().count(), "one function per method");
    for op in Operation::user_api() {
        let binary = binary_of(op);
        let function = functions
            .get(&binary)
            .unwrap_or_else(|| panic!("no function for {binary}"));
        assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda");
        let allowed = policy(function);
        assert_eq!(allowed.ses, op.sends_mail(), "SES permission of {binary}");
        // Every function that verifies tokens may read the signing key's public half.
        let kms = if op.needs_token() {
            kms_actions(&["GetPublicKey"])
        } else {
            BTreeSet::new()
        };
        assert_eq!(allowed.kms, kms, "KMS actions of {binary}");
        assert_eq!(
            allowed.otp,
            otp_actions(op),
            "KMS actions on the OTP secrets' key of {binary}"
        );
        // Only the function that hands work over may reach anything beyond the table and SES:
        // the provisioning queue, to send to it.
        let beyond: Vec<(&str, &str)> = allowed.other.iter().map(|(a, r)| (a.as_str(), r.as_str())).collect();
        if op.hands_over_work() {
            assert_eq!(beyond.len(), 1, "{binary}: {beyond:?}");
            assert_eq!(beyond[0].0, "sqs:SendMessage", "{binary}");
            assert!(beyond[0].1.contains("ProvisionQueue.Arn"), "{binary}: {beyond:?}");
            let env = &function["Properties"]["Environment"]["Variables"];
            assert!(
                format!("{:?}", env["PROVISION_QUEUE_URL"]).contains("ProvisionQueue"),
                "{binary}"
            );
        } else {
            assert!(beyond.is_empty(), "{binary}: {beyond:?}");
        }
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
        let described = op.describe();
        let mut expected: Vec<String> = std::iter::once(described.path)
            .chain(described.aliases.iter().map(|alias| alias.path))
            .map(str::to_string)
            .collect();
        expected.sort();
        assert_eq!(paths, expected, "routes of {binary}");
    }
}

/// The Token API's functions: their routes, and the KMS key only the issuing ones may sign with.
#[test]
fn the_token_api_has_its_functions_and_only_they_sign() {
    let template = template();
    let functions = functions(&template);
    for (binary, ops, kms, ses) in [
        (
            "token-issue",
            vec![Operation::TokenIssue],
            kms_actions(&["GetPublicKey", "Sign"]),
            true,
        ),
        (
            "token-grant",
            vec![Operation::TokenGrant],
            kms_actions(&["GetPublicKey", "Sign"]),
            false,
        ),
        (
            "token-keys",
            vec![Operation::Jwks, Operation::PublicKey],
            kms_actions(&["GetPublicKey"]),
            false,
        ),
    ] {
        let function = functions.get(binary).unwrap_or_else(|| panic!("no function {binary}"));
        let allowed = policy(function);
        assert_eq!(allowed.kms, kms, "{binary}");
        let otp: BTreeSet<String> = ops.iter().flat_map(|op| otp_actions(*op)).collect();
        assert_eq!(allowed.otp, otp, "{binary}");
        assert_eq!(allowed.ses, ses, "{binary}");
        assert!(allowed.other.is_empty(), "{binary}: {:?}", allowed.other);
        let mut routes: Vec<(String, String)> = function["Properties"]["Events"]
            .as_mapping()
            .expect("Events")
            .values()
            .map(|e| (text(&e["Properties"]["Method"]), text(&e["Properties"]["Path"])))
            .collect();
        routes.sort();
        let mut expected: Vec<(String, String)> = ops
            .iter()
            .map(|op| (op.http_method().to_string(), op.path().to_string()))
            .collect();
        expected.sort();
        assert_eq!(routes, expected, "{binary}");
        for op in ops {
            assert_eq!(binary_of(op), binary);
        }
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../functions/src/bin/{binary}.rs"));
        assert!(source.exists(), "{binary} has no source");
    }
    // Nothing else may sign; the key is ECC_NIST_P256 for signing, and its policy lets only
    // the two issuing functions' roles sign.
    for (binary, function) in &functions {
        if !binary.starts_with("token-issue") && !binary.starts_with("token-grant") {
            assert!(!policy(function).kms.contains("kms:Sign"), "{binary} may sign");
        }
    }
    let key = &template["Resources"]["TokenSigningKey"];
    assert_eq!(key["Type"], "AWS::KMS::Key");
    assert_eq!(key["Properties"]["KeySpec"], "ECC_NIST_P256");
    assert_eq!(key["Properties"]["KeyUsage"], "SIGN_VERIFY");
    let statements = key["Properties"]["KeyPolicy"]["Statement"]
        .as_sequence()
        .expect("key policy");
    for statement in statements {
        let actions: Vec<String> = match &statement["Action"] {
            Value::Sequence(list) => list.iter().map(text).collect(),
            single => vec![text(single)],
        };
        let signs = actions.iter().any(|a| a == "kms:Sign" || a == "kms:*" || a == "kms:S*");
        if signs {
            let principals = format!("{:?}", statement["Condition"]["ArnLike"]["aws:PrincipalArn"]);
            assert!(
                principals.contains("TokenIssueFunctionRole") && principals.contains("TokenGrantFunctionRole"),
                "{principals}"
            );
            assert_eq!(
                statement["Condition"]["ArnLike"]["aws:PrincipalArn"]
                    .as_sequence()
                    .map(Vec::len),
                Some(2)
            );
        }
    }
    let env = &template["Globals"]["Function"]["Environment"]["Variables"];
    let signing = format!("{:?}", env["TOKEN_SIGNING_KEY"]);
    assert!(
        signing.contains("\"TokenSigningKey\"") && signing.contains("TokenSigningKeyArn"),
        "{signing}"
    );
    // A rotation must keep the replaced key's tokens valid: the template refuses one without
    // previous keys.
    let rule = format!("{:?}", template["Rules"]["RotationListsThePreviousKey"]);
    assert!(
        rule.contains("TokenSigningKeyArn") && rule.contains("TokenPreviousKeys"),
        "{rule}"
    );
}

/// The OTP secrets' key (SPEC section 10): symmetric; its key policy lets only the function
/// that makes secrets encrypt and only the functions that check codes decrypt, as their IAM
/// policies (checked per function above) say.
#[test]
fn only_enable_mfa_seals_and_only_the_code_checkers_open_otp_secrets() {
    let template = template();
    let key = &template["Resources"]["MfaSecretKey"];
    assert_eq!(key["Type"], "AWS::KMS::Key");
    assert_eq!(key["Properties"]["KeySpec"], "SYMMETRIC_DEFAULT");
    assert_eq!(key["Properties"]["KeyUsage"], "ENCRYPT_DECRYPT");
    let role = |op: Operation| {
        let binary = binary_of(op);
        let (logical, _) = template["Resources"]
            .as_mapping()
            .expect("Resources")
            .iter()
            .find(|(_, r)| r["Metadata"]["BuildProperties"]["Binary"] == binary.as_str())
            .unwrap_or_else(|| panic!("no function for {binary}"));
        format!("{}Role", text(logical))
    };
    let mut allowed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for statement in key["Properties"]["KeyPolicy"]["Statement"]
        .as_sequence()
        .expect("key policy")
    {
        let actions: Vec<String> = match &statement["Action"] {
            Value::Sequence(list) => list.iter().map(text).collect(),
            single => vec![text(single)],
        };
        for action in actions {
            let uses = ["kms:Encrypt", "kms:Decrypt", "kms:*", "kms:E*", "kms:D*", "kms:Re*"];
            assert!(
                !uses.contains(&action.as_str()) || action == "kms:Encrypt" || action == "kms:Decrypt",
                "{action} in the OTP key's policy"
            );
            if action == "kms:Encrypt" || action == "kms:Decrypt" {
                let principals = format!("{:?}", statement["Condition"]["ArnLike"]["aws:PrincipalArn"]);
                allowed.entry(action).or_default().insert(principals);
            }
        }
    }
    let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for op in Operation::ALL {
        for action in otp_actions(op) {
            expected.entry(action).or_default().push(role(op));
        }
    }
    assert_eq!(allowed.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>());
    for (action, roles) in &expected {
        let principals: String = allowed[action].iter().cloned().collect();
        for role in roles {
            assert!(principals.contains(role.as_str()), "{action}: {role} in {principals}");
        }
        assert_eq!(
            principals.matches("Role-*").count(),
            roles.len(),
            "{action}: only {roles:?} in {principals}"
        );
    }
    let env = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert!(format!("{:?}", env["MFA_SECRET_KEY"]).contains("MfaSecretKey"));
}

fn number(value: &Value) -> i64 {
    value.as_i64().unwrap_or_else(|| panic!("not a number: {value:?}"))
}

/// The provisioning queue and the event publisher, wired as `functions::queue`,
/// `functions::stream` and docs/events.md expect.
#[test]
fn the_event_plumbing_is_declared_as_the_code_expects() {
    let template = template();
    let resources = &template["Resources"];
    let reference = |value: &Value| format!("{value:?}");
    assert_eq!(
        resources["UsersTable"]["Properties"]["StreamSpecification"]["StreamViewType"],
        schema::STREAM_VIEW_TYPE
    );

    // In: a FIFO queue whose messages go to a FIFO dead-letter queue after 3 receives.
    let queue = &resources["ProvisionQueue"]["Properties"];
    assert_eq!(queue["FifoQueue"], true);
    assert_eq!(queue["ContentBasedDeduplication"], true);
    assert_eq!(number(&queue["RedrivePolicy"]["maxReceiveCount"]), 3);
    assert!(reference(&queue["RedrivePolicy"]["deadLetterTargetArn"]).contains("ProvisionDeadLetterQueue.Arn"));
    assert_eq!(resources["ProvisionDeadLetterQueue"]["Properties"]["FifoQueue"], true);
    let functions = functions(&template);
    let provision = &functions["users-provision"];
    let timeout = number(&provision["Properties"]["Timeout"]);
    assert!(
        number(&queue["VisibilityTimeout"]) >= 6 * timeout,
        "visibility ≥ 6 × timeout"
    );
    let mapping = &resources["ProvisionQueueMapping"]["Properties"];
    assert_eq!(mapping["FunctionResponseTypes"][0], "ReportBatchItemFailures");
    assert!(reference(&mapping["EventSourceArn"]).contains("ProvisionQueue.Arn"));
    assert!(reference(&mapping["FunctionName"]).contains("ProvisionFunction"));
    assert!(number(&mapping["BatchSize"]) <= 10, "FIFO batches hold at most 10");
    assert!(
        provision["Properties"]["Events"].is_null(),
        "no SAM event: it would attach a broad policy"
    );
    let allowed = policy(provision);
    assert!(allowed.ses, "commands mail as the API does");
    let queue_actions: Vec<&str> = allowed.other.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        queue_actions,
        [
            "sqs:ChangeMessageVisibility",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:ReceiveMessage"
        ]
    );
    assert!(allowed.other.iter().all(|(_, r)| r.contains("ProvisionQueue.Arn")));

    // Out: the stream, read one batch per shard at a time, retried from the failed record.
    let publisher = &functions["users-publish-events"];
    assert!(!publisher["Properties"]["Environment"]["Variables"]["EVENT_BUS_NAME"].is_null());
    let stream = &resources["PublishEventsStreamMapping"]["Properties"];
    assert!(reference(&stream["EventSourceArn"]).contains("UsersTable.StreamArn"));
    assert_eq!(stream["FunctionResponseTypes"][0], "ReportBatchItemFailures");
    assert_eq!(stream["BisectBatchOnFunctionError"], true);
    assert_eq!(number(&stream["ParallelizationFactor"]), 1, "a user's events in order");
    assert_eq!(
        stream["StartingPosition"], "TRIM_HORIZON",
        "no change before the mapping is lost"
    );
    assert!(
        (0..=10_000).contains(&number(&stream["MaximumRetryAttempts"])),
        "retries end"
    );
    assert!(reference(&stream["DestinationConfig"]["OnFailure"]["Destination"]).contains("PublishFailuresQueue.Arn"));
    let allowed = policy(publisher);
    assert!(allowed.table.is_empty() && !allowed.ses);
    let actions: Vec<&str> = allowed.other.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "dynamodb:DescribeStream",
            "dynamodb:GetRecords",
            "dynamodb:GetShardIterator",
            "dynamodb:ListStreams",
            "events:PutEvents",
            "sqs:SendMessage"
        ]
    );
    for (action, resource) in &allowed.other {
        let expected = match action.as_str() {
            "events:PutEvents" => "UserEventBus.Arn",
            "sqs:SendMessage" => "PublishFailuresQueue.Arn",
            "dynamodb:ListStreams" => "${UsersTable.Arn}/stream/*",
            _ => "UsersTable.StreamArn",
        };
        assert!(resource.contains(expected), "{action} on {resource}");
    }
    for binary in ["users-provision", "users-publish-events"] {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../functions/src/bin/{binary}.rs"));
        assert!(source.exists(), "{binary} has no source");
    }
}

/// list and stat keep copies of domains: their functions have the memory docs/dynamodb.md
/// states, and that memory gives a copy budget of a 570,000-user domain of the bench's shape
/// (about 840 bytes per user by the store's estimate).
#[test]
fn list_and_stat_have_the_memory_their_domain_copies_need() {
    let template = template();
    for name in ["ListFunction", "StatFunction"] {
        let memory = number(&template["Resources"][name]["Properties"]["MemorySize"]);
        assert_eq!(memory, 1024, "{name}");
        let budget = shared::app::domain_copy_budget(None, Some(&memory.to_string())).expect("budget");
        assert!(budget / 840 >= 570_000, "{name}: {budget} bytes");
    }
}

/// The routes the template deploys are the paths the API document describes, each with its
/// method, and nothing else: a route without a description, or a description without a
/// route, fails here by name. The console's files and the documentation page's script are
/// files, not operations: only users-console serves them, at exactly these routes.
#[test]
fn the_deployed_routes_are_the_documented_paths() {
    let template = template();
    let routed: BTreeSet<(String, String)> = functions(&template)
        .values()
        .flat_map(|function| {
            function["Properties"]["Events"]
                .as_mapping()
                .map(|events| events.values().cloned().collect::<Vec<_>>())
                .unwrap_or_default()
        })
        .filter(|event| event["Type"] == "HttpApi")
        .map(|event| (text(&event["Properties"]["Method"]), text(&event["Properties"]["Path"])))
        .collect();
    let (files, routed): (BTreeSet<_>, BTreeSet<_>) = routed
        .into_iter()
        .partition(|(_, path)| path.starts_with("/console") || path.starts_with("/docs/"));
    let console = &functions(&template)["users-console"];
    // It serves files: no table, mail, key or queue.
    let allowed = policy(console);
    assert!(
        allowed.table.is_empty()
            && !allowed.ses
            && allowed.kms.is_empty()
            && allowed.otp.is_empty()
            && allowed.other.is_empty(),
        "users-console is allowed more than its logs"
    );
    let served: BTreeSet<(String, String)> = console["Properties"]["Events"]
        .as_mapping()
        .expect("Events")
        .values()
        .map(|event| (text(&event["Properties"]["Method"]), text(&event["Properties"]["Path"])))
        .collect();
    let get = |path: &str| ("GET".to_string(), path.to_string());
    assert_eq!(
        files,
        BTreeSet::from([get("/console"), get("/console/{proxy+}"), get("/docs/{proxy+}")])
    );
    assert_eq!(
        served,
        files
            .iter()
            .cloned()
            .chain([get("/openapi.json"), get("/docs")])
            .collect()
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
    let document: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("docs/openapi.json")).expect("JSON");
    let mut documented = BTreeSet::new();
    for (path, methods) in document["paths"].as_object().expect("paths") {
        for method in methods.as_object().expect("methods").keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(undocumented.is_empty(), "routed but not documented: {undocumented:?}");
    assert!(unrouted.is_empty(), "documented but not routed: {unrouted:?}");
    assert_eq!(routed.len(), 22, "{routed:?}");
}

/// Every alarm notifies the alarm topic when it fires and when it clears, and names its entry
/// in docs/operations.md, which exists with what it means, how to look and what to do.
#[test]
fn every_alarm_notifies_the_topic_and_has_its_runbook_entry() {
    let template = template();
    let runbook = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/operations.md"))
        .expect("docs/operations.md");
    let entries: BTreeMap<String, String> = runbook
        .split("\n### ")
        .skip(1)
        .map(|section| {
            let (title, text) = section.split_once('\n').unwrap_or((section, ""));
            (title.trim().to_string(), text.to_string())
        })
        .collect();
    let alarms: Vec<(&Value, &Value)> = template["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm")
        .collect();
    assert!(alarms.len() >= 7, "{} alarms", alarms.len());
    assert_eq!(template["Resources"]["AlarmTopic"]["Type"], "AWS::SNS::Topic");
    for (name, alarm) in alarms {
        let name = text(name);
        let properties = &alarm["Properties"];
        for actions in ["AlarmActions", "OKActions"] {
            assert!(
                format!("{:?}", properties[actions]).contains("AlarmTopic"),
                "{name}: {actions} {:?}",
                properties[actions]
            );
        }
        let description = text(&properties["AlarmDescription"]);
        let anchor = description
            .split("docs/operations.md#")
            .nth(1)
            .unwrap_or_else(|| panic!("{name}: no runbook entry named in {description:?}"));
        let entry = entries
            .get(anchor)
            .unwrap_or_else(|| panic!("{name}: docs/operations.md has no \"### {anchor}\""));
        for part in ["**What it means.**", "**How to look.**", "**What to do.**"] {
            assert!(entry.contains(part), "{name}: its entry lacks {part}");
        }
        assert!(
            format!("{:?}", properties["AlarmName"]).contains(anchor),
            "{name}: AlarmName {:?}",
            properties["AlarmName"]
        );
    }
}

/// The alarms on the functions' own metrics watch what the functions write: a metric of
/// `shared::telemetry::CATALOG`, in the namespace the template gives the functions.
#[test]
fn the_alarms_on_the_code_s_metrics_name_written_metrics_in_the_functions_namespace() {
    let template = template();
    let namespace = format!(
        "{:?}",
        template["Globals"]["Function"]["Environment"]["Variables"]["METRICS_NAMESPACE"]
    );
    assert!(namespace.contains("UserApi/${AWS::StackName}"), "{namespace}");
    let mut watched = Vec::new();
    for (name, resource) in template["Resources"].as_mapping().expect("Resources") {
        let properties = &resource["Properties"];
        if resource["Type"] != "AWS::CloudWatch::Alarm" || !format!("{:?}", properties["Namespace"]).contains("UserApi")
        {
            continue;
        }
        assert_eq!(format!("{:?}", properties["Namespace"]), namespace, "{}", text(name));
        let metric = text(&properties["MetricName"]);
        assert!(
            shared::telemetry::CATALOG.iter().any(|m| m.name == metric),
            "{}: {metric} is not written by the functions",
            text(name)
        );
        watched.push(metric);
    }
    watched.sort();
    assert_eq!(watched, ["Lockouts", "MailsFailed"]);
}

/// `X` of a `!Ref X`.
fn reference(value: &Value) -> Option<String> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => Some(text(&tagged.value)),
        _ => None,
    }
}

/// The template's functions by logical id.
fn function_ids(template: &Value) -> BTreeSet<String> {
    template["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(name, _)| text(name))
        .collect()
}

/// Every function has an alarm on its own `Errors` and one on its own `Throttles` (Lambda's
/// metrics, the function named by `!Ref`), so a notification names the function.
#[test]
fn every_function_has_an_errors_and_a_throttles_alarm() {
    let template = template();
    let functions = function_ids(&template);
    assert_eq!(functions.len(), 21, "{functions:?}");
    let mut watched: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for resource in template["Resources"].as_mapping().expect("Resources").values() {
        let properties = &resource["Properties"];
        if resource["Type"] != "AWS::CloudWatch::Alarm" || properties["Namespace"] != "AWS/Lambda" {
            continue;
        }
        let metric = match text(&properties["MetricName"]).as_str() {
            "Errors" => "Errors",
            "Throttles" => "Throttles",
            _ => continue,
        };
        let dimensions = properties["Dimensions"].as_sequence().expect("Dimensions");
        assert_eq!(dimensions.len(), 1, "{dimensions:?}");
        assert_eq!(dimensions[0]["Name"], "FunctionName");
        let function = reference(&dimensions[0]["Value"]).expect("the function by !Ref");
        assert_eq!(properties["Statistic"], "Sum");
        assert_eq!(number(&properties["Threshold"]), 1);
        assert_eq!(properties["ComparisonOperator"], "GreaterThanOrEqualToThreshold");
        watched.entry(metric).or_default().push(function);
    }
    for metric in ["Errors", "Throttles"] {
        let mut alarmed = watched.remove(metric).unwrap_or_default();
        alarmed.sort();
        assert_eq!(alarmed, functions.iter().cloned().collect::<Vec<_>>(), "{metric}");
    }
}

/// The dashboard's body (a `!Sub` of JSON): it refers only to resources of the template and
/// pseudo parameters; its metrics in the functions' namespace are ones they write, with their
/// dimension's values; every function's duration, errors and throttles are on it; and every
/// alarm that is not a function's own is in its alarm widget.
#[test]
fn the_dashboard_shows_every_function_and_only_metrics_that_are_written() {
    let template = template();
    let resources = template["Resources"].as_mapping().expect("Resources");
    let dashboards: Vec<&Value> = resources
        .values()
        .filter(|r| r["Type"] == "AWS::CloudWatch::Dashboard")
        .collect();
    assert_eq!(dashboards.len(), 1);
    let Value::Tagged(body) = &dashboards[0]["Properties"]["DashboardBody"] else {
        panic!("DashboardBody is not a !Sub");
    };
    assert_eq!(body.tag, "Sub");
    let body = text(&body.value);
    // Each ${…} names a pseudo parameter or a resource (`Name` or `Name.Attribute`).
    let mut names = BTreeSet::new();
    for part in body.split("${").skip(1) {
        let name = part.split_once('}').expect("a closed ${").0;
        let resource = name.split_once('.').map_or(name, |(r, _)| r);
        assert!(
            ["AWS::Region", "AWS::StackName"].contains(&name) || resources.contains_key(resource),
            "${{{name}}} is not in the template"
        );
        names.insert(resource.to_string());
    }
    let json: serde_json::Value = serde_json::from_str(&body).expect("the dashboard body is JSON");
    let namespace = "UserApi/${AWS::StackName}";
    let mut lambda: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut alarms = BTreeSet::new();
    for widget in json["widgets"].as_array().expect("widgets") {
        for row in widget["properties"]["metrics"].as_array().into_iter().flatten() {
            let row = row.as_array().expect("a metric row");
            let fields: Vec<&str> = row.iter().filter_map(|v| v.as_str()).collect();
            let (space, metric, dimensions) = (fields[0], fields[1], &fields[2..]);
            if space == namespace {
                let known = shared::telemetry::CATALOG
                    .iter()
                    .find(|m| m.name == metric)
                    .unwrap_or_else(|| panic!("{metric} is not written by the functions"));
                match (dimensions, known.dimension) {
                    ([], None) => {}
                    ([], Some(_)) => assert!(known.what.contains("also without dimension"), "{metric}"),
                    ([name, value], Some((dimension, values))) => {
                        assert_eq!(name, &dimension, "{metric}");
                        assert!(values.contains(value), "{metric}: {value}");
                    }
                    _ => panic!("{metric} with dimensions {dimensions:?}"),
                }
            } else if space == "AWS/Lambda" && dimensions.first() == Some(&"FunctionName") {
                let function = dimensions[1].trim_start_matches("${").trim_end_matches('}');
                lambda
                    .entry(metric.to_string())
                    .or_default()
                    .insert(function.to_string());
            }
        }
        for alarm in widget["properties"]["alarms"].as_array().into_iter().flatten() {
            let alarm = alarm.as_str().expect("an alarm ARN");
            alarms.insert(alarm.trim_start_matches("${").trim_end_matches(".Arn}").to_string());
        }
    }
    let functions = function_ids(&template);
    for metric in ["Duration", "Errors", "Throttles", "Invocations"] {
        assert_eq!(lambda.get(metric), Some(&functions), "{metric}");
    }
    let fleet: BTreeSet<String> = resources
        .iter()
        .filter(|(_, r)| {
            let own = r["Properties"]["Namespace"] == "AWS/Lambda"
                && ["Errors", "Throttles"].contains(&text(&r["Properties"]["MetricName"]).as_str());
            r["Type"] == "AWS::CloudWatch::Alarm" && !own
        })
        .map(|(name, _)| text(name))
        .collect();
    assert_eq!(alarms, fleet);
    assert!(names.contains("UsersApi") && names.contains("UsersTable"), "{names:?}");
}
