//! The identity v2 `User` API: everything except the binaries.
//!
//! Its modules stand in layers, each a folder ([`layers`], drawn in docs/architecture.md):
//! [`foundation`] (`error`, `clock`, `private_fs`), [`domain`] (`secrets`, `otp`, `model`,
//! `input`, `query`, `events`), [`ports`] (`store`, `mail`, `deferred`, `auth`, `aws`, `vault`:
//! the ports and their adapters), [`contract`] (`proto3`), [`application`] (`app`, `ops`, `provision`),
//! [`edge`] (`http`, `openapi`). A module imports its own layer or lower ones, and no import
//! comes back round; a unit test checks both.
//!
//! Who owns what:
//! - [`model`]: the domain types (ids, enums, the stored user and its `UserInfo` view).
//! - [`input`]: turning a raw JSON body into those types, with SPEC error codes naming the key.
//! - [`proto3`]: the request messages (fields, their rules and conditions) and their proto3 JSON
//!   mapping (camelCase names, enum numbers, string integers), applied to every API request
//!   before its operation reads it.
//! - [`error`]: the one error enum and its mapping to SPEC codes, statuses and messages.
//! - [`auth`]: JWT verification against a JWKS, the caller, and the role table.
//! - [`secrets`]: passwords, temporary passwords and verification codes.
//! - [`otp`]: authenticator-app (TOTP) codes and secrets; [`vault`]: OTP secrets sealed at rest.
//! - [`store`]: the storage port and its adapters.
//! - [`mail`]: the mail port, its transports and the rendered mails.
//! - [`ops`]: one module per API operation, each with its description; the business rules
//!   live there.
//! - [`openapi`]: the API as an OpenAPI 3.1 document, built from the descriptions.
//! - [`deferred`]: work a request hands over instead of doing (the reset-password work).
//! - [`provision`]: provisioning commands (a queue, an import file) run through the same operations.
//! - [`events`]: the one change event a committed change to a user makes.
//! - [`http`]: `lambda_http` request in, response out; the one code path every binary runs.
//! - [`private_fs`]: creating the files that hold secrets readable by their owner only.
//! - [`app`]: the process-wide state (store, mailer, keys, clock) and its configuration.
//! - [`query`]: the Query / StatisticsQuery engine; [`clock`]: time; [`aws`]: the AWS SDK's
//!   configuration.

pub mod application;
pub mod contract;
pub mod domain;
pub mod edge;
pub mod foundation;
pub mod layers;
pub mod ports;

pub use app::{App, Config};
pub use error::ApiError;
pub use ops::Operation;

// Every module keeps the path it had before the layers had folders (`crate::model`,
// `shared::http`), so callers inside and outside the crate moved with nothing to change. The
// paths through the folders (`crate::domain::model`) are the same modules.
pub use application::{app, ops, provision};
pub use contract::proto3;
pub use domain::{events, input, model, otp, query, secrets};
pub use edge::{http, openapi};
pub use foundation::{clock, error, private_fs, telemetry};
pub use ports::{auth, aws, deferred, mail, store, vault};
