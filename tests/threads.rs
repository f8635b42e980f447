//! Multi-threaded tests of what each policy risks, run under every policy.

mod common;
use common::*;
use heaplab::verify::assert_no_leaks;
use heaplab::Policy;
use std::sync::Barrier;

/// 4 threads append, read, replace and pop items of one shared list,
/// 100k operations each.
fn shared_list_mutated_by_four_threads<P: Policy>() {
    // Under Miri: two threads and Miri-sized counts.
    const THREADS: usize = if cfg!(miri) { 2 } else { 4 };
    const OPS: usize = if cfg!(miri) { 300 } else { 100_000 };
    let h = heap::<P>();
    let list = {
        let m = h.attach();
        let l = m.alloc_list().unwrap();
        for i in 0..16 {
            m.append(&l, m.alloc_int(i).unwrap()).unwrap();
        }
        l
    };
    let barrier = Barrier::new(THREADS);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (h, list, barrier) = (&h, &list, &barrier);
            s.spawn(move || {
                let m = h.attach();
                let list = list.clone();
                m.allow_threads(|| barrier.wait());
                let mut x = t as u64 * 7919 + 1;
                for i in 0..OPS {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let len = m.len(&list);
                    match x % 4 {
                        0 => m.append(&list, m.alloc_int(i as i64).unwrap()).unwrap(),
                        1 if len > 0 => {
                            // Another thread may shrink the list meanwhile.
                            let _ = m.get(&list, (x as usize >> 8) % len);
                        }
                        2 if len > 0 => {
                            let _ = m.set(
                                &list,
                                (x as usize >> 8) % len,
                                m.alloc_leaf(b"replaced").unwrap(),
                            );
                        }
                        _ => {
                            if len > 8 {
                                let _ = m.pop(&list).unwrap();
                            }
                        }
                    }
                    m.checkpoint();
                }
                drop(list);
            });
        }
    });
    {
        let m = h.attach();
        assert!(m.len(&list) >= 8);
        drop(m);
    }
    h.verify().unwrap();
    if let Some(g) = h.gil_stats() {
        assert!(
            g.acquisitions > THREADS as u64,
            "GIL acquisitions {}",
            g.acquisitions
        );
        assert!(
            g.forced_switches > 0 || g.acquisitions > 2 * THREADS as u64,
            "the GIL was handed over between busy threads: {} acquisitions, {} forced",
            g.acquisitions,
            g.forced_switches
        );
    }
    drop(list);
    assert_no_leaks(&h);
}

/// 100k objects built on one thread, handed through a channel, dropped on
/// another: remote frees and biased merges.
fn objects_handed_between_threads<P: Policy>() {
    // Under Miri 150 still fills more than one pool (two blocks a step).
    const N: usize = if cfg!(miri) { 150 } else { 100_000 };
    let h = heap::<P>();
    let (tx, rx) = crossbeam_channel::bounded::<heaplab::Ref<'_, P>>(256);
    std::thread::scope(|s| {
        let hp = &h;
        s.spawn(move || {
            let m = hp.attach();
            for i in 0..N {
                let leaf = m.alloc_int(i as i64).unwrap();
                let t = m.alloc_tuple(vec![leaf]).unwrap();
                // A blocking send happens detached.
                m.allow_threads(|| tx.send(t).unwrap());
                m.checkpoint();
            }
        });
        s.spawn(move || {
            let m = hp.attach();
            let mut sum = 0i64;
            loop {
                let Ok(t) = m.allow_threads(|| rx.recv()) else {
                    break;
                };
                sum += m.int_value(&m.get(&t, 0).unwrap()).unwrap();
                drop(t);
                m.checkpoint();
            }
            assert_eq!(sum, (N as i64 - 1) * N as i64 / 2);
        });
    });
    assert_no_leaks(&h);
}

/// One object increfed and decrefed by every thread at once.
fn one_object_shared_by_every_thread<P: Policy>() {
    let h = heap::<P>();
    let shared = {
        let m = h.attach();
        let t = m.alloc_tuple(vec![m.alloc_int(42).unwrap()]).unwrap();
        t
    };
    std::thread::scope(|s| {
        for _ in 0..if cfg!(miri) { 2 } else { 4 } {
            let (h, shared) = (&h, &shared);
            s.spawn(move || {
                let m = h.attach();
                for _ in 0..if cfg!(miri) { 300 } else { 50_000 } {
                    let a = shared.clone();
                    let item = m.get(&a, 0).unwrap();
                    assert_eq!(m.int_value(&item).unwrap(), 42);
                    drop((a, item));
                    m.checkpoint();
                }
            });
        }
    });
    h.verify().unwrap();
    drop(shared);
    assert_no_leaks(&h);
}

/// Threads exit while others still hold their objects; later threads adopt
/// what they left.
fn threads_exit_while_others_hold_their_objects<P: Policy>() {
    let h = heap::<P>();
    let keeper = {
        let m = h.attach();
        m.alloc_list().unwrap()
    };
    for round in 0..if cfg!(miri) { 2 } else { 4 } {
        std::thread::scope(|s| {
            let (h, keeper) = (&h, &keeper);
            s.spawn(move || {
                let m = h.attach();
                for i in 0..if cfg!(miri) { 150 } else { 5_000 } {
                    let o = m.alloc_tuple(vec![m.alloc_int(i).unwrap()]).unwrap();
                    if i % 3 == 0 {
                        m.append(keeper, o.clone()).unwrap();
                    }
                    // Extra local references that are dropped later by
                    // another thread (the list keeps one).
                    drop(o);
                }
            });
        });
        // Another thread now drops half of what the exited thread made.
        std::thread::scope(|s| {
            let (h, keeper) = (&h, &keeper);
            s.spawn(move || {
                let m = h.attach();
                let n = m.len(keeper);
                for _ in 0..n / 2 {
                    drop(m.pop(keeper).unwrap());
                }
            });
        });
        h.verify().unwrap_or_else(|e| panic!("round {round}: {e}"));
    }
    drop(keeper);
    assert_no_leaks(&h);
}

/// Readers `get` while a writer replaces items (freeing the old ones, whose
/// blocks the writer's next allocations reuse), grows the list (retiring
/// item arrays) and pops: every reference a reader gets must be to an item
/// that was at that index. Items carry their index (`value % 1000`), so a
/// reference taken to a reused block, or read from a stale array after the
/// slot moved on, shows up as a wrong index. Readers keep a few of their
/// items for a while, so other readers' try-increfs find shared counts and
/// take the lock-free path.
fn readers_race_replacement_and_resize<P: Policy>() {
    const READERS: usize = 2;
    const OPS: usize = if cfg!(miri) { 200 } else { 60_000 };
    let h = heap::<P>();
    let list = {
        let m = h.attach();
        let l = m.alloc_list().unwrap();
        for i in 0..16 {
            m.append(&l, m.alloc_int(i).unwrap()).unwrap();
        }
        l
    };
    let barrier = Barrier::new(READERS + 1);
    std::thread::scope(|s| {
        let (h, list, barrier) = (&h, &list, &barrier);
        s.spawn(move || {
            let m = h.attach();
            let list = list.clone();
            m.allow_threads(|| barrier.wait());
            let mut x = 0x9e37_79b9_u64;
            for k in 1..OPS as i64 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let len = m.len(&list);
                if x.is_multiple_of(8) && len < 200 {
                    m.append(&list, m.alloc_int(k * 1000 + len as i64).unwrap())
                        .unwrap();
                } else if x % 8 == 1 && len > 16 {
                    drop(m.pop(&list).unwrap());
                } else {
                    let i = (x as usize >> 8) % len;
                    m.set(&list, i, m.alloc_int(k * 1000 + i as i64).unwrap())
                        .unwrap();
                }
                m.checkpoint();
            }
        });
        for t in 0..READERS {
            s.spawn(move || {
                let m = h.attach();
                let list = list.clone();
                m.allow_threads(|| barrier.wait());
                let mut kept = std::collections::VecDeque::new();
                let mut x = t as u64 * 7919 + 1;
                for _ in 0..OPS {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let i = (x as usize >> 8) % 16;
                    let r = m.get(&list, i).unwrap();
                    let v = m.int_value(&r).unwrap();
                    assert_eq!(v % 1000, i as i64, "got item {v} at index {i}");
                    kept.push_back(r);
                    if kept.len() > 4 {
                        kept.pop_front();
                    }
                    m.checkpoint();
                }
            });
        }
    });
    drop(list);
    assert_no_leaks(&h);
}

all_policies!(
    readers_race_replacement_and_resize,
    shared_list_mutated_by_four_threads,
    objects_handed_between_threads,
    one_object_shared_by_every_thread,
    threads_exit_while_others_hold_their_objects,
);

#[test]
fn biased_counts_owner_ops_locally_and_others_atomically() {
    let h = heap::<heaplab::Biased>();
    let m = h.attach();
    let r = m.alloc_int(1).unwrap();
    for _ in 0..100 {
        drop(r.clone());
    }
    let c = m.rc_counters();
    assert!(c.local_ops >= 200 && c.atomic_ops == 0, "{c:?}");
    std::thread::scope(|s| {
        let (h, r) = (&h, &r);
        s.spawn(move || {
            let m2 = h.attach();
            for _ in 0..100 {
                drop(r.clone());
            }
            let c = m2.rc_counters();
            assert!(c.atomic_ops >= 200 && c.local_ops == 0, "{c:?}");
        });
    });
    drop(r);
    drop(m);
    assert_no_leaks(&h);
}
