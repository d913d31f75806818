//! The conditional writes: each write of a change as a transaction step with the error its
//! failed condition means, a create made safe to retry, and the outcome of a single request.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::builders::{DeleteBuilder, PutBuilder, UpdateBuilder};
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};

use super::item::{code_item, n, names, s, user_item};
use super::schema::{self, ADMINS_KEY, code_sort, key, partition};
use super::{DynamoStore, Item, sdk_failure, unavailable};
use crate::model::{DomainId, User};
use crate::store::{CodeChange, StoreError, StoreResult, admin_delta};

/// Makes a lone create PutItem safe to send twice. The SDK retries a request whose answer was
/// lost (a timeout, a 5xx), and a create that had landed would then fail its own
/// `attribute_not_exists` condition and answer ERROR_NOT_UNIQUE for a user it created. The
/// item carries a random `create_token`, and the condition also accepts the very item this
/// request wrote: the retry rewrites the same item and succeeds. The token goes with the
/// first later write of the user (which replaces the whole item), so a retry can never
/// overwrite a user that changed meanwhile. (A create that also moves the admin count is a
/// TransactWriteItems, which the SDK makes idempotent with its ClientRequestToken.)
pub(super) fn retry_safe_create(step: &mut Step) {
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
pub(super) const CREATE_TOKEN: &str = "create_token";

/// The condition of a create: no user at the key (nothing, or a tombstone the create replaces).
/// Names `#sk` and `#del`.
pub(super) const ABSENT_OR_TOMBSTONE: &str = "(attribute_not_exists(#sk) OR attribute_exists(#del))";

/// One write of a transaction and the error its failed condition means.
pub(super) struct Step {
    write: TransactWriteItem,
    on_condition_failure: StoreError,
}

impl Step {
    pub(super) fn put(put: PutBuilder, on_condition_failure: StoreError) -> StoreResult<Self> {
        let write = TransactWriteItem::builder()
            .put(put.build().map_err(unavailable)?)
            .build();
        Ok(Self {
            write,
            on_condition_failure,
        })
    }

    pub(super) fn update(update: UpdateBuilder, on_condition_failure: StoreError) -> StoreResult<Self> {
        let write = TransactWriteItem::builder()
            .update(update.build().map_err(unavailable)?)
            .build();
        Ok(Self {
            write,
            on_condition_failure,
        })
    }

    pub(super) fn delete(delete: DeleteBuilder, on_condition_failure: StoreError) -> StoreResult<Self> {
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
    pub(super) fn put_user(&self, user: &User, version: u64, condition: UserCondition) -> StoreResult<Step> {
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
    pub(super) fn admin_count(&self, domain: &DomainId, delta: i64) -> StoreResult<Step> {
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
    pub(super) fn delete(&self, item_key: Item) -> StoreResult<Step> {
        let delete = Delete::builder().table_name(&self.table).set_key(Some(item_key));
        Step::delete(delete, StoreError::Conflict)
    }

    pub(super) fn code_step(&self, user: &User, change: &CodeChange) -> StoreResult<Option<Step>> {
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
    pub(super) async fn commit(&self, mut steps: Vec<Step>) -> StoreResult<()> {
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
    pub(super) async fn write_one(&self, step: Step) -> StoreResult<()> {
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

    pub(super) fn user_steps(
        &self,
        before: Option<&User>,
        after: &User,
        condition: UserCondition,
    ) -> StoreResult<Vec<Step>> {
        let mut steps = vec![self.put_user(after, next_version(condition), condition)?];
        let delta = admin_delta(before, Some(after));
        if delta != 0 {
            steps.push(self.admin_count(&after.domain_id, delta)?);
        }
        Ok(steps)
    }
}

/// The outcome of a single conditional request: a failed condition is the step's own error.
pub(super) fn single_outcome<E, R>(
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
pub(super) enum UserCondition {
    Absent,
    AtVersion(u64),
}

pub(super) fn next_version(condition: UserCondition) -> u64 {
    match condition {
        UserCondition::Absent => 1,
        UserCondition::AtVersion(v) => v + 1,
    }
}
