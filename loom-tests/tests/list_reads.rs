//! The optimistic list read's try-incref (`Counts::try_incref` of
//! `heaplab::policy::BiasedCounts`) racing a writer's `set` that drops the
//! item's last reference, frees it, and reuses its block.
//!
//! The list is one slot (an atomic word, as `heap/list.rs` reads its slots
//! with `racy_load`); the reader is `get_optimistic`'s steps: load the slot,
//! try-incref, re-check the slot, give the reference back on a mismatch.
//! Objects are blocks with the shipped biased count word and a loom cell
//! for their payload; a free poisons the payload, and a reuse makes a new
//! object in the block as the heap does under optimistic reads (the shipped
//! `biased::reinit_word`, in place), which another owner id then counts, so
//! that a try-incref of the reused block succeeds.
//!
//! The item starts merged with one reference, the list's (an owner's local
//! count fell to zero while another thread held one), so that the writer's
//! decrement frees it through the shared count, as a reader's CAS races it.
//!
//! - `try_incref_races_the_last_decref`: the reader must end with a
//!   reference to the old item (taken before the free) or the new one, never
//!   to the reused block's object, and never read a freed payload.
//! - `a_missing_recheck_is_caught`: the same reader without the re-check;
//!   the model must fail.

#![cfg(loom)]

use heaplab::policy::biased::{reinit_word, BiasedLocal, BiasedRc, BiasedShared};
use heaplab::policy::{BiasedCounts, Counts, ObjAddr};
use heaplab::sync::{thread, Arc, AtomicUsize, Ordering, UnsafeCell};
use loom_tests::run_model;
use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering::Relaxed};

const OLD: usize = 1;
const NEW: usize = 2;
const REUSED: usize = 3;
const POISON: usize = usize::MAX;

/// An object: the count word at offset 0, then its payload.
#[repr(C)]
struct Obj {
    rc: BiasedRc,
    payload: UnsafeCell<usize>,
}

struct State {
    counts: BiasedShared,
    slot: AtomicUsize,
}

/// Executions where the reader's try-incref succeeded on the old item, or
/// found it freed: the model reached both sides of the race.
static TOOK_OLD: StdAtomicUsize = StdAtomicUsize::new(0);
static REFUSED_OR_RECHECKED: StdAtomicUsize = StdAtomicUsize::new(0);

fn new_obj(rc: BiasedRc, payload: usize) -> *mut Obj {
    Box::into_raw(Box::new(Obj {
        rc,
        payload: UnsafeCell::new(payload),
    }))
}

fn payload(o: *mut Obj) -> usize {
    // SAFETY: the caller holds a reference to the object in `o`.
    unsafe { &*o }.payload.with(|p| unsafe { *p })
}

/// Frees `o`: its block stays (as a pool block), its payload is poisoned.
fn free(o: *mut Obj) {
    // SAFETY: the last reference is gone.
    unsafe { &*o }.payload.with_mut(|p| unsafe { *p = POISON });
}

/// Reuses a freed block for a new object owned by `owner` and counted once
/// more by `other` (another thread's id): a try-incref of it succeeds.
fn reuse(o: *mut Obj, owner: &BiasedLocal, other: &mut BiasedLocal) {
    // SAFETY: a freed block of this model.
    let obj = unsafe { &*o };
    obj.payload.with_mut(|p| unsafe { *p = REUSED });
    reinit_word(&obj.rc, owner);
    // SAFETY: the new object is live (count one, ours).
    unsafe { BiasedCounts::incref(o as ObjAddr, other) };
}

/// `get_optimistic`: Some(object) with a reference, or None (the locked path).
fn get(s: &State, local: &mut BiasedLocal, recheck: bool) -> Option<usize> {
    // Acquire: as `racy_load` of a slot.
    let item = s.slot.load(Ordering::Acquire);
    // SAFETY: an object block of this model (it stays one).
    if !unsafe { BiasedCounts::try_incref(item as ObjAddr, local) } {
        REFUSED_OR_RECHECKED.fetch_add(1, Relaxed);
        return None;
    }
    if !recheck || s.slot.load(Ordering::Acquire) == item {
        return Some(item);
    }
    REFUSED_OR_RECHECKED.fetch_add(1, Relaxed);
    // Give it back; the last reference frees it.
    // SAFETY: we hold the reference just taken.
    if unsafe { BiasedCounts::decref(&s.counts, item as ObjAddr, local) } {
        free(item as *mut Obj);
    }
    None
}

fn model(recheck: bool) {
    let counts = BiasedCounts::new_shared();
    // Two owner ids for the set-up: the creator and a thread that counted it.
    let mut creator = BiasedCounts::attach(&counts);
    let mut other = BiasedCounts::attach(&counts);
    let old = new_obj(BiasedCounts::word_new(&creator), OLD);
    // SAFETY: a live object of ours.
    unsafe {
        BiasedCounts::incref(old as ObjAddr, &mut other);
        // The creator's count falls to zero: merged, with the list's one.
        assert!(!BiasedCounts::decref(&counts, old as ObjAddr, &mut creator));
    }
    let new = new_obj(BiasedCounts::word_immortal(), NEW);
    let st = Arc::new(State {
        counts,
        slot: AtomicUsize::new(old as usize),
    });
    let s = st.clone();
    let reader = thread::spawn(move || {
        let mut me = BiasedCounts::attach(&s.counts);
        if let Some(item) = get(&s, &mut me, recheck) {
            let v = payload(item as *mut Obj);
            assert!(
                v == OLD || v == NEW,
                "get returned {v}: not an item of the list"
            );
            if v == OLD {
                TOOK_OLD.fetch_add(1, Relaxed);
            }
            // SAFETY: the reference `get` took.
            if unsafe { BiasedCounts::decref(&s.counts, item as ObjAddr, &mut me) } {
                free(item as *mut Obj);
            }
        }
    });
    // The writer: `set(list, 0, new)`, then the displaced item is released.
    let mut me = BiasedCounts::attach(&st.counts);
    // Release: as `set`'s slot store.
    st.slot.store(new as usize, Ordering::Release);
    // SAFETY: the list's reference, which `set` hands to us.
    let reused = unsafe { BiasedCounts::decref(&st.counts, old as ObjAddr, &mut me) };
    if reused {
        free(old);
        reuse(old, &me, &mut other);
    }
    reader.join().unwrap();
    // SAFETY: both threads are done.
    unsafe {
        drop(Box::from_raw(old));
        drop(Box::from_raw(new));
    }
}

#[test]
fn try_incref_races_the_last_decref() {
    TOOK_OLD.store(0, Relaxed);
    REFUSED_OR_RECHECKED.store(0, Relaxed);
    run_model("list_reads::try_incref_races_the_last_decref", || {
        model(true)
    });
    assert!(TOOK_OLD.load(Relaxed) > 0, "the reader never won the race");
    assert!(
        REFUSED_OR_RECHECKED.load(Relaxed) > 0,
        "the reader never lost the race"
    );
}

#[test]
#[should_panic(expected = "not an item of the list")]
fn a_missing_recheck_is_caught() {
    run_model("list_reads::a_missing_recheck_is_caught", || model(false));
}
