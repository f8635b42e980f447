//! No reference counts: the count-free choice on the counts axis
//! (`gil-tracing` is PyPy's heap, `tracing` the JVM's and CLR's, so
//! Jython's and IronPython's).
//!
//! [`TracedCounts`] makes the count word zero-sized: an increment does
//! nothing, a decrement never frees, and objects come back only through the
//! heap's tracing collector (`heap::trace`), which [`Counts::TRACED`] tells
//! the heap to run instead of the cycle collector. What keeps an object
//! alive is reachability from the roots: each `Ref` that Rust holds owns a
//! slot of its thread's handle table ([`super::handles`]), and immortal
//! objects are roots too.

use super::handles::{Handle, HandleLocal, Handles};
use super::{Counts, ObjAddr, RcCounters};

/// No counts: a tracing collector reclaims objects.
#[derive(Debug)]
pub struct TracedCounts;

/// The zero-sized count word.
#[derive(Debug, Default)]
pub struct NoCount;

/// A thread's part: its handle table and its counters.
pub struct TracedLocal {
    pub handles: HandleLocal,
    counters: RcCounters,
}

// SAFETY: `decref` never returns true, so the heap never frees an object on
// a count; the tracing collector frees an object only when no root and no
// live object refers to it (see `heap::trace`). `total` is not a count: it
// is 1 for every object (the verifier skips count checks under `TRACED`).
unsafe impl Counts for TracedCounts {
    const NEEDS_GIL: bool = false;
    const TRACED: bool = true;
    type Word = NoCount;
    type Shared = Handles;
    type Local = TracedLocal;
    type Root = Handle;

    fn new_shared() -> Handles {
        Handles::new()
    }

    fn attach(shared: &Handles) -> TracedLocal {
        TracedLocal {
            handles: shared.attach(),
            counters: RcCounters::default(),
        }
    }

    fn detach_for_good(shared: &Handles, local: &mut TracedLocal) {
        shared.detach(&mut local.handles);
    }

    #[inline(always)]
    fn word_new(_local: &TracedLocal) -> NoCount {
        NoCount
    }

    fn word_immortal() -> NoCount {
        NoCount
    }

    #[inline(always)]
    fn is_immortal(_word: &NoCount) -> bool {
        // The heap's IMMORTAL header bit is what says it (no count to mark).
        false
    }

    #[inline(always)]
    unsafe fn incref(_obj: ObjAddr, _local: &mut TracedLocal) {}

    #[inline(always)]
    unsafe fn decref(_shared: &Handles, _obj: ObjAddr, _local: &mut TracedLocal) -> bool {
        false
    }

    fn total(_word: &NoCount) -> isize {
        1
    }

    fn counters(local: &TracedLocal) -> RcCounters {
        local.counters
    }

    #[inline(always)]
    fn new_root(local: &mut TracedLocal, obj: ObjAddr) -> Handle {
        local.handles.new_root(obj)
    }

    #[inline(always)]
    unsafe fn drop_root(root: &Handle) {
        // SAFETY: forwarded.
        unsafe { root.drop_root() }
    }

    fn for_each_root(shared: &Handles, f: &mut dyn FnMut(ObjAddr)) {
        shared.for_each_root(f)
    }

    #[inline(always)]
    fn root_obj(root: &Handle) -> ObjAddr {
        root.obj()
    }

    fn move_roots(shared: &Handles, f: &mut dyn FnMut(ObjAddr) -> ObjAddr) {
        shared.move_roots(f)
    }
}
