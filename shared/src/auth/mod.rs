//! Who is calling and what they may do: Cloudforet-format access tokens verified against a
//! JWKS ([`TokenVerifier`]) and this project's own keys ([`Keyring`]), the verified
//! [`Caller`], revocation and the role table of SPEC section 5, and signing tokens
//! ([`issuer`]: the dev key locally, AWS KMS on AWS).

mod dev_key;
pub mod issuer;
pub mod kms;
mod verify;

pub use dev_key::{DevKey, TokenRequest};
pub use issuer::{Issuer, Keyring, TokenSigner};
pub use verify::{ConfigError, RefreshToken, TokenType, TokenVerifier, USER_PERMISSION};

use crate::error::ApiError;
use crate::model::{DomainId, RoleType, State, User, UserId};

/// What a token says about when it was issued, for revocation (SPEC section 5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenStamp {
    /// `gen`: the user's token generation when this project's Token API issued it.
    pub generation: Option<u64>,
    /// `iat`, in whole seconds.
    pub issued_at: Option<i64>,
}

impl TokenStamp {
    /// Whether the user's last disable, password change or reset came after this token: a
    /// `gen` below the user's, or (without `gen`) an `iat` before the second of that event.
    pub fn is_revoked_for(&self, user: &User) -> bool {
        match (self.generation, user.tokens_revoked_at) {
            (Some(generation), _) => generation < user.token_generation,
            (None, None) => false,
            (None, Some(at)) => self.issued_at.is_none_or(|iat| iat < at.at().timestamp()),
        }
    }
}

/// A caller whose token verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub domain_id: DomainId,
    /// The token's `aud`: the user the token was issued to (who need not exist as a user).
    pub user_id: String,
    pub role: RoleType,
    /// A `permissions` claim without `identity:User`: the caller may act only as itself.
    pub restricted: bool,
    pub stamp: TokenStamp,
}

/// Who may call a method on a target user (SPEC section 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A DOMAIN_ADMIN of the domain.
    Admin,
    /// A DOMAIN_ADMIN of the domain, or the user itself.
    AdminOrSelf,
    /// Only the user itself, whatever its role.
    SelfOnly,
}

impl Caller {
    /// A provisioning system (a queue of commands, an import): the domain's administrator,
    /// with authority from who may submit commands rather than a token. It is no user, so
    /// no method's "the user itself" rule ever matches it.
    pub fn provisioner(domain_id: DomainId) -> Self {
        Self {
            domain_id,
            user_id: String::new(),
            role: RoleType::DomainAdmin,
            restricted: false,
            stamp: TokenStamp::default(),
        }
    }

    /// A token of `user_id`, if that user exists (`record`), must still stand: the user is
    /// not DISABLED and has not revoked its tokens since. A caller that is no user (an admin
    /// bootstrapping a domain, a provisioner) has nothing to check.
    pub fn check_standing(&self, record: Option<&User>) -> Result<(), ApiError> {
        let Some(user) = record else { return Ok(()) };
        if user.state == State::Disabled {
            return Err(ApiError::AuthenticateFailure {
                reason: "the token's user is disabled",
            });
        }
        if self.stamp.is_revoked_for(user) {
            return Err(ApiError::AuthenticateFailure {
                reason: "the token was revoked",
            });
        }
        Ok(())
    }

    /// The caller's own user id, when it can be one (the provisioner's cannot).
    pub fn own_user_id(&self) -> Option<UserId> {
        UserId::parse("aud", self.user_id.clone()).ok()
    }

    /// A DOMAIN_ADMIN of `domain`, not restricted by a `permissions` claim.
    pub fn is_admin_of(&self, domain: &DomainId) -> bool {
        self.role == RoleType::DomainAdmin && &self.domain_id == domain && !self.restricted
    }

    pub fn is_user(&self, target: &UserId) -> bool {
        self.user_id == target.as_str()
    }

    /// Checks the role table for `target` in `domain`.
    pub fn authorize(&self, access: Access, domain: &DomainId, target: &UserId) -> Result<(), ApiError> {
        self.check_domain(domain)?;
        let allowed = match access {
            Access::Admin => self.is_admin_of(domain),
            Access::AdminOrSelf => self.is_admin_of(domain) || self.is_user(target),
            Access::SelfOnly => self.is_user(target),
        };
        if allowed {
            Ok(())
        } else {
            Err(ApiError::PermissionDenied { reason: denial(access) })
        }
    }

    /// For methods without a target user (list, stat): the domain's admins only.
    pub fn require_admin(&self, domain: &DomainId) -> Result<(), ApiError> {
        self.check_domain(domain)?;
        if self.is_admin_of(domain) {
            Ok(())
        } else {
            Err(ApiError::PermissionDenied {
                reason: denial(Access::Admin),
            })
        }
    }

    fn check_domain(&self, domain: &DomainId) -> Result<(), ApiError> {
        if &self.domain_id == domain {
            Ok(())
        } else {
            Err(ApiError::PermissionDenied {
                reason: "the token belongs to another domain",
            })
        }
    }
}

fn denial(access: Access) -> &'static str {
    match access {
        Access::Admin => "only a DOMAIN_ADMIN of the domain may do this",
        Access::AdminOrSelf => "only a DOMAIN_ADMIN of the domain or the user itself may do this",
        Access::SelfOnly => "only the user itself may do this",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(role: RoleType, user: &str) -> Caller {
        Caller {
            domain_id: DomainId::parse("d", "domain-a".into()).unwrap(),
            user_id: user.into(),
            role,
            restricted: false,
            stamp: TokenStamp::default(),
        }
    }

    fn ids(domain: &str, user: &str) -> (DomainId, UserId) {
        (
            DomainId::parse("d", domain.into()).unwrap(),
            UserId::parse("u", user.into()).unwrap(),
        )
    }

    #[test]
    fn role_table() {
        let (d, bob) = ids("domain-a", "bob");
        let admin = caller(RoleType::DomainAdmin, "root");
        let owner = caller(RoleType::WorkspaceOwner, "bob");
        let other = caller(RoleType::User, "carol");
        assert!(admin.authorize(Access::Admin, &d, &bob).is_ok());
        assert!(admin.authorize(Access::AdminOrSelf, &d, &bob).is_ok());
        assert!(admin.authorize(Access::SelfOnly, &d, &bob).is_err());
        assert!(owner.authorize(Access::Admin, &d, &bob).is_err());
        assert!(owner.authorize(Access::AdminOrSelf, &d, &bob).is_ok());
        assert!(owner.authorize(Access::SelfOnly, &d, &bob).is_ok());
        assert!(other.authorize(Access::AdminOrSelf, &d, &bob).is_err());
    }

    #[test]
    fn a_restricted_admin_acts_only_as_itself() {
        let (d, bob) = ids("domain-a", "bob");
        let root = Caller {
            restricted: true,
            ..caller(RoleType::DomainAdmin, "root")
        };
        assert!(root.authorize(Access::Admin, &d, &bob).is_err());
        assert!(root.require_admin(&d).is_err());
        let (_, itself) = ids("domain-a", "root");
        assert!(root.authorize(Access::AdminOrSelf, &d, &itself).is_ok());
    }

    #[test]
    fn revocation_by_generation_or_by_the_second_of_the_event() {
        let mut user = crate::model::sample_user("alice");
        let at = |s: i64| crate::model::Timestamp::new(chrono::DateTime::from_timestamp(s, 0).unwrap());
        let stamp = |generation, issued_at| TokenStamp { generation, issued_at };
        assert!(!stamp(None, Some(100)).is_revoked_for(&user));
        user.revoke_tokens(at(200));
        user.tokens_revoked_at = Some(crate::model::Timestamp::new(
            at(200).at() + chrono::TimeDelta::milliseconds(700),
        ));
        assert!(stamp(Some(0), Some(300)).is_revoked_for(&user));
        assert!(!stamp(Some(1), Some(100)).is_revoked_for(&user));
        assert!(stamp(None, Some(199)).is_revoked_for(&user));
        assert!(
            !stamp(None, Some(200)).is_revoked_for(&user),
            "the very second is accepted"
        );
        assert!(stamp(None, None).is_revoked_for(&user));
        let caller = caller(RoleType::User, "alice");
        user.state = State::Disabled;
        assert!(caller.check_standing(Some(&user)).is_err());
        assert!(caller.check_standing(None).is_ok());
    }

    #[test]
    fn another_domain_is_always_denied() {
        let (d, root) = ids("domain-b", "root");
        let admin = caller(RoleType::DomainAdmin, "root");
        let err = admin.authorize(Access::SelfOnly, &d, &root).unwrap_err();
        assert_eq!(err.code(), "ERROR_PERMISSION_DENIED");
        assert!(admin.require_admin(&d).is_err());
    }
}
