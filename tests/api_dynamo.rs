//! The HTTP suite (`tests/api`) again, on the DynamoDB store: each test on a fresh table of the
//! run's moto server (the race tests on the one that answers a request at a time). The same
//! source compiled as a second test binary, so that one `cargo nextest run` runs both passes
//! side by side; `TestApi::new` picks DynamoDB for this binary (`tests/support/mod.rs`).

#[path = "api/main.rs"]
mod api;
