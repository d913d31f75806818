//! The domain: the rules. [`model`], the user and its fields with their checks; [`secrets`],
//! passwords and codes; [`otp`], authenticator-app codes; [`input`], reading request fields; [`query`], the query engine;
//! [`events`], the change events. It imports only the foundation.

pub mod events;
pub mod input;
pub mod model;
pub mod otp;
pub mod query;
pub mod secrets;
