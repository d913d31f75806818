//! The DynamoDB store: one table, single-table design (docs/dynamodb.md has the whole key design
//! and the request each access pattern costs).
//!
//! Every item of a domain lives in one item collection, partition key `DOMAIN#<domain_id>`:
//! - `USER#<user_id>`: the user, its fields as top-level attributes, plus `version`; or, for
//!   8 days after a delete, the user's tombstone (`deleted_ms`, the change stamp, a TTL), so
//!   the one read revocation does finds it (SPEC section 5);
//! - `CODE#<purpose>#<user_id>`: a pending verification code, with a TTL;
//! - `RESET#<user_id>`: the reset-mail window, with a TTL;
//! - `SIGNIN#<user_id>`: the failed sign-in count and its window (the lock), with a TTL;
//! - `MESSAGE#<message id>`: an applied provisioning message, remembered until a TTL;
//! - `ADMINS`: the number of enabled DOMAIN_ADMINs, changed in the same transaction as the user.
//!
//! Invariants are enforced by DynamoDB itself (condition expressions and `TransactWriteItems`),
//! never by a read followed by an unconditional write, so concurrent Lambdas cannot break them.
//! TTL deletion is lazy, so expiry is also checked on every read.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::builders::{DeleteBuilder, PutBuilder, UpdateBuilder};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, ReturnValue, TransactWriteItem, Update};

use super::{
    CodeChange, CodePurpose, CodeRecord, DomainUsers, MAX_CODE_ATTEMPTS, MAX_SIGN_IN_FAILURES, Record, SIGN_IN_WINDOW,
    SignInClaim, StoreError, StoreResult, Tombstone, UserStore, admin_delta,
};
use crate::model::{DomainId, Timestamp, User, UserId, Versioned};

mod domain_cache;
mod domain_read;
pub mod key_range;
pub mod schema;
pub mod upgrade;

pub use domain_read::{OVERLAP_MICROS, TOMBSTONE_LIFETIME_SECONDS, now_micros};

type Item = HashMap<String, AttributeValue>;

const USER_PREFIX: &str = "USER#";
/// The separate tombstone items of earlier versions (`TOMB#<user_id>`, one day). This version
/// writes the tombstone in the user's own key; the change index still reads these as deletes
/// until they expire.
const TOMBSTONE_PREFIX: &str = "TOMB#";
const ADMINS_KEY: &str = "ADMINS";

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    /// The copies of the domains this process lists, shared by every clone of the store.
    cache: Arc<domain_cache::DomainCache>,
    /// Set once a read found the table is from before the upgrade (no change index, or users
    /// without their list blob): domains are then read whole and not kept.
    legacy_table: Arc<AtomicBool>,
    /// How far before the previous catch-up's start the next one reads ([`OVERLAP_MICROS`]).
    overlap_micros: i64,
}

/// The byte budget of the domain copies when none is configured and the process is not a
/// Lambda function (`crate::app::domain_copy_budget`): 256 MB.
pub const DEFAULT_DOMAIN_COPY_BYTES: usize = 256 * 1024 * 1024;

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self::with_domain_budget(client, table, DEFAULT_DOMAIN_COPY_BYTES)
    }

    /// A store whose domain copies may hold `budget` bytes (by estimate); a domain larger
    /// than that is refused with [`StoreError::DomainTooLarge`].
    pub fn with_domain_budget(client: Client, table: impl Into<String>, budget: usize) -> Self {
        Self {
            client,
            table: table.into(),
            cache: Arc::new(domain_cache::DomainCache::new(budget)),
            legacy_table: Arc::new(AtomicBool::new(false)),
            overlap_micros: OVERLAP_MICROS,
        }
    }

    /// The same store with another catch-up overlap: tests shorten it to see a warm list
    /// with nothing changed without waiting a minute. Production keeps [`OVERLAP_MICROS`].
    pub fn with_change_overlap(mut self, overlap: std::time::Duration) -> Self {
        self.overlap_micros = i64::try_from(overlap.as_micros()).unwrap_or(i64::MAX);
        self
    }

    /// The estimated bytes the domain copies hold now.
    pub fn domain_copy_bytes(&self) -> usize {
        self.cache.held_bytes()
    }

    /// One more failure in a live window: a conditional `ADD`, so parallel claims each get
    /// their own count. `None` when there is no live window or it is exhausted (locked).
    async fn count_sign_in(&self, item_key: &Item, now: Timestamp) -> StoreResult<Option<u32>> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key.clone()))
            .update_expression("ADD #f :one")
            .condition_expression("#w > :now AND #f < :max")
            .set_expression_attribute_names(Some(names(&[("#f", "failures"), ("#w", "window_ends_ms")])))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(millis(now)))
            .expression_attribute_values(":max", n(MAX_SIGN_IN_FAILURES))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match result {
            Ok(output) => Ok(Some(number(&output.attributes.unwrap_or_default(), "failures")?)),
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(sdk_failure("UpdateItem", e)),
        }
    }

    /// Opens a new window with this attempt as its first, unless a live one exists.
    async fn open_sign_in_window(&self, item_key: &Item, now: Timestamp) -> StoreResult<bool> {
        let ends = Timestamp::new(now.at() + SIGN_IN_WINDOW);
        let mut item = item_key.clone();
        item.insert("failures".into(), n(1));
        item.insert("window_ends_ms".into(), n(millis(ends)));
        item.insert(schema::TTL_ATTRIBUTE.into(), n(expiry_epoch(ends)));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#sk) OR #w <= :now")
            .set_expression_attribute_names(Some(names(&[("#sk", schema::SORT_KEY), ("#w", "window_ends_ms")])))
            .expression_attribute_values(":now", n(millis(now)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(sdk_failure("PutItem", e)),
        }
    }

    /// The last attempt of a window locks: the window now ends 15 minutes after it.
    async fn lock_sign_in(&self, item_key: &Item, now: Timestamp) -> StoreResult<()> {
        let ends = Timestamp::new(now.at() + SIGN_IN_WINDOW);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key.clone()))
            .update_expression("SET #w = :ends, #ttl = :ttl")
            .condition_expression("attribute_exists(#f)")
            .set_expression_attribute_names(Some(names(&[
                ("#f", "failures"),
                ("#w", "window_ends_ms"),
                ("#ttl", schema::TTL_ATTRIBUTE),
            ])))
            .expression_attribute_values(":ends", n(millis(ends)))
            .expression_attribute_values(":ttl", n(expiry_epoch(ends)))
            .send()
            .await;
        match result {
            // Cleared by a success meanwhile: nothing left to lock.
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(sdk_failure("UpdateItem", e)),
        }
    }

    /// Puts the item at `item_key` with `until_ms = until` (and the TTL) unless one is there
    /// that lasts past `now`: the reset window and the message record. True if it was put.
    async fn claim_until(&self, item_key: Item, now: Timestamp, until: Timestamp) -> StoreResult<bool> {
        let mut item = item_key;
        item.insert("until_ms".into(), n(millis(until)));
        item.insert(schema::TTL_ATTRIBUTE.into(), n(expiry_epoch(until)));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#sk) OR #u <= :now")
            .set_expression_attribute_names(Some(names(&[("#sk", schema::SORT_KEY), ("#u", "until_ms")])))
            .expression_attribute_values(":now", n(millis(now)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk_failure("PutItem", e)),
        }
    }
}

/// Whether a request failed only because its condition did not hold.
fn condition_failed<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.as_service_error()
        .and_then(|s| s.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// An SDK failure that is not a condition the store expected: logged in full (it never holds
/// user data), reported as unavailable.
fn sdk_failure<E, R>(operation: &'static str, e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let detail = aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string();
    tracing::warn!(operation, error = %detail, "DynamoDB request failed");
    StoreError::Unavailable(format!("DynamoDB {operation} failed"))
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn partition(domain: &DomainId) -> String {
    format!("DOMAIN#{}", domain.as_str())
}

fn user_sort(user_id: &UserId) -> String {
    format!("{USER_PREFIX}{}", user_id.as_str())
}

fn code_sort(user_id: &UserId, purpose: CodePurpose) -> String {
    format!("CODE#{}#{}", purpose.as_str(), user_id.as_str())
}

fn reset_sort(user_id: &UserId) -> String {
    format!("RESET#{}", user_id.as_str())
}

fn sign_in_sort(user_id: &UserId) -> String {
    format!("SIGNIN#{}", user_id.as_str())
}

fn message_sort(id: &str) -> String {
    format!("MESSAGE#{id}")
}

fn key(pk: String, sk: String) -> Item {
    HashMap::from([(schema::PARTITION_KEY.into(), s(pk)), (schema::SORT_KEY.into(), s(sk))])
}

fn user_key(domain: &DomainId, user_id: &UserId) -> Item {
    key(partition(domain), user_sort(user_id))
}

fn millis(at: Timestamp) -> i64 {
    at.at().timestamp_millis()
}

/// The TTL attribute: whole seconds, rounded up so DynamoDB never deletes an item early.
fn expiry_epoch(at: Timestamp) -> i64 {
    millis(at).div_euclid(1000) + 1
}

/// The item a user is written as: its fields as attributes (readable in the console and in
/// the change stream), the keys, `version`, the change stamp, and the list blob. Public so
/// that benches can build tables of it.
pub fn user_item(user: &User, version: u64) -> StoreResult<Item> {
    let mut item: Item = serde_dynamo::to_item(user).map_err(unavailable)?;
    item.extend(user_key(&user.domain_id, &user.user_id));
    item.insert("version".into(), n(version));
    item.insert(schema::CHANGE_ATTRIBUTE.into(), n(now_micros()));
    item.insert(schema::LIST_BLOB_ATTRIBUTE.into(), list_blob(user)?);
    Ok(item)
}

/// The format byte that starts a list blob.
const LIST_BLOB_FORMAT: u8 = 1;

/// The user as list and stat read it: postcard after a format byte, without the password
/// hash. A domain read projects only this (and the keys), so DynamoDB sends a quarter of the
/// bytes and the SDK parses one string per user instead of twenty attributes.
fn list_blob(user: &User) -> StoreResult<AttributeValue> {
    let listed = User {
        password_hash: None,
        ..user.clone()
    };
    let mut bytes = vec![LIST_BLOB_FORMAT];
    bytes.extend(postcard::to_stdvec(&listed).map_err(unavailable)?);
    Ok(AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(bytes)))
}

/// The user in an item's list blob; `None` when the item has none (written before the upgrade).
fn user_from_list_blob(item: &Item) -> StoreResult<Option<User>> {
    let Some(AttributeValue::B(blob)) = item.get(schema::LIST_BLOB_ATTRIBUTE) else {
        return Ok(None);
    };
    match blob.as_ref().split_first() {
        Some((&LIST_BLOB_FORMAT, rest)) => postcard::from_bytes(rest).map(Some).map_err(unavailable),
        _ => Err(StoreError::Unavailable("a list blob of an unknown format".into())),
    }
}

/// The tombstone a delete leaves in the user's own key (SPEC section 5): when it was deleted
/// and the change stamp (so other functions' copies of the domain learn of the delete,
/// `domain_read.rs`), expiring after [`TOMBSTONE_LIFETIME_SECONDS`].
fn tombstone_item(domain: &DomainId, user_id: &UserId) -> Item {
    let stamp = now_micros();
    let mut item = user_key(domain, user_id);
    item.insert(schema::DELETED_ATTRIBUTE.into(), n(stamp / 1000));
    item.insert(schema::CHANGE_ATTRIBUTE.into(), n(stamp));
    item.insert(
        schema::TTL_ATTRIBUTE.into(),
        n(stamp / 1_000_000 + TOMBSTONE_LIFETIME_SECONDS + 1),
    );
    item
}

/// Whether a `USER#` item is a tombstone.
fn is_tombstone(item: &Item) -> bool {
    item.contains_key(schema::DELETED_ATTRIBUTE)
}

/// A `USER#` item as what it is: the user, or a live tombstone (an expired one that TTL has
/// not removed yet reads as nothing).
fn read_record(item: Item) -> StoreResult<Record> {
    if !is_tombstone(&item) {
        return read_user(item).map(Record::User);
    }
    Tombstone::read(number(&item, schema::DELETED_ATTRIBUTE)?)
}

fn read_user(item: Item) -> StoreResult<Versioned<User>> {
    let version = number(&item, "version")?;
    let user: User = serde_dynamo::from_item(item).map_err(unavailable)?;
    Ok(Versioned { item: user, version })
}

/// Makes a lone create PutItem safe to send twice. The SDK retries a request whose answer was
/// lost (a timeout, a 5xx), and a create that had landed would then fail its own
/// `attribute_not_exists` condition and answer ERROR_NOT_UNIQUE for a user it created. The
/// item carries a random `create_token`, and the condition also accepts the very item this
/// request wrote: the retry rewrites the same item and succeeds. The token goes with the
/// first later write of the user (which replaces the whole item), so a retry can never
/// overwrite a user that changed meanwhile. (A create that also moves the admin count is a
/// TransactWriteItems, which the SDK makes idempotent with its ClientRequestToken.)
fn retry_safe_create(step: &mut Step) {
    let Some(put) = step.write.put.as_mut() else { return };
    let token = crate::secrets::random_hex(16);
    put.item.insert(CREATE_TOKEN.into(), s(token.clone()));
    put.condition_expression = Some(format!("{ABSENT_OR_TOMBSTONE} OR #t = :t"));
    put.expression_attribute_names
        .get_or_insert_with(Default::default)
        .insert("#t".into(), CREATE_TOKEN.into());
    put.expression_attribute_values
        .get_or_insert_with(Default::default)
        .insert(":t".into(), s(token));
}

/// The attribute a create writes for [`retry_safe_create`].
const CREATE_TOKEN: &str = "create_token";

/// The condition of a create: no user at the key (nothing, or a tombstone the create replaces).
/// Names `#sk` and `#del`.
const ABSENT_OR_TOMBSTONE: &str = "(attribute_not_exists(#sk) OR attribute_exists(#del))";

/// The user in an item image of the table's change stream (`NewImage`/`OldImage`): `None`
/// when the image is absent (the item did not exist on that side of the change) or the item
/// is not a user (a tombstone, a code, a message record, the admin counter). So a delete, which
/// replaces the user with its tombstone, reads as a user going away, a create over a tombstone
/// as a user appearing, and a tombstone's expiry as nothing.
pub fn user_from_image(image: serde_dynamo::Item) -> StoreResult<Option<Versioned<User>>> {
    let item: Item = image.into();
    let is_user = !is_tombstone(&item)
        && matches!(item.get(schema::SORT_KEY), Some(AttributeValue::S(sk)) if sk.starts_with(USER_PREFIX));
    if !is_user {
        return Ok(None);
    }
    read_user(item).map(Some)
}

/// `(domain_id, user_id)` when a change-stream record is the one that locked a sign-in: a
/// `SIGNIN#` item whose count reached the limit with this change.
pub fn sign_in_lock_from_images(old: &serde_dynamo::Item, new: &serde_dynamo::Item) -> Option<(String, String)> {
    use serde_dynamo::AttributeValue as Image;
    // Read in place: every record of the stream passes here, users included.
    let text = |name: &str| match new.get(name) {
        Some(Image::S(s)) => Some(s.as_str()),
        _ => None,
    };
    let user_id = text(schema::SORT_KEY)?.strip_prefix("SIGNIN#")?;
    let failures = |image: &serde_dynamo::Item| match image.get("failures") {
        Some(Image::N(n)) => n.parse::<u32>().unwrap_or(0),
        _ => 0,
    };
    if failures(new) < MAX_SIGN_IN_FAILURES || failures(old) >= MAX_SIGN_IN_FAILURES {
        return None;
    }
    let domain_id = text(schema::PARTITION_KEY)?.strip_prefix("DOMAIN#")?;
    Some((domain_id.to_string(), user_id.to_string()))
}

fn number<T: std::str::FromStr>(item: &Item, name: &str) -> StoreResult<T> {
    match item.get(name) {
        Some(AttributeValue::N(text)) => text
            .parse()
            .map_err(|_| StoreError::Unavailable(format!("stored {name} is not a number"))),
        _ => Err(StoreError::Unavailable(format!("stored item has no {name}"))),
    }
}

fn code_item(code: &CodeRecord) -> StoreResult<Item> {
    let mut item: Item = serde_dynamo::to_item(code).map_err(unavailable)?;
    item.extend(key(partition(&code.domain_id), code_sort(&code.user_id, code.purpose)));
    item.insert("expires_ms".into(), n(millis(code.expires_at)));
    item.insert(schema::TTL_ATTRIBUTE.into(), n(expiry_epoch(code.expires_at)));
    Ok(item)
}

/// The `#name` placeholders every expression here uses, so no attribute name ever collides
/// with one of DynamoDB's reserved words.
fn names(list: &[(&str, &str)]) -> HashMap<String, String> {
    list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// One write of a transaction and the error its failed condition means.
struct Step {
    write: TransactWriteItem,
    on_condition_failure: StoreError,
}

impl Step {
    fn put(put: PutBuilder, on_condition_failure: StoreError) -> StoreResult<Self> {
        let write = TransactWriteItem::builder()
            .put(put.build().map_err(unavailable)?)
            .build();
        Ok(Self {
            write,
            on_condition_failure,
        })
    }

    fn update(update: UpdateBuilder, on_condition_failure: StoreError) -> StoreResult<Self> {
        let write = TransactWriteItem::builder()
            .update(update.build().map_err(unavailable)?)
            .build();
        Ok(Self {
            write,
            on_condition_failure,
        })
    }

    fn delete(delete: DeleteBuilder, on_condition_failure: StoreError) -> StoreResult<Self> {
        let write = TransactWriteItem::builder()
            .delete(delete.build().map_err(unavailable)?)
            .build();
        Ok(Self {
            write,
            on_condition_failure,
        })
    }
}

impl DynamoStore {
    fn put_user(&self, user: &User, version: u64, condition: UserCondition) -> StoreResult<Step> {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(user_item(user, version)?));
        let on_condition_failure = match condition {
            UserCondition::Absent => {
                put = put
                    .condition_expression(ABSENT_OR_TOMBSTONE)
                    .set_expression_attribute_names(Some(names(&[
                        ("#sk", schema::SORT_KEY),
                        ("#del", schema::DELETED_ATTRIBUTE),
                    ])));
                StoreError::NotUnique
            }
            UserCondition::AtVersion(v) => {
                put = put
                    .condition_expression("#v = :v")
                    .set_expression_attribute_names(Some(names(&[("#v", "version")])))
                    .expression_attribute_values(":v", n(v));
                StoreError::Conflict
            }
        };
        Step::put(put, on_condition_failure)
    }

    /// Moves the domain's admin counter by `delta`; a decrease is conditional on leaving at
    /// least one enabled admin.
    fn admin_count(&self, domain: &DomainId, delta: i64) -> StoreResult<Step> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(partition(domain), ADMINS_KEY.into())))
            .update_expression("ADD #c :d")
            .set_expression_attribute_names(Some(names(&[("#c", "admins")])))
            .expression_attribute_values(":d", n(delta));
        if delta < 0 {
            update = update
                .condition_expression("#c >= :min")
                .expression_attribute_values(":min", n(1 - delta));
        }
        Step::update(update, StoreError::LastAdmin)
    }

    /// An unconditional delete (its condition cannot fail).
    fn delete(&self, item_key: Item) -> StoreResult<Step> {
        let delete = Delete::builder().table_name(&self.table).set_key(Some(item_key));
        Step::delete(delete, StoreError::Conflict)
    }

    fn code_step(&self, user: &User, change: &CodeChange) -> StoreResult<Option<Step>> {
        let step = match change {
            CodeChange::None => return Ok(None),
            CodeChange::Issue(code) => Step::put(
                Put::builder().table_name(&self.table).set_item(Some(code_item(code)?)),
                StoreError::CodeGone,
            )?,
            // Consumed only if it is still the very code that was checked.
            CodeChange::Consume(code) => {
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(
                        partition(&code.domain_id),
                        code_sort(&code.user_id, code.purpose),
                    )))
                    .condition_expression("#d.#h = :h")
                    .set_expression_attribute_names(Some(names(&[("#d", "digest"), ("#h", "hash")])))
                    .expression_attribute_values(":h", s(code.digest.hash.clone()));
                Step::delete(delete, StoreError::CodeGone)?
            }
            CodeChange::Discard(purpose) => {
                self.delete(key(partition(&user.domain_id), code_sort(&user.user_id, *purpose)))?
            }
        };
        Ok(Some(step))
    }

    /// Applies the steps: one conditional request when there is one step (cheaper, and the
    /// common case), one `TransactWriteItems` otherwise. A failed condition is reported as the
    /// error of the first step whose condition failed.
    async fn commit(&self, mut steps: Vec<Step>) -> StoreResult<()> {
        if steps.len() == 1 {
            let step = steps.remove(0);
            return self.write_one(step).await;
        }
        let (writes, errors): (Vec<_>, Vec<_>) = steps.into_iter().map(|s| (s.write, s.on_condition_failure)).unzip();
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await;
        let Err(e) = result else {
            return Ok(());
        };
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
        match e.as_service_error() {
            Some(E::TransactionCanceledException(cancel)) => {
                let reasons = cancel.cancellation_reasons();
                let failed = reasons.iter().position(|r| r.code() == Some("ConditionalCheckFailed"));
                if let Some(index) = failed {
                    return Err(errors.into_iter().nth(index).unwrap_or(StoreError::Conflict));
                }
                // Cancelled because another transaction touched the same items: a lost race.
                if reasons.iter().any(|r| r.code() == Some("TransactionConflict")) {
                    return Err(StoreError::Conflict);
                }
                Err(sdk_failure("TransactWriteItems", e))
            }
            Some(E::TransactionInProgressException(_)) => Err(StoreError::Conflict),
            _ => Err(sdk_failure("TransactWriteItems", e)),
        }
    }

    /// A single step as its plain request (PutItem, UpdateItem or DeleteItem).
    async fn write_one(&self, step: Step) -> StoreResult<()> {
        let Step {
            write,
            on_condition_failure,
        } = step;
        if let Some(put) = write.put {
            let result = self
                .client
                .put_item()
                .table_name(put.table_name)
                .set_item(Some(put.item))
                .set_condition_expression(put.condition_expression)
                .set_expression_attribute_names(put.expression_attribute_names)
                .set_expression_attribute_values(put.expression_attribute_values)
                .send()
                .await;
            return single_outcome("PutItem", result.map(drop), on_condition_failure);
        }
        if let Some(update) = write.update {
            let result = self
                .client
                .update_item()
                .table_name(update.table_name)
                .set_key(Some(update.key))
                .update_expression(update.update_expression)
                .set_condition_expression(update.condition_expression)
                .set_expression_attribute_names(update.expression_attribute_names)
                .set_expression_attribute_values(update.expression_attribute_values)
                .send()
                .await;
            return single_outcome("UpdateItem", result.map(drop), on_condition_failure);
        }
        if let Some(delete) = write.delete {
            let result = self
                .client
                .delete_item()
                .table_name(delete.table_name)
                .set_key(Some(delete.key))
                .set_condition_expression(delete.condition_expression)
                .set_expression_attribute_names(delete.expression_attribute_names)
                .set_expression_attribute_values(delete.expression_attribute_values)
                .send()
                .await;
            return single_outcome("DeleteItem", result.map(drop), on_condition_failure);
        }
        Err(StoreError::Unavailable("empty write".into()))
    }

    fn user_steps(&self, before: Option<&User>, after: &User, condition: UserCondition) -> StoreResult<Vec<Step>> {
        let mut steps = vec![self.put_user(after, next_version(condition), condition)?];
        let delta = admin_delta(before, Some(after));
        if delta != 0 {
            steps.push(self.admin_count(&after.domain_id, delta)?);
        }
        Ok(steps)
    }
}

/// The outcome of a single conditional request: a failed condition is the step's own error.
fn single_outcome<E, R>(
    operation: &'static str,
    result: Result<(), SdkError<E, R>>,
    on_condition_failure: StoreError,
) -> StoreResult<()>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.as_service_error().and_then(|s| s.code()) == Some("ConditionalCheckFailedException") => {
            Err(on_condition_failure)
        }
        Err(e) => Err(sdk_failure(operation, e)),
    }
}

#[derive(Clone, Copy)]
enum UserCondition {
    Absent,
    AtVersion(u64),
}

fn next_version(condition: UserCondition) -> u64 {
    match condition {
        UserCondition::Absent => 1,
        UserCondition::AtVersion(v) => v + 1,
    }
}

#[async_trait]
impl UserStore for DynamoStore {
    async fn get_record(&self, domain: &DomainId, user_id: &UserId) -> StoreResult<Record> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(user_key(domain, user_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_failure("GetItem", e))?;
        output.item.map_or(Ok(Record::Absent), read_record)
    }

    async fn get_record_pair(
        &self,
        domain: &DomainId,
        first: &UserId,
        second: &UserId,
    ) -> StoreResult<(Record, Record)> {
        // A batch may not name one key twice.
        if first == second {
            let record = self.get_record(domain, first).await?;
            return Ok((record.clone(), record));
        }
        let wanted = [user_key(domain, first), user_key(domain, second)];
        let mut keys = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
            .consistent_read(true)
            .set_keys(Some(wanted.to_vec()))
            .build()
            .map_err(unavailable)?;
        let mut found: Vec<(String, Record)> = Vec::with_capacity(2);
        // BatchGetItem may leave keys unprocessed under throttling; ask again for those only.
        for _ in 0..4 {
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, keys)
                .send()
                .await
                .map_err(|e| sdk_failure("BatchGetItem", e))?;
            for item in output
                .responses
                .and_then(|mut r| r.remove(&self.table))
                .unwrap_or_default()
            {
                let sk = match item.get(schema::SORT_KEY) {
                    Some(AttributeValue::S(sk)) => sk.clone(),
                    _ => return Err(StoreError::Unavailable("an item without its sort key".into())),
                };
                found.push((sk, read_record(item)?));
            }
            match output.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                Some(rest) if !rest.keys.is_empty() => keys = rest,
                _ => {
                    let mut take = |id: &UserId| {
                        let sk = user_sort(id);
                        found
                            .iter()
                            .position(|(key, _)| key == &sk)
                            .map_or(Record::Absent, |i| found.swap_remove(i).1)
                    };
                    let one = take(first);
                    return Ok((one, take(second)));
                }
            }
        }
        Err(StoreError::Unavailable("BatchGetItem left keys unprocessed".into()))
    }

    async fn claim_sign_in(&self, domain: &DomainId, user_id: &UserId, now: Timestamp) -> StoreResult<SignInClaim> {
        let item_key = key(partition(domain), sign_in_sort(user_id));
        // Open a new window (the common case: a success cleared the last one); failing that,
        // count in the live one. Either step fails only when another request changed the item
        // in between, so a few rounds settle it; a window still refusing both is an exhausted
        // one: locked.
        for _ in 0..3 {
            if self.open_sign_in_window(&item_key, now).await? {
                return Ok(SignInClaim::Granted { locks: false });
            }
            if let Some(failures) = self.count_sign_in(&item_key, now).await? {
                let locks = failures >= MAX_SIGN_IN_FAILURES;
                if locks {
                    self.lock_sign_in(&item_key, now).await?;
                }
                return Ok(SignInClaim::Granted { locks });
            }
        }
        Ok(SignInClaim::Locked)
    }

    async fn clear_sign_in(&self, domain: &DomainId, user_id: &UserId) -> StoreResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(partition(domain), sign_in_sort(user_id))))
            .send()
            .await
            .map_err(|e| sdk_failure("DeleteItem", e))?;
        Ok(())
    }

    async fn create_user(&self, user: &User) -> StoreResult<Versioned<User>> {
        let mut steps = self.user_steps(None, user, UserCondition::Absent)?;
        if let [step] = steps.as_mut_slice() {
            retry_safe_create(step);
        }
        self.commit(steps).await?;
        Ok(Versioned {
            item: user.clone(),
            version: 1,
        })
    }

    async fn save_user(
        &self,
        before: &Versioned<User>,
        after: &User,
        code: CodeChange,
    ) -> StoreResult<Versioned<User>> {
        let condition = UserCondition::AtVersion(before.version);
        let mut steps = self.user_steps(Some(&before.item), after, condition)?;
        steps.extend(self.code_step(after, &code)?);
        self.commit(steps).await?;
        Ok(Versioned {
            item: after.clone(),
            version: next_version(condition),
        })
    }

    async fn delete_user(&self, before: &Versioned<User>) -> StoreResult<()> {
        let user = &before.item;
        let (domain, user_id) = (&user.domain_id, &user.user_id);
        // The user's item becomes its tombstone, if the user is still at the version read.
        let tombstone = Put::builder()
            .table_name(&self.table)
            .set_item(Some(tombstone_item(domain, user_id)))
            .condition_expression("#v = :v")
            .set_expression_attribute_names(Some(names(&[("#v", "version")])))
            .expression_attribute_values(":v", n(before.version));
        let mut steps = vec![Step::put(tombstone, StoreError::Conflict)?];
        let delta = admin_delta(Some(user), None);
        if delta != 0 {
            steps.push(self.admin_count(domain, delta)?);
        }
        for purpose in CodePurpose::ALL {
            steps.push(self.delete(key(partition(domain), code_sort(user_id, purpose)))?);
        }
        steps.push(self.delete(key(partition(domain), reset_sort(user_id)))?);
        steps.push(self.delete(key(partition(domain), sign_in_sort(user_id)))?);
        self.commit(steps).await
    }

    async fn issue_code(&self, code: &CodeRecord) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(code_item(code)?))
            .send()
            .await
            .map_err(|e| sdk_failure("PutItem", e))?;
        Ok(())
    }

    async fn take_code_attempt(
        &self,
        domain: &DomainId,
        user_id: &UserId,
        purpose: CodePurpose,
        now: Timestamp,
    ) -> StoreResult<Option<CodeRecord>> {
        let code_key = key(partition(domain), code_sort(user_id, purpose));
        let expression_names = names(&[("#sk", schema::SORT_KEY), ("#e", "expires_ms"), ("#a", "attempts")]);
        // Counting the attempt and checking the code is live is one conditional write, so
        // parallel guesses cannot share an attempt.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(code_key.clone()))
            .update_expression("ADD #a :one")
            .condition_expression("attribute_exists(#sk) AND #e > :now AND #a < :max")
            .set_expression_attribute_names(Some(expression_names.clone()))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(millis(now)))
            .expression_attribute_values(":max", n(MAX_CODE_ATTEMPTS))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => {
                let item = output.attributes.unwrap_or_default();
                let code: CodeRecord = serde_dynamo::from_item(item).map_err(unavailable)?;
                Ok(Some(code))
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                // Absent, expired or exhausted. Remove a dead one now rather than wait for TTL,
                // but never a live code issued in the meantime.
                let removed = self
                    .client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(code_key))
                    .condition_expression("attribute_exists(#sk) AND (#e <= :now OR #a >= :max)")
                    .set_expression_attribute_names(Some(expression_names))
                    .expression_attribute_values(":now", n(millis(now)))
                    .expression_attribute_values(":max", n(MAX_CODE_ATTEMPTS))
                    .send()
                    .await;
                match removed {
                    Ok(_) => Ok(None),
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
                    {
                        Ok(None)
                    }
                    Err(e) => Err(sdk_failure("DeleteItem", e)),
                }
            }
            Err(e) => Err(sdk_failure("UpdateItem", e)),
        }
    }

    async fn claim_reset_window(
        &self,
        domain: &DomainId,
        user_id: &UserId,
        now: Timestamp,
        until: Timestamp,
    ) -> StoreResult<bool> {
        self.claim_until(key(partition(domain), reset_sort(user_id)), now, until)
            .await
    }

    async fn release_reset_window(&self, domain: &DomainId, user_id: &UserId) -> StoreResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(partition(domain), reset_sort(user_id))))
            .send()
            .await
            .map_err(|e| sdk_failure("DeleteItem", e))?;
        Ok(())
    }

    async fn record_message(&self, domain: &DomainId, id: &str, now: Timestamp, until: Timestamp) -> StoreResult<bool> {
        self.claim_until(key(partition(domain), message_sort(id)), now, until)
            .await
    }

    async fn message_recorded(&self, domain: &DomainId, id: &str, now: Timestamp) -> StoreResult<bool> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(partition(domain), message_sort(id))))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_failure("GetItem", e))?
            .item;
        let until = item
            .as_ref()
            .and_then(|i| i.get("until_ms"))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<i64>().ok());
        Ok(until.is_some_and(|end| millis(now) < end))
    }

    async fn list_users(&self, domain: &DomainId) -> StoreResult<DomainUsers> {
        self.domain_users(domain).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(item: Item) -> serde_dynamo::Item {
        let item: HashMap<String, serde_dynamo::AttributeValue> =
            item.into_iter().map(|(k, v)| (k, v.into())).collect();
        item.into()
    }

    #[test]
    fn a_tombstone_in_the_users_key_reads_as_a_tombstone_and_never_as_a_user() {
        let user = crate::model::sample_user("alice");
        let tombstone = tombstone_item(&user.domain_id, &user.user_id);
        assert_eq!(tombstone.get(schema::SORT_KEY), Some(&s("USER#alice")));
        let ttl: i64 = number(&tombstone, schema::TTL_ATTRIBUTE).unwrap();
        let deleted_ms: i64 = number(&tombstone, schema::DELETED_ATTRIBUTE).unwrap();
        assert_eq!(ttl, deleted_ms / 1000 + 8 * 24 * 3600 + 1);
        match read_record(tombstone.clone()).unwrap() {
            Record::Tombstone(t) => assert_eq!(t.deleted_at.at().timestamp_millis(), deleted_ms),
            other => panic!("{other:?}"),
        }
        // The change stream: a delete is a user going away, a tombstone's expiry is nothing.
        assert_eq!(user_from_image(image(tombstone)).unwrap(), None);
        let item = user_item(&user, 3).unwrap();
        assert_eq!(
            user_from_image(image(item.clone())).unwrap().map(|u| u.version),
            Some(3)
        );
        assert!(matches!(read_record(item).unwrap(), Record::User(_)));
        // A tombstone past its lifetime reads as nothing.
        let mut old = tombstone_item(&user.domain_id, &user.user_id);
        let nine_days_ago = chrono::Utc::now().timestamp_millis() - 9 * 24 * 3600 * 1000;
        old.insert(schema::DELETED_ATTRIBUTE.into(), n(nine_days_ago));
        assert_eq!(read_record(old).unwrap(), Record::Absent);
    }
}
