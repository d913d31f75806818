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
use crate::store::{Record, Tombstone};
use crate::telemetry::{self, Refused};

/// What a token says about when it was issued, for revocation (SPEC section 5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenStamp {
    /// `gen`: the user's token generation when this project's Token API issued it.
    pub generation: Option<u64>,
    /// `iat`, in whole seconds.
    pub issued_at: Option<i64>,
}

impl TokenStamp {
    /// Whether the user's creation, last disable, password change or reset came after this
    /// token: a `gen` below the user's, or (without `gen`) an `iat` before the second of that
    /// event. A user created by this version starts with its creation as such an event (its
    /// generation is its creation time in microseconds, [`User::start_tokens`]), so the tokens
    /// of an earlier account with the same user_id are refused, whatever their `gen`.
    pub fn is_revoked_for(&self, user: &User) -> bool {
        match (self.generation, user.tokens_revoked_at) {
            (Some(generation), _) => generation < user.token_generation,
            (None, None) => false,
            (None, Some(at)) => self.before_the_second_of(at),
        }
    }

    /// Whether the token was issued before the second of `at` (or says not when it was).
    fn before_the_second_of(&self, at: crate::model::Timestamp) -> bool {
        self.issued_at.is_none_or(|iat| iat < at.at().timestamp())
    }

    /// Whether a token of a user that is not there (deleted, or never created) is refused
    /// (SPEC section 5): one carrying `gen` always (this API issues tokens only to users that
    /// exist); one without `gen` when the user was deleted after it was issued. Another
    /// issuer's token of a user that never was (the bootstrap admin) stands.
    pub fn is_revoked_without_user(&self, tombstone: Option<&Tombstone>) -> bool {
        self.generation.is_some() || tombstone.is_some_and(|t| self.before_the_second_of(t.deleted_at))
    }

    /// [`Caller::check_standing`], for any token with this stamp (a refresh token too).
    pub fn check_standing(&self, record: &Record) -> Result<(), ApiError> {
        let user = match record {
            Record::User(user) => &user.item,
            Record::Tombstone(tombstone) if self.is_revoked_without_user(Some(tombstone)) => {
                telemetry::token_refused(Refused::UserDeleted);
                return Err(ApiError::AuthenticateFailure {
                    reason: "the token's user was deleted",
                });
            }
            Record::Absent if self.is_revoked_without_user(None) => {
                telemetry::token_refused(Refused::UserAbsent);
                return Err(ApiError::AuthenticateFailure {
                    reason: "the token's user does not exist",
                });
            }
            Record::Tombstone(_) | Record::Absent => return Ok(()),
        };
        if user.state == State::Disabled {
            telemetry::token_refused(Refused::UserDisabled);
            return Err(ApiError::AuthenticateFailure {
                reason: "the token's user is disabled",
            });
        }
        if self.is_revoked_for(user) {
            telemetry::token_refused(Refused::Revoked);
            return Err(ApiError::AuthenticateFailure {
                reason: "the token was revoked",
            });
        }
        Ok(())
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

    /// The caller's token must still stand against what its user's key holds (`record`, SPEC
    /// section 5): a user that is not DISABLED and has not revoked its tokens since; no user,
    /// only for a token that [`TokenStamp::is_revoked_without_user`] lets in (an admin
    /// bootstrapping a domain). The one place the User API and `token/grant` check this.
    pub fn check_standing(&self, record: &Record) -> Result<(), ApiError> {
        self.stamp.check_standing(record)
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
        // The generation moved to the event's time in microseconds.
        assert_eq!(user.token_generation, 200_000_000);
        assert!(stamp(Some(0), Some(300)).is_revoked_for(&user));
        assert!(stamp(Some(199_999_999), Some(300)).is_revoked_for(&user));
        assert!(!stamp(Some(200_000_000), Some(100)).is_revoked_for(&user));
        assert!(stamp(None, Some(199)).is_revoked_for(&user));
        assert!(
            !stamp(None, Some(200)).is_revoked_for(&user),
            "the very second is accepted"
        );
        assert!(stamp(None, None).is_revoked_for(&user));
        let caller = caller(RoleType::User, "alice");
        user.state = State::Disabled;
        let record = Record::User(crate::model::Versioned { item: user, version: 1 });
        assert!(caller.check_standing(&record).is_err());
        assert!(caller.check_standing(&Record::Absent).is_ok());
    }

    #[test]
    fn a_user_that_is_not_there() {
        let at = |s: i64| crate::model::Timestamp::new(chrono::DateTime::from_timestamp(s, 0).unwrap());
        let stamp = |generation, issued_at| TokenStamp { generation, issued_at };
        let deleted = Record::Tombstone(Tombstone { deleted_at: at(200) });
        // Another issuer's token (no `gen`): refused if issued before the deletion's second.
        assert!(stamp(None, Some(199)).check_standing(&deleted).is_err());
        assert!(stamp(None, None).check_standing(&deleted).is_err());
        assert!(stamp(None, Some(200)).check_standing(&deleted).is_ok());
        // The bootstrap rule: a user that never was.
        assert!(stamp(None, Some(100)).check_standing(&Record::Absent).is_ok());
        // This API's tokens (`gen`) need their user.
        assert!(stamp(Some(5), Some(300)).check_standing(&deleted).is_err());
        assert!(stamp(Some(5), Some(300)).check_standing(&Record::Absent).is_err());
    }

    #[test]
    fn a_new_account_refuses_its_predecessors_tokens() {
        let at = |s: i64| crate::model::Timestamp::new(chrono::DateTime::from_timestamp(s, 0).unwrap());
        let mut old = crate::model::sample_user("bob");
        old.start_tokens(at(100));
        for _ in 0..3 {
            old.revoke_tokens(at(150));
        }
        let old_token = TokenStamp {
            generation: Some(old.token_generation),
            issued_at: Some(160),
        };
        assert!(!old_token.is_revoked_for(&old));
        let mut new = crate::model::sample_user("bob");
        new.start_tokens(at(170));
        assert!(old_token.is_revoked_for(&new), "gen of the old account");
        let other_issuer = TokenStamp {
            generation: None,
            issued_at: Some(169),
        };
        assert!(other_issuer.is_revoked_for(&new), "iat before the creation second");
        let fresh = TokenStamp {
            generation: Some(new.token_generation),
            issued_at: Some(170),
        };
        assert!(!fresh.is_revoked_for(&new), "the creation second itself is accepted");
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
