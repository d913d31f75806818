//! How the DynamoDB store reads a domain's users for list and stat (docs/dynamodb.md, "A
//! domain's users").
//!
//! - **Warm**: the process keeps a copy of the domain (`domain_cache.rs`) and catches up with
//!   one strongly consistent Query over the change index: every user and tombstone whose
//!   change stamp is later than the previous catch-up's start, less [`OVERLAP_MICROS`].
//! - **Cold**: the first page and the last user key are read at once; a domain larger than a
//!   page is then split into key ranges read concurrently, and a range with more to read is
//!   split again at its page's end, so the rounds grow with the log of the pages, not with
//!   the pages.
//! - A table made before the change index (no `by_change`) is read whole every time, in
//!   parallel, and nothing is kept: correct, only slower, until `users-local upgrade-table`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;

use super::domain_cache::{Change, DomainCopy, apply, cached, footprint};
use super::item::{is_tombstone, names, number, read_user, s, user_from_list_blob};
use super::key_range::KeySpace;
use super::schema::{self, TOMBSTONE_PREFIX, USER_PREFIX, partition};
use super::{DynamoStore, Item};
use crate::model::{DomainId, User, UserId};
use crate::store::{DomainUsers, StoreError, StoreResult};
use crate::telemetry;

/// How far before the previous catch-up's start the next one reads. A write takes its stamp
/// just before it is sent, and the SDK gives up on an operation after
/// [`crate::aws::OPERATION_TIMEOUT`] (20 s), so a write acknowledged after a catch-up began
/// carries a stamp later than that start less 20 s, plus the clock difference between the two
/// functions (Lambda hosts keep time to within a millisecond). 60 s is three times that.
pub const OVERLAP_MICROS: i64 = 60_000_000;
/// How long a tombstone lives (its TTL): the store's [`crate::store::TOMBSTONE_LIFETIME`],
/// 8 days. A copy not caught up for longer than this, less twice the overlap, could miss a
/// delete whose tombstone expired, so it is read again whole.
pub const TOMBSTONE_LIFETIME_SECONDS: i64 = crate::store::TOMBSTONE_LIFETIME.num_seconds();
const MAX_COPY_AGE_MICROS: i64 = TOMBSTONE_LIFETIME_SECONDS * 1_000_000 - 2 * OVERLAP_MICROS;
/// The key ranges a cold read of a domain larger than one page starts with.
const FIRST_PARTS: usize = 16;
/// The most Queries one cold read has in flight.
const MAX_IN_FLIGHT: usize = 32;

/// The sort keys of users are exactly those from `USER#` up to (not including) `USER$`.
const USERS_FROM: &str = USER_PREFIX;
const USERS_TO: &str = "USER$";

/// Now, in microseconds since the epoch: the change stamp of a write, and the start of a read.
pub fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// One key range of a cold read: `sk BETWEEN lo AND hi`, resumed after `start`.
#[derive(Clone)]
struct Part {
    lo: String,
    hi: String,
    start: Option<Item>,
}

/// What is left of `part` after a page that ended at `next`: the rest as one part, or cut in
/// two when the page suggests more than one page is left (how much of the part's range, read
/// as numbers in `space`, the page covered), so that the two halves are read at once.
fn rest_of(space: &KeySpace, part: Part, next: Item) -> Vec<Part> {
    let page_from = part.start.as_ref().and_then(sort_key).unwrap_or(&part.lo).to_owned();
    let page_to = sort_key(&next).unwrap_or(&part.lo).to_owned();
    let covered = space.covered(&page_from, &page_to, &part.hi);
    let more_than_a_page_left = covered < 0.5;
    let middle = more_than_a_page_left
        .then(|| space.split_points(&page_to, &part.hi, 2).pop())
        .flatten();
    match middle {
        Some(middle) => vec![
            Part {
                lo: part.lo,
                hi: middle.clone(),
                start: Some(next),
            },
            Part {
                lo: middle,
                hi: part.hi,
                start: None,
            },
        ],
        None => vec![Part {
            start: Some(next),
            ..part
        }],
    }
}

/// The users with their strings allocated one after another in user_id order. The pages were
/// decoded on several threads in no order, so each user's strings lay far from its
/// neighbours'; the engine walks the users in order, and did so 1.3 to 1.5 times as fast
/// after this (docs/performance.md). Each user is cloned and its old self dropped at once, in
/// the same vector, so the copy is never held twice.
fn laid_out_in_order(users: Vec<User>) -> Vec<User> {
    #[allow(clippy::map_clone)] // the clone is the point: fresh, consecutive allocations
    let mut users: Vec<User> = users.into_iter().map(|user| user.clone()).collect();
    users.shrink_to_fit();
    users
}

/// One page of a part: its users (as kept), their estimated bytes, and where to resume.
struct Page {
    users: Vec<User>,
    bytes: usize,
    next: Option<Item>,
}

fn too_large(budget: usize) -> StoreError {
    StoreError::DomainTooLarge {
        budget_mb: budget / (1024 * 1024),
    }
}

fn missing_index<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.as_service_error().is_some_and(|s| {
        // DynamoDB: ValidationException "The table does not have the specified index";
        // moto: ResourceNotFoundException "Invalid index".
        matches!(s.code(), Some("ValidationException" | "ResourceNotFoundException"))
            && s.message().is_some_and(|m| m.contains("index"))
    })
}

fn sort_key(item: &Item) -> Option<&str> {
    match item.get(schema::SORT_KEY) {
        Some(AttributeValue::S(sk)) => Some(sk),
        _ => None,
    }
}

/// What a change-index item is.
enum Found {
    Change(Change),
    /// A user written before the upgrade: the table must be read whole.
    NoListBlob,
    Other,
}

/// A change-index item (keys, stamp, list blob and deletion mark) as a change: a user, or a
/// tombstone (in the user's key, or an earlier version's `TOMB#<user_id>`).
fn change_from(item: &Item) -> StoreResult<Found> {
    let stamp: i64 = number(item, schema::CHANGE_ATTRIBUTE)?;
    let Some(sk) = sort_key(item) else {
        return Ok(Found::Other);
    };
    let deleted = if is_tombstone(item) {
        sk.strip_prefix(USER_PREFIX)
    } else {
        sk.strip_prefix(TOMBSTONE_PREFIX)
    };
    if let Some(id) = deleted {
        let user_id = UserId::parse("user_id", id.to_owned())
            .map_err(|_| StoreError::Unavailable("a tombstone with an invalid user_id".into()))?;
        return Ok(Found::Change(Change::Delete { stamp, user_id }));
    }
    if sk.starts_with(USER_PREFIX) {
        return Ok(match user_from_list_blob(item)? {
            Some(user) => Found::Change(Change::Upsert {
                stamp,
                user: Box::new(user),
            }),
            None => Found::NoListBlob,
        });
    }
    Ok(Found::Other)
}

/// What a domain read asks DynamoDB to send of each user.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Items {
    /// The sort key and the list blob.
    Compact,
    /// Every attribute: tables from before the upgrade.
    Full,
}

impl DynamoStore {
    /// The users of `domain`, in user_id order, as they are now (read-your-writes: every
    /// write acknowledged before this call began is in the answer).
    pub(super) async fn domain_users(&self, domain: &DomainId) -> StoreResult<DomainUsers> {
        let partition = partition(domain);
        if !self.legacy_table.load(Ordering::Relaxed) {
            if let Some(users) = self.users_from_copy(&partition).await? {
                return Ok(users);
            }
            self.legacy_table.store(true, Ordering::Relaxed);
            tracing::warn!(
                table = %self.table,
                "the table is from before the change index (no by_change index, or users without their \
                 list blob): every list reads the domain whole; see docs/dynamodb.md, \"Upgrading a table\""
            );
        }
        let whole = self.read_whole(&partition, now_micros(), Items::Full).await?;
        telemetry::domain_read(true, whole.as_ref().map_or(0, |copy| copy.bytes));
        Ok(whole.map(|copy| copy.users).unwrap_or_default())
    }

    /// The users from this process's copy of the domain, made or caught up now; `None` on a
    /// table from before the upgrade.
    async fn users_from_copy(&self, partition: &str) -> StoreResult<Option<DomainUsers>> {
        let slot = self.cache.slot(partition);
        let mut held = slot.lock().await;
        let started = now_micros();
        let (result, cold) = match held.take() {
            Some(copy) if started.saturating_sub(copy.synced_from) < MAX_COPY_AGE_MICROS => {
                (self.catch_up(partition, copy, started).await, false)
            }
            _ => {
                let whole = self.read_whole(partition, started, Items::Compact).await;
                (whole.map(|copy| copy.map(|copy| (copy.bytes, copy))), true)
            }
        };
        match result {
            Ok(Some((read, copy))) => {
                telemetry::domain_read(cold, read);
                let (users, bytes) = (copy.users.clone(), copy.bytes);
                *held = Some(copy);
                drop(held);
                self.cache.settle(partition, &slot, bytes);
                Ok(Some(users))
            }
            other => {
                drop(held);
                self.cache.forget(partition);
                other.map(|_| None)
            }
        }
    }

    /// Brings `copy` up to date: one strongly consistent Query over the change index (more
    /// only if the changes exceed a page). With the copy, the bytes of the users read;
    /// `None` when the table has no change index.
    async fn catch_up(
        &self,
        partition: &str,
        mut copy: DomainCopy,
        started: i64,
    ) -> StoreResult<Option<(usize, DomainCopy)>> {
        let since = copy.synced_from.saturating_sub(self.overlap_micros);
        let mut changes = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(schema::CHANGE_INDEX)
                .key_condition_expression("#pk = :pk AND #chg > :since")
                .set_expression_attribute_names(Some(names(&[
                    ("#pk", schema::PARTITION_KEY),
                    ("#sk", schema::SORT_KEY),
                    ("#chg", schema::CHANGE_ATTRIBUTE),
                    ("#u", schema::LIST_BLOB_ATTRIBUTE),
                    ("#del", schema::DELETED_ATTRIBUTE),
                ])))
                .expression_attribute_values(":pk", s(partition))
                .expression_attribute_values(":since", AttributeValue::N(since.to_string()))
                .projection_expression("#sk, #chg, #u, #del")
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await;
            let page = match page {
                Ok(page) => page,
                Err(e) if missing_index(&e) => return Ok(None),
                Err(e) => return Err(super::sdk_failure("Query", e)),
            };
            for item in page.items.unwrap_or_default() {
                match change_from(&item)? {
                    Found::Change(change) => changes.push(change),
                    Found::Other => {}
                    Found::NoListBlob => return Ok(None),
                }
            }
            match page.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => break,
            }
        }
        let read = changes.iter().map(Change::footprint).sum();
        apply(&mut copy, changes);
        if copy.bytes > self.cache.budget() {
            return Err(too_large(self.cache.budget()));
        }
        copy.synced_from = started;
        Ok(Some((read, copy)))
    }

    /// Reads the domain's users whole: the first page and the last key at once, then the rest
    /// in concurrent key ranges. `None` when compact items were asked for and a user has no
    /// list blob (a table from before the upgrade).
    async fn read_whole(&self, partition: &str, started: i64, items: Items) -> StoreResult<Option<DomainCopy>> {
        let budget = self.cache.budget();
        let first = Part {
            lo: USERS_FROM.into(),
            hi: USERS_TO.into(),
            start: None,
        };
        let (first, last) = tokio::join!(self.read_part(partition, first, items), self.last_user_key(partition));
        let Some(first) = first? else { return Ok(None) };
        if first.bytes > budget {
            return Err(too_large(budget));
        }
        let mut users = first.users;
        let mut bytes = first.bytes;
        let mut pending: VecDeque<Part> = VecDeque::new();
        let mut space = KeySpace::learn([]);
        if let Some(next) = first.next {
            let from = sort_key(&next).unwrap_or(USERS_FROM).to_owned();
            let last = last?.unwrap_or_else(|| USERS_TO.to_owned());
            let keys: Vec<String> = users
                .iter()
                .map(|u| format!("{USER_PREFIX}{}", u.user_id.as_str()))
                .collect();
            space = KeySpace::learn(keys.iter().map(String::as_str).chain([last.as_str()]));
            // As many parts as the first page suggests there are pages left, up to FIRST_PARTS.
            let covered = space.covered(keys.first().map_or(USERS_FROM, String::as_str), &from, &last);
            let pages_left = if covered > 0.0 {
                (1.0 - covered) / covered
            } else {
                f64::MAX
            };
            let parts = pages_left.ceil().clamp(1.0, FIRST_PARTS as f64) as usize;
            let mut bounds = vec![from.clone()];
            bounds.extend(space.split_points(&from, &last, parts));
            bounds.push(last);
            for (i, pair) in bounds.windows(2).enumerate() {
                pending.push_back(Part {
                    lo: pair[0].clone(),
                    hi: pair[1].clone(),
                    start: (i == 0).then(|| next.clone()),
                });
            }
        }
        let mut running = tokio::task::JoinSet::new();
        loop {
            while running.len() < MAX_IN_FLIGHT {
                let Some(part) = pending.pop_front() else { break };
                let (store, partition, request) = (self.clone(), partition.to_owned(), part.clone());
                running.spawn(async move { (part, store.read_part(&partition, request, items).await) });
            }
            let Some(done) = running.join_next().await else { break };
            let (part, page) = done.map_err(|e| StoreError::Unavailable(format!("a domain read stopped: {e}")))?;
            let Some(page) = page? else {
                running.abort_all();
                return Ok(None);
            };
            bytes += page.bytes;
            if bytes > budget {
                running.abort_all();
                return Err(too_large(budget));
            }
            users.extend(page.users);
            if let Some(next) = page.next {
                pending.extend(rest_of(&space, part, next));
            }
        }
        // Neighbouring ranges share their boundary key.
        users.sort_unstable_by(|a, b| a.user_id.as_str().cmp(b.user_id.as_str()));
        users.dedup_by(|a, b| a.user_id == b.user_id);
        let users = laid_out_in_order(users);
        let bytes = users.iter().map(footprint).sum();
        Ok(Some(DomainCopy {
            users: Arc::new(users),
            synced_from: started,
            bytes,
        }))
    }

    /// One page of users in `part`, strongly consistent. `None` when compact items were asked
    /// for and one has no list blob.
    async fn read_part(&self, partition: &str, part: Part, items: Items) -> StoreResult<Option<Page>> {
        let mut names_used = vec![("#pk", schema::PARTITION_KEY), ("#sk", schema::SORT_KEY)];
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi");
        if items == Items::Compact {
            names_used.push(("#u", schema::LIST_BLOB_ATTRIBUTE));
            names_used.push(("#del", schema::DELETED_ATTRIBUTE));
            query = query.projection_expression("#sk, #u, #del");
        }
        let output = query
            .set_expression_attribute_names(Some(names(&names_used)))
            .expression_attribute_values(":pk", s(partition))
            .expression_attribute_values(":lo", s(part.lo))
            .expression_attribute_values(":hi", s(part.hi))
            .consistent_read(true)
            .set_exclusive_start_key(part.start)
            .send()
            .await
            .map_err(|e| super::sdk_failure("Query", e))?;
        let found = output.items.unwrap_or_default();
        let mut users = Vec::with_capacity(found.len());
        let mut bytes = 0;
        for item in found {
            // Deleted users' tombstones share the users' key range; they are no users.
            if is_tombstone(&item) {
                continue;
            }
            let user = match items {
                Items::Compact => match user_from_list_blob(&item)? {
                    Some(user) => user,
                    None => return Ok(None),
                },
                Items::Full => cached(read_user(item)?.item),
            };
            bytes += footprint(&user);
            users.push(user);
        }
        let next = output.last_evaluated_key.filter(|k| !k.is_empty());
        Ok(Some(Page { users, bytes, next }))
    }

    /// The greatest user sort key of the partition (one item, keys only), or `None`.
    async fn last_user_key(&self, partition: &str) -> StoreResult<Option<String>> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
            .set_expression_attribute_names(Some(names(&[
                ("#pk", schema::PARTITION_KEY),
                ("#sk", schema::SORT_KEY),
            ])))
            .expression_attribute_values(":pk", s(partition))
            .expression_attribute_values(":lo", s(USERS_FROM))
            .expression_attribute_values(":hi", s(USERS_TO))
            .projection_expression("#pk, #sk")
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| super::sdk_failure("Query", e))?;
        Ok(output
            .items
            .unwrap_or_default()
            .first()
            .and_then(sort_key)
            .map(str::to_owned))
    }
}
