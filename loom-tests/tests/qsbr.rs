//! QSBR (`heaplab::heap::qsbr::Qsbr`): a reader walking an item array while
//! a writer replaces it, retires it and polls until it may free it.
//!
//! The array is a block with one loom cell: the reader reads it, the free
//! writes a poison value into it. Loom reports a causality violation if the
//! free is not ordered after every read, and the reader asserts it never
//! sees the poison.
//!
//! - `reader_walks_a_retired_array`: the reader registers (attaches) while
//!   the writer retires and polls (the attach's Dekker pair), reads, passes
//!   a quiescent state, reads again.
//! - `reader_detaches_mid_sequence`: the reader reads, detaches (as inside
//!   `allow_threads`), attaches again and reads: a detached reader must not
//!   hold the free back, and a reattached one must not read the old array.
//! - `a_free_that_skips_qsbr_is_caught`: the same with the writer freeing at
//!   once; the model must fail (it shows the model can).

#![cfg(loom)]

use heaplab::heap::qsbr::{Qsbr, Retired};
use heaplab::sync::{thread, Arc, AtomicPtr, Ordering, UnsafeCell};
use loom_tests::run_model;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

const POISON: usize = usize::MAX;

struct Block {
    data: UnsafeCell<usize>,
}

struct State {
    qsbr: Qsbr,
    cur: AtomicPtr<Block>,
}

/// Executions in which the free ran before the reader was done (it had
/// detached, or passed a quiescent state): the model reached the race.
static FREED_EARLY: AtomicUsize = AtomicUsize::new(0);

fn read(s: &State) -> usize {
    // Acquire: as the list's reader loads its item array.
    let p = s.cur.load(Ordering::Acquire);
    // SAFETY: the block is the current array or one retired after we
    // loaded it, which QSBR keeps until our next quiescent state.
    let v = unsafe { &*p }.data.with(|d| unsafe { *d });
    assert_ne!(v, POISON, "read an array after it was freed");
    v
}

fn poison(r: Retired) {
    // SAFETY: a block of this model, retired and now free to reuse.
    unsafe { &*(r.ptr as *const Block) }
        .data
        .with_mut(|d| unsafe { *d = POISON });
}

/// The writer: replace the array, retire the old one, poll until it is freed
/// (or free it at once when `skip_qsbr`).
fn writer(s: &State, old: *mut Block, new: *mut Block, skip_qsbr: bool, reader_done: &AtomicUsize) {
    let mut me = s.qsbr.register();
    // Release: the new array's contents before it is seen.
    s.cur.store(new, Ordering::Release);
    if skip_qsbr {
        poison(Retired {
            ptr: old as *mut u8,
            size: 0,
            goal: 0,
        });
    } else {
        s.qsbr.retire(&mut me, old as *mut u8, 0);
        let mut freed = false;
        while !freed {
            s.qsbr.poll(&mut me, |r| {
                poison(r);
                freed = true;
            });
            if !freed {
                thread::yield_now();
            }
        }
    }
    if reader_done.load(Relaxed) == 0 {
        FREED_EARLY.fetch_add(1, Relaxed);
    }
    s.qsbr
        .unregister(&mut me, |_| unreachable!("nothing left to free"));
}

fn model(detach: bool, skip_qsbr: bool) {
    let old = Box::into_raw(Box::new(Block {
        data: UnsafeCell::new(1),
    }));
    let new = Box::into_raw(Box::new(Block {
        data: UnsafeCell::new(2),
    }));
    let st = Arc::new(State {
        qsbr: Qsbr::new(),
        cur: AtomicPtr::new(old),
    });
    // Outside the model's memory: a coverage flag, not a synchronisation.
    let done = std::sync::Arc::new(AtomicUsize::new(0));
    let (s, d) = (st.clone(), done.clone());
    let reader = thread::spawn(move || {
        let mut me = s.qsbr.register();
        let first = read(&s);
        if detach {
            s.qsbr.detach(&mut me);
            s.qsbr.attach(&mut me);
        } else {
            s.qsbr.quiescent(&mut me);
        }
        let second = read(&s);
        // The array only moves forward.
        assert!(second >= first);
        d.store(1, Relaxed);
        s.qsbr
            .unregister(&mut me, |_| unreachable!("the reader retires nothing"));
    });
    writer(&st, old, new, skip_qsbr, &done);
    reader.join().unwrap();
    // SAFETY: both threads are done with the blocks.
    unsafe {
        drop(Box::from_raw(old));
        drop(Box::from_raw(new));
    }
}

#[test]
fn reader_walks_a_retired_array() {
    FREED_EARLY.store(0, Relaxed);
    run_model("qsbr::reader_walks_a_retired_array", || model(false, false));
    assert!(
        FREED_EARLY.load(Relaxed) > 0,
        "the free never overlapped the reader"
    );
}

#[test]
fn reader_detaches_mid_sequence() {
    run_model("qsbr::reader_detaches_mid_sequence", || model(true, false));
}

#[test]
#[should_panic(expected = "Causality violation")]
fn a_free_that_skips_qsbr_is_caught() {
    run_model("qsbr::a_free_that_skips_qsbr_is_caught", || {
        model(false, true)
    });
}
