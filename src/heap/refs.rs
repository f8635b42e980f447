//! `Ref`: an owned strong reference that cannot outlive its heap.
//!
//! `Clone` increfs and `Drop` decrefs; the last decref runs the deallocator,
//! which releases the children. Neither has a mutator in hand, so both find
//! the current thread's state through a thread-local (CPython reads its
//! thread id from a register for the same reason). A `Ref` dropped where its
//! thread is not attached to the heap (inside `allow_threads`, while
//! unwinding, on a thread that never attached) never touches the heap there:
//! its decref is queued and applied at the next attach or checkpoint.
//!
//! Under a count-free policy ([`Counts::TRACED`]) a `Ref` owns a root
//! instead of a count: a slot of its thread's handle table
//! (`policy::handles`), filled when the `Ref` is made (`from_raw`, `clone`,
//! on an attached thread) and emptied when it is dropped or turned into a
//! raw pointer (on any thread). A raw pointer is therefore not a root there:
//! `into_raw` must be followed by a store into a reachable object (or by
//! `from_raw`) before the thread's next checkpoint.

use super::{Heap, ThreadState};
use crate::object::{Kind, ObjHeader};
use crate::policy::{Counts, ObjAddr, Policy};
use std::fmt;
use std::ptr::NonNull;

/// An owned strong reference to an object of heap `'h`.
pub struct Ref<'h, P: Policy> {
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
        let p = self.obj.as_ptr();
        // SAFETY: our own root, given up once (forgotten below).
        unsafe { <P::Counts as Counts>::drop_root(&self.root) };
        std::mem::forget(self);
        p
    }

    #[inline(always)]
    pub fn as_ptr(&self) -> *mut ObjHeader<P> {
        self.obj.as_ptr()
    }

    /// The object's kind.
    #[inline]
    pub fn kind(&self) -> Kind {
        // SAFETY: we hold a reference, so the header is live; `kind` never
        // changes after creation.
        unsafe { (*self.obj.as_ptr()).kind }
    }

    /// The heap this reference belongs to.
    pub fn heap(&self) -> &'h Heap<P> {
        self.heap
    }

    /// Whether two references name the same object.
    pub fn ptr_eq(&self, other: &Ref<'_, P>) -> bool {
        self.obj == other.obj
    }
}

impl<P: Policy> Clone for Ref<'_, P> {
    #[inline(always)]
    fn clone(&self) -> Self {
        if <P::Counts as Counts>::TRACED {
            // SAFETY: `self` roots the object; the new reference roots it too.
            return unsafe { Ref::from_raw(self.heap, self.obj.as_ptr()) };
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
            // No count to drop: the root goes, from whichever thread.
            // SAFETY: our own root, dropped once.
            unsafe { <P::Counts as Counts>::drop_root(&self.root) };
            return;
        }
        self.heap.release_ref(self.obj.as_ptr());
    }
}

impl<P: Policy> fmt::Debug for Ref<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Ref<{}>({} @ {:p})",
            P::NAME,
            self.kind().name(),
            self.obj.as_ptr()
        )
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

    /// `Ref::drop`: applied at once on an attached thread that is not
    /// unwinding, deferred otherwise.
    #[inline(always)]
    pub(crate) fn release_ref(&self, obj: *mut ObjHeader<P>) {
        match self.attached_state() {
            // SAFETY: attached; the caller gives up its reference.
            Some(ts) if !std::thread::panicking() => unsafe { self.decref(ts, obj) },
            _ => self.defer_decref(obj),
        }
    }
}
