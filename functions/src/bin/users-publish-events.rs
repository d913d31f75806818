//! The `users-publish-events` Lambda function: user change events from the table's stream.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::publish_events().await
}
