//! Remote frees (the `thread-local` design): a thread freeing a block of a
//! pool that another thread heap owns pushes it on the pool's `remote_free`
//! stack without a lock; the push that finds the stack empty also pushes the
//! pool on its owner's inbox. The owner, out of blocks in some class, takes
//! the whole inbox and, pool by pool, reads the pool's inbox link *before*
//! taking its blocks (once the blocks are taken a remote thread may push the
//! pool again, rewriting the link). Pushes only, and the taker takes
//! everything at once: no ABA.
//!
//! This is heaplab's protocol (`src/alloc/pool.rs` `remote_free` and
//! `RemoteInbox`) on this crate's pool header; its loom model is
//! `loom-tests/tests/malloc_remote_free.rs`, which compiles this file.
//!
//! Invariant: a pool is on at most one inbox list at a time, exactly when
//! its `remote_free` stack is non-empty and the owner has not yet taken the
//! list that holds it; every block pushed is handed to the owner exactly once.

use crate::pool::{FreeBlock, Pool};
use crate::sync::{AtomicPtr, Ordering};
use crate::vg;
use core::ptr;

/// Frees a block of a pool another heap owns, from any thread, without a
/// lock.
///
/// # Safety
/// `b` is a live block of `p`, not used again; `p`'s `inbox` is its owning
/// heap's, which outlives every block of `p` (heaps are never unmapped).
pub unsafe fn push(p: *mut Pool, b: *mut u8) {
    let fb = b.cast::<FreeBlock>();
    // SAFETY: the block is ours to link until the exchange publishes it; the
    // pool header's shared fields are atomics; `inbox` is write-once.
    unsafe {
        let stack = &(*p).remote_free;
        let mut old = stack.load(Ordering::Relaxed);
        loop {
            // Closed again before the exchange publishes the block: after
            // it, the owner may take the block and hand it out.
            vg::open_link(b);
            (*fb).next = old;
            vg::close_link(b);
            // Release: the owner's Acquire swap sees the link just written.
            match stack.compare_exchange_weak(old, fb, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => break,
                Err(now) => old = now,
            }
        }
        if !old.is_null() {
            // The pool is on its owner's inbox already, or its owner is
            // taking its blocks and will take this one.
            return;
        }
        let inbox = &*(*p).inbox;
        let mut head = inbox.load(Ordering::Relaxed);
        loop {
            (*p).remote_next.store(head, Ordering::Relaxed);
            // Release: publishes `remote_next` to the owner taking the inbox.
            match inbox.compare_exchange_weak(head, p, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => break,
                Err(now) => head = now,
            }
        }
    }
}

/// Takes every pool on `inbox` and hands each of their remote blocks to
/// `free` (the owner's local free, under its lock).
///
/// # Safety
/// The caller is the owner of every pool that can be pushed on `inbox`
/// (holds the lock guarding their owner-only fields).
pub unsafe fn take_all(inbox: &AtomicPtr<Pool>, mut free: impl FnMut(*mut Pool, *mut u8)) {
    // Acquire: pairs with the pushers' Release, so each pool's
    // `remote_next` written before its push is seen.
    let mut p = inbox.swap(ptr::null_mut(), Ordering::Acquire);
    while !p.is_null() {
        // SAFETY: pools on our inbox are ours and in use (their remote
        // blocks count in `used`, so none was given back).
        unsafe {
            // The link first: see the module docs.
            let next = (*p).remote_next.load(Ordering::Relaxed);
            // Acquire: the blocks' links, written before the pushers'
            // Release exchange.
            let mut b = (*p).remote_free.swap(ptr::null_mut(), Ordering::Acquire);
            while !b.is_null() {
                vg::open_link(b.cast());
                let n = (*b).next;
                vg::close_link(b.cast());
                free(p, b.cast());
                b = n;
            }
            p = next;
        }
    }
}
