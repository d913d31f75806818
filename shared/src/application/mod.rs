//! The application: [`app`], the process and the ports it runs on; [`ops`], one module per
//! operation with its description; [`provision`], provisioning commands run through the
//! same operations. Only the edge imports it.

pub mod app;
pub mod ops;
pub mod provision;
