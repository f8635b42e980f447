//! Reference counts: the axis that decides what one `Py_INCREF` costs.
//!
//! A [`Counts`] chooses the count word at the start of every object header
//! and the increment and decrement on it. Implementations:
//! - [`PlainCounts`] (here): a plain integer, safe only under the GIL;
//! - [`AtomicCounts`] (here): one atomic integer with `Arc`'s orderings;
//! - [`super::BiasedCounts`] (`biased.rs`): owner-local plus shared, with
//!   CPython's merge queue;
//! - [`super::TracedCounts`] (`traced.rs`): no counts at all; a `Ref` owns a
//!   root instead ([`Counts::Root`]) and a tracing collector frees objects.
//!
//! Immortal objects (PEP 683) carry a count no thread writes; each
//! implementation has its own marker for it.
//!
//! Orderings are justified where they stand. The per-thread operation
//! counters (`RcCounters`) are plain fields of the thread's own state.

use super::{ObjAddr, RcCounters};
use crate::sync::{AtomicIsize, Ordering, UnsafeCell};

/// A way of counting references.
///
/// # Safety
/// - The count is exact: `decref` returns true (or a queued decrement is
///   later handed back as dead) exactly once per object, after its last
///   reference is gone, on a thread that may free it; the thread's earlier
///   uses of the object happen-before that free.
/// - `total` is exact while the world is stopped and `prepare_collection`
///   has run.
/// - With `NEEDS_GIL`, the implementation may assume that one thread at a
///   time runs heap code (the policy check refuses it otherwise).
pub unsafe trait Counts: 'static + Sized {
    /// The implementation relies on the GIL for exclusion.
    const NEEDS_GIL: bool;
    /// No counts at all: objects are reclaimed only by a tracing collector
    /// (the heap then runs that collector and counts bytes for its trigger).
    const TRACED: bool = false;
    /// The heap must call a write barrier on every container write (a
    /// generational tracing collector's remembered set).
    const WRITE_BARRIER: bool = false;

    /// `try_incref` can succeed (else it always refuses, and optimistic
    /// reads are refused by the policy check).
    const TRY_INCREF: bool = false;

    /// The count word at offset 0 of every object.
    type Word: Send + Sync;
    /// State shared by all threads of one heap (merge queues).
    type Shared: Send + Sync;
    /// What a `Ref` owns besides its count: a root (a handle-table slot)
    /// under a tracing policy, nothing (`()`) under a counting one.
    type Root: Send + Sync + Default;
    /// One thread's state.
    type Local;

    fn new_shared() -> Self::Shared;
    /// A thread attaches (already attached to the interpreter).
    fn attach(shared: &Self::Shared) -> Self::Local;
    /// A thread about to leave for good (still attached) settles what it
    /// owes, one pass at a time: returns true once nothing is left (and no
    /// more work can arrive for it), false when it found work, whose dead
    /// objects it pushed onto `dead`. The heap frees those (which may make
    /// more work: their children's decrements) and asks again.
    fn settle_for_exit(
        _shared: &Self::Shared,
        _local: &mut Self::Local,
        _dead: &mut Vec<ObjAddr>,
    ) -> bool {
        true
    }
    /// The thread leaves for good, settled.
    fn detach_for_good(_shared: &Self::Shared, _local: &mut Self::Local) {}
    /// True when the next checkpoint has counting work (a merge queue).
    #[inline(always)]
    fn checkpoint_pending(_local: &Self::Local) -> bool {
        false
    }
    /// The checkpoint's counting work; objects found dead are pushed onto
    /// `dead` for the heap to free after the call. (Returned, not freed
    /// through a callback: freeing decrements children on this same thread
    /// state, which must not be borrowed while it does.)
    fn checkpoint_slow(_shared: &Self::Shared, _local: &mut Self::Local, _dead: &mut Vec<ObjAddr>) {
    }

    /// A count of one, owned by the current thread.
    fn word_new(local: &Self::Local) -> Self::Word;
    /// Writes a count of one, owned by the current thread, into a new
    /// object's block. Under optimistic reads a block may be read by a
    /// racing try-incref while this runs (it was freed and reused): an
    /// implementation with `TRY_INCREF` stores the word field by field with
    /// atomic stores, each intermediate state one a try-incref refuses.
    ///
    /// # Safety
    /// `word` is valid for writes and aligned.
    #[inline(always)]
    unsafe fn init_word(word: *mut Self::Word, local: &Self::Local) {
        // SAFETY: the caller's contract.
        unsafe { word.write(Self::word_new(local)) }
    }
    /// A count that no thread writes (PEP 683 immortal objects).
    fn word_immortal() -> Self::Word;
    fn is_immortal(word: &Self::Word) -> bool;

    /// One more reference.
    ///
    /// # Safety
    /// The thread is attached and holds a reference to the object at `obj`.
    unsafe fn incref(obj: ObjAddr, local: &mut Self::Local);
    /// One more reference to an object the caller holds no reference to and
    /// read from a slot without the slot's lock (CPython's
    /// `_Py_TryIncrefFast` + `_Py_TryIncRefShared`): the object may be being
    /// freed, or freed and its block reused. Returns false, changing
    /// nothing, when it cannot tell that the object is alive; true when it
    /// took a reference to whatever object now lives at `obj` (the caller
    /// re-checks the slot and gives it back if the slot moved on).
    ///
    /// # Safety
    /// The thread is attached; `obj` is the address of an object-domain
    /// block of this heap whose memory stays an object-domain block of the
    /// same class while the caller runs (the heap holds emptied object
    /// pools under optimistic reads).
    #[inline(always)]
    unsafe fn try_incref(_obj: ObjAddr, _local: &mut Self::Local) -> bool {
        false
    }
    /// One reference less; true when it was the last and the caller must
    /// deallocate (a decrement may instead be queued to an owner).
    ///
    /// # Safety
    /// The thread is attached and gives up a reference it holds.
    unsafe fn decref(shared: &Self::Shared, obj: ObjAddr, local: &mut Self::Local) -> bool;
    /// The true count. Exact only while the world is stopped and pending
    /// merges are applied.
    fn total(word: &Self::Word) -> isize;
    /// Before a collection, world stopped: apply pending merges so `total`
    /// is exact; objects found dead are pushed onto `dead`.
    fn prepare_collection(
        _shared: &Self::Shared,
        _local: &mut Self::Local,
        _dead: &mut Vec<ObjAddr>,
    ) {
    }
    /// This thread's counters.
    fn counters(local: &Self::Local) -> RcCounters;

    /// A new root for `obj`, owned by a new `Ref` (`TRACED` only; counting
    /// policies own no root). The thread is attached.
    #[inline(always)]
    fn new_root(_local: &mut Self::Local, _obj: ObjAddr) -> Self::Root {
        Self::Root::default()
    }
    /// A `Ref` gives up its root; any thread, attached or not.
    ///
    /// # Safety
    /// `root` came from `new_root` of a heap that is still alive, and is
    /// dropped once.
    #[inline(always)]
    unsafe fn drop_root(_root: &Self::Root) {}
    /// Calls `f` with every root (`TRACED` only), world stopped.
    fn for_each_root(_shared: &Self::Shared, _f: &mut dyn FnMut(ObjAddr)) {}
    /// The object `root` names now (`TRACED` only: a moving collector may
    /// have replaced it since the root was made; counting policies own no
    /// root and never call this).
    #[inline(always)]
    fn root_obj(_root: &Self::Root) -> ObjAddr {
        std::ptr::null_mut()
    }
    /// Moves roots (`TRACED` only), world stopped: each root `a` becomes
    /// `f(a)`, unless it was emptied meanwhile by a thread that is not
    /// attached (an emptied root stays empty; see `policy::handles`).
    fn move_roots(_shared: &Self::Shared, _f: &mut dyn FnMut(ObjAddr) -> ObjAddr) {}
}

/// The count word of the object at `obj`.
///
/// # Safety
/// `obj` is a live object of a heap whose policy counts with `C`; the word is
/// at offset 0 of every object (the object layer asserts it).
#[inline(always)]
pub unsafe fn word<'a, C: Counts>(obj: ObjAddr) -> &'a C::Word {
    // SAFETY: the caller's contract.
    unsafe { &*(obj as *const C::Word) }
}

/// Plain and atomic counts mark immortal objects with this count.
const IMMORTAL: isize = isize::MAX / 2;

/// Plain integer counts: what the GIL makes safe.
#[derive(Debug)]
pub struct PlainCounts;

/// A plain reference count.
pub struct PlainRc(UnsafeCell<isize>);

// SAFETY: only touched by the GIL's holder (`PlainCounts::NEEDS_GIL`).
unsafe impl Sync for PlainRc {}
// SAFETY: as above.
unsafe impl Send for PlainRc {}

// SAFETY: under the GIL (checked by the policy) one thread at a time counts,
// and the GIL's hand-over orders one holder's counts before the next's.
unsafe impl Counts for PlainCounts {
    const NEEDS_GIL: bool = true;
    type Word = PlainRc;
    type Shared = ();
    type Root = ();
    type Local = RcCounters;

    fn new_shared() {}

    fn attach(_shared: &()) -> RcCounters {
        RcCounters::default()
    }

    #[inline(always)]
    fn word_new(_local: &RcCounters) -> PlainRc {
        PlainRc(UnsafeCell::new(1))
    }

    fn word_immortal() -> PlainRc {
        PlainRc(UnsafeCell::new(IMMORTAL))
    }

    #[inline(always)]
    fn is_immortal(word: &PlainRc) -> bool {
        // SAFETY: a plain read under the GIL.
        word.0.with(|v| unsafe { *v }) >= IMMORTAL
    }

    #[inline(always)]
    unsafe fn incref(obj: ObjAddr, local: &mut RcCounters) {
        // SAFETY: the caller holds the GIL and a reference.
        unsafe {
            word::<Self>(obj).0.with_mut(|v| {
                if *v < IMMORTAL {
                    *v += 1
                }
            })
        };
        local.local_ops += 1;
    }

    #[inline(always)]
    unsafe fn decref(_shared: &(), obj: ObjAddr, local: &mut RcCounters) -> bool {
        local.local_ops += 1;
        // SAFETY: the caller holds the GIL and gives up a reference.
        unsafe {
            word::<Self>(obj).0.with_mut(|v| {
                if *v >= IMMORTAL {
                    return false;
                }
                *v -= 1;
                *v == 0
            })
        }
    }

    fn total(word: &PlainRc) -> isize {
        // SAFETY: a plain read; the world is stopped by the GIL.
        word.0.with(|v| unsafe { *v })
    }

    fn counters(local: &RcCounters) -> RcCounters {
        *local
    }
}

/// Atomic counts with `Arc`'s orderings: what a naive GIL removal does.
#[derive(Debug)]
pub struct AtomicCounts;

/// An atomic reference count.
pub struct AtomicRc(AtomicIsize);

// SAFETY: every change is one atomic read-modify-write; the last decrement
// (release) is followed by an acquire load, so all other threads' uses
// happen-before the free.
unsafe impl Counts for AtomicCounts {
    const NEEDS_GIL: bool = false;
    type Word = AtomicRc;
    type Shared = ();
    type Root = ();
    type Local = RcCounters;

    fn new_shared() {}

    fn attach(_shared: &()) -> RcCounters {
        RcCounters::default()
    }

    #[inline(always)]
    fn word_new(_local: &RcCounters) -> AtomicRc {
        AtomicRc(AtomicIsize::new(1))
    }

    fn word_immortal() -> AtomicRc {
        AtomicRc(AtomicIsize::new(IMMORTAL))
    }

    #[inline(always)]
    fn is_immortal(word: &AtomicRc) -> bool {
        // Relaxed: immortality is set before an object is shared.
        word.0.load(Ordering::Relaxed) >= IMMORTAL
    }

    #[inline(always)]
    unsafe fn incref(obj: ObjAddr, local: &mut RcCounters) {
        // SAFETY: the caller holds a reference, so the header is live.
        let rc = unsafe { &word::<Self>(obj).0 };
        // Relaxed: see `is_immortal`.
        if rc.load(Ordering::Relaxed) >= IMMORTAL {
            return;
        }
        // Relaxed, as `Arc::clone`: the caller's own reference keeps the
        // object alive; an increment publishes nothing.
        rc.fetch_add(1, Ordering::Relaxed);
        local.atomic_ops += 1;
    }

    #[inline(always)]
    unsafe fn decref(_shared: &(), obj: ObjAddr, local: &mut RcCounters) -> bool {
        // SAFETY: the caller holds a reference, so the header is live.
        let rc = unsafe { &word::<Self>(obj).0 };
        // Relaxed: see `is_immortal`.
        if rc.load(Ordering::Relaxed) >= IMMORTAL {
            return false;
        }
        local.atomic_ops += 1;
        // Release: our earlier uses of the object happen-before whichever
        // thread takes the count to zero and frees it.
        if rc.fetch_sub(1, Ordering::Release) == 1 {
            // Acquire: every other thread's release decrement is in the
            // release sequence our decrement read from, so their last uses
            // happen-before the free. `Arc` uses `fence(Acquire)` here; an
            // acquire load of the count (now 0, written by our own RMW) gives
            // the same edge, costs the same on x86 and ARM's load-acquire,
            // and is what ThreadSanitizer can see (it does not model fences).
            let _ = rc.load(Ordering::Acquire);
            return true;
        }
        false
    }

    fn total(word: &AtomicRc) -> isize {
        // Relaxed: read with the world stopped.
        word.0.load(Ordering::Relaxed)
    }

    fn counters(local: &RcCounters) -> RcCounters {
        *local
    }
}
