//! The domain types. Values of these types are valid by construction: parsing happens once, at
//! the edge ([`crate::input`]), and nothing past it re-checks.

mod enums;
mod fields;
mod user;

pub use enums::{AuthType, MfaState, MfaType, PermissionGroup, RequiredAction, RoleType, State};
pub use fields::{DomainId, Email, Language, Name, Tags, Timezone, UserId, WorkspaceId};
pub use user::{Mfa, RoleBinding, Timestamp, User, Versioned};
