//! The test harness: a whole `App` on a temporary embedded store, called through the same
//! `shared::http::route` the binaries use, with a clock tests can move and a mailer they can
//! make fail.

pub mod commands;
pub mod conformance;
pub mod emf;
pub mod failing;
pub mod moto;
pub mod pipeline;
pub mod runtime_api;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use lambda_http::http::Method;
use lambda_http::{Body, Request};
use serde_json::{Value, json};
use shared::App;
use shared::auth::{DevKey, Issuer, Keyring, TokenRequest, TokenVerifier};
use shared::clock::Clock;
use shared::deferred::Background;
use shared::mail::outbox::OutboxMailer;
use shared::mail::{MailComposer, MailError, Mailer, Message};
use shared::model::RoleType;
use shared::store::UserStore;
use shared::store::embedded::EmbeddedStore;
use shared::vault::local::KeyFile;
use tempfile::TempDir;

pub const DOMAIN: &str = "domain-test";
pub const ADMIN: &str = "root";
pub const PASSWORD: &str = "Secret123";

/// The code an authenticator app shows at `unix_seconds` for the `otpauth://` URI `uri`: its
/// `secret` read with `totp-rs`'s own base32, RFC 6238's SHA-1, 6 digits, 30 s.
#[track_caller]
pub fn authenticator_code_at(uri: &str, unix_seconds: u64) -> String {
    let secret = totp_rs::Secret::try_from_base32(otp_secret(uri)).expect("base32");
    let totp = totp_rs::Builder::new().with_secret(secret).build().expect("a TOTP");
    totp.generate(unix_seconds).to_string()
}

/// The base32 secret of an `otpauth://` URI (what the tests search answers, logs and events for).
#[track_caller]
pub fn otp_secret(uri: &str) -> String {
    uri.split(['?', '&'])
        .find_map(|part| part.strip_prefix("secret="))
        .expect("a secret in the URI")
        .to_string()
}

/// A clock that stands still until moved.
pub struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    pub fn advance(&self, seconds: i64) {
        if let Ok(mut now) = self.0.lock() {
            *now += TimeDelta::seconds(seconds);
        }
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.lock().map(|now| *now).unwrap_or_else(|_| Utc::now())
    }
}

/// The outbox transport, with a switch that makes every send fail like a provider outage.
pub struct SwitchableMailer {
    outbox: OutboxMailer,
    failing: AtomicBool,
}

#[async_trait]
impl Mailer for SwitchableMailer {
    async fn send(&self, message: &Message) -> Result<(), MailError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(MailError::Transport("provider unavailable (test)".into()));
        }
        self.outbox.send(message).await
    }
}

pub struct TestApi {
    pub app: App,
    pub clock: Arc<TestClock>,
    mailer: Arc<SwitchableMailer>,
    background: Arc<Background>,
    key: Arc<DevKey>,
    _dir: TempDir,
}

/// A response: status and JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    /// The SPEC error code, or "OK" for a 200.
    pub fn code(&self) -> &str {
        if self.status == 200 {
            "OK"
        } else {
            self.body["detail"]["code"].as_str().unwrap_or("<no code>")
        }
    }

    pub fn message(&self) -> &str {
        self.body["detail"]["message"].as_str().unwrap_or_default()
    }

    /// Asserts a 200 and returns the body.
    #[track_caller]
    pub fn ok(self) -> Value {
        assert_eq!(self.status, 200, "expected 200, got {}: {}", self.status, self.body);
        self.body
    }

    /// Asserts an error code (and its status) and returns the message.
    #[track_caller]
    pub fn err(&self, code: &str, status: u16) -> String {
        assert_eq!((self.status, self.code()), (status, code), "body: {}", self.body);
        self.message().to_string()
    }
}

/// Whether [`TestApi::new`] runs on DynamoDB (moto): `USERS_TEST_STORE` when set (`dynamo` or
/// `embedded`), or else whether this process is the `api_dynamo` test binary
/// (`tests/api_dynamo.rs`, the HTTP suite's second pass; Cargo names its executable
/// `api_dynamo-<hash>`).
pub fn on_dynamo() -> bool {
    match std::env::var("USERS_TEST_STORE").as_deref() {
        Ok("dynamo") => true,
        Ok("embedded") => false,
        Ok(other) => panic!("USERS_TEST_STORE={other:?}: use embedded or dynamo"),
        Err(_) => std::env::current_exe()
            .ok()
            .and_then(|exe| {
                exe.file_name()
                    .map(|name| name.to_string_lossy().starts_with("api_dynamo-"))
            })
            .unwrap_or(false),
    }
}

impl TestApi {
    /// An API on the store [`on_dynamo`] picks: a fresh table on the moto server, or else an
    /// embedded store in a temporary folder.
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store: Arc<dyn UserStore> = if on_dynamo() {
            Arc::new(moto::fresh_store(&moto::RequestCounter::default()).await)
        } else {
            Arc::new(EmbeddedStore::open(&dir.path().join("db")).expect("store"))
        };
        Self::with_store(dir, store)
    }

    /// [`TestApi::new`] for race tests: on DynamoDB, the moto server that answers one request
    /// at a time (moto's threaded server undoes writes that commit while a transaction fails,
    /// a loss DynamoDB never makes).
    pub async fn for_races() -> Self {
        if !on_dynamo() {
            return Self::new().await;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        Self::with_store(dir, Arc::new(moto::fresh_serial_store().await))
    }

    /// An API over any store, for running the same tests against every adapter.
    pub fn with_store(dir: TempDir, store: Arc<dyn UserStore>) -> Self {
        let key = Arc::new(DevKey::load_or_create(dir.path()).expect("dev key"));
        let mailer = Arc::new(SwitchableMailer {
            outbox: OutboxMailer::new(&dir.path().join("outbox")).expect("outbox"),
            failing: AtomicBool::new(false),
        });
        // Whole milliseconds, like every stored timestamp, so time comparisons in tests are exact.
        let clock = Arc::new(TestClock(Mutex::new(Utc::now().trunc_subsecs(3))));
        let background = Arc::new(Background::default());
        let app = App {
            store,
            mailer: mailer.clone(),
            composer: MailComposer {
                from: "no-reply@test.local".into(),
                service_name: "Cloudforet".into(),
            },
            tokens: Keyring::new(
                TokenVerifier::trusting_no_key(),
                Some(Arc::new(Issuer::new(key.clone(), vec![], "users".into(), 1800, 10800))),
            ),
            clock: clock.clone(),
            deferred: background.clone(),
            vault: Arc::new(KeyFile::load_or_create(dir.path()).expect("MFA secret key")),
            otp_issuer: "Cloudforet".into(),
        };
        Self {
            app,
            clock,
            mailer,
            background,
            key,
            _dir: dir,
        }
    }

    /// Configures a JWKS beside this issuer's own keys (tests of other key sets).
    pub fn set_verifier(&mut self, verifier: TokenVerifier) {
        self.app.tokens.configured = verifier;
    }

    /// Sends mail through `mailer` instead of the outbox (the SES transport tests).
    pub fn use_mailer(&mut self, mailer: Arc<dyn Mailer>) {
        self.app.mailer = mailer;
    }

    /// Runs the work requests handed over so far (the reset-password work), as the local
    /// server's background worker would.
    pub async fn settle(&self) {
        let app = &self.app;
        self.background
            .run_queued(|job| async move { shared::ops::reset_password::run_job(app, &job).await })
            .await;
    }

    pub fn set_mail_failing(&self, failing: bool) {
        self.mailer.failing.store(failing, Ordering::SeqCst);
    }

    pub fn token(&self, domain_id: &str, user_id: &str, role: RoleType) -> String {
        self.key
            .sign(&TokenRequest {
                domain_id,
                user_id,
                role,
                ttl_seconds: 600,
            })
            .expect("sign")
    }

    /// A DOMAIN_ADMIN of [`DOMAIN`] who is not itself a user.
    pub fn admin(&self) -> String {
        self.token(DOMAIN, ADMIN, RoleType::DomainAdmin)
    }

    /// A USER token for `user_id` in [`DOMAIN`].
    pub fn user(&self, user_id: &str) -> String {
        self.token(DOMAIN, user_id, RoleType::User)
    }

    /// POSTs a JSON body to a path, with an optional bearer token.
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        let mut builder = lambda_http::http::Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("content-type", "application/json");
        if let Some(token) = token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        let request = builder.body(Body::from(body.to_string())).expect("request");
        self.send(request).await
    }

    /// Sends any request through the shared HTTP handler.
    pub async fn send(&self, request: Request) -> Reply {
        let response = shared::http::route(&self.app, request).await;
        let status = response.status().as_u16();
        let body: Value = serde_json::from_slice(response.body().as_ref()).expect("JSON response body");
        Reply { status, body }
    }

    /// Calls a method by name (`"create"`, `"verify-email"`) as `token`.
    pub async fn call(&self, method: &str, token: &str, body: Value) -> Reply {
        self.post(&format!("/identity/v2/user/{method}"), Some(token), body)
            .await
    }

    /// As the domain admin.
    pub async fn admin_call(&self, method: &str, body: Value) -> Reply {
        self.call(method, &self.admin(), body).await
    }

    /// Creates a LOCAL user with [`PASSWORD`] and the extra fields given.
    pub async fn create_user(&self, user_id: &str, extra: Value) -> Value {
        let mut body = json!({
            "user_id": user_id, "auth_type": "LOCAL", "password": PASSWORD,
            "permission_group": "DOMAIN", "domain_id": DOMAIN,
        });
        merge(&mut body, extra);
        self.admin_call("create", body).await.ok()
    }

    /// Creates a DOMAIN_ADMIN user.
    pub async fn create_admin(&self, user_id: &str) -> Value {
        self.create_user(user_id, json!({"role_id": "managed-domain-admin"}))
            .await
    }

    /// Creates a user whose email is verified (forced by the admin).
    pub async fn create_verified(&self, user_id: &str, email: &str) -> Value {
        self.create_user(user_id, json!({"email": email})).await;
        self.admin_call(
            "verify-email",
            json!({"user_id": user_id, "domain_id": DOMAIN, "force": true}),
        )
        .await
        .ok();
        self.get(user_id).await
    }

    pub async fn get(&self, user_id: &str) -> Value {
        self.admin_call("get", json!({"user_id": user_id, "domain_id": DOMAIN}))
            .await
            .ok()
    }

    /// Every mail in the outbox, in send order.
    pub fn mails(&self) -> Vec<Value> {
        let dir = self._dir.path().join("outbox");
        let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        names.retain(|p| p.extension().is_some_and(|e| e == "json"));
        names.sort();
        names.iter().map(|p| read_json(p)).collect()
    }

    /// The mails sent to `address`, in send order.
    pub fn mails_to(&self, address: &str) -> Vec<Value> {
        self.mails()
            .into_iter()
            .filter(|m| m["to"] == json!([address]))
            .collect()
    }

    /// The code in the latest mail to `address`.
    #[track_caller]
    pub fn last_code(&self, address: &str) -> String {
        let mails = self.mails_to(address);
        let mail = mails.last().unwrap_or_else(|| panic!("no mail to {address}"));
        six_digit_number(mail["text"].as_str().unwrap_or_default()).expect("a 6-digit code in the mail")
    }

    /// The code an authenticator app shows for the `otpauth://` URI `uri`, `offset` seconds
    /// from now by the API's clock. Read with `totp-rs`'s own base32 and RFC 6238, not the API's.
    #[track_caller]
    pub fn authenticator_code(&self, uri: &str, offset: i64) -> String {
        let at = self.clock.now() + TimeDelta::seconds(offset);
        authenticator_code_at(uri, u64::try_from(at.timestamp()).expect("after 1970"))
    }

    /// The temporary password in the latest mail to `address`.
    #[track_caller]
    pub fn last_temporary_password(&self, address: &str) -> String {
        let mails = self.mails_to(address);
        let mail = mails.last().unwrap_or_else(|| panic!("no mail to {address}"));
        let text = mail["text"].as_str().unwrap_or_default();
        text.split_whitespace()
            .find(|w| w.len() == 12 && w.chars().all(|c| c.is_ascii_alphanumeric()))
            .expect("a 12-character temporary password in the mail")
            .to_string()
    }
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read mail")).expect("mail JSON")
}

/// The only run of exactly six digits in `text`.
pub fn six_digit_number(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == 6)
        .map(str::to_string)
}

/// Copies the keys of `extra` into `body`.
pub fn merge(body: &mut Value, extra: Value) {
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
}

/// Waits until the clock has moved into the next whole second, so that a token issued before
/// this call has an `iat` before the second of whatever happens after it (JWT times are whole
/// seconds, and revocation compares seconds).
pub async fn next_second() {
    let into = chrono::Utc::now().timestamp_subsec_millis();
    tokio::time::sleep(std::time::Duration::from_millis(u64::from(1000 - into.min(999)) + 20)).await;
}

/// A wrong code that differs from `code`.
pub fn wrong(code: &str) -> String {
    let n: u32 = code.parse().unwrap_or(0);
    format!("{:06}", (n + 1) % 1_000_000)
}

/// Token crafting for authentication tests.
pub mod tokens {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    use serde_json::{Value, json};

    pub const RSA_PRIVATE_PEM: &[u8] = include_bytes!("../fixtures/rsa-test-key.pem");
    pub const RSA_PUBLIC_PEM: &[u8] = include_bytes!("../fixtures/rsa-test-public.pem");
    pub const RSA_JWK: &str = include_str!("../fixtures/rsa-test-jwk.json");
    pub const RSA_KID: &str = "rsa-test";
    pub const DEV_KID: &str = "users-local-dev";

    /// Claims of a valid Cloudforet access token.
    pub fn claims(domain: &str, user: &str, role: &str) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "iss": "test", "typ": "ACCESS_TOKEN", "ver": "2.0", "did": domain, "aud": user, "rol": role,
            "iat": now, "exp": now + 600, "jti": "j1",
        })
    }

    pub fn sign_rs256(kid: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = kid.map(str::to_string);
        let key = EncodingKey::from_rsa_pem(RSA_PRIVATE_PEM).expect("rsa key");
        encode(&header, claims, &key).expect("sign")
    }

    pub fn sign_es256(pem: &[u8], kid: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = kid.map(str::to_string);
        let key = EncodingKey::from_ec_pem(pem).expect("ec key");
        encode(&header, claims, &key).expect("sign")
    }

    /// The classic confusion attack: HS256 with the RSA public key as the HMAC secret.
    pub fn sign_hs256_with_public_key(claims: &Value) -> String {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(RSA_KID.to_string());
        encode(
            &header,
            claims,
            &EncodingKey::from_secret(RSA_PUBLIC_PEM).expect("hmac key"),
        )
        .expect("sign")
    }

    /// An unsigned token (`alg: none`).
    pub fn unsigned(claims: &Value) -> String {
        let header = B64.encode(br#"{"alg":"none","typ":"JWT"}"#);
        format!("{header}.{}.", B64.encode(claims.to_string()))
    }

    /// A JWKS JSON with the given keys.
    pub fn jwks(keys: &[Value]) -> String {
        json!({ "keys": keys }).to_string()
    }

    pub fn rsa_jwk() -> Value {
        serde_json::from_str(RSA_JWK).expect("jwk fixture")
    }
}

impl TestApi {
    /// The dev key's private PEM (PKCS#8), for crafting ES256 tokens with odd claims.
    pub fn dev_key_pem(&self) -> Vec<u8> {
        std::fs::read(self._dir.path().join("dev-signing-key.pem")).expect("dev key pem")
    }

    /// The dev key's public JWK.
    pub fn dev_jwk(&self) -> Value {
        let set: Value = serde_json::from_str(self.key.jwks_json()).expect("jwks");
        set["keys"][0].clone()
    }
}
