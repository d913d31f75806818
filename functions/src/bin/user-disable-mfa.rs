//! The `user-disable-mfa` Lambda function: POST /identity/v2/user/disable-mfa.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::run_mailing(shared::ops::Served::DISABLE_MFA).await
}
