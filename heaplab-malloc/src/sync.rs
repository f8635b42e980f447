//! The door to the atomics of the remote-free protocol (remote.rs and the
//! pool header's shared fields): `core`'s in the library, loom's when
//! `loom-tests/tests/malloc_remote_free.rs` compiles these very files under
//! `--cfg loom`, so that the model checks the code that ships.
//!
//! The rest of the crate (the spin lock, the range map, statistics) uses
//! `core` atomics directly: those are not modelled.

#[cfg(not(loom))]
pub use core::sync::atomic::{AtomicPtr, Ordering};
#[cfg(loom)]
pub use loom::sync::atomic::{AtomicPtr, Ordering};
