//! The `user-stat` Lambda function: POST /identity/v1/user/stat and /identity/v2/user/stat.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::run(shared::ops::Served::STAT).await
}
