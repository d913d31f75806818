//! list and stat on large domains through the real DynamoDB store and the real SDK, against an
//! endpoint with a stated latency model (`common/latency_dynamo.rs`: 8 ms per request plus
//! 40 ms per MB of response). Issue 14; results in docs/performance.md.
//!
//! `cargo bench -p shared --bench domain_list` (optionally `-- 1000 10000` for some sizes
//! only) prints, per domain size (EXTERNAL users of about 370 bytes per item):
//! - cold list / stat: a new store (an execution environment's first request), median of runs;
//! - warm list / stat: the same store again with nothing changed, median of 30;
//! - after 100 changes written by another store (another function): the next list, and the
//!   one after it (the changes are read again until they are older than the overlap);
//! - the DynamoDB requests and response bytes of each, counted by the endpoint;
//! - memory: the allocator's peak above the start during a cold list, and what the copy of
//!   the domain holds afterwards, next to the store's own estimate (its budget accounting).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use chrono::Utc;
use common::latency_dynamo::LatencyDynamo;
use serde_json::{Value, json};
use shared::App;
use shared::auth::DevKey;
use shared::model::UserId;
use shared::model::{AuthType, DomainId, Name, User};
use shared::store::UserStore;
use shared::store::dynamo::{DynamoStore, now_micros};

/// Counts the bytes allocated now and at the peak, for the memory figures.
struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed to the system allocator unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        // SAFETY: the caller's layout, as GlobalAlloc requires.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: ptr came from alloc with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size - layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        } else {
            CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        // SAFETY: ptr came from alloc with this layout.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const DOMAIN: &str = "domain-bench";
const TABLE: &str = "users-bench";

/// User `i` of the bench's domain: EXTERNAL (no password hash), as in the measurement.
fn synthetic_user(i: usize) -> User {
    let mut user = common::synthetic_user(DOMAIN, i);
    user.auth_type = AuthType::External;
    user
}

/// The item the store writes for a user (`DynamoStore::user_item`: its fields, keys, version,
/// change stamp and list blob), as DynamoDB JSON; stamped two hours ago, before any overlap.
fn item(user: &User) -> Value {
    let mut item = shared::store::dynamo::user_item(user, 1).unwrap();
    let stamp = now_micros() - 2 * 3600 * 1_000_000;
    item.insert(
        "chg".into(),
        aws_sdk_dynamodb::types::AttributeValue::N(stamp.to_string()),
    );
    let item: serde_dynamo::Item = item.into();
    serde_json::to_value(item).unwrap()
}

fn client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .http_client(shared::aws::http_client())
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("bench", "bench", None, None, "bench"))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

struct Bench {
    fake: LatencyDynamo,
    dir: tempfile::TempDir,
    key: DevKey,
    token: String,
}

impl Bench {
    fn app(&self, store: DynamoStore) -> App {
        common::app(Arc::new(store), self.dir.path(), self.key.verifier().unwrap())
    }

    fn store(&self) -> DynamoStore {
        DynamoStore::with_domain_budget(client(&self.fake.endpoint), TABLE, 1024 * 1024 * 1024)
    }

    /// One request through the handler: its time, requests and response bytes.
    async fn call(&self, app: &App, path: &str, body: &Value) -> Sample {
        self.fake.reset_counters();
        let started = Instant::now();
        let response = shared::http::route(app, common::request(path, Some(&self.token), body)).await;
        let time = started.elapsed();
        assert_eq!(response.status(), 200, "{path}");
        let (requests, bytes) = self.fake.counted();
        Sample { time, requests, bytes }
    }
}

#[derive(Clone, Copy)]
struct Sample {
    time: Duration,
    requests: u64,
    bytes: u64,
}

fn median(samples: &[Sample]) -> Sample {
    let mut sorted = samples.to_vec();
    sorted.sort_by_key(|s| s.time);
    sorted[sorted.len() / 2]
}

fn show(what: &str, samples: &[Sample]) -> String {
    let m = median(samples);
    let max_requests = samples.iter().map(|s| s.requests).max().unwrap_or(0);
    format!(
        "{what}: median {:.1} ms of {} runs, {} requests (at most {}), {:.1} KB read",
        m.time.as_secs_f64() * 1000.0,
        samples.len(),
        m.requests,
        max_requests,
        m.bytes as f64 / 1024.0
    )
}

fn list_body() -> Value {
    json!({"domain_id": DOMAIN, "query": {
        "filter": [{"k": "state", "v": "ENABLED", "o": "eq"}, {"k": "tags.level", "v": 3, "o": "gte"}],
        "sort": {"key": "name"},
        "page": {"start": 1, "limit": 20},
    }})
}

fn stat_body() -> Value {
    json!({"domain_id": DOMAIN, "query": {"aggregate": [{"group": {
        "keys": [{"key": "state", "name": "state"}, {"key": "auth_type", "name": "auth_type"}],
        "fields": [{"name": "count", "operator": "count"}, {"key": "language", "name": "languages", "operator": "add_to_set"}],
    }}]}})
}

const LIST: &str = "/identity/v2/user/list";
const STAT: &str = "/identity/v1/user/stat";

async fn run(size: usize) {
    let fake = LatencyDynamo::start();
    fake.load((0..size).map(|i| item(&synthetic_user(i))));
    let dir = tempfile::tempdir().unwrap();
    let key = DevKey::load_or_create(dir.path()).unwrap();
    let token = common::admin_token(&key, DOMAIN);
    let bench = Bench { fake, dir, key, token };
    let (list, stat) = (list_body(), stat_body());
    let cold_runs = if size >= 100_000 { 5 } else { 10 };
    println!("== {size} users");

    // Cold: a new store each time, as in a new execution environment. The memory of the first.
    let mut cold_list = Vec::new();
    let mut memory = (0, 0, 0);
    for run in 0..cold_runs {
        let store = bench.store();
        let app = bench.app(store.clone());
        let before = CURRENT.load(Ordering::SeqCst);
        PEAK.store(before, Ordering::SeqCst);
        cold_list.push(bench.call(&app, LIST, &list).await);
        if run == 0 {
            let held = CURRENT.load(Ordering::SeqCst).saturating_sub(before);
            memory = (PEAK.load(Ordering::SeqCst) - before, held, store.domain_copy_bytes());
        }
    }
    println!("{}", show("cold list", &cold_list));
    let mut cold_stat = Vec::new();
    for _ in 0..cold_runs {
        let app = bench.app(bench.store());
        cold_stat.push(bench.call(&app, STAT, &stat).await);
    }
    println!("{}", show("cold stat", &cold_stat));

    // Warm: one store, nothing changed since its copy was made.
    let store = bench.store();
    let app = bench.app(store.clone());
    bench.call(&app, LIST, &list).await;
    let mut warm_list = Vec::new();
    let mut warm_stat = Vec::new();
    for _ in 0..30 {
        warm_list.push(bench.call(&app, LIST, &list).await);
        warm_stat.push(bench.call(&app, STAT, &stat).await);
    }
    println!("{}", show("warm list", &warm_list));
    if let Ok(what) = std::env::var("DOMAIN_LIST_PROFILE") {
        // For `perf record`: warm lists (or stats) only, for ten seconds.
        let (path, body) = if what == "stat" { (STAT, &stat) } else { (LIST, &list) };
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            bench.call(&app, path, body).await;
        }
        return;
    }
    // The parts of a warm list: the store's catch-up, and the engine alone over the copy.
    let domain_id = DomainId::parse("domain_id", DOMAIN.into()).unwrap();
    let mut catch_up = Vec::new();
    let mut engine = Vec::new();
    let query = shared::query::Query::parse(list["query"].as_object().cloned(), Utc::now())
        .unwrap()
        .compile()
        .unwrap();
    for _ in 0..30 {
        let started = Instant::now();
        let users = store.list_users(&domain_id).await.unwrap();
        catch_up.push(started.elapsed());
        let started = Instant::now();
        std::hint::black_box(query.run(&users));
        engine.push(started.elapsed());
    }
    catch_up.sort();
    engine.sort();

    println!(
        "warm list parts: catch-up median {:.1} ms, engine median {:.1} ms",
        catch_up[15].as_secs_f64() * 1e3,
        engine[15].as_secs_f64() * 1e3
    );
    println!("{}", show("warm stat", &warm_stat));

    // 100 users renamed by another function, then the next list and the one after it.
    let writer = bench.store();
    let domain = DomainId::parse("domain_id", DOMAIN.into()).unwrap();
    for i in 0..100 {
        let id = UserId::parse("user_id", format!("user-{:06}", i * size / 100)).unwrap();
        let before = writer.get_user(&domain, &id).await.unwrap().unwrap();
        let mut after = before.item.clone();
        after.name = Name::parse("name", &format!("Renamed {i}")).unwrap();
        writer
            .save_user(&before, &after, shared::store::CodeChange::None)
            .await
            .unwrap();
    }
    let changed = bench.call(&app, LIST, &list).await;
    println!("{}", show("list after 100 changes", &[changed]));
    let again = bench.call(&app, LIST, &list).await;
    println!("{}", show("the next list (changes within the overlap)", &[again]));
    let (peak, held, estimate) = memory;
    let mb = |b: usize| b as f64 / (1024.0 * 1024.0);
    println!(
        "memory: cold list peak {:.1} MB above the start; the copy holds {:.1} MB (store's estimate {:.1} MB)",
        mb(peak),
        mb(held),
        mb(estimate)
    );
    println!(
        "| {size} | {:.1} ms, {} req | {:.1} ms, {} req | {:.1} ms, {} req | {:.1} ms, {} req | {:.1} ms, {} req, {:.0} KB | {:.0} MB / {:.0} MB |",
        median(&cold_list).time.as_secs_f64() * 1e3,
        median(&cold_list).requests,
        median(&warm_list).time.as_secs_f64() * 1e3,
        median(&warm_list).requests,
        median(&cold_stat).time.as_secs_f64() * 1e3,
        median(&cold_stat).requests,
        median(&warm_stat).time.as_secs_f64() * 1e3,
        median(&warm_stat).requests,
        changed.time.as_secs_f64() * 1e3,
        changed.requests,
        changed.bytes as f64 / 1024.0,
        mb(peak),
        mb(held)
    );
}

fn main() {
    // `cargo bench` passes `--bench`; other arguments choose the sizes.
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000, 100_000]
    } else {
        sizes
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for size in sizes {
        runtime.block_on(run(size));
    }
}
