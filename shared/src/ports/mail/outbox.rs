//! The `outbox` transport: each message becomes one JSON file in a folder, for local use and
//! tests. Files are written under a temporary name and renamed, so a reader never sees half a
//! message.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use super::{MailError, Mailer, Message};

pub struct OutboxMailer {
    dir: PathBuf,
    /// Orders messages written within the same millisecond.
    sequence: AtomicU64,
}

impl OutboxMailer {
    pub fn new(dir: &Path) -> std::io::Result<Self> {
        crate::private_fs::create_dir(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            sequence: AtomicU64::new(0),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, message: &Message) -> Result<(), MailError> {
        let bytes = serde_json::to_vec_pretty(message).map_err(|e| MailError::Transport(e.to_string()))?;
        // Timestamp, then a sequence number, so a sorted listing is send order; the random
        // suffix keeps names unique across processes sharing the folder.
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
        let nonce = crate::secrets::random_hex(4);
        let name = format!("{stamp}-{sequence:09}-{nonce}.json");
        let temp = self.dir.join(format!(".{name}.tmp"));
        let io = |e: std::io::Error| MailError::Transport(e.to_string());
        // A mail may hold a temporary password: readable by the owner only.
        let final_path = self.dir.join(name);
        tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut file = crate::private_fs::file_options()
                .write(true)
                .create_new(true)
                .open(&temp)?;
            file.write_all(&bytes)?;
            std::fs::rename(&temp, final_path)
        })
        .await
        .map_err(|e| MailError::Transport(e.to_string()))?
        .map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_one_json_file_per_message() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = OutboxMailer::new(dir.path()).unwrap();
        let message = Message {
            from: "f@x.io".into(),
            to: vec!["t@x.io".into()],
            subject: "s".into(),
            text: "t".into(),
            html: "<p>h</p>".into(),
        };
        outbox.send(&message).await.unwrap();
        outbox.send(&message).await.unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 2);
        let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"from": "f@x.io", "to": ["t@x.io"], "subject": "s", "text": "t", "html": "<p>h</p>"})
        );
    }
}
