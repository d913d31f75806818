//! The `user-enable` Lambda function: POST /identity/v2/user/enable.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::run(shared::ops::Served::ENABLE).await
}
