//! Errors of heap operations, as a Python program would see them.
//!
//! A [`HeapError`] is one pointer wide (its details are boxed), so that
//! `Result<Ref, HeapError>` fits in two registers and the `Ok` path of every
//! allocation and `get` pays nothing for the errors it does not raise. Errors
//! are made off the hot path, by `#[cold]` constructors.

use crate::alloc::OutOfMemory;
use std::fmt;

/// What went wrong, in Python's terms.
#[derive(Debug, thiserror::Error)]
pub enum HeapErrorKind {
    /// The heap's memory limit (or the OS) refused an allocation.
    #[error("MemoryError: cannot reserve {} bytes ({} reserved, limit {})", .0.requested, .0.reserved, limit_str(.0.limit))]
    Memory(OutOfMemory),
    #[error("IndexError: {kind} index {index} out of range (len {len})")]
    Index {
        kind: &'static str,
        index: usize,
        len: usize,
    },
    #[error("TypeError: {op} needs a {expected}, got a {got}")]
    Type {
        op: &'static str,
        expected: &'static str,
        got: &'static str,
    },
    #[error("OverflowError: object of {0} bytes is too large")]
    TooLarge(usize),
    #[error("invalid heap configuration: {0}")]
    Config(String),
}

fn limit_str(l: usize) -> String {
    if l == usize::MAX {
        "none".into()
    } else {
        format!("{l} bytes")
    }
}

/// An error of a heap operation (see [`HeapErrorKind`] for what it says).
pub struct HeapError(Box<HeapErrorKind>);

impl HeapError {
    /// What went wrong.
    pub fn kind(&self) -> &HeapErrorKind {
        &self.0
    }

    /// `IndexError`.
    #[cold]
    #[inline(never)]
    pub fn index(kind: &'static str, index: usize, len: usize) -> Self {
        HeapErrorKind::Index { kind, index, len }.into()
    }

    /// `TypeError`.
    #[cold]
    #[inline(never)]
    pub fn wrong_type(op: &'static str, expected: &'static str, got: &'static str) -> Self {
        HeapErrorKind::Type { op, expected, got }.into()
    }

    /// `OverflowError`.
    #[cold]
    #[inline(never)]
    pub fn too_large(bytes: usize) -> Self {
        HeapErrorKind::TooLarge(bytes).into()
    }

    /// An invalid configuration.
    #[cold]
    #[inline(never)]
    pub fn config(why: impl Into<String>) -> Self {
        HeapErrorKind::Config(why.into()).into()
    }
}

impl From<HeapErrorKind> for HeapError {
    #[cold]
    fn from(k: HeapErrorKind) -> Self {
        HeapError(Box::new(k))
    }
}

impl From<OutOfMemory> for HeapError {
    #[cold]
    fn from(e: OutOfMemory) -> Self {
        HeapErrorKind::Memory(e).into()
    }
}

impl fmt::Display for HeapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for HeapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl std::error::Error for HeapError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_of_a_ref_fits_two_registers() {
        assert_eq!(std::mem::size_of::<HeapError>(), 8);
        assert_eq!(
            std::mem::size_of::<Result<crate::Ref<'static, crate::Gil>, HeapError>>(),
            16
        );
    }

    #[test]
    fn errors_read_as_python_does() {
        assert_eq!(
            HeapError::index("list", 3, 2).to_string(),
            "IndexError: list index 3 out of range (len 2)"
        );
        assert!(matches!(
            HeapError::too_large(9).kind(),
            HeapErrorKind::TooLarge(9)
        ));
    }
}
