//! The `user-delete` Lambda function: POST /identity/v2/user/delete.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::run(shared::ops::Served::DELETE).await
}
