//! The process-wide state every request borrows: store, mailer, token keys, clock and mail
//! settings. Built once per process (per Lambda execution environment), never per request.

use std::path::PathBuf;
use std::sync::Arc;

use aws_config::SdkConfig;

use crate::auth::kms::KmsSigner;
use crate::auth::{DevKey, Issuer, Keyring, TokenSigner, TokenVerifier};
use crate::clock::{Clock, SystemClock};
use crate::deferred::{Background, Deferred, ProvisionQueue};
use crate::events::bridge::EventBus;
use crate::mail::outbox::OutboxMailer;
use crate::mail::ses::SesMailer;
use crate::mail::{MailComposer, Mailer, NoMail};
use crate::store::UserStore;
use crate::store::dynamo::{DEFAULT_DOMAIN_COPY_BYTES, DynamoStore};
use crate::store::embedded::EmbeddedStore;
use crate::vault::kms::KmsVault;
use crate::vault::local::KeyFile;
use crate::vault::{NoVault, Vault};

/// Makes a Lambda function's mailer from the SDK configuration: [`ses_mailer`] for the
/// functions that mail. A function pointer, so that only the binaries that pass it link SES.
pub type MailerOnAws = fn(&SdkConfig) -> Arc<dyn Mailer>;

/// The SES mailer of a Lambda function that sends mail.
pub fn ses_mailer(aws: &SdkConfig) -> Arc<dyn Mailer> {
    Arc::new(SesMailer::new(aws_sdk_sesv2::Client::new(aws)))
}

pub struct App {
    pub store: Arc<dyn UserStore>,
    pub mailer: Arc<dyn Mailer>,
    pub composer: MailComposer,
    /// The keys tokens are verified with, and this project's issuer (the Token API).
    pub tokens: Keyring,
    pub clock: Arc<dyn Clock>,
    /// Where requests hand over work that must not delay their answer.
    pub deferred: Arc<dyn Deferred>,
    /// Where OTP secrets are sealed and opened (SPEC section 10).
    pub vault: Arc<dyn Vault>,
    /// The issuer authenticator apps show (MFA_OTP_ISSUER_NAME).
    pub otp_issuer: String,
}

/// Where verification keys come from (SPEC section 7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    Inline(String),
    File(PathBuf),
    /// No keys configured: the local server makes and uses a dev key in DATA_DIR.
    DevKey,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailTransport {
    Outbox(PathBuf),
    Ses,
}

/// The environment of SPEC section 7, read once.
#[derive(Debug, Clone)]
pub struct Config {
    pub users_table: Option<String>,
    pub data_dir: PathBuf,
    pub transport: MailTransport,
    pub mail_from: String,
    pub service_name: String,
    pub jwks: JwksSource,
    /// The EventBridge bus user events go to (the event publisher only).
    pub event_bus: Option<String>,
    /// The provisioning queue the reset-password function hands its work to (AWS only).
    pub provision_queue_url: Option<String>,
    pub tokens: TokenSettings,
    /// The bytes the DynamoDB store may spend on its copies of domains (list and stat).
    pub domain_copy_budget: usize,
    /// MFA_SECRET_KEY: the KMS key that seals OTP secrets; `None`: the key file in DATA_DIR
    /// locally, no OTP on Lambda.
    pub mfa_secret_key: Option<String>,
    /// MFA_OTP_ISSUER_NAME: the issuer authenticator apps show.
    pub otp_issuer: String,
}

/// The bytes a process may spend on domain copies: `DOMAIN_COPY_MB` if set; on Lambda, what
/// the function's memory leaves (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`); else
/// [`DEFAULT_DOMAIN_COPY_BYTES`] (256 MB).
///
/// A cold read of a domain peaks at 1.8 times the copy's estimated size (decoded pages in
/// flight, then the copy laid out in order; `benches/domain_list.rs` measured 143 MB above the
/// start for a copy estimated at 80 MB), and the process itself takes about 40 MB. The budget
/// keeps that within 85% of the function's memory: 1024 MB gives 461 MB, about 570,000 users
/// of the benchmark's shape (docs/dynamodb.md, "Memory").
pub fn domain_copy_budget(configured_mb: Option<&str>, lambda_memory_mb: Option<&str>) -> Result<usize, ConfigError> {
    const MB: usize = 1024 * 1024;
    if let Some(text) = configured_mb {
        return text
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|mb| (1..=1_000_000).contains(mb))
            .map(|mb| mb * MB)
            .ok_or(ConfigError::Invalid {
                name: "DOMAIN_COPY_MB",
                reason: "must be a number of megabytes from 1 to 1000000".into(),
            });
    }
    match lambda_memory_mb.and_then(|m| m.trim().parse::<usize>().ok()) {
        Some(memory) => Ok((memory * 85 / 100).saturating_sub(40) * MB * 10 / 18),
        None => Ok(DEFAULT_DOMAIN_COPY_BYTES),
    }
}

/// How this project's Token API signs (SPEC sections 7 and 9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSettings {
    /// TOKEN_SIGNING_KEY: the KMS key that signs; `None` locally (the dev key signs).
    pub signing_key: Option<String>,
    /// TOKEN_PREVIOUS_KEYS: KMS keys whose tokens stay valid after a rotation.
    pub previous_keys: Vec<String>,
    pub issuer: String,
    pub access_ttl: i64,
    pub refresh_ttl: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} has an invalid value: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("cannot start: {0}")]
    Startup(String),
}

impl Config {
    /// Reads the configuration through `var` (the process environment in production).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let non_empty = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let data_dir = PathBuf::from(non_empty("DATA_DIR").unwrap_or_else(|| ".local".into()));
        if data_dir.exists() && !data_dir.is_dir() {
            return Err(ConfigError::Invalid {
                name: "DATA_DIR",
                reason: format!("{} is not a folder", data_dir.display()),
            });
        }
        let transport = match non_empty("MAIL_TRANSPORT").as_deref() {
            None | Some("outbox") => MailTransport::Outbox(
                non_empty("MAIL_OUTBOX_DIR")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| data_dir.join("outbox")),
            ),
            Some("ses") => MailTransport::Ses,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "MAIL_TRANSPORT",
                    reason: format!("{other:?} is not one of ses, outbox"),
                });
            }
        };
        let mail_from = match (&transport, non_empty("MAIL_FROM")) {
            (_, Some(from)) => from,
            (MailTransport::Outbox(_), None) => "no-reply@localhost".into(),
            (MailTransport::Ses, None) => {
                return Err(ConfigError::Invalid {
                    name: "MAIL_FROM",
                    reason: "required with MAIL_TRANSPORT=ses".into(),
                });
            }
        };
        let jwks = match (non_empty("IDENTITY_JWKS"), non_empty("IDENTITY_JWKS_FILE")) {
            (Some(inline), _) => JwksSource::Inline(inline),
            (None, Some(path)) => JwksSource::File(PathBuf::from(path)),
            (None, None) => JwksSource::DevKey,
        };
        let service_name = non_empty("EMAIL_SERVICE_NAME").unwrap_or_else(|| "Cloudforet".into());
        check_display_name("EMAIL_SERVICE_NAME", &service_name)?;
        let otp_issuer = non_empty("MFA_OTP_ISSUER_NAME").unwrap_or_else(|| "Cloudforet".into());
        check_display_name("MFA_OTP_ISSUER_NAME", &otp_issuer)?;
        let seconds = |name: &'static str, default: i64, max: i64| match non_empty(name) {
            None => Ok(default),
            Some(text) => {
                text.trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|s| (1..=max).contains(s))
                    .ok_or(ConfigError::Invalid {
                        name,
                        reason: format!("must be a number of seconds from 1 to {max}"),
                    })
            }
        };
        let tokens = TokenSettings {
            signing_key: non_empty("TOKEN_SIGNING_KEY"),
            previous_keys: non_empty("TOKEN_PREVIOUS_KEYS")
                .map(|list| {
                    list.split(',')
                        .map(str::trim)
                        .filter(|k| !k.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default(),
            issuer: non_empty("TOKEN_ISSUER").unwrap_or_else(|| "users".into()),
            access_ttl: seconds("ACCESS_TOKEN_TTL", 1800, crate::auth::issuer::MAX_ACCESS_TTL)?,
            refresh_ttl: seconds("REFRESH_TOKEN_TTL", 10800, 30 * 24 * 3600)?,
        };
        Ok(Self {
            users_table: non_empty("USERS_TABLE"),
            data_dir,
            transport,
            mail_from,
            service_name,
            jwks,
            event_bus: non_empty("EVENT_BUS_NAME"),
            provision_queue_url: non_empty("PROVISION_QUEUE_URL"),
            tokens,
            domain_copy_budget: domain_copy_budget(
                non_empty("DOMAIN_COPY_MB").as_deref(),
                non_empty("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").as_deref(),
            )?,
            mfa_secret_key: non_empty("MFA_SECRET_KEY"),
            otp_issuer,
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The configured verification keys (IDENTITY_JWKS, IDENTITY_JWKS_FILE); none when neither
    /// is set.
    pub fn jwks_verifier(&self) -> Result<TokenVerifier, ConfigError> {
        let invalid = |name, reason: String| ConfigError::Invalid { name, reason };
        match &self.jwks {
            JwksSource::Inline(json) => {
                TokenVerifier::from_jwks_json(json).map_err(|e| invalid("IDENTITY_JWKS", e.to_string()))
            }
            JwksSource::File(path) => {
                let json = std::fs::read_to_string(path)
                    .map_err(|e| invalid("IDENTITY_JWKS_FILE", format!("{}: {e}", path.display())))?;
                TokenVerifier::from_jwks_json(&json).map_err(|e| invalid("IDENTITY_JWKS_FILE", e.to_string()))
            }
            JwksSource::DevKey => Ok(TokenVerifier::trusting_no_key()),
        }
    }

    /// The dev key in DATA_DIR (created on first use): it signs locally.
    pub fn dev_key(&self) -> Result<DevKey, ConfigError> {
        DevKey::load_or_create(&self.data_dir).map_err(|e| ConfigError::Startup(e.to_string()))
    }

    /// This project's issuer on AWS: the KMS key TOKEN_SIGNING_KEY names, with the previous
    /// keys of a rotation; `None` without TOKEN_SIGNING_KEY.
    pub async fn kms_issuer(&self) -> Option<Arc<Issuer>> {
        let key = self.tokens.signing_key.as_ref()?;
        let kms = aws_sdk_kms::Client::new(&crate::aws::load().await);
        let previous = self
            .tokens
            .previous_keys
            .iter()
            .map(|k| Arc::new(KmsSigner::new(kms.clone(), k)) as Arc<dyn TokenSigner>)
            .collect();
        Some(self.issuer_with(Arc::new(KmsSigner::new(kms, key)), previous))
    }

    /// An issuer signing with `signer` (the dev key locally) and these settings.
    pub fn issuer_with(&self, signer: Arc<dyn TokenSigner>, previous: Vec<Arc<dyn TokenSigner>>) -> Arc<Issuer> {
        Arc::new(Issuer::new(
            signer,
            previous,
            self.tokens.issuer.clone(),
            self.tokens.access_ttl,
            self.tokens.refresh_ttl,
        ))
    }

    /// The local server's keys: the configured JWKS, if any, and the dev key in DATA_DIR, which
    /// signs the Token API's tokens and `users-local token`'s (SPEC section 7: locally the dev
    /// key signs, whatever TOKEN_SIGNING_KEY says).
    pub fn local_keys(&self) -> Result<(Keyring, Arc<DevKey>), ConfigError> {
        let dev_key = Arc::new(self.dev_key()?);
        let issuer = self.issuer_with(dev_key.clone(), Vec::new());
        Ok((Keyring::new(self.jwks_verifier()?, Some(issuer)), dev_key))
    }

    /// The bus user events are published on (EVENT_BUS_NAME), with its EventBridge client.
    pub async fn event_bus(&self) -> Result<EventBus, ConfigError> {
        let name = self.event_bus.as_ref().ok_or(ConfigError::Invalid {
            name: "EVENT_BUS_NAME",
            reason: "required to publish events".into(),
        })?;
        let aws = crate::aws::load().await;
        Ok(EventBus::new(aws_sdk_eventbridge::Client::new(&aws), name))
    }

    /// Builds the store and mailer this configuration names (the local server and tools; a
    /// Lambda function uses [`Config::build_on_aws`]). The AWS SDK configuration is loaded only
    /// when an AWS part is used, once per process.
    pub async fn build(&self, tokens: Keyring) -> Result<App, ConfigError> {
        let needs_aws =
            self.users_table.is_some() || self.transport == MailTransport::Ses || self.mfa_secret_key.is_some();
        let started = std::time::Instant::now();
        let aws = if needs_aws {
            Some(crate::aws::load().await)
        } else {
            None
        };
        let aws_config_ms = started.elapsed().as_secs_f64() * 1000.0;
        let store: Arc<dyn UserStore> = match (&self.users_table, &aws) {
            (Some(table), Some(aws)) => self.dynamo_store(aws, table),
            _ => Arc::new(
                EmbeddedStore::open(&self.data_dir.join("db")).map_err(|e| ConfigError::Startup(e.to_string()))?,
            ),
        };
        let mailer: Arc<dyn Mailer> = match (&self.transport, &aws) {
            (MailTransport::Ses, Some(aws)) => ses_mailer(aws),
            (MailTransport::Outbox(dir), _) => Arc::new(
                OutboxMailer::new(dir).map_err(|e| ConfigError::Startup(format!("outbox {}: {e}", dir.display())))?,
            ),
            (MailTransport::Ses, None) => {
                return Err(ConfigError::Startup("no AWS configuration for SES".into()));
            }
        };
        let vault: Arc<dyn Vault> = match (&self.mfa_secret_key, &aws) {
            (Some(key), Some(aws)) => Arc::new(KmsVault::new(aws_sdk_kms::Client::new(aws), key)),
            _ => Arc::new(KeyFile::load_or_create(&self.data_dir).map_err(|e| ConfigError::Startup(e.to_string()))?),
        };
        let clients_ms = started.elapsed().as_secs_f64() * 1000.0 - aws_config_ms;
        tracing::debug!(aws_config_ms, clients_ms, "store and mail ready");
        Ok(self.app(store, mailer, tokens, vault))
    }

    /// A Lambda function's parts: the DynamoDB store (USERS_TABLE is required) and, when the
    /// function mails, SES through `mail` (MAIL_TRANSPORT must be ses). The embedded store and
    /// the outbox are not reachable from here, nor is the SES client unless the caller names
    /// it, so a release build leaves them out of the binaries that start this way (issue 14:
    /// the embedded store alone was 438 KB of every function).
    pub async fn build_on_aws(&self, tokens: Keyring, mail: Option<MailerOnAws>) -> Result<App, ConfigError> {
        let table = self.users_table.as_ref().ok_or(ConfigError::Invalid {
            name: "USERS_TABLE",
            reason: "required for a Lambda function (its store is DynamoDB)".into(),
        })?;
        if mail.is_some() && self.transport != MailTransport::Ses {
            return Err(ConfigError::Invalid {
                name: "MAIL_TRANSPORT",
                reason: "must be ses for a Lambda function that sends mail".into(),
            });
        }
        let started = std::time::Instant::now();
        let aws = crate::aws::load().await;
        let aws_config_ms = started.elapsed().as_secs_f64() * 1000.0;
        let store = self.dynamo_store(&aws, table);
        let mailer = match mail {
            Some(mailer_on) => mailer_on(&aws),
            None => Arc::new(NoMail),
        };
        // Without MFA_SECRET_KEY a function has no OTP: enrolling or checking a code is a 503
        // that names the variable. A key file in the function's /tmp would be lost with it.
        let vault: Arc<dyn Vault> = match &self.mfa_secret_key {
            Some(key) => Arc::new(KmsVault::new(aws_sdk_kms::Client::new(&aws), key)),
            None => Arc::new(NoVault),
        };
        let clients_ms = started.elapsed().as_secs_f64() * 1000.0 - aws_config_ms;
        tracing::debug!(aws_config_ms, clients_ms, "store and mail ready");
        Ok(self.app(store, mailer, tokens, vault))
    }

    fn dynamo_store(&self, aws: &SdkConfig, table: &str) -> Arc<dyn UserStore> {
        Arc::new(DynamoStore::with_domain_budget(
            crate::aws::dynamodb_client(aws),
            table,
            self.domain_copy_budget,
        ))
    }

    fn app(&self, store: Arc<dyn UserStore>, mailer: Arc<dyn Mailer>, tokens: Keyring, vault: Arc<dyn Vault>) -> App {
        App {
            store,
            mailer,
            composer: MailComposer {
                from: self.mail_from.clone(),
                service_name: self.service_name.clone(),
            },
            tokens,
            clock: Arc::new(SystemClock),
            deferred: Arc::new(Background::default()),
            vault,
            otp_issuer: self.otp_issuer.clone(),
        }
    }

    /// The provisioning queue (PROVISION_QUEUE_URL) as the place to hand work over, for the
    /// function whose operation hands work over. Only that function calls this, so only its
    /// binary links the SQS client.
    pub async fn provision_queue(&self) -> Result<ProvisionQueue, ConfigError> {
        let url = self.provision_queue_url.as_ref().ok_or(ConfigError::Invalid {
            name: "PROVISION_QUEUE_URL",
            reason: "required: this function hands its work to the provisioning queue".into(),
        })?;
        let aws = crate::aws::load().await;
        Ok(ProvisionQueue::new(aws_sdk_sqs::Client::new(&aws), url))
    }
}

/// The service name goes into every mail subject, the OTP issuer into every authenticator app:
/// no control character (a CR/LF would forge mail headers), at most 64 characters (SPEC
/// section 6).
fn check_display_name(variable: &'static str, name: &str) -> Result<(), ConfigError> {
    let reason = if name.chars().any(char::is_control) {
        "must not contain control characters"
    } else if name.chars().count() > 64 {
        "must be at most 64 characters"
    } else {
        return Ok(());
    };
    Err(ConfigError::Invalid {
        name: variable,
        reason: reason.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_vars(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_are_the_specs() {
        let c = config(&[]).unwrap();
        assert_eq!(c.data_dir, PathBuf::from(".local"));
        assert_eq!(c.transport, MailTransport::Outbox(PathBuf::from(".local/outbox")));
        assert_eq!(c.mail_from, "no-reply@localhost");
        assert_eq!(c.service_name, "Cloudforet");
        assert_eq!(c.jwks, JwksSource::DevKey);
        assert_eq!(c.users_table, None);
    }

    #[test]
    fn ses_needs_mail_from_and_unknown_transports_are_refused() {
        assert!(config(&[("MAIL_TRANSPORT", "ses")]).is_err());
        assert!(config(&[("MAIL_TRANSPORT", "ses"), ("MAIL_FROM", "a@b.co")]).is_ok());
        assert!(config(&[("MAIL_TRANSPORT", "pigeon")]).is_err());
    }

    #[test]
    fn the_service_name_is_checked_at_start_up() {
        for bad in ["Shop\r\nBcc: x@y.z", "Tab\there", &"x".repeat(65)] {
            let error = config(&[("EMAIL_SERVICE_NAME", bad)]).unwrap_err();
            assert!(error.to_string().starts_with("EMAIL_SERVICE_NAME"), "{error}");
        }
        assert_eq!(
            config(&[("EMAIL_SERVICE_NAME", &"é".repeat(64))])
                .unwrap()
                .service_name
                .chars()
                .count(),
            64
        );
    }

    #[test]
    fn the_otp_issuer_is_checked_at_start_up_and_defaults_to_cloudforet() {
        assert_eq!(config(&[]).unwrap().otp_issuer, "Cloudforet");
        assert_eq!(config(&[]).unwrap().mfa_secret_key, None);
        for bad in ["Acme\nInc", &"x".repeat(65)] {
            let error = config(&[("MFA_OTP_ISSUER_NAME", bad)]).unwrap_err();
            assert!(error.to_string().starts_with("MFA_OTP_ISSUER_NAME"), "{error}");
        }
        let c = config(&[("MFA_OTP_ISSUER_NAME", "Acme"), ("MFA_SECRET_KEY", "alias/otp")]).unwrap();
        assert_eq!(
            (c.otp_issuer.as_str(), c.mfa_secret_key.as_deref()),
            ("Acme", Some("alias/otp"))
        );
    }

    #[test]
    fn a_data_dir_that_is_a_file_is_refused_by_name() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let error = config(&[("DATA_DIR", file.path().to_str().unwrap())]).unwrap_err();
        assert!(error.to_string().contains("DATA_DIR"), "{error}");
        assert!(error.to_string().contains("is not a folder"), "{error}");
    }

    #[test]
    fn the_domain_copy_budget_follows_the_functions_memory() {
        const MB: usize = 1024 * 1024;
        assert_eq!(config(&[]).unwrap().domain_copy_budget, 256 * MB);
        let lambda = config(&[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")]).unwrap();
        // 85% of 1024 MB is 870 MB; less 40 MB for the process, over a peak of 1.8 copies.
        assert_eq!(lambda.domain_copy_budget, 830 * MB * 10 / 18);
        let configured = config(&[("DOMAIN_COPY_MB", "64"), ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")]).unwrap();
        assert_eq!(configured.domain_copy_budget, 64 * MB);
        for bad in ["0", "lots", "-3"] {
            let error = config(&[("DOMAIN_COPY_MB", bad)]).unwrap_err();
            assert!(error.to_string().contains("DOMAIN_COPY_MB"), "{error}");
        }
    }

    #[test]
    fn inline_jwks_wins_over_file() {
        let c = config(&[("IDENTITY_JWKS", "{}"), ("IDENTITY_JWKS_FILE", "/x")]).unwrap();
        assert_eq!(c.jwks, JwksSource::Inline("{}".into()));
        assert!(c.jwks_verifier().is_err());
    }

    #[test]
    fn token_settings_default_to_the_specs_and_are_bounded() {
        let c = config(&[]).unwrap();
        assert_eq!(
            c.tokens,
            TokenSettings {
                signing_key: None,
                previous_keys: vec![],
                issuer: "users".into(),
                access_ttl: 1800,
                refresh_ttl: 10800,
            }
        );
        let c = config(&[("TOKEN_PREVIOUS_KEYS", "a, b,,"), ("ACCESS_TOKEN_TTL", "60")]).unwrap();
        assert_eq!(c.tokens.previous_keys, vec!["a".to_string(), "b".into()]);
        assert_eq!(c.tokens.access_ttl, 60);
        for bad in ["0", "-5", "soon", "604801"] {
            let error = config(&[("ACCESS_TOKEN_TTL", bad)]).unwrap_err();
            assert!(error.to_string().starts_with("ACCESS_TOKEN_TTL"), "{error}");
        }
    }

    #[tokio::test]
    async fn a_lambda_function_needs_dynamodb_and_ses_where_it_mails() {
        let keys = || Keyring::new(TokenVerifier::trusting_no_key(), None);
        let on_aws = |vars: &[(&str, &str)]| config(vars).unwrap();
        let no_table = on_aws(&[("MAIL_TRANSPORT", "ses"), ("MAIL_FROM", "a@example.com")]);
        let error = no_table.build_on_aws(keys(), None).await.err().unwrap();
        assert!(error.to_string().starts_with("USERS_TABLE"), "{error}");
        let outbox = on_aws(&[("USERS_TABLE", "users")]);
        let error = outbox.build_on_aws(keys(), Some(ses_mailer)).await.err().unwrap();
        assert!(error.to_string().starts_with("MAIL_TRANSPORT"), "{error}");
    }
}
