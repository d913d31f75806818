//! The `users-provision` Lambda function: provisioning commands from its SQS queue.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::provision().await
}
