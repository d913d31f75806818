//! The `token-keys` Lambda function: the public signing keys, at GET /.well-known/jwks.json and
//! POST /identity/v2/domain/get-public-key. It reads them from KMS once, never signs.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    use shared::ops::Served;
    functions::lambda::run_routes(&[Served::PUBLIC_KEY, Served::JWKS]).await
}
