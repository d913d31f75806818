//! The memory one hostile list request can make the regex engine hold (issue 21): 100
//! patterns of 1 KiB each (the count and size bounds of SPEC 4.14), each compiling to just
//! under the per-pattern limit, matched against a 1,000-user domain.
//!
//! `cargo bench -p shared --bench regex_memory` prints the resident memory before, the
//! peak during (VmHWM), and the growth, for one request and for four requests in parallel
//! (the local server runs them on the blocking pool). The bound kept: +150 MB for one
//! request, what 100 patterns × 256 KiB allowed before the limit was raised.

mod common;

use std::sync::Arc;

use serde_json::{Value, json};
use shared::auth::DevKey;
use shared::store::embedded::EmbeddedStore;

const DOMAIN: &str = "domain-bench";

/// `/proc/self/status`'s line `name:  N kB`, in MB.
fn status_mb(name: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| {
            line.strip_prefix(name)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Resets the peak resident size (VmHWM) to the current one.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// 100 distinct patterns of 1,024 bytes: `\w{19}` and 1,000 bytes of
/// literal padding, each one different so nothing is shared.
fn hostile_patterns() -> Vec<Value> {
    (0..100)
        .map(|i| {
            let head = format!("{i:03}\\w{{19}}");
            let pattern = format!("{head}{}", "z".repeat(1024 - head.len()));
            assert_eq!(pattern.len(), 1024);
            Value::String(pattern)
        })
        .collect()
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(&dir.path().join("db")).expect("store");
    runtime.block_on(async {
        store
            .create_many((0..1000).map(|i| common::synthetic_user(DOMAIN, i)).collect())
            .await
            .expect("users")
    });
    let key = DevKey::load_or_create(dir.path()).expect("key");
    let token = common::admin_token(&key, DOMAIN);
    let app = Arc::new(common::app(
        Arc::new(store),
        dir.path(),
        key.verifier().expect("verifier"),
    ));
    let body = json!({"domain_id": DOMAIN, "query": {
        "filter": [{"k": "name", "v": hostile_patterns(), "o": "regex_in"}],
    }});
    let send = |app: Arc<shared::App>, token: String, body: Value| async move {
        let response = shared::http::route(&app, common::request("/identity/v2/user/list", Some(&token), &body)).await;
        assert_eq!(response.status(), 200, "{:?}", response.body());
    };
    // Warm: the domain loaded, the allocator's arenas made.
    let easy = json!({"domain_id": DOMAIN, "query": {"filter": [{"k": "name", "v": "^a", "o": "regex"}]}});
    runtime.block_on(send(Arc::clone(&app), token.clone(), easy));
    for parallel in [1usize, 4] {
        let mut growth = Vec::new();
        for _ in 0..5 {
            let before = status_mb("VmRSS:");
            reset_peak();
            runtime.block_on(async {
                let requests = (0..parallel).map(|_| send(Arc::clone(&app), token.clone(), body.clone()));
                futures_util::future::join_all(requests).await;
            });
            let peak = status_mb("VmHWM:");
            growth.push(peak - before);
            println!(
                "{parallel} request(s) at once: RSS before {before:.1} MB, peak {peak:.1} MB, +{:.1} MB",
                peak - before
            );
        }
        growth.sort_by(f64::total_cmp);
        println!(
            "{parallel} request(s) at once: median peak growth +{:.1} MB (of 5 runs)",
            growth[2]
        );
    }
}
