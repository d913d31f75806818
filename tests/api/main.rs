//! The API through its HTTP surface (`users::http::route`, the code path of every binary), one
//! module per area of the SPEC.

mod auth;
mod concurrency;
mod create;
mod email;
mod lifecycle;
mod mfa;
mod required_actions;
mod reset;
mod roles;
mod secrets;
mod transport;
mod update;
