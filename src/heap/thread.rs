//! One thread's state on one heap (CPython's `PyThreadState`), the
//! thread-local that points at it, and attaching and detaching.
//!
//! A thread attaches a [`Mutator`]; its [`ThreadState`] holds each policy
//! component's per-thread part, the trashcan, and the thread's counters. The
//! state's non-generic head ([`ThreadCtx`]) is also published in a
//! thread-local, so that `Ref::clone` and `Ref::drop`, which have no mutator
//! in hand, find it (CPython reads its thread id from a register for the same
//! reason). The thread-local is null while the thread is detached
//! (`allow_threads`), so a `Ref` dropped there is deferred, not applied.
//!
//! Attaching (`Heap::attach`, in `mutator.rs`, which hands out the
//! mutator) goes component by component, interpreter first (a thread that
//! waits for the GIL or for a stopped world owns nothing yet); detaching for
//! good goes the other way round, counts before the allocator front end
//! (merging a queue may free objects).

use super::qsbr::{QsbrLocal, Retired};
use super::Heap;
use crate::object::ObjHeader;
use crate::policy::{Counts, Front, Interp, ObjAddr, Policy, RcCounters};
use std::cell::Cell;
use std::marker::PhantomData;
use std::ptr;

/// Counters summed from threads that have detached.
#[derive(Clone, Debug, Default)]
pub struct ThreadTotals {
    pub rc: RcCounters,
    pub allocations: u64,
    pub frees: u64,
}

/// The non-generic head of a thread state, what the thread-local points to.
#[repr(C)]
pub struct ThreadCtx {
    /// The heap this state belongs to (its address; compared, never read).
    pub(super) heap: usize,
    pub(crate) attached: bool,
}

crate::sync::const_thread_local! {
    static CURRENT: Cell<*mut ThreadCtx> = Cell::new(ptr::null_mut());
}

#[inline(always)]
fn current_ctx() -> *mut ThreadCtx {
    CURRENT.with(|c| c.get())
}

#[inline(always)]
pub(crate) fn set_current_ctx(p: *mut ThreadCtx) -> *mut ThreadCtx {
    CURRENT.with(|c| c.replace(p))
}

/// The policy components' per-thread parts.
pub type InterpLocal<P> = <<P as Policy>::Interp as Interp>::Local;
pub type CountsLocal<P> = <<P as Policy>::Counts as Counts>::Local;
pub type FrontLocal<P> = <<P as Policy>::Front as Front>::Local;

/// One thread's state on one heap (CPython's `PyThreadState`).
#[repr(C)]
pub struct ThreadState<P: Policy> {
    /// First, so that a `*mut ThreadCtx` is a `*mut ThreadState<P>`.
    pub(crate) ctx: ThreadCtx,
    pub(crate) interp: InterpLocal<P>,
    pub(crate) counts: CountsLocal<P>,
    pub(crate) front: FrontLocal<P>,
    /// 1 while a deallocation drains `trash` (dead, untracked containers
    /// waiting to release their children), else 0.
    pub(crate) trash_depth: u32,
    pub(crate) trash: Vec<*mut ObjHeader<P>>,
    /// Objects this thread allocated and freed (plain counters: the heap's
    /// memory figures come from the allocator's block counts instead).
    pub(crate) allocations: u64,
    pub(crate) frees: u64,
    /// Containers allocated minus freed since the last publish (GC trigger).
    pub(crate) gc_delta: isize,
    /// This thread's QSBR slot and retired blocks (used under optimistic
    /// list reads only).
    pub(crate) qsbr: QsbrLocal,
    /// Bytes allocated since the last publish (tracing trigger).
    pub(crate) trace_bytes: usize,
    pub(super) prev_ctx: *mut ThreadCtx,
}

impl<P: Policy> ThreadState<P> {
    /// This thread's reference-count and allocator counters.
    pub(crate) fn counters(&self) -> RcCounters {
        let mut c = <P::Counts as Counts>::counters(&self.counts);
        c.add(&<P::Front as Front>::counters(&self.front));
        c
    }
}

impl<P: Policy> Heap<P> {
    /// The current thread's state on this heap, if it is attached. The
    /// thread-local is null while the thread is detached (`allow_threads`).
    #[inline(always)]
    pub(crate) fn attached_state(&self) -> Option<*mut ThreadState<P>> {
        let ctx = current_ctx();
        // SAFETY: a non-null context points at a live, attached thread state
        // of this thread (cleared before the thread detaches or the state is
        // freed).
        if !ctx.is_null() && unsafe { (*ctx).heap } == self as *const Self as usize {
            Some(ctx as *mut ThreadState<P>)
        } else {
            None
        }
    }

    /// Detaches the thread that owns `ts` for good and frees its state.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state, owned by a mutator that
    /// is being dropped; nothing uses it afterwards.
    pub(crate) unsafe fn detach_for_good(&self, ts: *mut ThreadState<P>) {
        // SAFETY: our own state; we are still attached (a mutator is dropped
        // outside `allow_threads`).
        unsafe {
            // Finish our own business, unwinding or not (a panic between
            // heap operations leaves the heap consistent): merge our queue,
            // apply deferred decrefs (those of this unwind included).
            self.counts_checkpoint(ts);
            self.apply_pending(ts);
            // Settle what the counts owe, freeing what each pass finds dead
            // before the next pass looks again.
            let mut dead = Vec::new();
            loop {
                let settled = <P::Counts as Counts>::settle_for_exit(
                    &self.counts,
                    &mut (*ts).counts,
                    &mut dead,
                );
                self.free_dead(ts, &mut dead);
                if settled {
                    break;
                }
            }
            // Nothing below retires memory: hand what still waits to the
            // orphans and give the slot back.
            self.qsbr
                .unregister(&mut (*ts).qsbr, |r| self.free_retired(ts, r));
            <P::Counts as Counts>::detach_for_good(&self.counts, &mut (*ts).counts);
            self.gc.publish(&mut (*ts).gc_delta, true);
            if <P::Counts as Counts>::TRACED {
                self.trace
                    .publish(&mut (*ts).trace_bytes, self.gc.is_enabled(), None);
            }
            {
                let mut t = self.totals.lock();
                t.rc.add(&(*ts).counters());
                t.allocations += (*ts).allocations;
                t.frees += (*ts).frees;
            }
            <P::Front as Front>::detach_for_good(&self.front, &mut (*ts).front);
            <P::Interp as Interp>::detach_for_good(&self.interp, &mut (*ts).interp);
            (*ts).ctx.attached = false;
            set_current_ctx((*ts).prev_ctx);
            drop(Box::from_raw(ts));
        }
    }

    /// The counts' part of a checkpoint (a merge queue), and the freeing of
    /// what it found dead, after the counts are done with the thread state.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state.
    #[cold]
    pub(crate) unsafe fn counts_checkpoint(&self, ts: *mut ThreadState<P>) {
        let mut dead = Vec::new();
        // SAFETY: our own state; the borrow of its counts ends with the call.
        unsafe {
            <P::Counts as Counts>::checkpoint_slow(&self.counts, &mut (*ts).counts, &mut dead);
            self.free_dead(ts, &mut dead);
        }
    }

    /// Frees objects a count operation found dead.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state; every entry is a dead
    /// object of this heap that nobody refers to.
    pub(crate) unsafe fn free_dead(&self, ts: *mut ThreadState<P>, dead: &mut Vec<ObjAddr>) {
        for o in dead.drain(..) {
            // SAFETY: the caller's contract.
            unsafe { self.dealloc(ts, ObjHeader::from_addr(o)) };
        }
    }

    /// Frees a block QSBR found safe to free.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state; `r` was retired by a
    /// thread of this heap and its goal has passed.
    pub(crate) unsafe fn free_retired(&self, ts: *mut ThreadState<P>, r: Retired) {
        // SAFETY: the caller's contract: no reader can reach the block.
        unsafe { self.free_raw(ts, r.ptr, r.size) }
    }

    /// The QSBR part of a checkpoint: quiescent, and free what is due.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state, holding no pointer into
    /// an item array.
    #[cold]
    pub(crate) unsafe fn qsbr_poll(&self, ts: *mut ThreadState<P>) {
        // SAFETY: our own state; `free_retired` touches its allocator part,
        // not its QSBR part.
        unsafe {
            self.qsbr
                .poll(&mut (*ts).qsbr, |r| self.free_retired(ts, r))
        }
    }

    /// Marks `ts` detached (inside `allow_threads`): the thread-local is
    /// cleared so that `Ref`s dropped meanwhile are deferred.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state.
    pub(crate) unsafe fn release_thread(&self, ts: *mut ThreadState<P>) {
        // SAFETY: our own state.
        unsafe {
            if P::OPTIMISTIC_READS {
                self.qsbr.detach(&mut (*ts).qsbr);
            }
            (*ts).ctx.attached = false;
            set_current_ctx(ptr::null_mut());
            <P::Interp as Interp>::release(&self.interp, &mut (*ts).interp);
        }
    }

    /// Takes the interpreter back after `release_thread`.
    ///
    /// # Safety
    /// `ts` is the calling thread's state, released by `release_thread`.
    pub(crate) unsafe fn reacquire_thread(&self, ts: *mut ThreadState<P>) {
        // SAFETY: our own state.
        unsafe {
            <P::Interp as Interp>::reacquire(&self.interp, &mut (*ts).interp);
            if P::OPTIMISTIC_READS {
                self.qsbr.attach(&mut (*ts).qsbr);
            }
            (*ts).ctx.attached = true;
            set_current_ctx(ts as *mut ThreadCtx);
        }
    }
}

/// Marker for types that must stay on their thread.
pub(crate) type NotSend = PhantomData<*const ()>;
