//! The `token-issue` Lambda function: POST /identity/v2/token/issue (sign-in). It signs with
//! the KMS key TOKEN_SIGNING_KEY names.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::run_mailing(shared::ops::Served::TOKEN_ISSUE).await
}
