//! The local vault: AES-256-GCM under a 256-bit key kept in `DATA_DIR/mfa-secret.key` (0600),
//! made from the OS's random source on first use. A sealed secret is the scheme byte, a random
//! 96-bit nonce, then the ciphertext and its tag.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, Generate, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use async_trait::async_trait;
use zeroize::Zeroizing;

use super::{LOCAL_SCHEME, Owner, Vault, VaultError, payload};
use crate::otp::{OtpSecret, Sealed};

const KEY_FILE: &str = "mfa-secret.key";
const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 12;

pub struct KeyFile {
    cipher: Aes256Gcm,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read or write the MFA secret key at {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("the MFA secret key at {0} is not 32 bytes; the secrets sealed with it cannot be opened without it")]
    Corrupt(PathBuf),
}

impl KeyFile {
    /// Loads `dir/mfa-secret.key`, making it (0600) on first use. Two processes making it at
    /// once both end up with the one that was written first.
    pub fn load_or_create(dir: &Path) -> Result<Self, KeyFileError> {
        let path = dir.join(KEY_FILE);
        let io = |source| KeyFileError::Io {
            path: path.clone(),
            source,
        };
        crate::private_fs::create_dir(dir).map_err(io)?;
        let key = match crate::private_fs::file_options()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut file) => {
                let key = Key::<Aes256Gcm>::generate();
                file.write_all(&key).and_then(|()| file.sync_all()).map_err(io)?;
                key
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let mut bytes = Zeroizing::new(Vec::with_capacity(KEY_BYTES));
                std::fs::File::open(&path)
                    .and_then(|mut f| f.read_to_end(&mut bytes))
                    .map_err(io)?;
                Key::<Aes256Gcm>::try_from(bytes.as_slice()).map_err(|_| KeyFileError::Corrupt(path.clone()))?
            }
            Err(e) => return Err(io(e)),
        };
        Ok(Self {
            cipher: Aes256Gcm::new(&key),
        })
    }
}

#[async_trait]
impl Vault for KeyFile {
    async fn seal(&self, owner: Owner<'_>, secret: &OtpSecret) -> Result<Sealed, VaultError> {
        let nonce = Nonce::generate();
        let aad = owner.associated_data();
        let ciphertext = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: secret.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| VaultError::Unavailable("AES-GCM refused to seal".into()))?;
        let mut bytes = Vec::with_capacity(1 + NONCE_BYTES + ciphertext.len());
        bytes.push(LOCAL_SCHEME);
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&ciphertext);
        Ok(Sealed::new(bytes))
    }

    async fn open(&self, owner: Owner<'_>, sealed: &Sealed) -> Result<OtpSecret, VaultError> {
        let bytes = payload(sealed, LOCAL_SCHEME)?;
        if bytes.len() < NONCE_BYTES {
            return Err(VaultError::DoesNotOpen);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let nonce = Nonce::try_from(nonce).map_err(|_| VaultError::DoesNotOpen)?;
        let aad = owner.associated_data();
        let plain = self
            .cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| VaultError::DoesNotOpen)?;
        Ok(OtpSecret::from_bytes(Zeroizing::new(plain)))
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::model::{DomainId, UserId};

    fn ids(domain: &str, user: &str) -> (DomainId, UserId) {
        (
            DomainId::parse("domain_id", domain.into()).unwrap(),
            UserId::parse("user_id", user.into()).unwrap(),
        )
    }

    #[tokio::test]
    async fn a_secret_opens_for_its_owner_only_and_the_key_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let vault = KeyFile::load_or_create(dir.path()).unwrap();
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let secret = OtpSecret::generate().unwrap();
        let (domain, alice) = ids("domain-a", "alice");
        let owner = Owner {
            domain_id: &domain,
            user_id: &alice,
        };
        let sealed = vault.seal(owner, &secret).await.unwrap();
        assert!(!sealed.as_bytes().windows(20).any(|w| w == secret.as_bytes()));
        assert_eq!(vault.open(owner, &sealed).await.unwrap().as_bytes(), secret.as_bytes());
        // The same key, read back from the file by another process.
        let again = KeyFile::load_or_create(dir.path()).unwrap();
        assert_eq!(again.open(owner, &sealed).await.unwrap().as_bytes(), secret.as_bytes());

        let (_, bob) = ids("domain-a", "bob");
        let (other_domain, _) = ids("domain-b", "alice");
        for owner in [
            Owner {
                domain_id: &domain,
                user_id: &bob,
            },
            Owner {
                domain_id: &other_domain,
                user_id: &alice,
            },
        ] {
            assert!(matches!(vault.open(owner, &sealed).await, Err(VaultError::DoesNotOpen)));
        }
        let mut altered = sealed.as_bytes().to_vec();
        *altered.last_mut().unwrap() ^= 1;
        assert!(matches!(
            vault.open(owner, &Sealed::new(altered)).await,
            Err(VaultError::DoesNotOpen)
        ));
        let other_key = KeyFile::load_or_create(tempfile::tempdir().unwrap().path()).unwrap();
        assert!(matches!(
            other_key.open(owner, &sealed).await,
            Err(VaultError::DoesNotOpen)
        ));
    }
}
