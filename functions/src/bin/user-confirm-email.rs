//! The `user-confirm-email` Lambda function: POST /identity/v2/user/confirm-email.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::run(shared::ops::Served::CONFIRM_EMAIL).await
}
