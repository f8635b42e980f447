//! `Ref`: an owned strong reference that cannot outlive its heap.
//!
//! `Clone` increfs and `Drop` decrefs; the last decref runs the deallocator,
//! which releases the children. Neither has a mutator in hand, so both find
//! the current thread's state through a thread-local (CPython reads its
//! thread id from a register for the same reason). A `Ref` dropped where its
//! thread is not attached to the heap (inside `allow_threads`, on a thread
//! that never attached) never touches the heap there: its decref is queued
//! and applied at the next attach or checkpoint. One dropped while
//! unwinding decrements at once but frees nothing: a last reference is
//! queued the same way (`Heap::release_last`).
//!
//! Under a count-free policy ([`Counts::TRACED`]) a `Ref` owns a root
//! instead of a count: a slot of its thread's handle table
//! (`policy::handles`), filled when the `Ref` is made (`from_raw`, `clone`,
//! on an attached thread) and emptied when it is dropped or turned into a
//! raw pointer (on any thread). A raw pointer is therefore not a root there:
//! `into_raw` must be followed by a store into a reachable object (or by
//! `from_raw`) before the thread's next checkpoint.
//!
//! ## Objects that move (`--nursery`)
//!
//! Under a tracing policy with a nursery (`heap::trace::nursery`) a young
//! object is copied out of the nursery by a minor collection, so an address
//! is not an identity. A `Ref` therefore names its object through its root:
//! [`Ref::as_ptr`] reads the handle-table slot, which the minor collection
//! rewrites (`Handles::move_roots`, a compare-and-swap that leaves a slot
//! emptied meanwhile empty); the `obj` field is only the address at
//! creation there. Why a move can never leave a dangling reference:
//! - every reference the collector does not rewrite is one it cannot reach
//!   only if it is not a reference: the heap's own pointers into a young
//!   object come from roots (rewritten), from young objects (copied and
//!   rewritten with them), or from old objects, which a write barrier put
//!   in the remembered set (rewritten);
//! - no slot is emptied while a minor collection moves roots: under a
//!   nursery a `Ref` dropped on a thread that is not attached queues its
//!   root (`Heap::defer_root`), and the next attached thread (a GIL holder,
//!   so never during a minor collection) empties it, as counting policies
//!   defer a decref. (`Handles::move_roots` swaps by compare-and-swap all
//!   the same.) `Ref::into_raw` on such a thread empties its slot
//!   directly, but a raw pointer is of no use before the thread attaches;
//! - a minor collection runs only inside an allocation on a thread that
//!   holds the GIL, so no other attached thread is between reading an
//!   address and using it, and the allocating thread holds no raw address
//!   across its own allocation (the mutator's paths read addresses after
//!   allocating, or pin the nursery: see `alloc_tuple`);
//! - nothing safe lends a borrow of an object's memory across an
//!   allocation: a leaf's bytes come as a copy (`Mutator::leaf_vec`) or to
//!   a closure during which the nursery is pinned (`Mutator::with_leaf_bytes`:
//!   no minor collection runs while it is);
//! - identity is asked of the mutator (`Mutator::is_same`), which compares
//!   the two current addresses while attached, so no move falls between
//!   the two reads; `Ref::kind` on a thread that is not attached reads
//!   nothing of a movable object (see `kind`).

use super::{Heap, ThreadState};
use crate::object::{Kind, ObjHeader};
use crate::policy::{Counts, ObjAddr, Policy};
use std::fmt;
use std::ptr::NonNull;

/// An owned strong reference to an object of heap `'h`.
pub struct Ref<'h, P: Policy> {
    /// The object (under a tracing policy: its address when the `Ref` was
    /// made; the root's slot says where it is now, see the module docs).
    pub(crate) obj: NonNull<ObjHeader<P>>,
    pub(crate) heap: &'h Heap<P>,
    /// The root this reference owns (zero-sized under a counting policy).
    pub(crate) root: <P::Counts as Counts>::Root,
}

// SAFETY: a `Ref` is a counted reference; moving it to another thread moves
// the reference (Python objects move between threads the same way). Every
// use of the object goes through an attached mutator of that thread, and a
// drop on a thread that is not attached is deferred.
unsafe impl<P: Policy> Send for Ref<'_, P> {}
// SAFETY: `&Ref` only allows `clone` (which needs an attached thread and
// uses the policy's thread-safe increment) and reads of immutable fields.
unsafe impl<P: Policy> Sync for Ref<'_, P> {}

impl<'h, P: Policy> Ref<'h, P> {
    /// Takes ownership of one reference already counted for `obj` (under a
    /// tracing policy: roots `obj` in the calling thread's handle table,
    /// which must be attached to `heap`).
    ///
    /// # Safety
    /// `obj` is a live object of `heap` and the caller gives up one counted
    /// reference to it (tracing: `obj` is reachable, from a root or a
    /// reachable object, since the thread's last checkpoint).
    #[inline(always)]
    pub unsafe fn from_raw(heap: &'h Heap<P>, obj: *mut ObjHeader<P>) -> Self {
        let root = if <P::Counts as Counts>::TRACED {
            heap.new_root(obj)
        } else {
            Default::default()
        };
        Ref {
            // SAFETY: live objects are never null.
            obj: unsafe { NonNull::new_unchecked(obj) },
            heap,
            root,
        }
    }

    /// As `from_raw`, with the calling thread's state in hand: no
    /// thread-local look-up for the root (the mutator's allocation paths).
    ///
    /// # Safety
    /// As `from_raw`; `ts` is the calling thread's attached state on `heap`.
    #[inline(always)]
    pub(crate) unsafe fn from_raw_in(
        heap: &'h Heap<P>,
        ts: *mut ThreadState<P>,
        obj: *mut ObjHeader<P>,
    ) -> Self {
        let root = if <P::Counts as Counts>::TRACED {
            // SAFETY: our attached state; the borrow ends with the call.
            <P::Counts as Counts>::new_root(unsafe { &mut (*ts).counts }, obj as ObjAddr)
        } else {
            Default::default()
        };
        Ref {
            // SAFETY: live objects are never null.
            obj: unsafe { NonNull::new_unchecked(obj) },
            heap,
            root,
        }
    }

    /// Gives up ownership without decrementing (to keep a reference where a
    /// lifetime cannot go, like a finalizer; get it back with `from_raw`).
    /// Under a tracing policy the root goes: the object must be stored in a
    /// reachable object before the thread's next checkpoint.
    #[inline(always)]
    pub fn into_raw(self) -> *mut ObjHeader<P> {
        let p = self.as_ptr();
        // SAFETY: our own root, given up once (forgotten below).
        unsafe { <P::Counts as Counts>::drop_root(&self.root) };
        std::mem::forget(self);
        p
    }

    /// The object's address now. Under a tracing policy with a nursery a
    /// young object moves at a minor collection (the next allocation of an
    /// attached thread, see the module docs), so this is not an identity:
    /// use [`Mutator::is_same`](super::Mutator::is_same).
    #[inline(always)]
    pub fn as_ptr(&self) -> *mut ObjHeader<P> {
        if <P::Counts as Counts>::TRACED {
            return <P::Counts as Counts>::root_obj(&self.root) as *mut ObjHeader<P>;
        }
        self.obj.as_ptr()
    }

    /// The object's kind. Under a tracing policy with a nursery the calling
    /// thread must be attached to the heap (a young object may be moved by
    /// another thread's minor collection otherwise, and its old place
    /// reused): it panics where it is not.
    #[inline]
    pub fn kind(&self) -> Kind {
        if <P::Counts as Counts>::TRACED && self.heap.trace.nursery_on() {
            self.heap.assert_attached_for_kind();
        }
        // SAFETY: attached (or the object never moves): we hold a root, so
        // the header is live where `as_ptr` says; `kind` never changes.
        unsafe { self.kind_attached() }
    }

    /// The kind, read by the mutator's own paths (attached).
    ///
    /// # Safety
    /// Under a tracing policy with a nursery, the calling thread is attached
    /// to this heap.
    #[inline(always)]
    pub(crate) unsafe fn kind_attached(&self) -> Kind {
        // SAFETY: we hold a reference, so the header is live; `kind` never
        // changes after creation; the caller keeps the object in place.
        unsafe { (*self.as_ptr()).kind }
    }

    /// The heap this reference belongs to.
    pub fn heap(&self) -> &'h Heap<P> {
        self.heap
    }
}

impl<P: Policy> Clone for Ref<'_, P> {
    #[inline(always)]
    fn clone(&self) -> Self {
        if <P::Counts as Counts>::TRACED {
            // SAFETY: `self` roots the object; the new reference roots it too.
            return unsafe { Ref::from_raw(self.heap, self.as_ptr()) };
        }
        self.heap.incref_current(self.obj.as_ptr());
        Ref {
            obj: self.obj,
            heap: self.heap,
            root: Default::default(),
        }
    }
}

impl<P: Policy> Drop for Ref<'_, P> {
    #[inline(always)]
    fn drop(&mut self) {
        if <P::Counts as Counts>::TRACED {
            if self.heap.trace.nursery_on() && self.heap.attached_state().is_none() {
                // A minor collection may be moving roots right now (another
                // thread holds the GIL): the next attached thread empties
                // the slot instead (see the module docs).
                self.heap.defer_root(std::mem::take(&mut self.root));
                return;
            }
            // No count to drop: the root goes (from whichever thread
            // without a nursery).
            // SAFETY: our own root, dropped once.
            unsafe { <P::Counts as Counts>::drop_root(&self.root) };
            return;
        }
        self.heap.release_ref(self.obj.as_ptr());
    }
}

impl<P: Policy> fmt::Debug for Ref<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No kind here: `Debug` may run on a thread that is not attached.
        write!(f, "Ref<{}>(@ {:p})", P::NAME, self.as_ptr())
    }
}

#[cold]
#[inline(never)]
fn not_attached(policy: &str) -> ! {
    panic!("Ref::clone (or, under a tracing policy, any new Ref) on a thread that is not attached to this {policy} heap")
}

impl<P: Policy> Heap<P> {
    /// `Ref::clone`: the thread-local look-up, then the count.
    #[inline(always)]
    pub(crate) fn incref_current(&self, obj: *mut ObjHeader<P>) {
        match self.attached_state() {
            // SAFETY: attached, and the caller holds a reference.
            Some(ts) => unsafe { <P::Counts as Counts>::incref(obj as ObjAddr, &mut (*ts).counts) },
            None => not_attached(P::NAME),
        }
    }

    /// `Ref::kind` under a nursery: the thread must be attached.
    #[cold]
    #[inline(never)]
    pub(crate) fn assert_attached_for_kind(&self) {
        if self.attached_state().is_none() {
            panic!(
                "Ref::kind on a thread that is not attached to this {} heap with a nursery (young objects move)",
                P::NAME
            );
        }
    }

    /// A new root for `obj` in the calling thread's handle table (tracing).
    #[inline(always)]
    pub(crate) fn new_root(&self, obj: *mut ObjHeader<P>) -> <P::Counts as Counts>::Root {
        match self.attached_state() {
            Some(ts) => {
                // SAFETY: our attached state; the borrow ends with the call.
                let local = unsafe { &mut (*ts).counts };
                <P::Counts as Counts>::new_root(local, obj as ObjAddr)
            }
            None => not_attached(P::NAME),
        }
    }

    /// `Ref::drop`: the decrement applied at once on an attached thread,
    /// deferred otherwise; the deallocation deferred too while unwinding
    /// (see [`Heap::release_last`]). The unwinding test sits on the path
    /// that frees, not on every drop.
    #[inline(always)]
    pub(crate) fn release_ref(&self, obj: *mut ObjHeader<P>) {
        match self.attached_state() {
            // SAFETY: attached; the caller gives up its reference.
            Some(ts) => unsafe {
                if <P::Counts as Counts>::decref(&self.counts, obj as ObjAddr, &mut (*ts).counts) {
                    self.release_last(ts, obj);
                }
            },
            None => self.defer_decref(obj),
        }
    }

    /// A `Ref` dropped the last reference. While the thread unwinds, the
    /// panic may have left a heap operation half done (a finalizer that
    /// panics inside a deallocation or a collection), so nothing is freed
    /// there: the object gets a fresh count of one, ours, and its decref is
    /// queued like one from a thread that is not attached, applied when the
    /// mutator lets go (`detach_for_good`) or at the next checkpoint. A
    /// decrement that leaves the object alive is applied at once even while
    /// unwinding: it is what any finalizer may do in the middle of a
    /// deallocation or collection.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state; the count of `obj` just
    /// reached zero by our decrement, and nobody else refers to it.
    #[cold]
    #[inline(never)]
    unsafe fn release_last(&self, ts: *mut ThreadState<P>, obj: *mut ObjHeader<P>) {
        // SAFETY: the object is dead and ours (the caller's contract); a
        // fresh count word of one is ours to write, as when a finalizer
        // resurrects (`run_finalizer_on_zero`).
        unsafe {
            if std::thread::panicking() {
                std::ptr::write(
                    &mut (*obj).rc,
                    <P::Counts as Counts>::word_new(&(*ts).counts),
                );
                self.defer_decref(obj);
                return;
            }
            self.dealloc(ts, obj);
        }
    }
}
