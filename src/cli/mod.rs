//! The command line's own pieces: what `main.rs` dispatches to.

pub mod interrupt;
pub mod outputs;
