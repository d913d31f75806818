//! The contract: the API's request messages ([`proto3`]: fields, their rules and conditions,
//! and their proto3 JSON mapping). It imports the ports, the domain and the foundation.

pub mod proto3;
