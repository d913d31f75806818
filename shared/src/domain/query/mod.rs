//! The Cloudforet query language over one domain's users, independent of any store: the store
//! hands over the users, this module parses, validates, filters, sorts, pages, projects
//! ([`Query`], for list) and aggregates ([`StatQuery`], for stat).
//!
//! Queries see users only as their `UserInfo` documents, so the password hash and internal
//! attributes are not there to reach; naming them (or any key that is not a UserInfo field) is
//! refused up front with ERROR_DB_QUERY. Every query is parsed completely before storage is read.

mod aggregate;
mod condition;
mod doc;
mod keys;
mod list;
mod select;
mod value;

pub use aggregate::{ACCUMULATORS, StatQuery};
pub use condition::{Condition, MAX_PATTERN_BYTES, MAX_PATTERNS, ParseContext, parse_condition, parse_datetime};
pub use doc::{Doc, Field};
pub use keys::{QueryError, USER_FIELDS, check_key};
pub use list::Query;
pub use select::{Compile, MAX_PAGE, Page, Selection, SortKey, Uncompiled, first_in_order, sort_docs, sorted_order};
pub use value::{compare, lookup};

#[cfg(test)]
mod proptests;
