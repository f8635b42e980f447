//! heaplab-malloc's remote frees (`heaplab-malloc/src/remote.rs`: `push`
//! against the owner's `take_all`), on that crate's own pool header.
//!
//! heaplab-malloc is a cdylib that exports `malloc`, so this model does not
//! link it: it compiles the shipped files themselves (`sync.rs`, which
//! resolves to loom's atomics under `--cfg loom`, `geometry.rs`, `sys.rs`,
//! `pool.rs`, `remote.rs`, and `vg.rs`, whose memcheck requests are empty
//! here) into this test.
//!
//! `remote_frees_race_the_owners_drain`: blocks of pools A and B have been
//! freed remotely (the first push of each pool puts it on the owner's inbox:
//! B heads it, A behind); then a non-owner frees one more block of B and one
//! of A while the owner takes its inbox once and frees a block of A of its
//! own. The push to B can land while the owner is between taking B's blocks
//! and moving on: B goes back on the (now empty) inbox, rewriting its link,
//! and an owner that read the link after taking the blocks would lose A
//! or link a pool into the inbox twice, a cycle (checked: with that read
//! moved, this model fails).
//! After the join the owner takes the inbox again; then every block must
//! have come back exactly once (`put_block` stops the process on a pool
//! freed more often than used), each pool's free list must hold its blocks
//! once, and the inbox and the remote stacks must be empty.

#![cfg(loom)]

#[allow(dead_code)]
#[path = "../../heaplab-malloc/src/geometry.rs"]
mod geometry;
#[allow(dead_code)]
#[path = "../../heaplab-malloc/src/pool.rs"]
mod pool;
#[allow(dead_code)]
#[path = "../../heaplab-malloc/src/remote.rs"]
mod remote;
#[allow(dead_code)]
#[path = "../../heaplab-malloc/src/sync.rs"]
mod sync;
#[allow(dead_code)]
#[path = "../../heaplab-malloc/src/sys.rs"]
mod sys;
// lib.rs's block requests are not used here (only the link-word ones).
#[allow(dead_code, unused_imports)]
#[path = "../../heaplab-malloc/src/vg.rs"]
mod vg;

use geometry::POOL_SIZE;
use loom::thread;
use loom_tests::run_model;
use pool::Pool;
use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use sync::{AtomicPtr, Ordering};

/// Executions in which the owner's concurrent take found a remote block.
static DRAINED_CONCURRENTLY: AtomicUsize = AtomicUsize::new(0);

fn free_list(p: *mut Pool) -> Vec<usize> {
    let mut out = Vec::new();
    // SAFETY: every thread has joined; the list holds blocks of `p`.
    let mut b = unsafe { (*p).free };
    while !b.is_null() {
        out.push(b as usize);
        // SAFETY: as above.
        b = unsafe { (*b).next };
    }
    out
}

#[test]
fn remote_frees_race_the_owners_drain() {
    run_model("malloc_remote_free", || {
        let layout = Layout::from_size_align(2 * POOL_SIZE, POOL_SIZE).unwrap();
        // SAFETY: a non-zero size.
        let mem = unsafe { alloc_zeroed(layout) };
        assert!(!mem.is_null());
        let inbox: &'static AtomicPtr<Pool> =
            Box::leak(Box::new(AtomicPtr::new(std::ptr::null_mut())));
        let (a, b) = (
            mem.cast::<Pool>(),
            mem.wrapping_add(POOL_SIZE).cast::<Pool>(),
        );
        let owner = (inbox as *const AtomicPtr<Pool>).cast::<u8>();
        // SAFETY: two fresh, pool-aligned 64 KiB regions that only this
        // thread knows; the owner takes blocks before anyone else sees them.
        let (a1, a2, a3, b1, b2) = unsafe {
            pool::init(a, 0, owner, inbox);
            pool::init(b, 3, owner, inbox);
            (
                pool::take_block(a),
                pool::take_block(a),
                pool::take_block(a),
                pool::take_block(b),
                pool::take_block(b),
            )
        };
        // Remote frees that happened before: A's, then B's, so B heads the
        // inbox with A behind it. (Pushed from this thread, so that the
        // preemption bound is spent on the race below, not on getting here.)
        // SAFETY: live blocks of pools whose inbox outlives the model
        // (leaked); each block is pushed once.
        unsafe {
            remote::push(a, a1);
            remote::push(b, b1);
        }
        let (pa, pb, x3, y2) = (a as usize, b as usize, a3 as usize, b2 as usize);
        let remote = thread::spawn(move || {
            // SAFETY: as above.
            unsafe {
                remote::push(pb as *mut Pool, y2 as *mut u8);
                remote::push(pa as *mut Pool, x3 as *mut u8);
            }
        });
        let mut taken = 0;
        // SAFETY: this thread owns both pools (it is the only one that takes
        // their inbox or touches their owner-only fields).
        unsafe {
            remote::take_all(inbox, |p, blk| {
                taken += 1;
                pool::put_block(p, blk);
            });
            pool::put_block(a, a2);
        }
        if taken > 0 {
            DRAINED_CONCURRENTLY.fetch_add(1, Relaxed);
        }
        remote.join().unwrap();
        // SAFETY: as above; the remote thread has joined.
        unsafe { remote::take_all(inbox, |p, blk| pool::put_block(p, blk)) };
        // SAFETY: every thread has joined.
        unsafe {
            assert_eq!((*a).used, 0);
            assert_eq!((*b).used, 0);
            assert!((*a).remote_free.load(Ordering::Relaxed).is_null());
            assert!((*b).remote_free.load(Ordering::Relaxed).is_null());
        }
        assert!(inbox.load(Ordering::Relaxed).is_null());
        let fa: HashSet<usize> = free_list(a).into_iter().collect();
        assert_eq!(fa, HashSet::from([a1 as usize, a2 as usize, x3]));
        let fb: HashSet<usize> = free_list(b).into_iter().collect();
        assert_eq!(fb, HashSet::from([b1 as usize, y2]));
        // SAFETY: allocated above with this layout; no pointer into it remains.
        unsafe { dealloc(mem, layout) };
    });
    assert!(
        DRAINED_CONCURRENTLY.load(Relaxed) > 0,
        "no execution had the owner take a remote block"
    );
}
