//! The `user-verify-email` Lambda function: POST /identity/v2/user/verify-email.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::run_mailing(shared::ops::Served::VERIFY_EMAIL).await
}
