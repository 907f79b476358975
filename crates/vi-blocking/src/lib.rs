//! The blocking facade of the Datature Vi SDK: ureq transport and OS-thread runtime.

pub mod runtime;
pub mod transport;
