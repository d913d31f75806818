//! Memory and responsiveness under a burst of password changes (issue: hostile input).
//!
//! `cargo bench -p shared --bench argon2_burst` runs, in one process, on this machine:
//! - `bounded`: 100 parallel password updates by one USER through `shared::http::route` (the
//!   code path of every binary) on the embedded store, every Argon2 computation in the bounded
//!   pool (one slot per core), while another task asks `get` every 5 ms;
//! - `unbounded`: the same 100 Argon2id hashes, each on its own blocking thread at once (what
//!   the service did before the pool), with the same `get` probe;
//! - `no-argon2`: the same 100 parallel updates changing the name instead of the password:
//!   what the store and the requests themselves cost, without Argon2.
//!
//! For each: the peak resident memory above the start (VmHWM, reset between scenarios through
//! /proc/self/clear_refs), the burst's wall time, and the median and worst latency of the
//! concurrent `get`s. Not a criterion benchmark: the figures are of one burst each, and peak
//! memory is a property of the process, not of an iteration.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::password_hash::PasswordHasher;
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::Utc;
use serde_json::json;
use shared::App;
use shared::auth::{DevKey, TokenRequest};
use shared::model::RoleType;
use shared::store::embedded::EmbeddedStore;

const DOMAIN: &str = "domain-bench";
const BURST: usize = 100;

fn kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Resets the peak resident set size to the current one.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

struct Probe {
    latencies: Vec<Duration>,
}

impl Probe {
    fn report(mut self) -> String {
        self.latencies.sort();
        let median = self
            .latencies
            .get(self.latencies.len() / 2)
            .copied()
            .unwrap_or_default();
        let worst = self.latencies.last().copied().unwrap_or_default();
        format!(
            "get during the burst: {} calls, median {:.1} ms, worst {:.1} ms",
            self.latencies.len(),
            median.as_secs_f64() * 1000.0,
            worst.as_secs_f64() * 1000.0
        )
    }
}

/// Calls `get` every 5 ms until `stop`, timing each.
async fn probe(app: Arc<App>, token: String, stop: Arc<tokio::sync::Notify>) -> Probe {
    let mut latencies = Vec::new();
    let stopped = stop.notified();
    tokio::pin!(stopped);
    loop {
        let started = Instant::now();
        let body = json!({"user_id": "alice", "domain_id": DOMAIN});
        let response = shared::http::route(&app, common::request("/identity/v2/user/get", Some(&token), &body)).await;
        assert_eq!(response.status(), 200);
        latencies.push(started.elapsed());
        tokio::select! {
            _ = &mut stopped => return Probe { latencies },
            _ = tokio::time::sleep(Duration::from_millis(5)) => {}
        }
    }
}

async fn bounded(app: Arc<App>, alice: String, password: bool) -> Duration {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..BURST {
        let (app, alice) = (Arc::clone(&app), alice.clone());
        tasks.push(tokio::spawn(async move {
            let field = if password { "password" } else { "name" };
            let body = json!({"user_id": "alice", "domain_id": DOMAIN, field: format!("Burst{i:04}pass")});
            shared::http::route(&app, common::request("/identity/v2/user/update", Some(&alice), &body))
                .await
                .status()
                .as_u16()
        }));
    }
    for task in tasks {
        let status = task.await.unwrap_or(0);
        // A lost race is a 409 for the client to retry; anything else is a failure.
        assert!(status == 200 || status == 409, "status {status}");
    }
    started.elapsed()
}

async fn unbounded() -> Duration {
    let started = Instant::now();
    let tasks: Vec<_> = (0..BURST)
        .map(|i| {
            tokio::task::spawn_blocking(move || {
                let params = Params::new(19 * 1024, 2, 1, None).expect("params");
                let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
                argon
                    .hash_password(format!("Burst{i:04}pass").as_bytes())
                    .map(|h| h.to_string())
            })
        })
        .collect();
    for task in tasks {
        assert!(matches!(task.await, Ok(Ok(_))));
    }
    started.elapsed()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("dir");
    let key = DevKey::load_or_create(dir.path()).expect("key");
    let sign = |user: &str, role| {
        key.sign(&TokenRequest {
            domain_id: DOMAIN,
            user_id: user,
            role,
            ttl_seconds: 3600,
        })
        .expect("token")
    };
    let (admin, alice) = (sign("root", RoleType::DomainAdmin), sign("alice", RoleType::User));
    let store = Arc::new(EmbeddedStore::open(&dir.path().join("db")).expect("store"));
    let app = Arc::new(common::app(store, dir.path(), key.verifier().expect("verifier")));
    runtime.block_on(async {
        let body = json!({"user_id": "alice", "auth_type": "LOCAL", "password": "Start1234", "permission_group": "DOMAIN", "domain_id": DOMAIN});
        let response = shared::http::route(&app, common::request("/identity/v2/user/create", Some(&admin), &body)).await;
        assert_eq!(response.status(), 200);
    });
    println!(
        "{} cores, {} Argon2 slots, burst of {BURST}, {}",
        std::thread::available_parallelism().map_or(1, usize::from),
        shared::secrets::argon2_slots(),
        Utc::now().format("%Y-%m-%d")
    );
    for scenario in ["no-argon2", "bounded", "unbounded"] {
        std::thread::sleep(Duration::from_millis(300));
        reset_peak();
        let before = kib("VmRSS:");
        let stop = Arc::new(tokio::sync::Notify::new());
        let (took, probe) = runtime.block_on(async {
            let prober = tokio::spawn(probe(Arc::clone(&app), admin.clone(), Arc::clone(&stop)));
            let took = match scenario {
                "no-argon2" => bounded(Arc::clone(&app), alice.clone(), false).await,
                "bounded" => bounded(Arc::clone(&app), alice.clone(), true).await,
                _ => unbounded().await,
            };
            stop.notify_one();
            (took, prober.await.expect("probe"))
        });
        let peak = kib("VmHWM:");
        println!(
            "{scenario:>9}: peak RSS +{:.0} MiB over {:.0} MiB, burst {:.2} s; {}",
            peak.saturating_sub(before) as f64 / 1024.0,
            before as f64 / 1024.0,
            took.as_secs_f64(),
            probe.report()
        );
    }
}
