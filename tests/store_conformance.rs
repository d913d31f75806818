//! The storage conformance suite, run against every adapter.

mod embedded {
    use std::sync::Arc;

    use users::store::UserStore;
    use users::store::embedded::EmbeddedStore;

    async fn fresh() -> (Arc<dyn UserStore>, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EmbeddedStore::open(dir.path()).expect("open");
        (Arc::new(store), dir)
    }

    users_tests::conformance_suite!(fresh());
}

mod dynamo {
    use std::sync::Arc;

    use users::store::UserStore;
    use users_tests::moto;

    async fn fresh() -> (Arc<dyn UserStore>, ()) {
        (Arc::new(moto::fresh_store(&moto::RequestCounter::default()).await), ())
    }

    users_tests::conformance_suite!(fresh());
}
