//! The `users-console` Lambda function: GET /console/…, /openapi.json and /docs: the console's files
//! and the API's documentation, as `users-local serve` answers them.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::lambda::run_web().await
}
