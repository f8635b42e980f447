//! A leaf's bytes and object identity, in a form that stays sound when
//! objects move (a tracing policy's nursery, `heap::trace::nursery`).
//!
//! A borrow of an object's memory must not outlive the next allocation:
//! under a nursery, an allocation may run a minor collection that copies a
//! young leaf elsewhere and reuses its place. So the payload is lent only
//! to a closure, with the nursery pinned while it runs (no minor
//! collection: allocations go to the pools meanwhile), or copied out. And
//! an address is not an identity: two `Ref`s name the same object when
//! their current addresses agree, read together by an attached thread, so
//! that no minor collection falls between the two reads.

use super::{Mutator, Ref};
use crate::object::{header_bytes, Kind};
use crate::policy::{Counts, Policy};
use crate::HeapError;

impl<'h, P: Policy> Mutator<'h, P> {
    /// Runs `f` with a leaf's payload. The bytes stay where they are while
    /// `f` runs, whatever it does (under a nursery, the nursery is pinned:
    /// no minor collection moves them).
    pub fn with_leaf_bytes<R>(
        &self,
        r: &Ref<'h, P>,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<R, HeapError> {
        let _pin = (<P::Counts as Counts>::TRACED && self.heap.trace.nursery_on())
            .then(|| self.heap.trace.nursery.pin());
        // SAFETY: pinned (or objects never move under this heap), and `r`
        // keeps the leaf alive while `f` runs.
        let b = unsafe { self.leaf_slice(r, "with_leaf_bytes")? };
        Ok(f(b))
    }

    /// A copy of a leaf's payload.
    pub fn leaf_vec(&self, r: &Ref<'h, P>) -> Result<Vec<u8>, HeapError> {
        // SAFETY: nothing allocates in the heap while the slice lives.
        unsafe { Ok(self.leaf_slice(r, "leaf_vec")?.to_vec()) }
    }

    /// A leaf's payload, borrowed.
    ///
    /// # Safety
    /// No object is allocated on this heap (by any thread) while the slice
    /// lives, unless the nursery is pinned: a minor collection could move
    /// the leaf.
    pub(crate) unsafe fn leaf_slice<'r>(
        &self,
        r: &'r Ref<'h, P>,
        op: &'static str,
    ) -> Result<&'r [u8], HeapError> {
        self.check_attached();
        // SAFETY: attached.
        let kind = unsafe { r.kind_attached() };
        if kind != Kind::Leaf {
            return Err(HeapError::wrong_type(op, "leaf", kind.name()));
        }
        // SAFETY: a live leaf's payload is immutable after creation and
        // stays where it is for as long as the caller's contract says.
        unsafe {
            let obj = r.as_ptr();
            Ok(std::slice::from_raw_parts(
                (obj as *const u8).add(header_bytes::<P>()),
                (*obj).len as usize,
            ))
        }
    }

    /// Whether `a` and `b` name the same object (Python's `a is b`),
    /// whether or not it moved since either was made.
    #[inline]
    pub fn is_same(&self, a: &Ref<'h, P>, b: &Ref<'h, P>) -> bool {
        self.check_attached();
        // Attached: no minor collection runs between the two reads.
        a.as_ptr() == b.as_ptr()
    }
}
