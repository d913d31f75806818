//! The `user-update` Lambda function: POST /identity/v2/user/update.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::run_mailing(shared::ops::Served::UPDATE).await
}
