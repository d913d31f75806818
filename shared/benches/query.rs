//! The query engine on synthetic domains (issue: list and stat performance).
//!
//! `cargo bench -p shared --bench query` reports, on this machine:
//! - floor/load_*: loading a domain's users from the embedded store, no query work;
//! - list/engine_10k: the engine alone (filter, sort, page, projection) over 10,000 loaded users;
//! - list/end_to_end_10k: the same list request through `shared::http::route` and the store;
//! - stat/end_to_end_100k: group by state and auth_type with count and add_to_set, 100,000 users.

mod common;

use std::sync::Arc;

use chrono::Utc;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use shared::App;
use shared::auth::DevKey;
use shared::model::DomainId;
use shared::query::Query;
use shared::store::embedded::EmbeddedStore;

const DOMAIN: &str = "domain-bench";

struct Domain {
    app: App,
    token: String,
    _dir: tempfile::TempDir,
}

fn domain(runtime: &tokio::runtime::Runtime, size: usize) -> Domain {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(&dir.path().join("db")).unwrap();
    runtime.block_on(async {
        for chunk in (0..size).collect::<Vec<_>>().chunks(10_000) {
            store
                .create_many(chunk.iter().map(|i| common::synthetic_user(DOMAIN, *i)).collect())
                .await
                .unwrap();
        }
    });
    let key = DevKey::load_or_create(dir.path()).unwrap();
    let token = common::admin_token(&key, DOMAIN);
    let app = common::app(Arc::new(store), dir.path(), key.verifier().unwrap());
    Domain { app, token, _dir: dir }
}

fn list_query() -> Value {
    json!({
        "filter": [{"k": "state", "v": "ENABLED", "o": "eq"}, {"k": "tags.level", "v": 3, "o": "gte"}],
        "sort": {"key": "name"},
        "page": {"start": 1, "limit": 20},
    })
}

fn stat_query() -> Value {
    json!({"aggregate": [{"group": {
        "keys": [{"key": "state", "name": "state"}, {"key": "auth_type", "name": "auth_type"}],
        "fields": [{"name": "count", "operator": "count"}, {"key": "language", "name": "languages", "operator": "add_to_set"}],
    }}]})
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let domain_id = DomainId::parse("domain_id", DOMAIN.into()).unwrap();

    let small = domain(&runtime, 10_000);
    let mut group = c.benchmark_group("floor");
    group.sample_size(20);
    group.bench_function("load_10k", |b| {
        b.to_async(&runtime).iter(|| small.app.store.list_users(&domain_id))
    });
    group.finish();

    let mut group = c.benchmark_group("list");
    group.sample_size(20);
    let users = runtime.block_on(small.app.store.list_users(&domain_id)).unwrap();
    let query = Query::parse(list_query().as_object().cloned(), Utc::now())
        .unwrap()
        .compile()
        .unwrap();
    group.bench_function("engine_10k", |b| b.iter(|| query.run(&users)));
    let body = json!({"domain_id": DOMAIN, "query": list_query()});
    group.bench_function("end_to_end_10k", |b| {
        b.to_async(&runtime).iter_batched(
            || common::request("/identity/v2/user/list", Some(&small.token), &body),
            |req| shared::http::route(&small.app, req),
            BatchSize::SmallInput,
        )
    });
    group.finish();
    drop(small);

    let large = domain(&runtime, 100_000);
    let mut group = c.benchmark_group("floor");
    group.sample_size(10);
    group.bench_function("load_100k", |b| {
        b.to_async(&runtime).iter(|| large.app.store.list_users(&domain_id))
    });
    group.finish();
    let mut group = c.benchmark_group("stat");
    group.sample_size(10);
    let body = json!({"domain_id": DOMAIN, "query": stat_query()});
    group.bench_function("end_to_end_100k", |b| {
        b.to_async(&runtime).iter_batched(
            || common::request("/identity/v1/user/stat", Some(&large.token), &body),
            |req| shared::http::route(&large.app, req),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(query, benches);
criterion_main!(query);
