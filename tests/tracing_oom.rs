//! Under a tracing policy an allocation that the memory limit refuses
//! collects once and tries again before it raises `MemoryError`
//! (`heap::trace::oom`), as a JVM collects before `OutOfMemoryError`. These
//! programs make garbage without a single checkpoint, so the trigger's due
//! flag is never served: without the retry each fails after a few MiB (the
//! `--no-gc` runs below show it), with it each runs to the end.

use heaplab::verify::assert_no_leaks;
use heaplab::{Heap, HeapConfig, HeapErrorKind, Mutator, Policy};

/// The memory limit of these heaps.
const LIMIT: usize = 8 << 20;
/// Bytes of garbage each program makes: several times the limit.
const GARBAGE: usize = 5 * LIMIT;

mod common;

fn limited<P: Policy>(gc: bool) -> Heap<P> {
    let mut c = HeapConfig {
        max_heap: Some(LIMIT),
        ..Default::default()
    };
    c.gc.enabled = gc;
    c.trace.growth = 10.0; // the trigger alone would let the limit be hit
    Heap::<P>::new(c).unwrap()
}

fn is_memory_error(e: &heaplab::HeapError) -> bool {
    matches!(e.kind(), HeapErrorKind::Memory(_))
}

/// 200-byte leaves, each dropped at once, beside 2 MiB that stay live.
/// Returns how many were made before the first error, if one came.
fn leaves<P: Policy>(m: &Mutator<'_, P>) -> Result<(), usize> {
    let live = m.alloc_list().unwrap();
    for i in 0..8000 {
        m.append(&live, m.alloc_leaf(&[i as u8; 200]).unwrap())
            .unwrap();
    }
    for i in 0..GARBAGE / 200 {
        match m.alloc_leaf(&[i as u8; 200]) {
            Ok(_) => {}
            Err(e) if is_memory_error(&e) => return Err(i),
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(m.len(&live), 8000);
    assert_eq!(m.leaf_vec(&m.get(&live, 7999).unwrap()).unwrap()[0], 63);
    Ok(())
}

/// Lists of 100 ints, each list dropped once full: the refused allocations
/// are item arrays growing under `append` as well as the objects.
fn lists<P: Policy>(m: &Mutator<'_, P>) -> Result<(), usize> {
    let per_list = 100 * 48 + 100 * 8; // ints and the array, roughly
    for i in 0..GARBAGE / per_list {
        let l = m.alloc_list().map_err(|_| i)?;
        for j in 0..100 {
            let x = m.alloc_int(j).map_err(|_| i)?;
            if let Err(e) = m.append(&l, x) {
                assert!(is_memory_error(&e), "{e}");
                return Err(i);
            }
        }
        assert_eq!(m.int_value(&m.get(&l, 99).unwrap()).unwrap(), 99);
    }
    Ok(())
}

/// Twenty fresh 200-byte leaves, made as a tuple takes them; ends early
/// (a shorter tuple) if one is refused.
struct Fresh<'a, 'h, P: Policy> {
    m: &'a Mutator<'h, P>,
    next: u8,
    failed: bool,
}

impl<'h, P: Policy> Iterator for &mut Fresh<'_, 'h, P> {
    type Item = heaplab::Ref<'h, P>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.next == 20 {
            return None;
        }
        match self.m.alloc_leaf(&[self.next; 200]) {
            Ok(r) => {
                self.next += 1;
                Some(r)
            }
            Err(_) => {
                self.failed = true;
                None
            }
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = 20 - self.next as usize;
        (n, Some(n))
    }
}

impl<P: Policy> ExactSizeIterator for &mut Fresh<'_, '_, P> {}

/// Tuples whose items are made by the iterator the tuple consumes, so that
/// a collection may run while a tuple is half filled: the tuple must stay
/// rooted and its unset slots must read as empty. Every tenth is kept and
/// checked at the end.
fn tuples_of_fresh_items<P: Policy>(m: &Mutator<'_, P>) -> Result<(), usize> {
    let keep = m.alloc_list().unwrap();
    let per_tuple = 20 * 224 + 200;
    for i in 0..GARBAGE / per_tuple {
        let mut items = Fresh {
            m,
            next: 0,
            failed: false,
        };
        let t = m.alloc_tuple(&mut items);
        let t = match t {
            Ok(t) if !items.failed => t,
            _ => return Err(i),
        };
        if i % 10 == 0 && m.len(&keep) < 100 {
            m.append(&keep, t).unwrap();
        }
    }
    for k in 0..m.len(&keep) {
        let t = m.get(&keep, k).unwrap();
        for j in 0..20 {
            let item = m.get(&t, j).unwrap();
            assert_eq!(m.leaf_vec(&item).unwrap(), vec![j as u8; 200]);
        }
    }
    Ok(())
}

/// Runs `program` with the collector on (it must finish) and off (it must
/// fail: the garbage is real, and only a collection brings it back).
fn succeeds_only_with_a_collection<P: Policy>(
    program: for<'a, 'h> fn(&'a Mutator<'h, P>) -> Result<(), usize>,
) {
    let h = limited::<P>(true);
    {
        let m = h.attach();
        if let Err(i) = program(&m) {
            panic!("MemoryError after {i} rounds with the collector on");
        }
        assert!(h.gc_stats().collections[2] > 0);
    }
    assert_no_leaks(&h);
    let h = limited::<P>(false);
    let m = h.attach();
    assert!(program(&m).is_err(), "finished without collecting");
}

fn leaves_collect_before_memory_error<P: Policy>() {
    succeeds_only_with_a_collection::<P>(leaves);
}

fn appends_collect_before_memory_error<P: Policy>() {
    succeeds_only_with_a_collection::<P>(lists);
}

fn half_filled_tuples_survive_a_collection<P: Policy>() {
    succeeds_only_with_a_collection::<P>(tuples_of_fresh_items);
}

/// Two threads make garbage in bursts of 1.5 MiB between checkpoints, each
/// beside 1.5 MiB it keeps: a refused allocation on one collects while the
/// other is mid-burst (it parks at its next checkpoint, or at its own
/// refusal, which then waits for that collection instead of running one).
fn two_threads_collect_before_memory_error<P: Policy>() {
    let h = limited::<P>(true);
    std::thread::scope(|s| {
        for t in 0..2u8 {
            let h = &h;
            s.spawn(move || {
                let m = h.attach();
                let live = m.alloc_list().unwrap();
                for i in 0..7000 {
                    m.append(&live, m.alloc_leaf(&[t; 200]).unwrap()).unwrap();
                    if i % 500 == 0 {
                        m.checkpoint();
                    }
                }
                for burst in 0..15 {
                    for i in 0..7000 {
                        if let Err(e) = m.alloc_leaf(&[i as u8; 200]) {
                            panic!("thread {t}, burst {burst}: {e}");
                        }
                    }
                    m.checkpoint();
                }
                assert_eq!(m.len(&live), 7000);
                let last = m.get(&live, 6999).unwrap();
                assert_eq!(m.leaf_vec(&last).unwrap(), vec![t; 200]);
            });
        }
    });
    assert!(h.gc_stats().collections[2] > 0);
    assert_no_leaks(&h);
}

tracing_policies!(
    two_threads_collect_before_memory_error,
    leaves_collect_before_memory_error,
    appends_collect_before_memory_error,
    half_filled_tuples_survive_a_collection,
);
