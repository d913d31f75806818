//! The table's shape — keys, billing, TTL — as `template.yaml` declares it, and the table-setup
//! command for local endpoints built from the same constants. A test (`tests/template.rs`) reads
//! template.yaml and checks it declares exactly this, so the two cannot drift apart.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, LocalSecondaryIndex, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};

use super::Item;
use crate::model::{DomainId, UserId};
use crate::store::CodePurpose;

pub const PARTITION_KEY: &str = "pk";
pub const SORT_KEY: &str = "sk";
/// Epoch seconds after which DynamoDB may delete the item (codes, reset windows).
pub const TTL_ATTRIBUTE: &str = "expires_at_epoch";
pub const BILLING_MODE: &str = "PAY_PER_REQUEST";
/// The table's change stream carries each item before and after a change: the event
/// publisher (`shared::events`) works out what changed from the two.
pub const STREAM_VIEW_TYPE: &str = "NEW_AND_OLD_IMAGES";
/// The table has no global secondary indexes: every access pattern is a key lookup or a Query
/// on the domain's partition (a GSI could not be read strongly consistently).
pub const GLOBAL_SECONDARY_INDEXES: &[&str] = &[];
/// The local secondary index over a domain's changes: sort key [`CHANGE_ATTRIBUTE`], all
/// attributes projected. Only users and deletion tombstones carry the attribute (a sparse
/// index), so one strongly consistent Query returns every user changed since a moment.
pub const CHANGE_INDEX: &str = "by_change";
/// The change stamp: microseconds since the epoch, the writer's clock just before it sends.
pub const CHANGE_ATTRIBUTE: &str = "chg";
/// On a `USER#` item, marks it as a deleted user's tombstone: when it was deleted, in Unix
/// milliseconds (real time). Such an item has no other user attribute.
pub const DELETED_ATTRIBUTE: &str = "deleted_ms";
/// The user as list and stat read it, in one binary attribute (docs/dynamodb.md).
pub const LIST_BLOB_ATTRIBUTE: &str = "u";

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SetupError(String);

impl SetupError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Creates the table (if missing) with its keys, change stream and TTL, and waits until it is active.
/// Returns whether it created it.
pub async fn create_table(client: &Client, table: &str) -> Result<bool, SetupError> {
    create(client, table, true).await
}

/// Creates a table of the schema before the change index (version 1 of this project's table),
/// for tests of the upgrade (`users-local upgrade-table`) and of the store on such a table.
pub async fn create_table_without_change_index(client: &Client, table: &str) -> Result<bool, SetupError> {
    create(client, table, false).await
}

async fn create(client: &Client, table: &str, with_change_index: bool) -> Result<bool, SetupError> {
    let fail = |what: &str, e: &dyn std::fmt::Display| SetupError(format!("{what} {table}: {e}"));
    let key = |name: &str, key_type| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .map_err(|e| fail("key schema of", &e))
    };
    let attribute = |name: &str, kind: ScalarAttributeType| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(kind)
            .build()
            .map_err(|e| fail("attributes of", &e))
    };
    let change_index = LocalSecondaryIndex::builder()
        .index_name(CHANGE_INDEX)
        .key_schema(key(PARTITION_KEY, KeyType::Hash)?)
        .key_schema(key(CHANGE_ATTRIBUTE, KeyType::Range)?)
        .projection(Projection::builder().projection_type(ProjectionType::All).build())
        .build()
        .map_err(|e| fail("change index of", &e))?;
    let stream = StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(StreamViewType::from(STREAM_VIEW_TYPE))
        .build()
        .map_err(|e| fail("stream of", &e))?;
    let mut request = client.create_table();
    if with_change_index {
        request = request
            .attribute_definitions(attribute(CHANGE_ATTRIBUTE, ScalarAttributeType::N)?)
            .local_secondary_indexes(change_index);
    }
    let created = request
        .stream_specification(stream)
        .table_name(table)
        .billing_mode(BillingMode::from(BILLING_MODE))
        .attribute_definitions(attribute(PARTITION_KEY, ScalarAttributeType::S)?)
        .attribute_definitions(attribute(SORT_KEY, ScalarAttributeType::S)?)
        .key_schema(key(PARTITION_KEY, KeyType::Hash)?)
        .key_schema(key(SORT_KEY, KeyType::Range)?)
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => return Ok(false),
        Err(e) => return Err(fail("cannot create", &aws_sdk_dynamodb::error::DisplayErrorContext(e))),
    }
    wait_until_active(client, table).await?;
    let ttl = TimeToLiveSpecification::builder()
        .attribute_name(TTL_ATTRIBUTE)
        .enabled(true)
        .build()
        .map_err(|e| fail("TTL of", &e))?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(ttl)
        .send()
        .await
        .map_err(|e| fail("cannot enable TTL on", &aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
    Ok(true)
}

async fn wait_until_active(client: &Client, table: &str) -> Result<(), SetupError> {
    for _ in 0..120 {
        let described = client.describe_table().table_name(table).send().await.map_err(|e| {
            SetupError(format!(
                "cannot describe {table}: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(e)
            ))
        })?;
        let active = described
            .table
            .and_then(|t| t.table_status)
            .is_some_and(|status| status.as_str() == "ACTIVE");
        if active {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    Err(SetupError(format!("{table} did not become active within a minute")))
}

// The key design (docs/dynamodb.md): the partition of a domain, the sort key of each kind
// of item.

pub(crate) const USER_PREFIX: &str = "USER#";

/// The separate tombstone items of earlier versions (`TOMB#<user_id>`, one day). This version
/// writes the tombstone in the user's own key; the change index still reads these as deletes
/// until they expire.
pub(crate) const TOMBSTONE_PREFIX: &str = "TOMB#";

pub(crate) const ADMINS_KEY: &str = "ADMINS";

pub(crate) fn partition(domain: &DomainId) -> String {
    format!("DOMAIN#{}", domain.as_str())
}

pub(crate) fn user_sort(user_id: &UserId) -> String {
    format!("{USER_PREFIX}{}", user_id.as_str())
}

pub(crate) fn code_sort(user_id: &UserId, purpose: CodePurpose) -> String {
    format!("CODE#{}#{}", purpose.as_str(), user_id.as_str())
}

pub(crate) fn reset_sort(user_id: &UserId) -> String {
    format!("RESET#{}", user_id.as_str())
}

pub(crate) fn sign_in_sort(user_id: &UserId) -> String {
    format!("SIGNIN#{}", user_id.as_str())
}

pub(crate) fn message_sort(id: &str) -> String {
    format!("MESSAGE#{id}")
}

pub(crate) fn key(pk: String, sk: String) -> Item {
    HashMap::from([
        (PARTITION_KEY.into(), AttributeValue::S(pk)),
        (SORT_KEY.into(), AttributeValue::S(sk)),
    ])
}

pub(crate) fn user_key(domain: &DomainId, user_id: &UserId) -> Item {
    key(partition(domain), user_sort(user_id))
}
