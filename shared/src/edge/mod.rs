//! The edge: what faces a client. [`http`], the handler every binary runs (request →
//! operation → response); [`openapi`], the API document. Nothing below imports this layer.

pub mod http;
pub mod openapi;
