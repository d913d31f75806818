//! The `user-disable` Lambda function: POST /identity/v2/user/disable.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::run(shared::ops::Served::DISABLE).await
}
