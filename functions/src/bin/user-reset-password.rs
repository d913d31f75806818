//! The `user-reset-password` Lambda function: POST /identity/v2/user/reset-password. It hands
//! the work to the provisioning queue (PROVISION_QUEUE_URL) and answers at once.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::run_handing_over(shared::ops::Served::RESET_PASSWORD).await
}
