//! The same main as functions/src/bin/user-get.rs (the bench needs it in its own package).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::run(shared::ops::Served::GET).await
}
