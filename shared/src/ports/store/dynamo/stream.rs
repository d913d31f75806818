//! Reading the table's change stream: the user in an item image, and the record that
//! locked a sign-in. Only the event publisher (`functions/src/stream.rs`) uses these.

use aws_sdk_dynamodb::types::AttributeValue;

use super::Item;
use super::item::{is_tombstone, read_user};
use super::schema::{self, USER_PREFIX};
use crate::model::{User, Versioned};
use crate::store::{MAX_SIGN_IN_FAILURES, StoreResult};

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
