//! Cold start: the time from exec of a function binary to its first request to the Lambda
//! Runtime API (`GET /runtime/invocation/next`), i.e. Lambda's init phase. It is measured for
//! `user-get` as deployed (DynamoDB store, SES mail, keys from IDENTITY_JWKS, AWS credentials
//! and region from the environment, as Lambda sets them) and for a hello-world `lambda_http`
//! binary built with the same profile. Nothing is invoked, so no AWS endpoint is needed.
//!
//! `cargo bench -p cold-start`

use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use shared::auth::DevKey;
use tests::runtime_api::RuntimeApi;

const HELLO: &str = env!("CARGO_BIN_EXE_hello-world");
const USER_GET: &str = env!("CARGO_BIN_EXE_bench-user-get");

/// The environment Lambda gives our function, as template.yaml configures it.
fn function_env(jwks: &str) -> Vec<(String, String)> {
    [
        ("USERS_TABLE", "user-api-UsersTable-0123456789"),
        ("MAIL_TRANSPORT", "ses"),
        ("MAIL_FROM", "no-reply@example.com"),
        ("EMAIL_SERVICE_NAME", "Cloudforet"),
        ("IDENTITY_JWKS", jwks),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLEEXAMPLE00"),
        ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        ("AWS_SESSION_TOKEN", "IQoJb3JpZ2luX2VjEXAMPLE"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// One cold start: exec, then wait for the first poll of the Runtime API.
async fn cold_start(binary: &str, env: &[(String, String)], log: &Path) -> Duration {
    evict_cpu_caches();
    let mut runtime = RuntimeApi::start().await;
    let started = std::time::Instant::now();
    let mut child = runtime.spawn(Path::new(binary), "bench", env, log);
    let polled = runtime.first_poll(Duration::from_secs(30)).await;
    let _ = child.kill();
    let _ = child.wait();
    match polled {
        Some(at) => at.duration_since(started),
        None => panic!(
            "{binary} never polled the Runtime API; its log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        ),
    }
}

/// Writes 64 MB, more than this machine's caches hold, so that each start begins with cold CPU
/// caches whichever binary ran before it (an execution environment does not start on a core
/// that just ran the same binary).
fn evict_cpu_caches() {
    static BUFFER: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());
    let mut buffer = BUFFER.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    buffer.resize(64 << 20, 0);
    for line in buffer.chunks_mut(64) {
        line[0] = line[0].wrapping_add(1);
    }
    std::hint::black_box(&*buffer);
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let jwks = DevKey::load_or_create(dir.path()).expect("key").jwks_json().to_string();
    let log = dir.path().join("function.log");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut group = c.benchmark_group("cold_start");
    group.sample_size(30).measurement_time(Duration::from_secs(10));
    for (name, binary, env) in [
        ("hello_world", HELLO, Vec::new()),
        ("user_get", USER_GET, function_env(&jwks)),
    ] {
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter_custom(|iterations| {
                let (env, log) = (env.clone(), log.clone());
                async move {
                    let mut total = Duration::ZERO;
                    for _ in 0..iterations {
                        total += cold_start(binary, &env, &log).await;
                    }
                    total
                }
            })
        });
    }
    group.finish();
    runtime.block_on(paired(&function_env(&jwks), &log));
}

/// Cold starts of the two binaries taken in alternation, so both see the same machine: on a
/// shared machine the load drifts between criterion's two benchmarks, which run one after the
/// other, and their ratio moved by ±20% from run to run. Which binary goes first alternates
/// from pair to pair, so neither always follows the other. Prints both medians and the median
/// of the per-pair ratios, the figure docs/performance.md reports.
async fn paired(env: &[(String, String)], log: &Path) {
    const PAIRS: usize = 600;
    let (mut hello, mut user_get, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for pair in 0..PAIRS {
        let (h, u) = if pair % 2 == 0 {
            let h = cold_start(HELLO, &[], log).await;
            (h, cold_start(USER_GET, env, log).await)
        } else {
            let u = cold_start(USER_GET, env, log).await;
            (cold_start(HELLO, &[], log).await, u)
        };
        let (h, u) = (h.as_secs_f64() * 1000.0, u.as_secs_f64() * 1000.0);
        hello.push(h);
        user_get.push(u);
        ratios.push(u / h);
    }
    println!(
        "cold_start/paired ({PAIRS} pairs): hello_world median {:.3} ms, user_get median {:.3} ms, \
         median ratio {:.2}",
        median(&mut hello),
        median(&mut user_get),
        median(&mut ratios)
    );
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

criterion_group!(benches, bench);
criterion_main!(benches);
