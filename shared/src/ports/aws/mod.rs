//! The AWS SDK configuration (region, credentials, endpoint, retries, HTTPS client), loaded once
//! per process and shared by the DynamoDB and SES clients. Endpoint overrides
//! (`AWS_ENDPOINT_URL`, and the per-service forms) come from the standard SDK settings.
//!
//! Cold start: the SDK's default HTTPS client trusts the operating system's certificate store,
//! and reading and parsing it (about 150 files under /etc/ssl/certs) was most of our init time
//! (docs/performance.md). Every AWS endpoint chains to an Amazon Trust Services root, so the
//! client trusts exactly those, compiled in. `USERS_TLS_NATIVE_ROOTS=true` trusts the system
//! store instead (a TLS-inspecting proxy, a private endpoint with its own CA).

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_async::rt::sleep::default_async_sleep;
use aws_smithy_async::time::{SharedTimeSource, SystemTimeSource};
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

/// Amazon Root CA 1–4 and Starfield Services Root CA G2 (which cross-signs them), from
/// Debian's ca-certificates. Valid until 2037–2040.
const AMAZON_ROOTS: &[u8] = include_bytes!("amazon-roots.pem");

/// The process's AWS SDK configuration: loaded on first use, then the same one (and so the
/// same HTTPS client and its connection pool) for every client the process makes.
pub async fn load() -> SdkConfig {
    static LOADED: tokio::sync::OnceCell<SdkConfig> = tokio::sync::OnceCell::const_new();
    LOADED.get_or_init(load_once).await.clone()
}

async fn load_once() -> SdkConfig {
    let native_roots = std::env::var("USERS_TLS_NATIVE_ROOTS").is_ok_and(|v| v == "true" || v == "1");
    let http = https_client(native_roots);
    let names: Vec<String> = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .collect();
    if let Some(config) = from_lambda_environment(http.clone(), |name| std::env::var(name).ok(), &names) {
        return config;
    }
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .load()
        .await
}

/// Settings only `aws_config` reads: when one is set, it does the loading.
const SETTINGS_FOR_AWS_CONFIG: &[&str] = &[
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
];

/// Inside Lambda, region and credentials are always in the environment (AWS_REGION and the
/// execution role's AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), so the
/// configuration is built from them directly. The full `aws_config` default chains cost half
/// a millisecond of init for the same answer. Anywhere else, or when any other SDK setting
/// is present (a profile, per-service endpoints, retry settings), `None`: aws_config loads it.
fn from_lambda_environment(
    http: SharedHttpClient,
    var: impl Fn(&str) -> Option<String>,
    names: &[String],
) -> Option<SdkConfig> {
    var("AWS_LAMBDA_FUNCTION_NAME")?;
    let other_settings = names
        .iter()
        .any(|name| name.starts_with("AWS_ENDPOINT_URL_") || SETTINGS_FOR_AWS_CONFIG.contains(&name.as_str()));
    if other_settings {
        return None;
    }
    let region = var("AWS_REGION")?;
    let credentials = Credentials::new(
        var("AWS_ACCESS_KEY_ID")?,
        var("AWS_SECRET_ACCESS_KEY")?,
        var("AWS_SESSION_TOKEN"),
        None,
        "lambda-environment",
    );
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(http)
        .retry_config(RetryConfig::standard())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(std::time::Duration::from_millis(3100))
                .build(),
        )
        .time_source(SharedTimeSource::new(SystemTimeSource::new()));
    if let Some(sleep) = default_async_sleep() {
        builder = builder.sleep_impl(sleep);
    }
    if let Some(url) = var("AWS_ENDPOINT_URL") {
        builder = builder.endpoint_url(url);
    }
    Some(builder.build())
}

/// The longest a DynamoDB operation may take, its attempts and back-off included; after it the
/// SDK gives up. It bounds how long after its change stamp a write can commit, which the domain
/// copies' overlap relies on (docs/dynamodb.md, "A domain's users").
pub const OPERATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// A DynamoDB client on `aws`, with [`OPERATION_TIMEOUT`] added to its timeouts.
pub fn dynamodb_client(aws: &SdkConfig) -> aws_sdk_dynamodb::Client {
    let timeouts = aws
        .timeout_config()
        .map(TimeoutConfig::to_builder)
        .unwrap_or_default()
        .operation_timeout(OPERATION_TIMEOUT)
        .build();
    let config = aws_sdk_dynamodb::config::Builder::from(aws)
        .timeout_config(timeouts)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// The HTTP client of the project's SDK clients: rustls on ring, trusting the bundled Amazon
/// roots; plain HTTP to a local endpoint works too. Tests and benches build their own SDK
/// clients with it rather than with the SDK's `default-https-client` feature: in a workspace
/// build, one member enabling that feature turns on rustls's aws-lc backend for every binary
/// built with it, the Lambda functions included (issue 14: about 1 MB of aws-lc in each).
pub fn http_client() -> SharedHttpClient {
    https_client(false)
}

fn https_client(native_roots: bool) -> SharedHttpClient {
    let trust = if native_roots {
        TrustStore::default()
    } else {
        TrustStore::empty().with_pem_certificate(AMAZON_ROOTS)
    };
    let builder = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring));
    let client = match TlsContext::builder().with_trust_store(trust).build() {
        Ok(context) => builder.tls_context(context).build_https(),
        // Cannot happen with a valid bundled PEM; the SDK's own default is the safe fallback.
        Err(_) => builder.build_https(),
    };
    if native_roots {
        client
    } else {
        SharedHttpClient::new(NoTlsSetupAtValidation(client))
    }
}

/// The HTTPS client with compiled-in roots, minus the TLS setup the SDK does and discards in
/// every `Client::from_conf`: the SDK's hyper client builds a whole connector (the trust store
/// parsed, a rustls configuration made) when a client's configuration is validated, so that
/// the operating system's certificates are read during init, then drops it; the first request
/// builds and caches its own either way. With the roots compiled in there is nothing to read
/// early, so that was init time spent for nothing (docs/performance.md, "Cold start").
#[derive(Debug)]
struct NoTlsSetupAtValidation<C>(C);

impl<C: HttpClient> HttpClient for NoTlsSetupAtValidation<C> {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    // Only the base-config validation is left out; the final one is the inner client's.
    fn validate_final_config(
        &self,
        components: &RuntimeComponents,
        cfg: &aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        self.0.validate_final_config(components, cfg)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lambda_config(vars: &[(&str, &str)]) -> Option<SdkConfig> {
        let map: std::collections::HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let names: Vec<String> = map.keys().cloned().collect();
        from_lambda_environment(https_client(false), |name| map.get(name).cloned(), &names)
    }

    const LAMBDA: [(&str, &str); 4] = [
        ("AWS_LAMBDA_FUNCTION_NAME", "user-get"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "AKID"),
        ("AWS_SECRET_ACCESS_KEY", "SECRET"),
    ];

    #[test]
    fn inside_lambda_the_environment_is_the_configuration() {
        let config = lambda_config(&LAMBDA).expect("built from the environment");
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert!(config.credentials_provider().is_some());
        assert!(config.sleep_impl().is_some(), "retries need a sleep implementation");
        assert_eq!(config.endpoint_url(), None);
        let mut with_endpoint = LAMBDA.to_vec();
        with_endpoint.push(("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"));
        let config = lambda_config(&with_endpoint).expect("built");
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:5000"));
    }

    #[test]
    fn elsewhere_or_with_other_sdk_settings_aws_config_loads() {
        assert!(lambda_config(&LAMBDA[1..]).is_none(), "not in Lambda");
        for setting in ["AWS_PROFILE", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_MAX_ATTEMPTS"] {
            let mut vars = LAMBDA.to_vec();
            vars.push((setting, "x"));
            assert!(lambda_config(&vars).is_none(), "{setting} is aws_config's to read");
        }
        assert!(
            lambda_config(&LAMBDA[..3]).is_none(),
            "no secret key: let the chain decide"
        );
    }

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

    /// An HTTP client that fails validation, as a stand-in for the SDK's hyper client whose
    /// validation builds a TLS connector.
    #[derive(Debug)]
    struct SetsUpTlsWhenValidated;

    impl HttpClient for SetsUpTlsWhenValidated {
        fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
            unreachable!("not called by validation")
        }

        fn validate_base_client_config(
            &self,
            _: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder,
            _: &aws_smithy_types::config_bag::ConfigBag,
        ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
            Err("a TLS connector built at validation".into())
        }
    }

    #[test]
    fn a_client_with_bundled_roots_sets_up_no_tls_at_validation() {
        let wrapped = NoTlsSetupAtValidation(SetsUpTlsWhenValidated);
        let components = aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder::new("test");
        let cfg = aws_smithy_types::config_bag::ConfigBag::base();
        assert!(
            SetsUpTlsWhenValidated
                .validate_base_client_config(&components, &cfg)
                .is_err()
        );
        assert!(wrapped.validate_base_client_config(&components, &cfg).is_ok());
    }

    #[test]
    fn no_workspace_member_brings_aws_lc() {
        // Cargo unifies features across the members a build selects, and `sam build` selects
        // them all: one member enabling an SDK's default-https-client would put rustls's
        // aws-lc backend into every function (issue 14). Use `http_client` instead.
        let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock")).expect("Cargo.lock");
        for crate_name in ["aws-lc-rs", "aws-lc-sys"] {
            assert!(
                !lock.contains(&format!("name = \"{crate_name}\"")),
                "{crate_name} is in Cargo.lock: some member enables it (cargo tree --workspace -i {crate_name})"
            );
        }
    }

    #[test]
    fn dynamodb_operations_give_up_after_the_operation_timeout() {
        let aws = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(std::time::Duration::from_millis(3100))
                    .build(),
            )
            .build();
        let client = dynamodb_client(&aws);
        let timeouts = client.config().timeout_config().expect("timeouts");
        assert_eq!(timeouts.operation_timeout(), Some(OPERATION_TIMEOUT));
        assert_eq!(timeouts.connect_timeout(), Some(std::time::Duration::from_millis(3100)));
    }
}
