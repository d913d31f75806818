//! The AWS SDK configuration (region, credentials, endpoint, retries), loaded once per process
//! and shared by the DynamoDB and SES clients. Endpoint overrides (`AWS_ENDPOINT_URL`, and the
//! per-service forms) come from the standard SDK settings.

use aws_config::{BehaviorVersion, SdkConfig};

pub async fn load() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}
