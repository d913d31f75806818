//! A moto server (the AWS service emulator) on 127.0.0.1 for the tests that exercise the real
//! AWS SDK: DynamoDB, SES v2, and (`crate::pipeline`) SQS, EventBridge and DynamoDB Streams.
//!
//! `./scripts/test.sh` starts one server for the whole run and exports `MOTO_ENDPOINT`. Without
//! it (a plain `cargo test`), the first test that needs moto starts `scripts/moto_server.py`
//! (moto from PATH's `python3`, without moto's DynamoDB memory leak) for this test process; a
//! watchdog shell kills it when the process exits (its stdin, held here, closes), so no server
//! outlives the tests.
//!
//! What a test process creates on moto (tables, queues) it deletes when it exits
//! ([`forget_at_exit`]): moto keeps everything in memory until it stops, and under
//! `cargo nextest` every test is a process of its own, so the server holds only the data of
//! the tests running at the moment.

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
    &SERVER.get_or_init(|| start("MOTO_ENDPOINT", "")).endpoint
}

/// The endpoint of the moto server that answers one request at a time (`--serial`), for race
/// tests: moto's threaded server undoes concurrent writes when a transaction fails.
pub fn serial_endpoint() -> &'static str {
    &SERIAL_SERVER
        .get_or_init(|| start("MOTO_SERIAL_ENDPOINT", "--serial"))
        .endpoint
}

/// moto's server with this project's changes (no DynamoDB memory leak; `--serial`).
const SERVER_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/moto_server.py");

/// Gives this test process a moto server of its own, whatever `MOTO_ENDPOINT` says: for the
/// few tests that send thousands of requests, which on the run's shared server would queue
/// behind each other on its one Python interpreter while the other core waits. Call it
/// first, before anything reaches moto (under a plain `cargo test`, which runs a binary's
/// tests as threads of one process, the binary's first test to reach moto decides).
pub fn private_server() {
    SERVER.get_or_init(|| spawn(""));
}

/// The server named by `variable`, or one started now (scripts/moto_server.py with `flags`),
/// stopped when this process ends (its watchdog's stdin closes).
fn start(variable: &str, flags: &str) -> Server {
    if let Ok(endpoint) = std::env::var(variable) {
        return Server {
            endpoint,
            _watchdog: None,
        };
    }
    spawn(flags)
}

fn spawn(flags: &str) -> Server {
    let port = free_port();
    let script = format!(
        "python3 {SERVER_SCRIPT} {port} {flags} >/dev/null 2>&1 & pid=$!; cat >/dev/null; kill $pid 2>/dev/null"
    );
    let watchdog = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .spawn()
        .expect("cannot start scripts/moto_server.py: `pip install \"moto[server]\"` or run ./scripts/test.sh");
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
    panic!("moto did not listen on 127.0.0.1:{port} within 60 s (is moto[server] installed for python3?)");
}

pub fn credentials() -> Credentials {
    Credentials::new("testing", "testing", None, None, "moto")
}

/// A DynamoDB client for the moto server that counts its requests in `counter`.
pub fn dynamodb(counter: &RequestCounter) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(dynamodb_config(counter).build())
}

/// A DynamoDB store on a fresh table of the moto server that answers one request at a time.
pub async fn fresh_serial_store() -> shared::store::dynamo::DynamoStore {
    let config = dynamodb_config(&RequestCounter::default()).endpoint_url(serial_endpoint());
    let client = aws_sdk_dynamodb::Client::from_conf(config.build());
    let table = fresh_table(&client).await;
    shared::store::dynamo::DynamoStore::new(client, table)
}

fn dynamodb_config(counter: &RequestCounter) -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::Config::builder()
        .http_client(shared::aws::http_client())
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
        .http_client(shared::aws::http_client())
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
        .http_client(shared::aws::http_client())
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

/// Sixteen random hex digits, for names no other test uses (mail addresses, key aliases).
pub fn unique_id() -> String {
    format!("{:016x}", rand::rng().random::<u64>())
}

/// A table name no other test uses; the table, if anything creates it, is deleted when this
/// process exits.
pub fn unique_table() -> String {
    let table = format!("users-test-{}", unique_id());
    forget_at_exit(Created::Table(table.clone()));
    table
}

/// Something a test made on a moto server.
#[derive(Debug, Clone)]
pub enum Created {
    /// A DynamoDB table, by name (deleted on every moto server this process used).
    Table(String),
    /// An SQS queue, by URL.
    Queue(String),
}

static CREATED: Mutex<Vec<Created>> = Mutex::new(Vec::new());

/// Deletes `created` from moto when this process exits (normally or through a failed
/// assertion: the test harness exits through `exit`, which runs `atexit` handlers).
pub fn forget_at_exit(created: Created) {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        // SAFETY: `delete_created` is a plain `extern "C" fn` with no arguments that
        // catches its own panics; registering it has no other precondition.
        unsafe { libc::atexit(delete_created) };
    });
    if let Ok(mut list) = CREATED.lock() {
        list.push(created);
    }
}

extern "C" fn delete_created() {
    let _ = std::panic::catch_unwind(|| {
        let created = CREATED.lock().map(|mut l| std::mem::take(&mut *l)).unwrap_or_default();
        let servers: Vec<&str> = [&SERVER, &SERIAL_SERVER]
            .into_iter()
            .filter_map(|s| s.get().map(|s| s.endpoint.as_str()))
            .collect();
        for item in &created {
            for server in &servers {
                match item {
                    Created::Table(name) => {
                        let body = serde_json::json!({ "TableName": name }).to_string();
                        post_json(server, "dynamodb", "DynamoDB_20120810.DeleteTable", &body);
                    }
                    Created::Queue(url) => {
                        let body = serde_json::json!({ "QueueUrl": url }).to_string();
                        post_json(server, "sqs", "AmazonSQS.DeleteQueue", &body);
                    }
                }
            }
        }
    });
}

/// One AWS JSON-protocol request to moto over a plain socket (no runtime is left at exit;
/// moto reads the service and region from the credential scope and checks no signature).
/// Failures are ignored: the server may already be gone, or the item never made.
fn post_json(endpoint: &str, service: &str, target: &str, body: &str) {
    use std::io::{Read, Write};
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let Ok(mut stream) = TcpStream::connect(host) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-amz-json-1.0\r\n\
         X-Amz-Target: {target}\r\nAuthorization: AWS4-HMAC-SHA256 \
         Credential=testing/20260101/{REGION}/{service}/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(request.as_bytes()).is_ok() {
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
    }
}

/// A fresh table on the moto server, created by the same setup code a developer runs.
pub async fn fresh_table(client: &aws_sdk_dynamodb::Client) -> String {
    let table = unique_table();
    shared::store::dynamo::schema::create_table(client, &table)
        .await
        .expect("create table on moto");
    table
}

/// A DynamoDB store on a fresh table of its own, its requests counted in `counter`.
pub async fn fresh_store(counter: &RequestCounter) -> shared::store::dynamo::DynamoStore {
    let client = dynamodb(counter);
    let table = fresh_table(&client).await;
    shared::store::dynamo::DynamoStore::new(client, table)
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
