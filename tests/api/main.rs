//! The API through its HTTP surface (`shared::http::route`, the code path of every binary), one
//! module per area of the SPEC.

mod auth;
mod concurrency;
mod create;
mod deletion;
mod email;
mod enforce;
mod fixture;
mod hostile;
mod lifecycle;
mod list;
mod mfa;
mod otp;
mod proto3;
mod required_actions;
mod reset;
mod roles;
mod secrets;
mod stat;
mod token;
mod transport;
mod update;
