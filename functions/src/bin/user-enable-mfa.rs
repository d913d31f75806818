//! The `user-enable-mfa` Lambda function: POST /identity/v2/user/enable-mfa.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::run_mailing(shared::ops::Served::ENABLE_MFA).await
}
