//! Where OTP secrets are kept at rest (SPEC section 10): a secret is sealed before it is stored
//! and opened only to check a code. AES-256-GCM, with the user's domain and id bound as
//! associated data, so a sealed secret copied to another user does not open. The key is never
//! in the users table or the embedded database:
//! - [`local::KeyFile`]: a 256-bit key in `DATA_DIR/mfa-secret.key` (0600, made on first use);
//! - [`kms::KmsVault`]: the AWS KMS symmetric key `MFA_SECRET_KEY` (KMS encrypts with
//!   AES-256-GCM itself; the domain and user are the encryption context, its associated data).
//!   `kms:Encrypt` for the functions that store secrets, `kms:Decrypt` for those that check codes.
//!
//! A sealed secret starts with the byte of the scheme that sealed it, so a vault refuses one of
//! the other scheme with a clear error instead of garbage.

pub mod kms;
pub mod local;

use async_trait::async_trait;

use crate::model::{DomainId, UserId};
use crate::otp::{OtpSecret, Sealed};

/// The scheme bytes.
const LOCAL_SCHEME: u8 = 1;
const KMS_SCHEME: u8 = 2;

/// Whose secret it is: bound into the sealed bytes.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    pub domain_id: &'a DomainId,
    pub user_id: &'a UserId,
}

impl Owner<'_> {
    /// The associated data of the local scheme: a label, then the domain and user each
    /// length-prefixed, so no two owners have the same bytes.
    fn associated_data(&self) -> Vec<u8> {
        let mut data = b"users/mfa-otp-secret/1".to_vec();
        for part in [self.domain_id.as_str(), self.user_id.as_str()] {
            data.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
            data.extend_from_slice(part.as_bytes());
        }
        data
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// Another key, another owner, or altered bytes: the secret is unusable.
    #[error("the sealed secret does not open (another key, another user, or altered bytes)")]
    DoesNotOpen,
    #[error("the MFA secret key is unavailable: {0}")]
    Unavailable(String),
    #[error("no MFA secret key is configured (MFA_SECRET_KEY)")]
    NotConfigured,
}

#[async_trait]
pub trait Vault: Send + Sync {
    async fn seal(&self, owner: Owner<'_>, secret: &OtpSecret) -> Result<Sealed, VaultError>;
    async fn open(&self, owner: Owner<'_>, sealed: &Sealed) -> Result<OtpSecret, VaultError>;
}

/// The vault of a process with no key: a Lambda function whose operation handles no OTP
/// secret, or one deployed without MFA_SECRET_KEY. Every use is refused.
pub struct NoVault;

#[async_trait]
impl Vault for NoVault {
    async fn seal(&self, _: Owner<'_>, _: &OtpSecret) -> Result<Sealed, VaultError> {
        Err(VaultError::NotConfigured)
    }

    async fn open(&self, _: Owner<'_>, _: &Sealed) -> Result<OtpSecret, VaultError> {
        Err(VaultError::NotConfigured)
    }
}

/// The bytes after `scheme`, or an error naming the scheme that sealed them.
fn payload(sealed: &Sealed, scheme: u8) -> Result<&[u8], VaultError> {
    match sealed.as_bytes().split_first() {
        Some((&found, rest)) if found == scheme => Ok(rest),
        Some((&LOCAL_SCHEME, _)) => Err(VaultError::Unavailable(
            "the secret was sealed by a local key file, not by this KMS key".into(),
        )),
        Some((&KMS_SCHEME, _)) => Err(VaultError::Unavailable(
            "the secret was sealed by AWS KMS, not by this key file".into(),
        )),
        _ => Err(VaultError::DoesNotOpen),
    }
}
