//! The binaries' shared start-up code. Each binary under `src/bin/` is a few lines that call
//! into here; all request handling is `shared::http`.

pub mod lambda;
pub mod local;
pub mod queue;
pub mod stream;
pub mod web;
