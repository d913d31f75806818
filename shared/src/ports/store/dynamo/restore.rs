//! Bringing the users back from a point-in-time restore (`users-local restore-users`).
//!
//! DynamoDB restores a table only into a new table, and the stack's functions and change
//! stream stay on the stack's own. So this copies the users of the restored table back into
//! the stack's table, after which every user reads there as the restored table has it
//! (docs/operations.md, "Backups"):
//!
//! - a user or tombstone whose item is the same in both (the same change stamp and version)
//!   is left alone: nothing happened to it after the restore point;
//! - a user that differs, or that was deleted since, is written as the restored one with its
//!   tokens revoked (a password changed or a user disabled since then revoked tokens that the
//!   restored generation would let back in), a version above both and a new change stamp (so
//!   the list functions' copies of the domain catch up);
//! - a user the restored table has deleted, or does not have (created after the restore
//!   point), is deleted now: a new tombstone, so its tokens are refused;
//! - each domain's admin counter is the restored one (it counts the restored users).
//!
//! Codes, reset windows, failed sign-ins and applied provisioning messages stay as the stack's
//! table has them: a restored code could be one spent since. Every write goes through the
//! table's stream, so the event publisher tells consumers what changed back. Run it with
//! writes stopped. Running it again (after an interruption) lands on the same users: what it
//! wrote is written again, with new stamps.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, WriteRequest};

use super::item::{is_tombstone, read_user, tombstone_at, user_item};
use super::schema::{self, ADMINS_KEY, SetupError, USER_PREFIX};
use super::upgrade::put_request as put;
use crate::model::Timestamp;

/// BatchWriteItem takes at most 25 requests.
const BATCH: usize = 25;

type Item = HashMap<String, AttributeValue>;
type Key = (String, String);

/// What a restore did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Restore {
    /// Users and tombstones the same in both tables.
    pub unchanged: usize,
    /// Users written back as the restored table has them, their tokens revoked.
    pub restored: usize,
    /// Users deleted: deleted in the restored table, or not in it.
    pub deleted: usize,
    /// Admin counters written or removed.
    pub counters: usize,
}

impl std::fmt::Display for Restore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} users restored (their tokens revoked), {} deleted, {} unchanged; {} admin counters",
            self.restored, self.deleted, self.unchanged, self.counters
        )
    }
}

/// What the stack's table holds at a user's or counter's key.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Held {
    version: Option<String>,
    stamp: Option<String>,
    tombstone: bool,
}

/// Copies the users and admin counters of `restored` (a table restored from `table`'s
/// point-in-time recovery) back into `table`.
pub async fn restore_users(client: &Client, restored: &str, table: &str) -> Result<Restore, SetupError> {
    if restored == table {
        return Err(SetupError::new(format!(
            "restore-users copies from the restored table into the stack's: --from must differ from --to ({table})"
        )));
    }
    let mut held: HashMap<Key, Held> = HashMap::new();
    let mut pages = Pages::new(client, table, true);
    while let Some(page) = pages.next().await? {
        for item in page {
            if let Some(key) = restorable_key(&item) {
                let entry = Held {
                    version: number(&item, "version"),
                    stamp: number(&item, schema::CHANGE_ATTRIBUTE),
                    tombstone: is_tombstone(&item),
                };
                held.insert(key, entry);
            }
        }
    }
    let now = Timestamp::new(chrono::Utc::now());
    let mut restore = Restore::default();
    let mut writes = Vec::new();
    let mut pages = Pages::new(client, restored, false);
    while let Some(page) = pages.next().await? {
        for item in page {
            let Some(key) = restorable_key(&item) else { continue };
            let current = held.remove(&key);
            let write = if key.1 == ADMINS_KEY {
                restore.counters += 1;
                Some(put(item, table)?)
            } else if is_tombstone(&item) {
                match current {
                    Some(Held { tombstone: false, .. }) => {
                        restore.deleted += 1;
                        Some(put(tombstone_at(key_item(&key)), table)?)
                    }
                    _ => {
                        restore.unchanged += 1;
                        None
                    }
                }
            } else {
                let same = current.as_ref().is_some_and(|held| {
                    !held.tombstone
                        && held.stamp.is_some()
                        && held.stamp == number(&item, schema::CHANGE_ATTRIBUTE)
                        && held.version == number(&item, "version")
                });
                if same {
                    restore.unchanged += 1;
                    None
                } else {
                    restore.restored += 1;
                    Some(put(revoked(item, current.as_ref(), now)?, table)?)
                }
            };
            writes.extend(write);
            if writes.len() == BATCH {
                super::upgrade::write_requests(client, table, std::mem::take(&mut writes), "restore-users").await?;
            }
        }
    }
    // What the restored table does not have: users created after the restore point, and the
    // counters of domains that had no admin then.
    let mut left: Vec<(Key, Held)> = held.into_iter().collect();
    left.sort_by(|a, b| a.0.cmp(&b.0));
    for (key, entry) in left {
        let write = if key.1 == ADMINS_KEY {
            restore.counters += 1;
            let delete = DeleteRequest::builder()
                .set_key(Some(key_item(&key)))
                .build()
                .map_err(|e| SetupError::new(format!("a key of {table}: {e}")))?;
            WriteRequest::builder().delete_request(delete).build()
        } else if entry.tombstone {
            restore.unchanged += 1;
            continue;
        } else {
            restore.deleted += 1;
            put(tombstone_at(key_item(&key)), table)?
        };
        writes.push(write);
        if writes.len() == BATCH {
            super::upgrade::write_requests(client, table, std::mem::take(&mut writes), "restore-users").await?;
        }
    }
    if !writes.is_empty() {
        super::upgrade::write_requests(client, table, writes, "restore-users").await?;
    }
    Ok(restore)
}

/// The key of a user, a tombstone or an admin counter; `None` for every other item.
fn restorable_key(item: &Item) -> Option<Key> {
    let (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk))) =
        (item.get(schema::PARTITION_KEY), item.get(schema::SORT_KEY))
    else {
        return None;
    };
    (sk.starts_with(USER_PREFIX) || sk == ADMINS_KEY).then(|| (pk.clone(), sk.clone()))
}

fn key_item((pk, sk): &Key) -> Item {
    schema::key(pk.clone(), sk.clone())
}

fn number(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::N(n)) => Some(n.clone()),
        _ => None,
    }
}

/// The restored user, its tokens revoked now, at a version above both tables' and with a new
/// change stamp and list blob.
fn revoked(item: Item, current: Option<&Held>, now: Timestamp) -> Result<Item, SetupError> {
    let mut user = read_user(item).map_err(|e| SetupError::new(format!("a restored user: {e}")))?;
    user.item.revoke_tokens(now);
    let held = current
        .and_then(|held| held.version.as_deref())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let version = user.version.max(held).saturating_add(1);
    user_item(&user.item, version).map_err(|e| SetupError::new(format!("a restored user: {e}")))
}

/// A strongly consistent Scan of a table, page by page (only the keys and what tells a change
/// when `keys_only`), so that a large table is never held whole.
struct Pages<'a> {
    client: &'a Client,
    table: &'a str,
    keys_only: bool,
    start: Option<Item>,
    done: bool,
}

impl<'a> Pages<'a> {
    fn new(client: &'a Client, table: &'a str, keys_only: bool) -> Self {
        Self {
            client,
            table,
            keys_only,
            start: None,
            done: false,
        }
    }

    async fn next(&mut self) -> Result<Option<Vec<Item>>, SetupError> {
        if self.done {
            return Ok(None);
        }
        let mut request = self
            .client
            .scan()
            .table_name(self.table)
            .consistent_read(true)
            .set_exclusive_start_key(self.start.take());
        if self.keys_only {
            request = request
                .projection_expression("#pk, #sk, #version, #chg, #deleted")
                .expression_attribute_names("#pk", schema::PARTITION_KEY)
                .expression_attribute_names("#sk", schema::SORT_KEY)
                .expression_attribute_names("#version", "version")
                .expression_attribute_names("#chg", schema::CHANGE_ATTRIBUTE)
                .expression_attribute_names("#deleted", schema::DELETED_ATTRIBUTE);
        }
        let page = request
            .send()
            .await
            .map_err(|e| SetupError::new(format!("cannot scan {}: {}", self.table, DisplayErrorContext(e))))?;
        match page.last_evaluated_key {
            Some(next) if !next.is_empty() => self.start = Some(next),
            _ => self.done = true,
        }
        Ok(Some(page.items.unwrap_or_default()))
    }
}
