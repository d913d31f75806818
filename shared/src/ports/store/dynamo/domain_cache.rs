//! The DynamoDB store's in-memory copies of the domains this process lists (list and stat).
//!
//! A copy holds a domain's users in user_id order, without password hashes, and the moment its
//! last catch-up began. Each list brings the copy up to date with the changes since that
//! moment (`domain_read.rs`), so a warm list reads only what changed. Copies share one byte
//! budget; the least recently used go first. A domain that alone exceeds the budget is refused
//! (`StoreError::DomainTooLarge`), never half-served.

use std::collections::HashMap;
use std::mem::size_of;
use std::sync::{Arc, Mutex};

use crate::model::{User, UserId};
use crate::store::DomainUsers;

/// One domain's copy.
#[derive(Clone)]
pub struct DomainCopy {
    pub users: DomainUsers,
    /// When (microseconds, this process's clock) the read that produced this copy began.
    pub synced_from: i64,
    /// The estimated bytes the copy holds ([`footprint`]).
    pub bytes: usize,
}

/// What a change-index read found for one user: the user as it is now, or its tombstone.
#[derive(Debug)]
pub enum Change {
    Upsert { stamp: i64, user: Box<User> },
    Delete { stamp: i64, user_id: UserId },
}

impl Change {
    fn stamp(&self) -> i64 {
        match self {
            Change::Upsert { stamp, .. } | Change::Delete { stamp, .. } => *stamp,
        }
    }

    /// The bytes of the user it brings (a tombstone brings none).
    pub fn footprint(&self) -> usize {
        match self {
            Change::Upsert { user, .. } => footprint(user),
            Change::Delete { .. } => 0,
        }
    }

    fn user_id(&self) -> &str {
        match self {
            Change::Upsert { user, .. } => user.user_id.as_str(),
            Change::Delete { user_id, .. } => user_id.as_str(),
        }
    }
}

/// The bytes a cached user takes, estimated from its parts: the struct (its slot in the copy),
/// every string it owns and the tags. An allocation's bookkeeping is counted as 16
/// bytes. `benches/domain_list.rs` compares the estimate with what the allocator saw.
pub fn footprint(user: &User) -> usize {
    const PER_ALLOCATION: usize = 16;
    let text = |s: &str| if s.is_empty() { 0 } else { s.len() + PER_ALLOCATION };
    let mut bytes = size_of::<User>();
    bytes += text(user.domain_id.as_str()) + text(user.user_id.as_str()) + text(user.name.as_str());
    bytes += user.email.as_ref().map_or(0, |e| text(e.as_str()));
    bytes += user.mfa.email.as_ref().map_or(0, |e| text(e.as_str()));
    bytes += text(user.language.as_str()) + text(user.timezone.as_str());
    bytes += user.workspace_id.as_ref().map_or(0, |w| text(w.as_str()));
    bytes += user.role_binding.as_ref().map_or(0, |r| text(&r.role_id));
    bytes += user.required_actions.len() * 8 + PER_ALLOCATION;
    bytes += tags_footprint(user.tags.as_map());
    bytes
}

fn tags_footprint(tags: &serde_json::Map<String, serde_json::Value>) -> usize {
    fn value(v: &serde_json::Value) -> usize {
        size_of::<serde_json::Value>()
            + match v {
                serde_json::Value::String(s) => s.len() + 16,
                serde_json::Value::Array(items) => items.iter().map(value).sum::<usize>() + 16,
                serde_json::Value::Object(map) => map.iter().map(|(k, v)| k.len() + 48 + value(v)).sum::<usize>(),
                _ => 0,
            }
    }
    tags.iter().map(|(k, v)| k.len() + 48 + value(v)).sum()
}

/// A user as the copy keeps it: no password hash (list and stat never read it, and a secret
/// kept in memory for hours is one more place it could leak from).
pub fn cached(mut user: User) -> User {
    user.password_hash = None;
    user
}

/// Applies the changes one catch-up read found to `copy`, in place when nobody else holds its
/// users. For each user the change with the latest stamp wins, and a user beats its own
/// tombstone of the same stamp: a Query returns a user only if it exists when read.
pub fn apply(copy: &mut DomainCopy, mut changes: Vec<Change>) {
    if changes.is_empty() {
        return;
    }
    changes.sort_by(|a, b| {
        a.user_id()
            .cmp(b.user_id())
            .then(a.stamp().cmp(&b.stamp()))
            .then(matches!(a, Change::Upsert { .. }).cmp(&matches!(b, Change::Upsert { .. })))
    });
    let mut latest: Vec<Change> = Vec::with_capacity(changes.len());
    for change in changes {
        match latest.last() {
            Some(last) if last.user_id() == change.user_id() => {
                if let Some(slot) = latest.last_mut() {
                    *slot = change;
                }
            }
            _ => latest.push(change),
        }
    }
    let users = Arc::make_mut(&mut copy.users);
    for change in latest {
        let at = users.binary_search_by(|u| u.user_id.as_str().cmp(change.user_id()));
        match (change, at) {
            (Change::Upsert { user, .. }, Ok(i)) => {
                copy.bytes = copy.bytes.saturating_sub(footprint(&users[i])) + footprint(&user);
                users[i] = cached(*user);
            }
            (Change::Upsert { user, .. }, Err(i)) => {
                copy.bytes += footprint(&user);
                users.insert(i, cached(*user));
            }
            (Change::Delete { .. }, Ok(i)) => {
                copy.bytes = copy.bytes.saturating_sub(footprint(&users[i]));
                users.remove(i);
            }
            (Change::Delete { .. }, Err(_)) => {}
        }
    }
}

/// One domain's place in the cache. Its own async lock makes concurrent lists of the domain
/// wait for one catch-up instead of each reading the changes.
pub type Slot = Arc<tokio::sync::Mutex<Option<DomainCopy>>>;

struct Held {
    slot: Slot,
    bytes: usize,
    last_used: u64,
}

/// The copies of one process, under one byte budget, least recently used out.
pub struct DomainCache {
    budget: usize,
    held: Mutex<(HashMap<String, Held>, u64)>,
}

impl DomainCache {
    pub fn new(budget: usize) -> Self {
        Self {
            budget,
            held: Mutex::new((HashMap::new(), 0)),
        }
    }

    /// The most bytes one domain's copy may take.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// The slot of `partition`, made if missing, marked as just used.
    pub fn slot(&self, partition: &str) -> Slot {
        let mut held = self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        used(&mut held, partition, Slot::default).slot.clone()
    }

    /// Records the size of `partition`'s copy and lets go of the least recently used other
    /// copies until all fit the budget. A copy in use elsewhere is freed when its user drops it.
    pub fn settle(&self, partition: &str, slot: &Slot, bytes: usize) {
        let mut held = self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        used(&mut held, partition, || slot.clone()).bytes = bytes;
        let map = &mut held.0;
        let mut total: usize = map.values().map(|h| h.bytes).sum();
        while total > self.budget {
            let oldest = map
                .iter()
                .filter(|(name, _)| name.as_str() != partition)
                .min_by_key(|(_, h)| h.last_used)
                .map(|(name, _)| name.clone());
            let Some(name) = oldest else { break };
            if let Some(gone) = map.remove(&name) {
                total -= gone.bytes;
                tracing::debug!(partition = %name, bytes = gone.bytes, "domain copy evicted");
            }
        }
    }

    /// Forgets `partition`'s copy (a failed or refused read).
    pub fn forget(&self, partition: &str) {
        let mut held = self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        held.0.remove(partition);
    }

    /// The bytes all copies hold, by the estimate.
    pub fn held_bytes(&self) -> usize {
        let held = self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        held.0.values().map(|h| h.bytes).sum()
    }
}

/// `partition`'s entry, made with `make_slot` if missing, marked as just used.
fn used<'a>(
    held: &'a mut (HashMap<String, Held>, u64),
    partition: &str,
    make_slot: impl FnOnce() -> Slot,
) -> &'a mut Held {
    let (map, clock) = held;
    *clock += 1;
    let entry = map.entry(partition.to_owned()).or_insert_with(|| Held {
        slot: make_slot(),
        bytes: 0,
        last_used: 0,
    });
    entry.last_used = *clock;
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, name: &str) -> User {
        let mut user = crate::model::sample_user(id);
        user.name = crate::model::Name::parse("name", name).expect("name");
        user
    }

    fn copy_of(ids: &[&str]) -> DomainCopy {
        let users: Vec<User> = ids.iter().map(|id| cached(user(id, "old"))).collect();
        let bytes = users.iter().map(footprint).sum();
        DomainCopy {
            users: Arc::new(users),
            synced_from: 0,
            bytes,
        }
    }

    fn ids(copy: &DomainCopy) -> Vec<String> {
        copy.users.iter().map(|u| u.user_id.as_str().to_owned()).collect()
    }

    fn gone(id: &str, stamp: i64) -> Change {
        Change::Delete {
            stamp,
            user_id: UserId::parse("user_id", id.into()).expect("id"),
        }
    }

    #[test]
    fn upserts_insert_in_order_and_replace() {
        let mut copy = copy_of(&["a", "c"]);
        apply(
            &mut copy,
            vec![
                Change::Upsert {
                    stamp: 5,
                    user: Box::new(user("b", "new")),
                },
                Change::Upsert {
                    stamp: 6,
                    user: Box::new(user("c", "new")),
                },
            ],
        );
        assert_eq!(ids(&copy), ["a", "b", "c"]);
        assert_eq!(copy.users[2].name.as_str(), "new");
        let expected: usize = copy.users.iter().map(footprint).sum();
        assert_eq!(copy.bytes, expected);
    }

    #[test]
    fn the_latest_stamp_wins_and_a_user_beats_its_tombstone_of_the_same_stamp() {
        let mut copy = copy_of(&["a", "b", "c"]);
        apply(
            &mut copy,
            vec![
                // Deleted, then re-created later: stays.
                gone("a", 1),
                Change::Upsert {
                    stamp: 2,
                    user: Box::new(user("a", "again")),
                },
                // Written, then deleted later: goes.
                Change::Upsert {
                    stamp: 1,
                    user: Box::new(user("b", "x")),
                },
                gone("b", 2),
                // A tie: the user was read, so it exists.
                gone("c", 3),
                Change::Upsert {
                    stamp: 3,
                    user: Box::new(user("c", "tie")),
                },
                // A tombstone of a user the copy never had.
                gone("z", 9),
            ],
        );
        assert_eq!(ids(&copy), ["a", "c"]);
        assert_eq!(copy.users[0].name.as_str(), "again");
    }

    #[test]
    fn cached_users_hold_no_password_hash() {
        let mut with_hash = user("a", "a");
        with_hash.password_hash = Some(crate::secrets::PasswordHash::dummy().clone());
        assert!(cached(with_hash).password_hash.is_none());
    }

    #[test]
    fn the_least_recently_used_copy_goes_first() {
        let cache = DomainCache::new(100);
        let (a, b, c) = (cache.slot("a"), cache.slot("b"), cache.slot("c"));
        cache.settle("a", &a, 40);
        cache.settle("b", &b, 40);
        cache.slot("a");
        cache.settle("c", &c, 40);
        assert_eq!(cache.held_bytes(), 80, "b was the least recently used");
        let held = cache.held.lock().expect("lock");
        assert!(held.0.contains_key("a") && held.0.contains_key("c") && !held.0.contains_key("b"));
    }
}
