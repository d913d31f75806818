//! The `user-get` Lambda function: POST /identity/v2/user/get.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::run(shared::ops::Served::GET).await
}
