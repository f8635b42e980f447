//! Remote frees (`heaplab::alloc::pool::remote_free`) against the owner's
//! inbox drain (`ClassTable::drain_inbox`): mimalloc's `thread_free`.
//!
//! `drain_races_remote_frees` runs the protocol on the real allocator (an
//! `Memory` that maps real arenas, a `ClassTable` with two pools): a
//! non-owner frees three blocks of two pools while the owner drains its inbox
//! and frees a block of its own. Afterwards every block must have come back
//! exactly once: the pools' free lists hold each block once (the pool scan
//! rejects repeats), and the class table's counts agree with them.
//!
//! `heap_remote_free` runs it through a `Heap<Biased>`: a non-owner frees
//! an object of the owner's pool (a remote free, pushed to the owner's inbox)
//! while the owner allocates and frees in the same pool; the heap verifies
//! and has nothing left.

#![cfg(loom)]

use heaplab::alloc::pool::remote_free;
use heaplab::alloc::walk::scan_pool;
use heaplab::alloc::{pool_of, Domain, Memory};
use heaplab::alloc::{BlockCounts, ClassTable, PoolHeader, RemoteInbox};
use heaplab::sync::Arc;
use heaplab::Biased;
use loom::sync::mpsc::channel;
use loom::thread;
use loom_tests::{run_model, SharedHeap};

/// The memory of one owner: arenas, the owner's inbox and its block counts.
struct Mem {
    memory: Memory,
    inbox: RemoteInbox,
    counts: BlockCounts,
}

impl Mem {
    fn new() -> Arc<Self> {
        Arc::new(Mem {
            memory: Memory::new(None),
            inbox: RemoteInbox::default(),
            counts: BlockCounts::default(),
        })
    }

    /// Allocates a block of `class` for `table` (its owner).
    fn alloc(&self, table: &mut ClassTable, class: usize) -> usize {
        // SAFETY: the caller owns `table`; `inbox` is its inbox and lives as
        // long as the pools.
        let b = unsafe {
            table.classes[Domain::Object.index()][class]
                .alloc(Domain::Object, class, &self.memory, &self.inbox)
                .expect("model memory") as usize
        };
        self.counts.inc(Domain::Object.index(), class);
        b
    }
}

/// Blocks handed to another thread, as addresses (they are plain memory).
struct Blocks(Vec<usize>);

/// Checks, with every thread joined, that each block came back exactly once.
fn check_all_back(mem: &Mem, table: &mut ClassTable, pools: &[*mut PoolHeader]) {
    // SAFETY: every other thread has been joined: we own the table.
    unsafe { table.drain_inbox(&mem.inbox, &mem.memory, &mem.counts) };
    assert!(!mem.inbox.has_work(), "a pool was left on the inbox");
    assert_eq!(mem.counts.total_blocks(), 0, "a block did not come back");
    for &p in pools {
        // SAFETY: a pool of ours, quiescent.
        let scan = unsafe { scan_pool(p) }
            .unwrap_or_else(|e| panic!("{e}"))
            .expect("pool still in use");
        assert_eq!(scan.live(), 0, "pool has live blocks");
        assert_eq!(scan.free_remote, 0, "remote frees not taken back");
        assert_eq!(scan.free_local, scan.bumped);
    }
    mem.memory
        .arenas()
        .check()
        .unwrap_or_else(|e| panic!("{e}"));
    // SAFETY: we own the table; no block is live.
    unsafe { table.release_empty(&mem.memory) };
    assert_eq!(
        mem.memory
            .arenas()
            .pools_in_use_per_arena()
            .iter()
            .sum::<usize>(),
        0
    );
}

/// The owner holds four blocks: a1, a2, o (class 0, pool P) and b (class 1,
/// pool Q). The other thread frees b, a1, a2 in that order, so the inbox can
/// hold P then Q, and the push of a2 can find P's stack just taken by the
/// owner (P goes on the inbox again while the owner walks it). The owner
/// drains once and frees `o` itself meanwhile.
#[test]
fn drain_races_remote_frees() {
    run_model("remote_free::drain_races_remote_frees", || {
        let mem = Mem::new();
        let mut table = ClassTable::default();
        let a1 = mem.alloc(&mut table, 0);
        let a2 = mem.alloc(&mut table, 0);
        let o = mem.alloc(&mut table, 0);
        let b = mem.alloc(&mut table, 1);
        let pools = [pool_of(a1 as *const u8), pool_of(b as *const u8)];
        assert_ne!(pools[0], pools[1]);

        let remote = Blocks(vec![b, a1, a2]);
        let r = thread::spawn(move || {
            for block in remote.0 {
                // SAFETY: a live block of the owner's pool, freed once,
                // unused from here on.
                unsafe { remote_free(block as *mut u8) };
            }
        });
        let m = mem.clone();
        let owner = thread::spawn(move || {
            // SAFETY: this thread owns `table` now; `inbox` is its inbox.
            unsafe {
                table.drain_inbox(&m.inbox, &m.memory, &m.counts);
                m.counts.sub(Domain::Object.index(), 0, 1);
                table.classes[Domain::Object.index()][0].free(o as *mut u8, &m.memory);
            }
            table
        });
        r.join().unwrap();
        let mut table = owner.join().unwrap();
        check_all_back(&mem, &mut table, &pools);
    });
}

/// Through the heap: thread B ends up holding the last reference to an
/// object of thread A's pool (A gave up ownership by dropping its own
/// reference first), so B's drop frees it remotely while A allocates and
/// frees in the same pool. Ends with the heap verified and empty.
#[test]
fn heap_remote_free() {
    run_model("remote_free::heap_remote_free", || {
        let heap = Arc::new(SharedHeap::<Biased>::new());
        let (to_b, from_a) = channel();
        let (to_a, from_b) = channel();
        let (done_tx, done_rx) = channel::<()>();
        let h = heap.clone();
        let a = thread::spawn(move || {
            let m = h.get().attach();
            to_b.send(m.alloc_int(1).unwrap()).unwrap();
            // B sends our reference back once it holds one of its own.
            let x = m.allow_threads(|| from_b.recv().unwrap());
            // The owner's local count reaches 0 with B's count in the shared
            // word: the object is merged, and B's drop will free it.
            drop(x);
            done_tx.send(()).unwrap();
            // Allocate and free in the pool B frees into.
            let y = m.alloc_int(2).unwrap();
            assert_eq!(m.int_value(&y).unwrap(), 2);
            drop(y);
            m.checkpoint();
        });
        let h = heap.clone();
        let b = thread::spawn(move || {
            let m = h.get().attach();
            let x = m.allow_threads(|| from_a.recv().unwrap());
            let mine = x.clone();
            to_a.send(x).unwrap();
            m.allow_threads(|| done_rx.recv().unwrap());
            assert_eq!(m.int_value(&mine).unwrap(), 1);
            drop(mine);
            assert_eq!(m.rc_counters().remote_frees, 1, "B's drop frees remotely");
        });
        a.join().unwrap();
        b.join().unwrap();
        heap.check_clean();
    });
}
