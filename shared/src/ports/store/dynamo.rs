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
//!
//! This file is the store itself (the `UserStore` operations); beside it: `schema.rs` the
//! table's shape and key design, `item.rs` the encoding of items, `transact.rs` the
//! conditional writes, `stream.rs` the change stream's images, `domain_read.rs`,
//! `domain_cache.rs` and `key_range.rs` the reading and keeping of whole domains, `upgrade.rs`
//! the table upgrade.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue};

use super::{
    CodeChange, CodePurpose, CodeRecord, DomainUsers, MAX_CODE_ATTEMPTS, MAX_SIGN_IN_FAILURES, Record, SIGN_IN_WINDOW,
    SignInClaim, StoreError, StoreResult, UserStore, admin_delta,
};
use crate::model::{DomainId, Timestamp, User, UserId, Versioned};

mod domain_cache;
mod domain_read;
pub mod key_range;
pub mod restore;
pub mod schema;
pub mod upgrade;

mod item;
mod stream;
mod transact;

pub use domain_read::{OVERLAP_MICROS, TOMBSTONE_LIFETIME_SECONDS, now_micros};
pub use item::user_item;
pub use stream::{sign_in_lock_from_images, user_from_image};

use item::{code_item, expiry_epoch, millis, n, names, number, read_record, tombstone_item};
use schema::{code_sort, key, message_sort, partition, reset_sort, sign_in_sort, user_key, user_sort};
use transact::{Step, UserCondition, next_version, retry_safe_create};

type Item = HashMap<String, AttributeValue>;

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
    use super::item::s;
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

    #[test]
    fn list_blobs_leave_secrets_out_and_the_first_format_still_reads() {
        use crate::otp::{OtpKey, Sealed};
        let mut user = crate::model::sample_user("alice");
        user.mfa_enforced = true;
        user.otp = Some(OtpKey {
            sealed: Sealed::new(vec![1, 2, 3]),
            last_step: 9,
        });
        let item = user_item(&user, 1).unwrap();
        let listed = super::item::user_from_list_blob(&item).unwrap().unwrap();
        assert_eq!((listed.otp, listed.mfa_enforced), (None, true));
        // A blob of the first format: no `mfa_enforced` and `otp` at the end.
        user.mfa_enforced = false;
        user.otp = None;
        let Some(AttributeValue::B(blob)) = user_item(&user, 1).unwrap().remove(schema::LIST_BLOB_ATTRIBUTE) else {
            panic!("a list blob");
        };
        let mut first = blob.into_inner();
        assert_eq!(first[first.len() - 2..], [0, 0]);
        first.truncate(first.len() - 2);
        first[0] = 1;
        let mut old = Item::new();
        old.insert(
            schema::LIST_BLOB_ATTRIBUTE.into(),
            AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(first)),
        );
        let read = super::item::user_from_list_blob(&old).unwrap().unwrap();
        assert_eq!(read.user_id, user.user_id);
        assert_eq!(read.mfa, user.mfa);
    }
}
