//! The embedded store: redb, a pure-Rust, ACID, copy-on-write B-tree database in one file under
//! `DATA_DIR`. redb runs one write transaction at a time, so every check-then-write below (the
//! version condition, uniqueness, the admin count, code attempts) is atomic without locks of
//! our own. Reads use MVCC snapshots and never block writes.
//!
//! Tables (keys are tuples, so a domain's users are one contiguous range):
//! - `users.v4`: (domain_id, user_id) → `{version, user}` in postcard, a compact binary
//!   encoding: list and stat decode a whole domain per request, and JSON decoding was most of
//!   that time (docs/performance.md). Field and enum variant order are part of the format:
//!   append, never reorder, and move the rows to a new table when appending (postcard rows
//!   carry no field names, so an old row is simply shorter). Rows of earlier formats
//!   (`users`, JSON; `users.v2`, before the token generation; `users.v3`, before the MFA an
//!   admin requires and the OTP secret) are moved over on open.
//! - `codes`:  (domain_id, user_id, purpose) → JSON `CodeRecord`
//! - `admins`: domain_id → number of enabled DOMAIN_ADMINs
//! - `resets`: (domain_id, user_id) → end of the reset-mail window (Unix ms)
//! - `messages`: (domain_id, message id) → until when an applied provisioning message is
//!   remembered (Unix ms); expired entries are overwritten, not swept
//! - `sign_ins`: (domain_id, user_id) → JSON `SignInState`, the failed sign-in count
//! - `tombstones`: (domain_id, user_id) → when a deleted user was deleted (Unix ms, real
//!   time), read in the same read transaction as the user; kept for
//!   [`super::TOMBSTONE_LIFETIME`] (an older one reads as nothing, and later deletes in the
//!   domain sweep it), replaced by a create of the same user_id
//!
//! After an I/O error (a full disk), redb refuses every later write with "previous I/O error"
//! until the database is closed and opened again, while reads still work. So when a write
//! fails, the store checks whether the database is in that state and, if so, drops it and
//! opens it again (redb repairs it on open) on the next request that needs it; while the disk
//! is still full that open fails and requests answer 503, and once there is room again the
//! store works without a restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, TableHandle, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::{
    CodeChange, CodePurpose, CodeRecord, DomainUsers, Record, SignInClaim, SignInState, StoreError, StoreResult,
    TOMBSTONE_LIFETIME, Tombstone, UserStore, admin_delta,
};
use crate::model::{DomainId, Timestamp, User, UserId, Versioned};

const USERS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("users.v4");
/// The third row format: postcard rows without `mfa_enforced` and `otp` at the end.
const V3_USERS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("users.v3");
/// The second row format: postcard rows without the two token-generation fields at the end.
const V2_USERS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("users.v2");
const SIGN_INS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("sign_ins");
/// The first row format (JSON); read only to move its rows to `USERS`.
const JSON_USERS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("users");
const CODES: TableDefinition<(&str, &str, &str), &[u8]> = TableDefinition::new("codes");
const ADMINS: TableDefinition<&str, u64> = TableDefinition::new("admins");
const RESETS: TableDefinition<(&str, &str), i64> = TableDefinition::new("resets");
const MESSAGES: TableDefinition<(&str, &str), i64> = TableDefinition::new("messages");
const TOMBSTONES: TableDefinition<(&str, &str), i64> = TableDefinition::new("tombstones");

const FILE_NAME: &str = "users.redb";

#[derive(Serialize, Deserialize)]
struct UserRow {
    version: u64,
    user: User,
}

/// How the database file is opened: `Database::create` on the file, or a test's backend.
pub type Opener = Arc<dyn Fn() -> Result<Database, redb::DatabaseError> + Send + Sync>;

#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

struct Inner {
    open: Opener,
    /// The open database; `None` after an I/O error until it is opened again.
    db: RwLock<Option<Arc<Database>>>,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl EmbeddedStore {
    /// Opens (or creates) `dir/users.redb` (a private file in a private folder), creating the
    /// tables so readers never miss one.
    pub fn open(dir: &Path) -> StoreResult<Self> {
        crate::private_fs::create_dir(dir).map_err(unavailable)?;
        let path: PathBuf = dir.join(FILE_NAME);
        crate::private_fs::prepare_file(&path).map_err(unavailable)?;
        Self::open_with(Arc::new(move || Database::create(&path)))
    }

    /// Opens the database through `open`, which is called again to reopen it after an I/O error.
    pub fn open_with(open: Opener) -> StoreResult<Self> {
        let db = open_and_prepare(&open)?;
        Ok(Self {
            inner: Arc::new(Inner {
                open,
                db: RwLock::new(Some(Arc::new(db))),
            }),
        })
    }

    /// The open database, opening it again first if an I/O error closed it.
    fn database(&self) -> StoreResult<Arc<Database>> {
        if let Some(db) = self.inner.db.read().map_err(unavailable)?.as_ref() {
            return Ok(Arc::clone(db));
        }
        let mut slot = self.inner.db.write().map_err(unavailable)?;
        if let Some(db) = slot.as_ref() {
            return Ok(Arc::clone(db));
        }
        let db = Arc::new(open_and_prepare(&self.inner.open)?);
        tracing::info!("embedded store reopened after an I/O error");
        *slot = Some(Arc::clone(&db));
        Ok(db)
    }

    /// After a failed write: if the database refuses writes because of a previous I/O error,
    /// let go of it so that the next request opens it again.
    fn recover_if_poisoned(&self, db: &Database) {
        let poisoned = matches!(
            db.begin_write(),
            Err(redb::TransactionError::Storage(
                redb::StorageError::PreviousIo | redb::StorageError::Io(_)
            ))
        );
        if !poisoned {
            return;
        }
        tracing::error!("embedded store hit an I/O error; it will be reopened");
        if let Ok(mut slot) = self.inner.db.write()
            && slot.as_ref().is_some_and(|current| std::ptr::eq(current.as_ref(), db))
        {
            *slot = None;
        }
    }

    /// Runs blocking database work off the async workers.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Database) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            let db = store.database()?;
            work(&db)
        })
        .await
        .map_err(unavailable)?
    }

    /// Runs `work` in one write transaction, committed only if it succeeds. A storage failure
    /// checks whether the database must be reopened.
    async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&WriteTransaction) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let store = self.clone();
        self.blocking(move |db| {
            let result = (|| {
                let txn = db.begin_write().map_err(unavailable)?;
                let out = work(&txn)?;
                txn.commit().map_err(unavailable)?;
                Ok(out)
            })();
            if matches!(result, Err(StoreError::Unavailable(_))) {
                store.recover_if_poisoned(db);
            }
            result
        })
        .await
    }
}

/// Opens the database and creates the tables (moving rows of the first format over).
fn open_and_prepare(open: &Opener) -> StoreResult<Database> {
    let db = open().map_err(unavailable)?;
    let txn = db.begin_write().map_err(unavailable)?;
    txn.open_table(USERS).map_err(unavailable)?;
    txn.open_table(CODES).map_err(unavailable)?;
    txn.open_table(ADMINS).map_err(unavailable)?;
    txn.open_table(RESETS).map_err(unavailable)?;
    txn.open_table(MESSAGES).map_err(unavailable)?;
    txn.open_table(SIGN_INS).map_err(unavailable)?;
    txn.open_table(TOMBSTONES).map_err(unavailable)?;
    move_json_rows(&txn)?;
    move_v2_rows(&txn)?;
    move_v3_rows(&txn)?;
    txn.commit().map_err(unavailable)?;
    Ok(db)
}

impl EmbeddedStore {
    /// Removes the user's entry from a per-user table (its reset window, its sign-in count).
    async fn forget<V: redb::Value + Send + 'static>(
        &self,
        definition: TableDefinition<'static, (&'static str, &'static str), V>,
        domain: &DomainId,
        user_id: &UserId,
    ) -> StoreResult<()> {
        let (domain, user_id) = (domain.clone(), user_id.clone());
        self.write(move |txn| {
            let mut table = txn.open_table(definition).map_err(unavailable)?;
            table.remove((domain.as_str(), user_id.as_str())).map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    /// Creates many users in one transaction (bulk import): all or none, with the same
    /// uniqueness and admin-count rules as `create_user`.
    pub async fn create_many(&self, users: Vec<User>) -> StoreResult<()> {
        self.write(move |txn| {
            for user in users {
                insert_new(txn, user)?;
            }
            Ok(())
        })
        .await
    }
}

/// Writes a user that must not exist yet (version 1), counting it if it is an enabled admin.
fn insert_new(txn: &WriteTransaction, user: User) -> StoreResult<UserRow> {
    if read_row(txn, user.domain_id.as_str(), user.user_id.as_str())?.is_some() {
        return Err(StoreError::NotUnique);
    }
    apply_admin_delta(txn, user.domain_id.as_str(), admin_delta(None, Some(&user)))?;
    txn.open_table(TOMBSTONES)
        .map_err(unavailable)?
        .remove((user.domain_id.as_str(), user.user_id.as_str()))
        .map_err(unavailable)?;
    let row = UserRow { version: 1, user };
    write_row(txn, &row)?;
    Ok(row)
}

/// Moves the rows of a store written in the first (JSON) format into `USERS`, in the same
/// transaction that opens the store, and drops the old table.
fn move_json_rows(txn: &WriteTransaction) -> StoreResult<()> {
    move_rows(txn, JSON_USERS, |bytes| {
        serde_json::from_slice(bytes).map_err(unavailable)
    })
}

/// Moves rows of the second format into `USERS`. A v2 row is a v4 row without its last four
/// fields, `token_generation: 0`, `tokens_revoked_at: None`, `mfa_enforced: false` and
/// `otp: None`, which postcard writes as one zero byte each: the row plus four zero bytes is
/// the same user in the new format.
fn move_v2_rows(txn: &WriteTransaction) -> StoreResult<()> {
    move_rows(txn, V2_USERS, |bytes| decode_shorter_row(bytes, 4))
}

/// Moves rows of the third format into `USERS`: a v3 row is a v4 row without `mfa_enforced:
/// false` and `otp: None`, two zero bytes.
fn move_v3_rows(txn: &WriteTransaction) -> StoreResult<()> {
    move_rows(txn, V3_USERS, |bytes| decode_shorter_row(bytes, 2))
}

/// A row of an earlier format that lacks the last `missing` fields, each written as one zero
/// byte when at its default.
fn decode_shorter_row(bytes: &[u8], missing: usize) -> StoreResult<UserRow> {
    let mut row = bytes.to_vec();
    row.resize(bytes.len() + missing, 0);
    decode_row(&row)
}

/// Moves every row of an older table into `USERS`, read with `decode`, and drops that table.
fn move_rows(
    txn: &WriteTransaction,
    old_table: TableDefinition<(&str, &str), &[u8]>,
    decode: impl Fn(&[u8]) -> StoreResult<UserRow>,
) -> StoreResult<()> {
    let exists = txn
        .list_tables()
        .map_err(unavailable)?
        .any(|t| t.name() == old_table.name());
    if !exists {
        return Ok(());
    }
    let old = txn.open_table(old_table).map_err(unavailable)?;
    for entry in old.iter().map_err(unavailable)? {
        let (_, value) = entry.map_err(unavailable)?;
        write_row(txn, &decode(value.value())?)?;
    }
    drop(old);
    txn.delete_table(old_table).map_err(unavailable)?;
    Ok(())
}

fn decode_row(bytes: &[u8]) -> StoreResult<UserRow> {
    postcard::from_bytes(bytes).map_err(unavailable)
}

fn read_row(txn: &WriteTransaction, domain: &str, user: &str) -> StoreResult<Option<UserRow>> {
    let table = txn.open_table(USERS).map_err(unavailable)?;
    let row = table.get((domain, user)).map_err(unavailable)?;
    row.map(|bytes| decode_row(bytes.value())).transpose()
}

fn write_row(txn: &WriteTransaction, row: &UserRow) -> StoreResult<()> {
    let bytes = postcard::to_stdvec(row).map_err(unavailable)?;
    let mut table = txn.open_table(USERS).map_err(unavailable)?;
    table
        .insert(
            (row.user.domain_id.as_str(), row.user.user_id.as_str()),
            bytes.as_slice(),
        )
        .map_err(unavailable)?;
    Ok(())
}

/// Applies an admin-count change for a domain, refusing to take the count from 1 to 0.
fn apply_admin_delta(txn: &WriteTransaction, domain: &str, delta: i64) -> StoreResult<()> {
    if delta == 0 {
        return Ok(());
    }
    let mut table = txn.open_table(ADMINS).map_err(unavailable)?;
    let current = table.get(domain).map_err(unavailable)?.map(|v| v.value()).unwrap_or(0);
    let next = i64::try_from(current).map_err(unavailable)? + delta;
    if next < 1 && delta < 0 {
        return Err(StoreError::LastAdmin);
    }
    let next = u64::try_from(next).map_err(unavailable)?;
    table.insert(domain, next).map_err(unavailable)?;
    Ok(())
}

/// Reads the stored row and checks it is still at `version`.
fn current_row(txn: &WriteTransaction, before: &Versioned<User>) -> StoreResult<UserRow> {
    let user = &before.item;
    match read_row(txn, user.domain_id.as_str(), user.user_id.as_str())? {
        Some(row) if row.version == before.version => Ok(row),
        _ => Err(StoreError::Conflict),
    }
}

fn code_key(code: &CodeRecord) -> (&str, &str, &'static str) {
    (code.domain_id.as_str(), code.user_id.as_str(), code.purpose.as_str())
}

fn put_code(txn: &WriteTransaction, code: &CodeRecord) -> StoreResult<()> {
    let bytes = serde_json::to_vec(code).map_err(unavailable)?;
    let mut table = txn.open_table(CODES).map_err(unavailable)?;
    table.insert(code_key(code), bytes.as_slice()).map_err(unavailable)?;
    Ok(())
}

fn read_code(txn: &WriteTransaction, key: (&str, &str, &str)) -> StoreResult<Option<CodeRecord>> {
    let table = txn.open_table(CODES).map_err(unavailable)?;
    let row = table.get(key).map_err(unavailable)?;
    row.map(|bytes| serde_json::from_slice(bytes.value()).map_err(unavailable))
        .transpose()
}

fn remove_code(txn: &WriteTransaction, key: (&str, &str, &str)) -> StoreResult<()> {
    let mut table = txn.open_table(CODES).map_err(unavailable)?;
    table.remove(key).map_err(unavailable)?;
    Ok(())
}

/// Sets `key` to `until` unless it holds a time past `now` (the reset window, a message
/// record); whether it was set.
fn claim_until(
    txn: &WriteTransaction,
    definition: TableDefinition<(&str, &str), i64>,
    key: (&str, &str),
    now: Timestamp,
    until: Timestamp,
) -> StoreResult<bool> {
    let mut table = txn.open_table(definition).map_err(unavailable)?;
    let held_until = table.get(key).map_err(unavailable)?.map(|v| v.value());
    if held_until.is_some_and(|end| now.at().timestamp_millis() < end) {
        return Ok(false);
    }
    table.insert(key, until.at().timestamp_millis()).map_err(unavailable)?;
    Ok(true)
}

fn apply_code_change(txn: &WriteTransaction, user: &User, change: &CodeChange) -> StoreResult<()> {
    let (domain, user_id) = (user.domain_id.as_str(), user.user_id.as_str());
    match change {
        CodeChange::None => Ok(()),
        CodeChange::Issue(code) => put_code(txn, code),
        CodeChange::Consume(code) => {
            // Consumed only if it is still the very code that was checked.
            match read_code(txn, code_key(code))? {
                Some(stored) if stored.digest == code.digest => remove_code(txn, code_key(code)),
                _ => Err(StoreError::CodeGone),
            }
        }
        CodeChange::Discard(purpose) => remove_code(txn, (domain, user_id, purpose.as_str())),
    }
}

/// What a user's key holds as of a read transaction's snapshot: the user, else its live
/// tombstone, else nothing.
fn read_record(txn: &redb::ReadTransaction, domain: &DomainId, user_id: &UserId) -> StoreResult<Record> {
    let key = (domain.as_str(), user_id.as_str());
    let users = txn.open_table(USERS).map_err(unavailable)?;
    if let Some(bytes) = users.get(key).map_err(unavailable)? {
        let row = decode_row(bytes.value())?;
        return Ok(Record::User(Versioned {
            item: row.user,
            version: row.version,
        }));
    }
    let tombstones = txn.open_table(TOMBSTONES).map_err(unavailable)?;
    match tombstones.get(key).map_err(unavailable)? {
        Some(deleted_ms) => Tombstone::read(deleted_ms.value()),
        None => Ok(Record::Absent),
    }
}

/// Leaves the tombstone of a user deleted `now`, and sweeps the domain's tombstones that have
/// outlived [`TOMBSTONE_LIFETIME`]. A delete looks at most at the domain's first
/// 256 tombstones (in user_id order) and removes at most 16, so it stays cheap
/// however many deletes the last 8 days held; as the first ones expire and go, later deletes
/// reach further. One not swept yet still reads as nothing ([`Tombstone::read`]).
fn leave_tombstone(txn: &WriteTransaction, domain: &str, user_id: &str, now: Timestamp) -> StoreResult<()> {
    const SCAN_PER_DELETE: usize = 256;
    const SWEEP_PER_DELETE: usize = 16;
    let mut table = txn.open_table(TOMBSTONES).map_err(unavailable)?;
    let oldest_kept = (now.at() - TOMBSTONE_LIFETIME).timestamp_millis();
    let mut expired = Vec::new();
    for entry in table.range((domain, "")..).map_err(unavailable)?.take(SCAN_PER_DELETE) {
        let (key, deleted_ms) = entry.map_err(unavailable)?;
        let (entry_domain, entry_user) = key.value();
        if entry_domain != domain || expired.len() == SWEEP_PER_DELETE {
            break;
        }
        if deleted_ms.value() < oldest_kept {
            expired.push(entry_user.to_owned());
        }
    }
    for user in &expired {
        table.remove((domain, user.as_str())).map_err(unavailable)?;
    }
    table
        .insert((domain, user_id), now.at().timestamp_millis())
        .map_err(unavailable)?;
    Ok(())
}

#[async_trait]
impl UserStore for EmbeddedStore {
    async fn get_record(&self, domain: &DomainId, user_id: &UserId) -> StoreResult<Record> {
        let (domain, user_id) = (domain.clone(), user_id.clone());
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            read_record(&txn, &domain, &user_id)
        })
        .await
    }

    async fn get_record_pair(
        &self,
        domain: &DomainId,
        first: &UserId,
        second: &UserId,
    ) -> StoreResult<(Record, Record)> {
        let (domain, first, second) = (domain.clone(), first.clone(), second.clone());
        self.blocking(move |db| {
            // One read transaction: both records as of the same snapshot.
            let txn = db.begin_read().map_err(unavailable)?;
            Ok((
                read_record(&txn, &domain, &first)?,
                read_record(&txn, &domain, &second)?,
            ))
        })
        .await
    }

    async fn claim_sign_in(&self, domain: &DomainId, user_id: &UserId, now: Timestamp) -> StoreResult<SignInClaim> {
        let (domain, user_id) = (domain.clone(), user_id.clone());
        self.write(move |txn| {
            let mut table = txn.open_table(SIGN_INS).map_err(unavailable)?;
            let key = (domain.as_str(), user_id.as_str());
            let current: Option<SignInState> = table
                .get(key)
                .map_err(unavailable)?
                .map(|bytes| serde_json::from_slice(bytes.value()).map_err(unavailable))
                .transpose()?;
            let Some(next) = SignInState::claim(current.as_ref(), now) else {
                return Ok(SignInClaim::Locked);
            };
            let bytes = serde_json::to_vec(&next).map_err(unavailable)?;
            table.insert(key, bytes.as_slice()).map_err(unavailable)?;
            Ok(next.as_claim())
        })
        .await
    }

    async fn clear_sign_in(&self, domain: &DomainId, user_id: &UserId) -> StoreResult<()> {
        self.forget(SIGN_INS, domain, user_id).await
    }

    async fn create_user(&self, user: &User) -> StoreResult<Versioned<User>> {
        let user = user.clone();
        self.write(move |txn| {
            let row = insert_new(txn, user)?;
            Ok(Versioned {
                item: row.user,
                version: row.version,
            })
        })
        .await
    }

    async fn save_user(
        &self,
        before: &Versioned<User>,
        after: &User,
        code: CodeChange,
    ) -> StoreResult<Versioned<User>> {
        let (before, after) = (before.clone(), after.clone());
        self.write(move |txn| {
            let stored = current_row(txn, &before)?;
            apply_admin_delta(
                txn,
                after.domain_id.as_str(),
                admin_delta(Some(&stored.user), Some(&after)),
            )?;
            apply_code_change(txn, &after, &code)?;
            let row = UserRow {
                version: stored.version + 1,
                user: after,
            };
            write_row(txn, &row)?;
            Ok(Versioned {
                item: row.user,
                version: row.version,
            })
        })
        .await
    }

    async fn delete_user(&self, before: &Versioned<User>) -> StoreResult<()> {
        let before = before.clone();
        self.write(move |txn| {
            let stored = current_row(txn, &before)?;
            let (domain, user_id) = (stored.user.domain_id.as_str(), stored.user.user_id.as_str());
            apply_admin_delta(txn, domain, admin_delta(Some(&stored.user), None))?;
            txn.open_table(USERS)
                .map_err(unavailable)?
                .remove((domain, user_id))
                .map_err(unavailable)?;
            for purpose in CodePurpose::ALL {
                remove_code(txn, (domain, user_id, purpose.as_str()))?;
            }
            txn.open_table(SIGN_INS)
                .map_err(unavailable)?
                .remove((domain, user_id))
                .map_err(unavailable)?;
            txn.open_table(RESETS)
                .map_err(unavailable)?
                .remove((domain, user_id))
                .map_err(unavailable)?;
            leave_tombstone(txn, domain, user_id, Timestamp::new(chrono::Utc::now()))
        })
        .await
    }

    async fn issue_code(&self, code: &CodeRecord) -> StoreResult<()> {
        let code = code.clone();
        self.write(move |txn| put_code(txn, &code)).await
    }

    async fn take_code_attempt(
        &self,
        domain: &DomainId,
        user_id: &UserId,
        purpose: CodePurpose,
        now: Timestamp,
    ) -> StoreResult<Option<CodeRecord>> {
        let (domain, user_id) = (domain.clone(), user_id.clone());
        self.write(move |txn| {
            let key = (domain.as_str(), user_id.as_str(), purpose.as_str());
            let Some(mut code) = read_code(txn, key)? else {
                return Ok(None);
            };
            if !code.is_live(now) {
                remove_code(txn, key)?;
                return Ok(None);
            }
            code.attempts += 1;
            put_code(txn, &code)?;
            Ok(Some(code))
        })
        .await
    }

    async fn claim_reset_window(
        &self,
        domain: &DomainId,
        user_id: &UserId,
        now: Timestamp,
        until: Timestamp,
    ) -> StoreResult<bool> {
        let (domain, user_id) = (domain.clone(), user_id.clone());
        self.write(move |txn| claim_until(txn, RESETS, (domain.as_str(), user_id.as_str()), now, until))
            .await
    }

    async fn release_reset_window(&self, domain: &DomainId, user_id: &UserId) -> StoreResult<()> {
        self.forget(RESETS, domain, user_id).await
    }

    async fn record_message(&self, domain: &DomainId, id: &str, now: Timestamp, until: Timestamp) -> StoreResult<bool> {
        let (domain, id) = (domain.clone(), id.to_string());
        self.write(move |txn| claim_until(txn, MESSAGES, (domain.as_str(), id.as_str()), now, until))
            .await
    }

    async fn message_recorded(&self, domain: &DomainId, id: &str, now: Timestamp) -> StoreResult<bool> {
        let (domain, id) = (domain.clone(), id.to_string());
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(MESSAGES).map_err(unavailable)?;
            let remembered = table
                .get((domain.as_str(), id.as_str()))
                .map_err(unavailable)?
                .map(|v| v.value());
            Ok(remembered.is_some_and(|end| now.at().timestamp_millis() < end))
        })
        .await
    }

    async fn list_users(&self, domain: &DomainId) -> StoreResult<DomainUsers> {
        let domain = domain.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(USERS).map_err(unavailable)?;
            // Every key of the domain sorts at or after (domain, ""); stop at the first other domain.
            let range = table.range((domain.as_str(), "")..).map_err(unavailable)?;
            let mut users = Vec::new();
            for entry in range {
                let (key, value) = entry.map_err(unavailable)?;
                if key.value().0 != domain.as_str() {
                    break;
                }
                users.push(decode_row(value.value())?.user);
            }
            Ok(Arc::new(users))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str) -> User {
        crate::model::sample_user(id)
    }

    #[tokio::test]
    async fn rows_of_the_json_format_are_moved_over_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let (alice, bob) = (user("alice"), user("bob"));
        {
            // A store as the first format wrote it: JSON rows in `users`.
            let db = Database::create(dir.path().join(FILE_NAME)).unwrap();
            let txn = db.begin_write().unwrap();
            let mut table = txn.open_table(JSON_USERS).unwrap();
            for (user, version) in [(&alice, 3), (&bob, 1)] {
                let row = serde_json::json!({"version": version, "user": user});
                let key = (user.domain_id.as_str(), user.user_id.as_str());
                table.insert(key, row.to_string().as_bytes()).unwrap();
            }
            drop(table);
            txn.commit().unwrap();
        }
        let store = EmbeddedStore::open(dir.path()).unwrap();
        assert_eq!(
            *store.list_users(&alice.domain_id).await.unwrap(),
            vec![alice.clone(), bob]
        );
        let got = store.get_user(&alice.domain_id, &alice.user_id).await.unwrap().unwrap();
        assert_eq!((got.item, got.version), (alice, 3));
        let txn = store.database().unwrap().begin_read().unwrap();
        assert!(!txn.list_tables().unwrap().any(|t| t.name() == JSON_USERS.name()));
    }

    #[tokio::test]
    async fn rows_of_the_second_format_are_moved_over_on_open() {
        /// The user row as the second format wrote it: everything up to the password hash.
        #[derive(Serialize)]
        struct V2Row<'a> {
            version: u64,
            user: V2User<'a>,
        }
        #[derive(Serialize)]
        struct V2User<'a> {
            domain_id: &'a DomainId,
            user_id: &'a UserId,
            name: &'a crate::model::Name,
            state: crate::model::State,
            email: &'a Option<crate::model::Email>,
            email_verified: bool,
            auth_type: crate::model::AuthType,
            role_type: crate::model::RoleType,
            role_binding: &'a Option<crate::model::RoleBinding>,
            workspace_id: &'a Option<crate::model::WorkspaceId>,
            mfa: &'a crate::model::Mfa,
            language: &'a crate::model::Language,
            timezone: &'a crate::model::Timezone,
            required_actions: &'a Vec<crate::model::RequiredAction>,
            tags: &'a crate::model::Tags,
            created_at: Timestamp,
            last_accessed_at: Option<Timestamp>,
            password_hash: &'a Option<crate::secrets::PasswordHash>,
        }
        let dir = tempfile::tempdir().unwrap();
        let alice = user("alice");
        {
            let db = Database::create(dir.path().join(FILE_NAME)).unwrap();
            let txn = db.begin_write().unwrap();
            let mut table = txn.open_table(V2_USERS).unwrap();
            let u = &alice;
            let row = V2Row {
                version: 4,
                user: V2User {
                    domain_id: &u.domain_id,
                    user_id: &u.user_id,
                    name: &u.name,
                    state: u.state,
                    email: &u.email,
                    email_verified: u.email_verified,
                    auth_type: u.auth_type,
                    role_type: u.role_type,
                    role_binding: &u.role_binding,
                    workspace_id: &u.workspace_id,
                    mfa: &u.mfa,
                    language: &u.language,
                    timezone: &u.timezone,
                    required_actions: &u.required_actions,
                    tags: &u.tags,
                    created_at: u.created_at,
                    last_accessed_at: u.last_accessed_at,
                    password_hash: &u.password_hash,
                },
            };
            let bytes = postcard::to_stdvec(&row).unwrap();
            table
                .insert((u.domain_id.as_str(), u.user_id.as_str()), bytes.as_slice())
                .unwrap();
            drop(table);
            txn.commit().unwrap();
        }
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let got = store.get_user(&alice.domain_id, &alice.user_id).await.unwrap().unwrap();
        assert_eq!((got.item, got.version), (alice, 4));
        let txn = store.database().unwrap().begin_read().unwrap();
        assert!(!txn.list_tables().unwrap().any(|t| t.name() == V2_USERS.name()));
    }

    #[tokio::test]
    async fn rows_of_the_third_format_are_moved_to_the_fourth_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let alice = user("alice");
        {
            let db = Database::create(dir.path().join(FILE_NAME)).unwrap();
            let txn = db.begin_write().unwrap();
            let mut table = txn.open_table(V3_USERS).unwrap();
            let bytes = postcard::to_stdvec(&UserRow {
                version: 7,
                user: alice.clone(),
            })
            .unwrap();
            // A v3 row: the same fields without the last two (false and None: one zero each).
            assert_eq!(bytes[bytes.len() - 2..], [0, 0]);
            let v3 = &bytes[..bytes.len() - 2];
            table
                .insert((alice.domain_id.as_str(), alice.user_id.as_str()), v3)
                .unwrap();
            drop(table);
            txn.commit().unwrap();
        }
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let got = store.get_user(&alice.domain_id, &alice.user_id).await.unwrap().unwrap();
        assert_eq!((got.item, got.version), (alice, 7));
        let txn = store.database().unwrap().begin_read().unwrap();
        assert!(!txn.list_tables().unwrap().any(|t| t.name() == V3_USERS.name()));
    }

    /// A disk that can fill up: while `full`, every write, resize and sync fails as a full
    /// disk does.
    #[derive(Debug)]
    struct FillableDisk {
        file: redb::backends::FileBackend,
        full: Arc<std::sync::atomic::AtomicBool>,
    }

    impl FillableDisk {
        fn check(&self) -> Result<(), std::io::Error> {
            if self.full.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
            }
            Ok(())
        }
    }

    impl redb::StorageBackend for FillableDisk {
        fn len(&self) -> Result<u64, std::io::Error> {
            self.file.len()
        }
        fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
            self.file.read(offset, out)
        }
        fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
            self.check()?;
            self.file.set_len(len)
        }
        fn sync_data(&self) -> Result<(), std::io::Error> {
            self.check()?;
            self.file.sync_data()
        }
        fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
            self.check()?;
            self.file.write(offset, data)
        }
        fn close(&self) -> Result<(), std::io::Error> {
            self.file.close()
        }
        fn try_lock_range(
            &self,
            start: std::ops::Bound<u64>,
            end: std::ops::Bound<u64>,
        ) -> Result<bool, redb::BackendError> {
            self.file.try_lock_range(start, end)
        }
        fn try_lock_shared_range(
            &self,
            start: std::ops::Bound<u64>,
            end: std::ops::Bound<u64>,
        ) -> Result<bool, redb::BackendError> {
            self.file.try_lock_shared_range(start, end)
        }
        fn lock_range(&self, start: std::ops::Bound<u64>, end: std::ops::Bound<u64>) -> Result<(), redb::BackendError> {
            self.file.lock_range(start, end)
        }
        fn lock_shared_range(
            &self,
            start: std::ops::Bound<u64>,
            end: std::ops::Bound<u64>,
        ) -> Result<(), redb::BackendError> {
            self.file.lock_shared_range(start, end)
        }
        fn unlock_range(
            &self,
            start: std::ops::Bound<u64>,
            end: std::ops::Bound<u64>,
        ) -> Result<(), redb::BackendError> {
            self.file.unlock_range(start, end)
        }
        fn query_lock_range(
            &self,
            start: std::ops::Bound<u64>,
            end: std::ops::Bound<u64>,
        ) -> Result<bool, redb::BackendError> {
            self.file.query_lock_range(start, end)
        }
    }

    #[tokio::test]
    async fn after_a_full_disk_writes_work_again_without_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let full = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let disk = Arc::clone(&full);
        let opener: Opener = Arc::new(move || {
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| redb::DatabaseError::Storage(redb::StorageError::Io(e)))?;
            let disk = FillableDisk {
                file: redb::backends::FileBackend::new(file)?,
                full: Arc::clone(&disk),
            };
            redb::Builder::new().create_with_backend(disk)
        });
        let store = EmbeddedStore::open_with(opener).unwrap();
        let (alice, bob, carol) = (user("alice"), user("bob"), user("carol"));
        store.create_user(&alice).await.unwrap();

        full.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(matches!(store.create_user(&bob).await, Err(StoreError::Unavailable(_))));
        assert!(matches!(store.create_user(&bob).await, Err(StoreError::Unavailable(_))));

        // Room again: the next write works, with no restart, and nothing half-done is left.
        full.store(false, std::sync::atomic::Ordering::SeqCst);
        store.create_user(&carol).await.unwrap();
        let ids: Vec<String> = store
            .list_users(&alice.domain_id)
            .await
            .unwrap()
            .iter()
            .map(|u| u.user_id.to_string())
            .collect();
        assert_eq!(ids, ["alice", "carol"]);
    }
}
