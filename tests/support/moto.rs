//! A moto server (the AWS service emulator) on 127.0.0.1 for the tests that exercise the real
//! AWS SDK: DynamoDB, SES v2, and (`crate::pipeline`) SQS, EventBridge and DynamoDB Streams.
//!
//! `./scripts/test.sh` starts one server for the whole run and exports `MOTO_ENDPOINT`. Without
//! it (a plain `cargo test`), the first test that needs moto starts `moto_server` from PATH for
//! this test process; a watchdog shell kills it when the process exits (its stdin, held here,
//! closes), so no server outlives the tests.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use rand::RngExt;

pub const REGION: &str = "us-east-1";

struct Server {
    endpoint: String,
    _watchdog: Option<Child>,
}

static SERVER: OnceLock<Server> = OnceLock::new();
static SERIAL_SERVER: OnceLock<Server> = OnceLock::new();

/// The endpoint of the moto server for this run, starting one if needed.
pub fn endpoint() -> &'static str {
    &SERVER
        .get_or_init(|| start("MOTO_ENDPOINT", |port| format!("moto_server -H 127.0.0.1 -p {port}")))
        .endpoint
}

/// The endpoint of the moto server that answers one request at a time (scripts/moto_serial.py),
/// for race tests: moto's threaded server undoes concurrent writes when a transaction fails.
pub fn serial_endpoint() -> &'static str {
    &SERIAL_SERVER
        .get_or_init(|| {
            start("MOTO_SERIAL_ENDPOINT", |port| {
                let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/moto_serial.py");
                format!("python3 {script} {port}")
            })
        })
        .endpoint
}

/// The server named by `variable`, or one started now with `command(port)`, stopped when
/// this process ends (its watchdog's stdin closes).
fn start(variable: &str, command: impl FnOnce(u16) -> String) -> Server {
    if let Ok(endpoint) = std::env::var(variable) {
        return Server {
            endpoint,
            _watchdog: None,
        };
    }
    let port = free_port();
    let script = format!(
        "{} >/dev/null 2>&1 & pid=$!; cat >/dev/null; kill $pid 2>/dev/null",
        command(port)
    );
    let watchdog = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .spawn()
        .expect("cannot start moto_server: install it with `pip install \"moto[server]\"` or run ./scripts/test.sh");
    wait_for_port(port);
    Server {
        endpoint: format!("http://127.0.0.1:{port}"),
        _watchdog: Some(watchdog),
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("moto_server did not listen on 127.0.0.1:{port} within 60 s (is moto[server] installed?)");
}

pub fn credentials() -> Credentials {
    Credentials::new("testing", "testing", None, None, "moto")
}

/// A DynamoDB client for the moto server that counts its requests in `counter`.
pub fn dynamodb(counter: &RequestCounter) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(dynamodb_config(counter).build())
}

/// A DynamoDB store on a fresh table of the moto server that answers one request at a time.
pub async fn fresh_serial_store() -> users::store::dynamo::DynamoStore {
    let config = dynamodb_config(&RequestCounter::default()).endpoint_url(serial_endpoint());
    let client = aws_sdk_dynamodb::Client::from_conf(config.build());
    let table = fresh_table(&client).await;
    users::store::dynamo::DynamoStore::new(client, table)
}

fn dynamodb_config(counter: &RequestCounter) -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::Config::builder()
        .http_client(users::aws::http_client())
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint())
        .credentials_provider(credentials())
        .interceptor(counter.clone())
}

/// A DynamoDB client whose first answer to `operation` is lost on the way back: the request
/// was applied, but the SDK sees a 500 and sends it again, as after a timeout on AWS.
pub fn dynamodb_losing_first_answer(counter: &RequestCounter, operation: &'static str) -> aws_sdk_dynamodb::Client {
    let lose = LoseFirstAnswer {
        operation,
        lost: Arc::default(),
    };
    aws_sdk_dynamodb::Client::from_conf(dynamodb_config(counter).interceptor(lose).build())
}

#[derive(Debug)]
struct LoseFirstAnswer {
    operation: &'static str,
    lost: Arc<std::sync::atomic::AtomicBool>,
}

impl Intercept for LoseFirstAnswer {
    fn name(&self) -> &'static str {
        "LoseFirstAnswer"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut<
            '_,
        >,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map_or("unknown", |m| m.name());
        if operation == self.operation && !self.lost.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let response = context.response_mut();
            *response.status_mut() = aws_smithy_runtime_api::http::StatusCode::try_from(500u16)?;
            *response.body_mut() =
                aws_smithy_types::body::SdkBody::from(r#"{"__type":"InternalServerError","message":"answer lost"}"#);
        }
        Ok(())
    }
}

/// A KMS client for the moto server that counts its requests in `counter`.
pub fn kms(counter: &RequestCounter) -> aws_sdk_kms::Client {
    let config = aws_sdk_kms::Config::builder()
        .http_client(users::aws::http_client())
        .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
        .region(aws_sdk_kms::config::Region::new(REGION))
        .endpoint_url(endpoint())
        .credentials_provider(credentials())
        .interceptor(counter.clone())
        .build();
    aws_sdk_kms::Client::from_conf(config)
}

/// A new asymmetric signing key on the moto server (`ECC_NIST_P256`, `RSA_2048`); its id.
pub async fn signing_key(client: &aws_sdk_kms::Client, spec: &str) -> String {
    let created = client
        .create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::from(spec))
        .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
        .send()
        .await
        .expect("create a KMS key");
    created.key_metadata.expect("key metadata").key_id
}

/// An SES v2 client for `endpoint` (moto, or a test server that fails on purpose), retrying
/// quickly so failure tests stay fast.
pub fn sesv2(endpoint: &str) -> aws_sdk_sesv2::Client {
    let config = aws_sdk_sesv2::Config::builder()
        .http_client(users::aws::http_client())
        .behavior_version(aws_sdk_sesv2::config::BehaviorVersion::latest())
        .region(aws_sdk_sesv2::config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(credentials())
        .retry_config(
            aws_smithy_types::retry::RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(5)),
        )
        .build();
    aws_sdk_sesv2::Client::from_conf(config)
}

/// A table name no other test uses.
pub fn unique_table() -> String {
    format!("users-test-{:016x}", rand::rng().random::<u64>())
}

/// A fresh table on the moto server, created by the same setup code a developer runs.
pub async fn fresh_table(client: &aws_sdk_dynamodb::Client) -> String {
    let table = unique_table();
    users::store::dynamo::schema::create_table(client, &table)
        .await
        .expect("create table on moto");
    table
}

/// A DynamoDB store on a fresh table of its own, its requests counted in `counter`.
pub async fn fresh_store(counter: &RequestCounter) -> users::store::dynamo::DynamoStore {
    let client = dynamodb(counter);
    let table = fresh_table(&client).await;
    users::store::dynamo::DynamoStore::new(client, table)
}

/// The messages moto's SES accepted for `address`, oldest first (moto keeps the HTML body).
pub async fn sent_mails(address: &str) -> Vec<serde_json::Value> {
    let data = crate::failing::get(&format!("{}/moto-api/data.json", endpoint())).await;
    let data: serde_json::Value = serde_json::from_str(&data).expect("moto data.json");
    data["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m["destinations"]["ToAddresses"] == serde_json::json!([address]))
        .collect()
}

/// Counts the requests (attempts, retries included) a client sends, per DynamoDB operation,
/// and records the IAM actions they need (a transaction needs those of the writes in it).
#[derive(Debug, Clone, Default)]
pub struct RequestCounter(Arc<Mutex<Recorded>>);

#[derive(Debug, Default)]
struct Recorded {
    requests: BTreeMap<String, usize>,
    iam_actions: BTreeSet<String>,
}

impl RequestCounter {
    /// Requests per operation since the last reset.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        self.0.lock().map(|r| r.requests.clone()).unwrap_or_default()
    }

    /// The IAM actions (`dynamodb:GetItem`, ...) the requests since the last reset needed.
    pub fn iam_actions(&self) -> BTreeSet<String> {
        self.0.lock().map(|r| r.iam_actions.clone()).unwrap_or_default()
    }

    pub fn reset(&self) {
        if let Ok(mut recorded) = self.0.lock() {
            *recorded = Recorded::default();
        }
    }
}

const TRANSACTION: &str = "TransactWriteItems";

/// The IAM actions of a TransactWriteItems request: those of the writes in it.
fn transaction_actions(input: &aws_smithy_runtime_api::client::interceptors::context::Input) -> Vec<String> {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
    let Some(transaction) = input.downcast_ref::<TransactWriteItemsInput>() else {
        return Vec::new();
    };
    transaction
        .transact_items()
        .iter()
        .flat_map(|item| {
            [
                item.put().map(|_| "PutItem"),
                item.update().map(|_| "UpdateItem"),
                item.delete().map(|_| "DeleteItem"),
                item.condition_check().map(|_| "ConditionCheckItem"),
            ]
        })
        .flatten()
        .map(|action| format!("dynamodb:{action}"))
        .collect()
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let actions = transaction_actions(context.input());
        if let Ok(mut recorded) = self.0.lock() {
            recorded.iam_actions.extend(actions);
        }
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let metadata = cfg.load::<Metadata>();
        let operation = metadata.map_or("unknown", |m| m.name()).to_string();
        // The IAM prefix is the service's name in lower case: dynamodb, kms.
        let service = metadata.map_or("unknown".into(), |m| m.service().to_lowercase());
        if let Ok(mut recorded) = self.0.lock() {
            if operation != TRANSACTION {
                recorded.iam_actions.insert(format!("{service}:{operation}"));
            }
            *recorded.requests.entry(operation).or_default() += 1;
        }
        Ok(())
    }
}
