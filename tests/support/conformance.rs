//! The storage conformance suite: what every `UserStore` adapter must do, written against the
//! trait alone. `tests/store_conformance.rs` runs it for each adapter.

use chrono::{TimeDelta, Utc};
use shared::model::{
    AuthType, DomainId, Language, Mfa, Name, RoleType, State, Tags, Timestamp, Timezone, User, UserId, Versioned,
};
use shared::secrets::PlainCode;
use shared::store::{
    CodeChange, CodePurpose, CodeRecord, MAX_CODE_ATTEMPTS, MAX_SIGN_IN_FAILURES, SignInClaim, StoreError, UserStore,
};

fn domain(id: &str) -> DomainId {
    DomainId::parse("domain_id", id.into()).expect("domain id")
}

fn uid(id: &str) -> UserId {
    UserId::parse("user_id", id.into()).expect("user id")
}

pub fn user(domain_id: &str, user_id: &str, role_type: RoleType) -> User {
    User {
        domain_id: domain(domain_id),
        user_id: uid(user_id),
        name: Name::default(),
        state: State::Enabled,
        email: None,
        email_verified: false,
        auth_type: AuthType::External,
        role_type,
        role_binding: None,
        workspace_id: None,
        mfa: Mfa::default(),
        language: Language::default(),
        timezone: Timezone::default(),
        required_actions: vec![],
        tags: Tags::default(),
        created_at: Timestamp::new(Utc::now()),
        last_accessed_at: None,
        password_hash: None,
        token_generation: 0,
        tokens_revoked_at: None,
        mfa_enforced: false,
        otp: None,
    }
}

fn code(user: &User, purpose: CodePurpose, ttl_seconds: i64) -> (PlainCode, CodeRecord) {
    let plain = PlainCode::generate();
    let record = CodeRecord {
        domain_id: user.domain_id.clone(),
        user_id: user.user_id.clone(),
        purpose,
        digest: plain.digest(),
        bound_to: "x@example.com".into(),
        expires_at: Timestamp::new(Utc::now() + TimeDelta::seconds(ttl_seconds)),
        attempts: 0,
        otp_secret: None,
    };
    (plain, record)
}

fn now() -> Timestamp {
    Timestamp::new(Utc::now())
}

async fn take(store: &dyn UserStore, user: &User, purpose: CodePurpose, at: Timestamp) -> Option<CodeRecord> {
    store
        .take_code_attempt(&user.domain_id, &user.user_id, purpose, at)
        .await
        .expect("take")
}

async fn created(store: &dyn UserStore, domain_id: &str, user_id: &str, role: RoleType) -> Versioned<User> {
    store
        .create_user(&user(domain_id, user_id, role))
        .await
        .expect("create")
}

pub async fn create_then_get_round_trips(store: &dyn UserStore) {
    let mut u = user("d1", "alice", RoleType::User);
    u.tags = Tags::parse(
        "tags",
        serde_json::json!({"k": [1, "two"]})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    )
    .expect("tags");
    let saved = store.create_user(&u).await.expect("create");
    let read = store
        .get_user(&domain("d1"), &uid("alice"))
        .await
        .expect("get")
        .expect("present");
    assert_eq!(read.item, u);
    assert_eq!(read.version, saved.version);
    assert!(
        store
            .get_user(&domain("d2"), &uid("alice"))
            .await
            .expect("get")
            .is_none()
    );
}

pub async fn create_is_unique_per_domain(store: &dyn UserStore) {
    created(store, "d1", "alice", RoleType::User).await;
    let again = store.create_user(&user("d1", "alice", RoleType::User)).await;
    assert_eq!(again.err(), Some(StoreError::NotUnique));
    created(store, "d2", "alice", RoleType::User).await;
}

pub async fn writes_are_conditional_on_the_version_read(store: &dyn UserStore) {
    let first = created(store, "d1", "alice", RoleType::User).await;
    let mut renamed = first.item.clone();
    renamed.name = Name::parse("name", "A").expect("name");
    let second = store.save_user(&first, &renamed, CodeChange::None).await.expect("save");
    assert!(second.version > first.version);
    // Writing again from the stale read loses.
    assert_eq!(
        store.save_user(&first, &first.item, CodeChange::None).await.err(),
        Some(StoreError::Conflict)
    );
    assert_eq!(store.delete_user(&first).await.err(), Some(StoreError::Conflict));
    let read = store
        .get_user(&domain("d1"), &uid("alice"))
        .await
        .expect("get")
        .expect("present");
    assert_eq!(read.item.name.as_str(), "A");
    store.delete_user(&second).await.expect("delete");
    assert!(
        store
            .get_user(&domain("d1"), &uid("alice"))
            .await
            .expect("get")
            .is_none()
    );
}

pub async fn the_last_enabled_admin_stays(store: &dyn UserStore) {
    let a = created(store, "d1", "a", RoleType::DomainAdmin).await;
    let disabled = User {
        state: State::Disabled,
        ..a.item.clone()
    };
    assert_eq!(
        store.save_user(&a, &disabled, CodeChange::None).await.err(),
        Some(StoreError::LastAdmin)
    );
    assert_eq!(store.delete_user(&a).await.err(), Some(StoreError::LastAdmin));
    // Another domain's admin does not count for this one.
    created(store, "d2", "x", RoleType::DomainAdmin).await;
    assert_eq!(store.delete_user(&a).await.err(), Some(StoreError::LastAdmin));
    let b = created(store, "d1", "b", RoleType::DomainAdmin).await;
    let a = store
        .save_user(&a, &disabled, CodeChange::None)
        .await
        .expect("disable a");
    let b_disabled = User {
        state: State::Disabled,
        ..b.item.clone()
    };
    assert_eq!(
        store.save_user(&b, &b_disabled, CodeChange::None).await.err(),
        Some(StoreError::LastAdmin)
    );
    // A disabled admin is not counted: deleting it is fine, and enabling it counts it again.
    let enabled = User {
        state: State::Enabled,
        ..a.item.clone()
    };
    store.save_user(&a, &enabled, CodeChange::None).await.expect("enable a");
    store
        .save_user(&b, &b_disabled, CodeChange::None)
        .await
        .expect("disable b");
    let b = store.get_user(&domain("d1"), &uid("b")).await.expect("get").expect("b");
    store.delete_user(&b).await.expect("delete disabled admin");
}

pub async fn codes_are_counted_expire_and_are_consumed_once(store: &dyn UserStore) {
    let u = created(store, "d1", "alice", RoleType::User).await;
    let (_, record) = code(&u.item, CodePurpose::VerifyEmail, 60);
    store.issue_code(&record).await.expect("issue");
    for attempt in 1..=MAX_CODE_ATTEMPTS {
        let taken = take(store, &u.item, CodePurpose::VerifyEmail, now()).await;
        assert_eq!(taken.map(|c| c.attempts), Some(attempt));
    }
    let exhausted = take(store, &u.item, CodePurpose::VerifyEmail, now()).await;
    assert!(exhausted.is_none(), "a sixth attempt must find no code");

    let (_, record) = code(&u.item, CodePurpose::Mfa, 60);
    store.issue_code(&record).await.expect("issue");
    let later = Timestamp::new(Utc::now() + TimeDelta::seconds(61));
    assert!(take(store, &u.item, CodePurpose::Mfa, later).await.is_none());
    assert!(take(store, &u.item, CodePurpose::Mfa, now()).await.is_none());

    let (_, record) = code(&u.item, CodePurpose::Mfa, 60);
    store.issue_code(&record).await.expect("issue");
    let taken = take(store, &u.item, CodePurpose::Mfa, now()).await.expect("live");
    let saved = store
        .save_user(&u, &u.item, CodeChange::Consume(taken.clone()))
        .await
        .expect("consume");
    assert_eq!(
        store
            .save_user(&saved, &saved.item, CodeChange::Consume(taken))
            .await
            .err(),
        Some(StoreError::CodeGone)
    );
    assert!(take(store, &u.item, CodePurpose::Mfa, now()).await.is_none());
}

pub async fn a_new_code_replaces_the_old_and_a_failed_write_keeps_the_code(store: &dyn UserStore) {
    let u = created(store, "d1", "alice", RoleType::User).await;
    let (_, old) = code(&u.item, CodePurpose::VerifyEmail, 60);
    store.issue_code(&old).await.expect("issue");
    let (new_plain, new) = code(&u.item, CodePurpose::VerifyEmail, 60);
    let saved = store
        .save_user(&u, &u.item, CodeChange::Issue(new))
        .await
        .expect("issue with save");
    let taken = take(store, &u.item, CodePurpose::VerifyEmail, now())
        .await
        .expect("live");
    assert!(taken.digest.matches(new_plain.expose()));
    // Consuming a replaced code fails, and the failed transaction leaves the user untouched.
    let mut renamed = saved.item.clone();
    renamed.name = Name::parse("name", "changed").expect("name");
    assert_eq!(
        store
            .save_user(
                &saved,
                &renamed,
                CodeChange::Consume(CodeRecord {
                    digest: old.digest,
                    ..taken
                })
            )
            .await
            .err(),
        Some(StoreError::CodeGone)
    );
    let read = store
        .get_user(&domain("d1"), &uid("alice"))
        .await
        .expect("get")
        .expect("present");
    assert_eq!(read.item.name.as_str(), "");
    assert_eq!(read.version, saved.version);
}

pub async fn delete_takes_codes_and_the_reset_window_with_it(store: &dyn UserStore) {
    let u = created(store, "d1", "alice", RoleType::User).await;
    for purpose in CodePurpose::ALL {
        store.issue_code(&code(&u.item, purpose, 60).1).await.expect("issue");
    }
    let until = Timestamp::new(Utc::now() + TimeDelta::seconds(60));
    assert!(
        store
            .claim_reset_window(&u.item.domain_id, &u.item.user_id, now(), until)
            .await
            .expect("claim")
    );
    store.delete_user(&u).await.expect("delete");
    created(store, "d1", "alice", RoleType::User).await;
    for purpose in CodePurpose::ALL {
        assert!(take(store, &u.item, purpose, now()).await.is_none());
    }
    assert!(
        store
            .claim_reset_window(&u.item.domain_id, &u.item.user_id, now(), until)
            .await
            .expect("claim")
    );
}

/// SPEC section 5: a delete leaves a tombstone in the user's key, read by the same read as a
/// user (alone or in a pair), never listed; a create replaces it.
pub async fn a_delete_leaves_a_tombstone_that_a_create_replaces(store: &dyn UserStore) {
    use shared::store::Record;
    let d = domain("d1");
    let alice = created(store, "d1", "alice", RoleType::User).await;
    let bob = created(store, "d1", "bob", RoleType::DomainAdmin).await;
    assert!(matches!(
        store.get_record(&d, &uid("nobody")).await.expect("read"),
        Record::Absent
    ));
    let before = Utc::now() - TimeDelta::seconds(1);
    store.delete_user(&alice).await.expect("delete");
    let Record::Tombstone(tombstone) = store.get_record(&d, &uid("alice")).await.expect("read") else {
        panic!("no tombstone");
    };
    assert!(tombstone.deleted_at.at() > before && tombstone.deleted_at.at() <= Utc::now());
    assert_eq!(store.get_user(&d, &uid("alice")).await.expect("read"), None);
    let (one, two) = store
        .get_record_pair(&d, &uid("bob"), &uid("alice"))
        .await
        .expect("read");
    assert_eq!(one, Record::User(bob.clone()));
    assert_eq!(two, Record::Tombstone(tombstone));
    let (one, two) = store
        .get_record_pair(&d, &uid("alice"), &uid("alice"))
        .await
        .expect("read");
    assert_eq!((one, two), (Record::Tombstone(tombstone), Record::Tombstone(tombstone)));
    // Another domain's user of the same id is not tombstoned.
    assert!(matches!(
        store.get_record(&domain("d2"), &uid("alice")).await.expect("read"),
        Record::Absent
    ));
    let users = store.list_users(&d).await.expect("list");
    assert_eq!(users.iter().map(|u| u.user_id.as_str()).collect::<Vec<_>>(), ["bob"]);
    // A save of the deleted version conflicts; a create replaces the tombstone.
    let mut renamed = alice.item.clone();
    renamed.name = shared::model::Name::parse("name", "x").expect("name");
    assert_eq!(
        store.save_user(&alice, &renamed, CodeChange::None).await,
        Err(StoreError::Conflict)
    );
    let again = created(store, "d1", "alice", RoleType::User).await;
    assert_eq!(
        store.get_record(&d, &uid("alice")).await.expect("read"),
        Record::User(again)
    );
    let users = store.list_users(&d).await.expect("list");
    assert_eq!(
        users.iter().map(|u| u.user_id.as_str()).collect::<Vec<_>>(),
        ["alice", "bob"]
    );
}

pub async fn a_pair_of_users_is_read_together(store: &dyn UserStore) {
    let alice = created(store, "d1", "alice", RoleType::DomainAdmin).await;
    let bob = created(store, "d1", "bob", RoleType::User).await;
    let d = domain("d1");
    let (one, two) = store.get_user_pair(&d, &uid("alice"), &uid("bob")).await.expect("read");
    assert_eq!((one, two), (Some(alice.clone()), Some(bob)));
    let (one, two) = store
        .get_user_pair(&d, &uid("nobody"), &uid("alice"))
        .await
        .expect("read");
    assert_eq!((one, two), (None, Some(alice.clone())));
    let (one, two) = store
        .get_user_pair(&d, &uid("alice"), &uid("alice"))
        .await
        .expect("read");
    assert_eq!((one, two), (Some(alice.clone()), Some(alice)));
    let (one, two) = store
        .get_user_pair(&domain("d2"), &uid("alice"), &uid("bob"))
        .await
        .expect("read");
    assert_eq!((one, two), (None, None));
}

/// Parallel claims never hand out more than the window's attempts: exactly five of fifty
/// are granted, the fifth locks, and the lock holds for 15 minutes after it.
pub async fn sign_in_attempts_are_counted_atomically_and_lock(store: &dyn UserStore) {
    let (d, u) = (domain("d1"), uid("alice"));
    let start = Utc::now();
    let at = |m: i64| Timestamp::new(start + TimeDelta::minutes(m));
    let claims = futures_util::future::join_all((0..50).map(|_| store.claim_sign_in(&d, &u, at(0)))).await;
    let claims: Vec<SignInClaim> = claims.into_iter().map(|c| c.expect("claim")).collect();
    let granted = claims
        .iter()
        .filter(|c| matches!(c, SignInClaim::Granted { .. }))
        .count();
    assert_eq!(granted, MAX_SIGN_IN_FAILURES as usize, "{claims:?}");
    assert_eq!(
        claims
            .iter()
            .filter(|c| **c == SignInClaim::Granted { locks: true })
            .count(),
        1
    );
    assert_eq!(
        store.claim_sign_in(&d, &u, at(14)).await.expect("claim"),
        SignInClaim::Locked
    );
    // Another user of the domain is not affected.
    assert!(matches!(
        store.claim_sign_in(&d, &uid("bob"), at(1)).await.expect("claim"),
        SignInClaim::Granted { locks: false }
    ));
    assert_eq!(
        store.claim_sign_in(&d, &u, at(16)).await.expect("claim"),
        SignInClaim::Granted { locks: false }
    );
    // A success clears the count: four more do not lock.
    store.clear_sign_in(&d, &u).await.expect("clear");
    for _ in 0..4 {
        assert_eq!(
            store.claim_sign_in(&d, &u, at(17)).await.expect("claim"),
            SignInClaim::Granted { locks: false }
        );
    }
}

pub async fn the_reset_window_opens_once_until_it_ends(store: &dyn UserStore) {
    let (d, u) = (domain("d1"), uid("alice"));
    let start = Utc::now();
    let at = |s: i64| Timestamp::new(start + TimeDelta::seconds(s));
    assert!(store.claim_reset_window(&d, &u, at(0), at(60)).await.expect("claim"));
    assert!(!store.claim_reset_window(&d, &u, at(59), at(119)).await.expect("claim"));
    assert!(store.claim_reset_window(&d, &u, at(60), at(120)).await.expect("claim"));
    store.release_reset_window(&d, &u).await.expect("release");
    assert!(store.claim_reset_window(&d, &u, at(61), at(121)).await.expect("claim"));
    assert!(
        store
            .claim_reset_window(&d, &uid("bob"), at(61), at(121))
            .await
            .expect("claim")
    );
}

pub async fn a_message_is_recorded_once_until_it_is_forgotten(store: &dyn UserStore) {
    let (d, other) = (domain("d1"), domain("d2"));
    let start = Utc::now();
    let at = |s: i64| Timestamp::new(start + TimeDelta::seconds(s));
    let id = "3f2a8c1e-msg";
    assert!(!store.message_recorded(&d, id, at(0)).await.expect("read"));
    assert!(store.record_message(&d, id, at(0), at(60)).await.expect("record"));
    assert!(store.message_recorded(&d, id, at(59)).await.expect("read"));
    assert!(!store.record_message(&d, id, at(59), at(119)).await.expect("record"));
    // Per domain, and forgotten when its time is up.
    assert!(!store.message_recorded(&other, id, at(1)).await.expect("read"));
    assert!(!store.message_recorded(&d, id, at(60)).await.expect("read"));
    assert!(store.record_message(&d, id, at(60), at(120)).await.expect("record"));
    // A message record is not a user.
    assert!(store.list_users(&d).await.expect("list").is_empty());
}

pub async fn list_returns_one_domain_in_user_id_order(store: &dyn UserStore) {
    for id in ["carol", "alice", "bob"] {
        created(store, "d1", id, RoleType::User).await;
    }
    created(store, "d0", "zed", RoleType::User).await;
    created(store, "d1x", "yan", RoleType::User).await;
    let users = store.list_users(&domain("d1")).await.expect("list");
    let ids: Vec<&str> = users.iter().map(|u| u.user_id.as_str()).collect();
    assert_eq!(ids, ["alice", "bob", "carol"]);
    assert!(store.list_users(&domain("none")).await.expect("list").is_empty());
}

/// Runs every check above against fresh stores made by `fresh`.
#[macro_export]
macro_rules! conformance_suite {
    ($fresh:expr) => {
        $crate::conformance_suite!(@tests $fresh;
            create_then_get_round_trips,
            create_is_unique_per_domain,
            writes_are_conditional_on_the_version_read,
            the_last_enabled_admin_stays,
            codes_are_counted_expire_and_are_consumed_once,
            a_new_code_replaces_the_old_and_a_failed_write_keeps_the_code,
            delete_takes_codes_and_the_reset_window_with_it,
            the_reset_window_opens_once_until_it_ends,
            a_pair_of_users_is_read_together,
            a_delete_leaves_a_tombstone_that_a_create_replaces,
            sign_in_attempts_are_counted_atomically_and_lock,
            a_message_is_recorded_once_until_it_is_forgotten,
            list_returns_one_domain_in_user_id_order,
        );
    };
    (@tests $fresh:expr; $($name:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let (store, _guard) = $fresh.await;
                $crate::conformance::$name(&*store).await;
            }
        )+
    };
}
