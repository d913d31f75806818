//! The foundation: what needs nothing of the crate. [`error`], the one error enum and its
//! SPEC codes; [`clock`], time; [`private_fs`], files that hold secrets;
//! [`telemetry`], the counters kept for the operator.

pub mod clock;
pub mod error;
pub mod private_fs;
pub mod telemetry;
