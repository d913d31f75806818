//! The AWS SDK configuration (region, credentials, endpoint, retries, HTTPS client), loaded once
//! per process and shared by the DynamoDB and SES clients. Endpoint overrides
//! (`AWS_ENDPOINT_URL`, and the per-service forms) come from the standard SDK settings.
//!
//! Cold start: the SDK's default HTTPS client trusts the operating system's certificate store,
//! and reading and parsing it (about 150 files under /etc/ssl/certs) was most of our init time
//! (docs/performance.md). Every AWS endpoint chains to an Amazon Trust Services root, so the
//! client trusts exactly those, compiled in. `USERS_TLS_NATIVE_ROOTS=true` trusts the system
//! store instead (a TLS-inspecting proxy, a private endpoint with its own CA).

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// Amazon Root CA 1–4 and Starfield Services Root CA G2 (which cross-signs them), from
/// Debian's ca-certificates. Valid until 2037–2040.
const AMAZON_ROOTS: &[u8] = include_bytes!("amazon-roots.pem");

pub async fn load() -> SdkConfig {
    let native_roots = std::env::var("USERS_TLS_NATIVE_ROOTS").is_ok_and(|v| v == "true" || v == "1");
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client(native_roots))
        .load()
        .await
}

fn https_client(native_roots: bool) -> SharedHttpClient {
    let trust = if native_roots {
        TrustStore::default()
    } else {
        TrustStore::empty().with_pem_certificate(AMAZON_ROOTS)
    };
    let builder = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::AwsLc));
    match TlsContext::builder().with_trust_store(trust).build() {
        Ok(context) => builder.tls_context(context).build_https(),
        // Cannot happen with a valid bundled PEM; the SDK's own default is the safe fallback.
        Err(_) => builder.build_https(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bundled roots are parsed when the first connection is made (a bad PEM would panic
    /// there); a request to a closed local HTTPS port gets that far and fails cleanly.
    #[tokio::test]
    async fn the_bundled_roots_load_and_a_failed_connection_is_an_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("port");
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("a", "b", None, None, "test"))
            .endpoint_url(format!("https://127.0.0.1:{port}"))
            .http_client(https_client(false))
            .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
            .build();
        let client = aws_sdk_dynamodb::Client::from_conf(config);
        let result = client.list_tables().send().await;
        assert!(result.is_err());
    }
}
