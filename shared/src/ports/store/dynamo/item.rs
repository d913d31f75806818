//! Items and attribute values: a user, its list blob, its tombstone, a code, as the table
//! stores them, and back.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::schema::{self, code_sort, key, partition, user_key};
use super::{Item, TOMBSTONE_LIFETIME_SECONDS, now_micros, unavailable};
use crate::model::{DomainId, Timestamp, User, UserId, Versioned};
use crate::store::{CodeRecord, Record, StoreError, StoreResult, Tombstone};

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(super) fn millis(at: Timestamp) -> i64 {
    at.at().timestamp_millis()
}

/// The TTL attribute: whole seconds, rounded up so DynamoDB never deletes an item early.
pub(super) fn expiry_epoch(at: Timestamp) -> i64 {
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
pub(super) const LIST_BLOB_FORMAT: u8 = 2;
/// The first format: the same without `mfa_enforced` and `otp` at the end (postcard writes
/// `false` and `None` as one zero byte each).
const LIST_BLOB_FORMAT_1: u8 = 1;

/// The user as list and stat read it: postcard after a format byte, without the password
/// hash. A domain read projects only this (and the keys), so DynamoDB sends a quarter of the
/// bytes and the SDK parses one string per user instead of twenty attributes.
pub(super) fn list_blob(user: &User) -> StoreResult<AttributeValue> {
    let listed = User {
        password_hash: None,
        otp: None,
        ..user.clone()
    };
    let mut bytes = vec![LIST_BLOB_FORMAT];
    bytes.extend(postcard::to_stdvec(&listed).map_err(unavailable)?);
    Ok(AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(bytes)))
}

/// The user in an item's list blob; `None` when the item has none (written before the upgrade).
pub(super) fn user_from_list_blob(item: &Item) -> StoreResult<Option<User>> {
    let Some(AttributeValue::B(blob)) = item.get(schema::LIST_BLOB_ATTRIBUTE) else {
        return Ok(None);
    };
    match blob.as_ref().split_first() {
        Some((&LIST_BLOB_FORMAT, rest)) => postcard::from_bytes(rest).map(Some).map_err(unavailable),
        Some((&LIST_BLOB_FORMAT_1, rest)) => {
            let mut bytes = rest.to_vec();
            bytes.extend_from_slice(&[0, 0]);
            postcard::from_bytes(&bytes).map(Some).map_err(unavailable)
        }
        _ => Err(StoreError::Unavailable("a list blob of an unknown format".into())),
    }
}

/// The tombstone a delete leaves in the user's own key (SPEC section 5): when it was deleted
/// and the change stamp (so other functions' copies of the domain learn of the delete,
/// `domain_read.rs`), expiring after [`TOMBSTONE_LIFETIME_SECONDS`].
pub(super) fn tombstone_item(domain: &DomainId, user_id: &UserId) -> Item {
    tombstone_at(user_key(domain, user_id))
}

/// A tombstone deleted now, at a user's key (`pk` and `sk`).
pub(super) fn tombstone_at(key: Item) -> Item {
    let stamp = now_micros();
    let mut item = key;
    item.insert(schema::DELETED_ATTRIBUTE.into(), n(stamp / 1000));
    item.insert(schema::CHANGE_ATTRIBUTE.into(), n(stamp));
    item.insert(
        schema::TTL_ATTRIBUTE.into(),
        n(stamp / 1_000_000 + TOMBSTONE_LIFETIME_SECONDS + 1),
    );
    item
}

/// Whether a `USER#` item is a tombstone.
pub(super) fn is_tombstone(item: &Item) -> bool {
    item.contains_key(schema::DELETED_ATTRIBUTE)
}

/// A `USER#` item as what it is: the user, or a live tombstone (an expired one that TTL has
/// not removed yet reads as nothing).
pub(super) fn read_record(item: Item) -> StoreResult<Record> {
    if !is_tombstone(&item) {
        return read_user(item).map(Record::User);
    }
    Tombstone::read(number(&item, schema::DELETED_ATTRIBUTE)?)
}

pub(super) fn read_user(item: Item) -> StoreResult<Versioned<User>> {
    let version = number(&item, "version")?;
    let user: User = serde_dynamo::from_item(item).map_err(unavailable)?;
    Ok(Versioned { item: user, version })
}

pub(super) fn number<T: std::str::FromStr>(item: &Item, name: &str) -> StoreResult<T> {
    match item.get(name) {
        Some(AttributeValue::N(text)) => text
            .parse()
            .map_err(|_| StoreError::Unavailable(format!("stored {name} is not a number"))),
        _ => Err(StoreError::Unavailable(format!("stored item has no {name}"))),
    }
}

pub(super) fn code_item(code: &CodeRecord) -> StoreResult<Item> {
    let mut item: Item = serde_dynamo::to_item(code).map_err(unavailable)?;
    item.extend(key(partition(&code.domain_id), code_sort(&code.user_id, code.purpose)));
    item.insert("expires_ms".into(), n(millis(code.expires_at)));
    item.insert(schema::TTL_ATTRIBUTE.into(), n(expiry_epoch(code.expires_at)));
    Ok(item)
}

/// The `#name` placeholders every expression here uses, so no attribute name ever collides
/// with one of DynamoDB's reserved words.
pub(super) fn names(list: &[(&str, &str)]) -> HashMap<String, String> {
    list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}
