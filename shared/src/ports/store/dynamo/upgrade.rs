//! The upgrade of a table made before the change index (`users-local upgrade-table`).
//!
//! DynamoDB cannot add a local secondary index to an existing table, so the upgrade copies:
//! it creates the new table exactly as `create-table` does (with `by_change`), then reads the
//! old one with a parallel Scan and writes every item to the new one, giving each user a
//! change stamp and its list blob. It runs once, by the operator, before the functions are pointed at the new
//! table (docs/dynamodb.md, "Upgrading a table"); nothing rewrites a table at request time.
//! Running it again copies again (the same items, written again).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};

use super::item::{is_tombstone, list_blob, read_user};
use super::now_micros;
use super::schema::{self, SetupError, USER_PREFIX};

/// The Scan segments read at once.
const SEGMENTS: i32 = 4;
/// BatchWriteItem takes at most 25 items.
const BATCH: usize = 25;

type Item = HashMap<String, AttributeValue>;

/// What an upgrade did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Upgrade {
    /// Whether the new table was created now (else it existed).
    pub created: bool,
    /// Items copied.
    pub items: usize,
    /// Of them, users given a change stamp and a list blob.
    pub users: usize,
}

impl std::fmt::Display for Upgrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} items copied ({} users given a change stamp and list blob){}",
            self.items,
            self.users,
            if self.created { ", new table created" } else { "" }
        )
    }
}

/// Copies every item of `from` into `to` (created if missing, with the change index).
pub async fn upgrade_table(client: &Client, from: &str, to: &str) -> Result<Upgrade, SetupError> {
    if from == to {
        return Err(SetupError::new(format!(
            "upgrade-table copies into a new table: --to must differ from --from ({from})"
        )));
    }
    let created = schema::create_table(client, to).await?;
    let segments = (0..SEGMENTS).map(|segment| copy_segment(client, from, to, segment));
    let mut upgrade = Upgrade {
        created,
        ..Upgrade::default()
    };
    for result in futures_util::future::join_all(segments).await {
        let (items, users) = result?;
        upgrade.items += items;
        upgrade.users += users;
    }
    Ok(upgrade)
}

/// Copies one Scan segment of `from`, page by page. Returns (items, users stamped).
async fn copy_segment(client: &Client, from: &str, to: &str, segment: i32) -> Result<(usize, usize), SetupError> {
    let (mut items, mut users) = (0, 0);
    let mut start: Option<Item> = None;
    loop {
        let page = client
            .scan()
            .table_name(from)
            .segment(segment)
            .total_segments(SEGMENTS)
            .consistent_read(true)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| SetupError::new(format!("cannot scan {from}: {}", DisplayErrorContext(e))))?;
        let mut batch = Vec::with_capacity(BATCH);
        for mut item in page.items.unwrap_or_default() {
            // Tombstones are copied as they are (with their deletion time and TTL), so revocation
            // survives the upgrade; they already carry a change stamp.
            let is_user = !is_tombstone(&item)
                && matches!(item.get(schema::SORT_KEY), Some(AttributeValue::S(sk)) if sk.starts_with(USER_PREFIX));
            if is_user && prepare_user(&mut item)? {
                users += 1;
            }
            batch.push(item);
            if batch.len() == BATCH {
                items += write_batch(client, to, std::mem::take(&mut batch)).await?;
            }
        }
        if !batch.is_empty() {
            items += write_batch(client, to, batch).await?;
        }
        match page.last_evaluated_key {
            Some(next) if !next.is_empty() => start = Some(next),
            _ => return Ok((items, users)),
        }
    }
}

/// Gives a user item what this version's reads need: a change stamp and the list blob.
/// Returns whether it lacked either.
fn prepare_user(item: &mut Item) -> Result<bool, SetupError> {
    let mut changed = false;
    if !item.contains_key(schema::LIST_BLOB_ATTRIBUTE) {
        let user = read_user(item.clone()).map_err(|e| SetupError::new(format!("a user item: {e}")))?;
        let blob = list_blob(&user.item).map_err(|e| SetupError::new(format!("a user item: {e}")))?;
        item.insert(schema::LIST_BLOB_ATTRIBUTE.into(), blob);
        changed = true;
    }
    if !item.contains_key(schema::CHANGE_ATTRIBUTE) {
        item.insert(
            schema::CHANGE_ATTRIBUTE.into(),
            AttributeValue::N(now_micros().to_string()),
        );
        changed = true;
    }
    Ok(changed)
}

/// Writes up to 25 items, sending again whatever DynamoDB left unprocessed (with back-off).
async fn write_batch(client: &Client, table: &str, items: Vec<Item>) -> Result<usize, SetupError> {
    let requests = items
        .into_iter()
        .map(|item| put_request(item, table))
        .collect::<Result<Vec<_>, _>>()?;
    write_requests(client, table, requests, "upgrade-table").await
}

/// A BatchWriteItem put of `item` into `table`.
pub(super) fn put_request(item: Item, table: &str) -> Result<WriteRequest, SetupError> {
    let put = PutRequest::builder()
        .set_item(Some(item))
        .build()
        .map_err(|e| SetupError::new(format!("an item of {table}: {e}")))?;
    Ok(WriteRequest::builder().put_request(put).build())
}

/// Sends up to 25 puts and deletes in one BatchWriteItem, and again whatever DynamoDB left
/// unprocessed (with back-off); `command` is the one to run again if the table keeps refusing.
pub(super) async fn write_requests(
    client: &Client,
    table: &str,
    mut requests: Vec<WriteRequest>,
    command: &str,
) -> Result<usize, SetupError> {
    let count = requests.len();
    let mut delay = Duration::from_millis(50);
    for _ in 0..10 {
        let output = client
            .batch_write_item()
            .request_items(table, requests)
            .send()
            .await
            .map_err(|e| SetupError::new(format!("cannot write to {table}: {}", DisplayErrorContext(e))))?;
        match output.unprocessed_items.and_then(|mut left| left.remove(table)) {
            Some(left) if !left.is_empty() => requests = left,
            _ => return Ok(count),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
    Err(SetupError::new(format!(
        "{table} kept refusing writes (throttled); run {command} again"
    )))
}
