//! Who is calling and what they may do: Cloudforet-format access tokens verified against a
//! JWKS ([`TokenVerifier`]), the verified [`Caller`], and the role table of SPEC section 5.

mod dev_key;
mod verify;

pub use dev_key::{DevKey, TokenRequest};
pub use verify::{ConfigError, TokenVerifier};

use crate::error::ApiError;
use crate::model::{DomainId, RoleType, UserId};

/// A caller whose token verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub domain_id: DomainId,
    /// The token's `aud`: the user the token was issued to (who need not exist as a user).
    pub user_id: String,
    pub role: RoleType,
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
        }
    }

    pub fn is_admin_of(&self, domain: &DomainId) -> bool {
        self.role == RoleType::DomainAdmin && &self.domain_id == domain
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
    fn another_domain_is_always_denied() {
        let (d, root) = ids("domain-b", "root");
        let admin = caller(RoleType::DomainAdmin, "root");
        let err = admin.authorize(Access::SelfOnly, &d, &root).unwrap_err();
        assert_eq!(err.code(), "ERROR_PERMISSION_DENIED");
        assert!(admin.require_admin(&d).is_err());
    }
}
