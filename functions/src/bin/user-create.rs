//! The `user-create` Lambda function: POST /identity/v2/user/create.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::run_mailing(shared::ops::Served::CREATE).await
}
