//! The `user-list` Lambda function: POST /identity/v2/user/list.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::run(shared::ops::Served::LIST).await
}
