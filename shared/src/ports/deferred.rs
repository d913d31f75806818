//! Work a request hands over instead of doing, so that its answer cannot reveal what the work
//! found: today the reset-password work (SPEC 4.5). The request path only validates the body and
//! hands a [`ResetJob`] to the process's [`Deferred`] port; the same job then runs
//! `ops::reset_password::apply` elsewhere. This port knows nothing of the App or the
//! operations: whoever starts the local worker hands it a [`Runner`] (`ops::start_background`).
//! - [`Background`], locally (the local server, tests): a bounded queue and one worker task in
//!   this process;
//! - [`ProvisionQueue`], on AWS: a `reset_password` command on the provisioning queue, applied
//!   by `users-provision` (the Lambda that answered is frozen once it answered, so nothing may
//!   run after the answer there).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::sync::{Mutex, Notify, mpsc};

use crate::model::{DomainId, Timestamp, UserId};

/// What carries out a handed-over job in this process: the operations' code, given to
/// [`Deferred::start`] by whoever starts the process's background work.
pub type Runner = Arc<dyn Fn(ResetJob) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// One reset_password request to carry out. `requested_at` is when the request came in: the
/// 60-second window counts from there, however late the work runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetJob {
    pub domain_id: DomainId,
    pub user_id: UserId,
    pub requested_at: Timestamp,
}

impl ResetJob {
    /// The provisioning command that carries the job (`shared::provision`).
    pub fn to_command(&self) -> Value {
        json!({
            "action": "reset_password",
            "domain_id": self.domain_id.as_str(),
            "params": {"user_id": self.user_id.as_str(), "requested_at": self.requested_at.to_iso()},
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeferError {
    #[error("the background queue is full")]
    Full,
    #[error("the background queue is closed")]
    Closed,
    #[error("the provisioning queue refused the job: {0}")]
    Queue(String),
}

/// Where a request hands over work.
#[async_trait]
pub trait Deferred: Send + Sync {
    async fn reset_password(&self, job: ResetJob) -> Result<(), DeferError>;

    /// Starts whatever runs the jobs in this process, each with `runner`.
    fn start(&self, _runner: Runner) {}

    /// Waits until every job handed over so far has run (tests, and the local server's drain).
    async fn settled(&self) {}
}

/// How many reset jobs may wait in a local process before more are dropped (and logged): a
/// flood of resets costs bounded memory, and a dropped reset looks like any other to its caller.
pub const BACKGROUND_CAPACITY: usize = 1024;

/// The local port: a bounded channel drained by one worker task, which runs the jobs one at a
/// time (each is one read, at most one Argon2 hash and one mail). Tests run the queued jobs
/// themselves, when they choose ([`Background::run_queued`]).
pub struct Background {
    sender: mpsc::Sender<ResetJob>,
    receiver: Mutex<Option<mpsc::Receiver<ResetJob>>>,
    /// Jobs handed over and not finished yet.
    pending: Arc<Pending>,
}

#[derive(Default)]
struct Pending {
    count: AtomicUsize,
    idle: Notify,
}

impl Pending {
    fn finish_one(&self) {
        if self.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }
}

impl Background {
    pub fn new(capacity: usize) -> Self {
        let (sender, receiver) = mpsc::channel(capacity);
        Self {
            sender,
            receiver: Mutex::new(Some(receiver)),
            pending: Arc::default(),
        }
    }

    /// Runs every job queued so far on `app`, here and now, when no worker was started: tests
    /// decide when the background work happens.
    /// Runs the jobs queued so far with `run`, here and now (tests).
    pub async fn run_queued<F, Fut>(&self, run: F)
    where
        F: Fn(ResetJob) -> Fut,
        Fut: Future<Output = ()>,
    {
        let mut slot = self.receiver.lock().await;
        let Some(receiver) = slot.as_mut() else { return };
        while let Ok(job) = receiver.try_recv() {
            run(job).await;
            self.pending.finish_one();
        }
    }
}

impl Default for Background {
    fn default() -> Self {
        Self::new(BACKGROUND_CAPACITY)
    }
}

#[async_trait]
impl Deferred for Background {
    async fn reset_password(&self, job: ResetJob) -> Result<(), DeferError> {
        self.pending.count.fetch_add(1, Ordering::SeqCst);
        self.sender.try_send(job).map_err(|error| {
            self.pending.finish_one();
            match error {
                mpsc::error::TrySendError::Full(_) => DeferError::Full,
                mpsc::error::TrySendError::Closed(_) => DeferError::Closed,
            }
        })
    }

    /// Spawns the worker once; it ends when the queue closes (the port, so the App, is gone).
    fn start(&self, runner: Runner) {
        let Ok(mut slot) = self.receiver.try_lock() else {
            return;
        };
        let Some(mut receiver) = slot.take() else {
            return;
        };
        let pending = Arc::clone(&self.pending);
        tokio::spawn(async move {
            while let Some(job) = receiver.recv().await {
                runner(job).await;
                pending.finish_one();
            }
        });
    }

    async fn settled(&self) {
        loop {
            let idle = self.pending.idle.notified();
            if self.pending.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            idle.await;
        }
    }
}

/// The message group of a user's commands: `domain_id/user_id`, as docs/events.md asks of
/// producers, when SQS accepts it as a group id (at most 128 ASCII letters, digits and
/// punctuation); otherwise a SHA-256 of it, which is still one group per user.
fn message_group(domain: &DomainId, user: &UserId) -> String {
    let plain = format!("{}/{}", domain.as_str(), user.as_str());
    if plain.len() <= 128
        && plain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b.is_ascii_punctuation())
    {
        return plain;
    }
    use sha2::Digest;
    crate::secrets::hex(&sha2::Sha256::digest(plain.as_bytes()))
}

/// The AWS port: each job becomes a `reset_password` command on the provisioning queue (FIFO,
/// one message group per user, a fresh deduplication id per request so that a reset a minute
/// later is a new message, not a duplicate).
pub struct ProvisionQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl ProvisionQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }
}

#[async_trait]
impl Deferred for ProvisionQueue {
    async fn reset_password(&self, job: ResetJob) -> Result<(), DeferError> {
        let group = message_group(&job.domain_id, &job.user_id);
        let dedup = crate::secrets::random_hex(16);
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(job.to_command().to_string())
            .message_group_id(group)
            .message_deduplication_id(dedup)
            .send()
            .await
            .map_err(|e| DeferError::Queue(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(domain: &str, user: &str) -> (DomainId, UserId) {
        (
            DomainId::parse("domain_id", domain.into()).unwrap(),
            UserId::parse("user_id", user.into()).unwrap(),
        )
    }

    #[test]
    fn message_groups_are_per_user_and_always_valid() {
        let (d, u) = ids("domain-a", "erin@example.com");
        assert_eq!(message_group(&d, &u), "domain-a/erin@example.com");
        let (d, u) = ids("domain-a", "Émile Zola");
        let group = message_group(&d, &u);
        assert_eq!(group.len(), 64);
        assert!(group.bytes().all(|b| b.is_ascii_hexdigit()));
        let (d2, u2) = ids("domain-a", "Émile Zolà");
        assert_ne!(message_group(&d2, &u2), group);
    }

    #[test]
    fn a_job_is_a_provisioning_command() {
        let (d, u) = ids("domain-a", "erin");
        let at = Timestamp::new(chrono::DateTime::from_timestamp_millis(1_764_000_000_123).unwrap());
        let job = ResetJob {
            domain_id: d,
            user_id: u,
            requested_at: at,
        };
        let command = crate::provision::Command::from_json(&job.to_command().to_string()).unwrap();
        assert_eq!(command.action, crate::provision::Action::ResetPassword);
        assert_eq!(command.reset_job(Timestamp::new(chrono::Utc::now())).unwrap(), job);
    }

    #[tokio::test]
    async fn a_full_background_queue_refuses_more_and_settles_at_once() {
        let background = Background::new(1);
        let (d, u) = ids("domain-a", "erin");
        let job = ResetJob {
            domain_id: d,
            user_id: u,
            requested_at: Timestamp::new(chrono::Utc::now()),
        };
        background.reset_password(job.clone()).await.unwrap();
        assert!(matches!(background.reset_password(job).await, Err(DeferError::Full)));
        // The refused job is not pending; the queued one is until a worker runs it.
        assert_eq!(background.pending.count.load(Ordering::SeqCst), 1);
    }
}
