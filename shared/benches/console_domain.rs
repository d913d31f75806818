//! Seeds a `users-local` data folder with a large domain for the console's bench
//! (scripts/bench/console_users.py): `domain-local` with USERS synthetic users and one
//! DOMAIN_ADMIN, `root-user`, whose password is `Wonderland1`. One transaction (provisioning
//! them one by one would take ten minutes of disk syncs).
//!
//! `cargo bench -p shared --bench console_domain -- DATA_DIR [USERS]` (100,000 by default); then
//! `DATA_DIR=... users-local serve`.

mod common;

use shared::model::{RoleType, User};
use shared::secrets::Password;
use shared::store::embedded::EmbeddedStore;

const DOMAIN: &str = "domain-local";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let Some(dir) = args.first() else {
        eprintln!("usage: cargo bench -p shared --bench console_domain -- DATA_DIR [USERS]");
        std::process::exit(2);
    };
    let users: usize = args.get(1).map_or(100_000, |n| n.parse().expect("a number of users"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let store = EmbeddedStore::open(&std::path::Path::new(dir).join("db")).expect("store");
        let password = Password::parse("Wonderland1".into()).expect("password");
        let admin = User {
            role_type: RoleType::DomainAdmin,
            password_hash: Some(password.hash().await.expect("hash")),
            ..common::verified_user(DOMAIN, "root-user", "root@example.com")
        };
        let mut all: Vec<User> = (0..users).map(|i| common::synthetic_user(DOMAIN, i)).collect();
        all.push(admin);
        store.create_many(all).await.expect("users");
    });
    println!("{dir}: {DOMAIN} with {users} users and root-user (DOMAIN_ADMIN)");
}
