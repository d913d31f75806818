//! The `token-grant` Lambda function: POST /identity/v2/token/grant (a refresh token becomes an
//! access token for a scope). It signs with the KMS key TOKEN_SIGNING_KEY names.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::run(shared::ops::Served::TOKEN_GRANT).await
}
