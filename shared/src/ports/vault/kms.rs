//! The AWS vault: the KMS symmetric key MFA_SECRET_KEY seals with `kms:Encrypt` and opens with
//! `kms:Decrypt`; the plaintext key never leaves KMS. KMS encrypts with AES-256-GCM and binds the
//! encryption context as associated data, so the context carries the owner: a ciphertext
//! copied to another user (or domain) does not decrypt. One KMS request per seal or open.

use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::operation::decrypt::DecryptError;
use aws_sdk_kms::primitives::Blob;
use zeroize::Zeroizing;

use super::{KMS_SCHEME, Owner, Vault, VaultError, payload};
use crate::otp::{OtpSecret, Sealed};

/// The encryption context's fixed entry: what the ciphertext is.
const PURPOSE: (&str, &str) = ("purpose", "users/mfa-otp-secret");

pub struct KmsVault {
    client: Client,
    /// What MFA_SECRET_KEY names: a key id, ARN or alias.
    key: String,
}

impl KmsVault {
    pub fn new(client: Client, key: impl Into<String>) -> Self {
        Self {
            client,
            key: key.into(),
        }
    }
}

fn unavailable(what: &str, error: impl std::error::Error) -> VaultError {
    VaultError::Unavailable(format!(
        "KMS {what}: {}",
        aws_sdk_kms::error::DisplayErrorContext(error)
    ))
}

#[async_trait]
impl Vault for KmsVault {
    async fn seal(&self, owner: Owner<'_>, secret: &OtpSecret) -> Result<Sealed, VaultError> {
        let output = self
            .client
            .encrypt()
            .key_id(&self.key)
            .plaintext(Blob::new(secret.as_bytes()))
            .encryption_context(PURPOSE.0, PURPOSE.1)
            .encryption_context("domain_id", owner.domain_id.as_str())
            .encryption_context("user_id", owner.user_id.as_str())
            .send()
            .await
            .map_err(|e| unavailable("Encrypt", e))?;
        let blob = output
            .ciphertext_blob
            .ok_or_else(|| VaultError::Unavailable("KMS Encrypt: no ciphertext".into()))?;
        let mut bytes = Vec::with_capacity(1 + blob.as_ref().len());
        bytes.push(KMS_SCHEME);
        bytes.extend_from_slice(blob.as_ref());
        Ok(Sealed::new(bytes))
    }

    async fn open(&self, owner: Owner<'_>, sealed: &Sealed) -> Result<OtpSecret, VaultError> {
        let ciphertext = payload(sealed, KMS_SCHEME)?;
        let output = self
            .client
            .decrypt()
            .key_id(&self.key)
            .ciphertext_blob(Blob::new(ciphertext))
            .encryption_context(PURPOSE.0, PURPOSE.1)
            .encryption_context("domain_id", owner.domain_id.as_str())
            .encryption_context("user_id", owner.user_id.as_str())
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                // Another context (owner) or altered bytes.
                Some(DecryptError::InvalidCiphertextException(_)) => VaultError::DoesNotOpen,
                _ => unavailable("Decrypt", e),
            })?;
        let plain = output
            .plaintext
            .ok_or_else(|| VaultError::Unavailable("KMS Decrypt: no plaintext".into()))?;
        Ok(OtpSecret::from_bytes(Zeroizing::new(plain.into_inner())))
    }
}
