//! The `user-confirm-mfa` Lambda function: POST /identity/v2/user/confirm-mfa.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::run(shared::ops::Served::CONFIRM_MFA).await
}
