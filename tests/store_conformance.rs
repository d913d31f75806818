//! The storage conformance suite, run against every adapter.

mod embedded {
    use std::sync::Arc;

    use shared::store::UserStore;
    use shared::store::embedded::EmbeddedStore;

    async fn fresh() -> (Arc<dyn UserStore>, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EmbeddedStore::open(dir.path()).expect("open");
        (Arc::new(store), dir)
    }

    tests::conformance_suite!(fresh());
}

mod dynamo {
    use std::sync::Arc;

    use shared::store::UserStore;
    use tests::moto;

    /// On the moto server that answers one request at a time: the suite has race tests (fifty
    /// parallel sign-in claims, racing admin changes), and moto's threaded server neither locks
    /// a conditional write's check and write together nor rolls a failed transaction back
    /// without undoing other requests' writes, races DynamoDB itself never loses.
    async fn fresh() -> (Arc<dyn UserStore>, ()) {
        (Arc::new(moto::fresh_serial_store().await), ())
    }

    tests::conformance_suite!(fresh());
}
