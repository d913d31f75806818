//! A DynamoDB endpoint on 127.0.0.1 with a stated latency model, for benchmarking the real
//! DynamoDB store through the real SDK on domains moto is far too slow to hold.
//!
//! How it works: an HTTP/1.1 server (hyper, keep-alive) speaks the DynamoDB JSON protocol for
//! the requests the store sends on the paths benchmarked: `GetItem`, `PutItem` (conditions
//! are not evaluated: the bench writes one at a time), and `Query` — on the table by
//! `sk BETWEEN :lo AND :hi` (forward or backward, `Limit`, `ProjectionExpression` of the keys),
//! and on the `by_change` index by `chg > :since` — with `ExclusiveStartKey` and DynamoDB's
//! 1 MB page limit (items sized as DynamoDB sizes them: names plus values, not JSON). Items are kept
//! as their JSON text, in key order and in change order. Every answer is held back by the
//! model before it is sent: **8 ms per request plus 40 ms per MB of response body**;
//! concurrent requests wait concurrently (one DynamoDB partition serves many at once).
//! It counts requests and response bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::{Value, json};

pub const PER_REQUEST: Duration = Duration::from_millis(8);
pub const PER_MB: Duration = Duration::from_millis(40);
const PAGE_LIMIT: usize = 1024 * 1024;

/// An item's size as DynamoDB bills and pages it: each attribute's name plus its value
/// (strings by their UTF-8 length, numbers about one byte per two digits plus one, maps and
/// lists three bytes plus their elements and one per element).
fn item_size(item: &Value) -> usize {
    fn value(v: &Value) -> usize {
        let Some((kind, inner)) = v.as_object().and_then(|o| o.iter().next()) else {
            return 1;
        };
        match (kind.as_str(), inner) {
            ("S", Value::String(text)) => text.len(),
            ("N", Value::String(number)) => number.len().div_ceil(2) + 1,
            ("M", Value::Object(map)) => 3 + map.iter().map(|(k, v)| k.len() + value(v) + 1).sum::<usize>(),
            ("L", Value::Array(list)) => 3 + list.iter().map(|v| value(v) + 1).sum::<usize>(),
            _ => 1,
        }
    }
    item.as_object()
        .map_or(0, |attributes| attributes.iter().map(|(k, v)| k.len() + value(v)).sum())
}

struct Stored {
    json: Arc<str>,
    /// Each attribute's `"name":value` JSON, for projections.
    attributes: BTreeMap<String, String>,
    size: usize,
}

impl Stored {
    /// The item with only `names` (all of it when `names` is empty).
    fn projected(&self, names: &[String]) -> String {
        if names.is_empty() {
            return self.json.to_string();
        }
        let parts: Vec<&str> = names
            .iter()
            .filter_map(|n| self.attributes.get(n).map(String::as_str))
            .collect();
        format!("{{{}}}", parts.join(","))
    }
}

/// The attribute names of a ProjectionExpression such as `#sk, #u`, resolved.
fn projection(input: &Value) -> Vec<String> {
    let Some(expression) = input["ProjectionExpression"].as_str() else {
        return Vec::new();
    };
    expression
        .split(',')
        .map(str::trim)
        .map(|name| {
            input["ExpressionAttributeNames"][name]
                .as_str()
                .unwrap_or(name)
                .to_owned()
        })
        .collect()
}

#[derive(Default)]
struct Table {
    /// (pk, sk) → the item's JSON and size.
    items: BTreeMap<(String, String), Stored>,
    /// (pk, chg, sk) of the items that carry a change stamp.
    changes: BTreeSet<(String, i64, String)>,
    /// (pk, sk) → chg, to move an item in `changes` when it is written again.
    stamps: BTreeMap<(String, String), i64>,
}

#[derive(Default)]
pub struct Counters {
    pub requests: AtomicU64,
    pub bytes: AtomicU64,
}

#[derive(Clone)]
pub struct LatencyDynamo {
    table: Arc<RwLock<Table>>,
    pub counters: Arc<Counters>,
    pub endpoint: String,
}

fn s(item: &Value, name: &str) -> String {
    item[name]["S"].as_str().unwrap_or_default().to_owned()
}

fn n(item: &Value, name: &str) -> Option<i64> {
    item[name]["N"].as_str().and_then(|v| v.parse().ok())
}

impl LatencyDynamo {
    /// Starts the endpoint on its own runtime thread; it stops with the process.
    pub fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        let server = Self {
            table: Arc::default(),
            counters: Arc::default(),
            endpoint,
        };
        let serving = server.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(serving.serve(listener));
        });
        server
    }

    /// Puts items (DynamoDB JSON objects) straight into the table, without a request.
    pub fn load(&self, items: impl IntoIterator<Item = Value>) {
        let mut table = self.table.write().expect("table");
        for item in items {
            table.put(item);
        }
    }

    pub fn reset_counters(&self) {
        self.counters.requests.store(0, Ordering::SeqCst);
        self.counters.bytes.store(0, Ordering::SeqCst);
    }

    /// (requests, response bytes) since the last reset.
    pub fn counted(&self) -> (u64, u64) {
        (
            self.counters.requests.load(Ordering::SeqCst),
            self.counters.bytes.load(Ordering::SeqCst),
        )
    }

    async fn serve(self, listener: std::net::TcpListener) {
        let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let server = self.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let server = server.clone();
                    async move { Ok::<_, Infallible>(server.answer(req).await) }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(io, service)
                    .await;
            });
        }
    }

    async fn answer(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let target = req
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_owned();
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let input: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let (status, output) = {
            let mut table = self.table.write().expect("table");
            match target.as_str() {
                "GetItem" => (200, table.get(&input)),
                "PutItem" => {
                    table.put(input["Item"].clone());
                    (200, "{}".to_owned())
                }
                "Query" => (200, table.query(&input)),
                other => (
                    400,
                    json!({"__type": "com.amazon.coral.validate#ValidationException",
                        "message": format!("the latency endpoint does not serve {other}")})
                    .to_string(),
                ),
            }
        };
        self.counters.requests.fetch_add(1, Ordering::SeqCst);
        self.counters.bytes.fetch_add(output.len() as u64, Ordering::SeqCst);
        let megabytes = output.len() as f64 / (1024.0 * 1024.0);
        tokio::time::sleep(PER_REQUEST + PER_MB.mul_f64(megabytes)).await;
        Response::builder()
            .status(status)
            .header("content-type", "application/x-amz-json-1.0")
            .body(Full::new(Bytes::from(output)))
            .expect("response")
    }
}

impl Table {
    fn put(&mut self, item: Value) {
        let key = (s(&item, "pk"), s(&item, "sk"));
        if let Some(old) = self.stamps.remove(&key) {
            self.changes.remove(&(key.0.clone(), old, key.1.clone()));
        }
        if let Some(chg) = n(&item, "chg") {
            self.changes.insert((key.0.clone(), chg, key.1.clone()));
            self.stamps.insert(key.clone(), chg);
        }
        let size = item_size(&item);
        let attributes = item
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), format!("{}:{v}", Value::from(k.as_str()))))
                    .collect()
            })
            .unwrap_or_default();
        self.items.insert(
            key,
            Stored {
                json: item.to_string().into(),
                attributes,
                size,
            },
        );
    }

    fn get(&self, input: &Value) -> String {
        let key = (s(&input["Key"], "pk"), s(&input["Key"], "sk"));
        match self.items.get(&key) {
            Some(item) => format!("{{\"Item\":{}}}", item.json),
            None => "{}".to_owned(),
        }
    }

    fn query(&self, input: &Value) -> String {
        let values = &input["ExpressionAttributeValues"];
        let pk = s(values, ":pk");
        let limit = input["Limit"].as_u64().map_or(usize::MAX, |l| l as usize);
        let projected = projection(input);
        let start = &input["ExclusiveStartKey"];
        let mut size = 0;
        let mut last: Option<Value> = None;
        let mut push = |item: &Stored, page: &mut Vec<String>| -> bool {
            if page.len() >= limit || size + item.size > PAGE_LIMIT {
                return false;
            }
            size += item.size;
            page.push(item.projected(&projected));
            true
        };
        let mut items: Vec<String> = Vec::new();
        let mut more = false;
        if input["IndexName"].is_string() {
            let since = n(values, ":since").unwrap_or(i64::MIN);
            let from = match n(start, "chg") {
                Some(chg) => std::ops::Bound::Excluded((pk.clone(), chg, s(start, "sk"))),
                None => std::ops::Bound::Excluded((pk.clone(), since, String::from("\u{10FFFF}"))),
            };
            for (_, chg, sk) in self
                .changes
                .range((from, std::ops::Bound::Unbounded))
                .take_while(|(p, _, _)| *p == pk)
            {
                let Some(item) = self.items.get(&(pk.clone(), sk.clone())) else {
                    continue;
                };
                if *chg <= since {
                    continue;
                }
                if !push(item, &mut items) {
                    more = true;
                    break;
                }
                last = Some(json!({"pk": {"S": pk}, "sk": {"S": sk}, "chg": {"N": chg.to_string()}}));
            }
        } else {
            let (lo, hi) = (s(values, ":lo"), s(values, ":hi"));
            let forward = input["ScanIndexForward"].as_bool().unwrap_or(true);
            let range = self.items.range((pk.clone(), lo)..=(pk.clone(), hi));
            let resume = (!start.is_null()).then(|| s(start, "sk"));
            let walk: Box<dyn Iterator<Item = (&(String, String), &Stored)>> = if forward {
                Box::new(range)
            } else {
                Box::new(range.rev())
            };
            for ((_, sk), item) in walk {
                if resume.as_ref().is_some_and(|r| if forward { sk <= r } else { sk >= r }) {
                    continue;
                }
                if !push(item, &mut items) {
                    more = true;
                    break;
                }
                last = Some(json!({"pk": {"S": pk}, "sk": {"S": sk}}));
            }
        }
        let mut out = String::with_capacity(4 * PAGE_LIMIT);
        out.push_str("{\"Items\":[");
        out.push_str(&items.join(","));
        out.push_str(&format!("],\"Count\":{0},\"ScannedCount\":{0}", items.len()));
        if let Some(last) = last.filter(|_| more || items.len() == limit) {
            out.push_str(&format!(",\"LastEvaluatedKey\":{last}"));
        }
        out.push('}');
        out
    }
}
