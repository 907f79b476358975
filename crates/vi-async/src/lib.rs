//! The async facade of the Datature Vi SDK: reqwest transport and tokio runtime.

pub mod runtime;
pub mod transport;
