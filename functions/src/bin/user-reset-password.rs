//! The `user-reset-password` Lambda function: POST /identity/v2/user/reset-password.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::run(users::ops::Operation::ResetPassword).await
}
