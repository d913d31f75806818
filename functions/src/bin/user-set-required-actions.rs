//! The `user-set-required-actions` Lambda function: POST /identity/v2/user/set-required-actions.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::run(shared::ops::Served::SET_REQUIRED_ACTIONS).await
}
