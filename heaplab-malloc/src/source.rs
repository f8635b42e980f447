//! The pool source: arenas mapped from the OS, carved into pools, and a stack
//! of pools given back. One for the whole process, behind its own lock
//! (taken inside a table's lock, never the other way round). A pool is 64 KiB
//! of blocks, so this path runs once per many allocations.
//!
//! Unlike heaplab's `ArenaSource`, arenas are never unmapped and the source
//! keeps no vectors: its state is three words in a static. Pools given back
//! keep their pages (a program that freed them is likely to allocate again);
//! returning whole arenas to the OS is left for later.

use crate::geometry::{ARENA_SIZE, POOL_SIZE};
use crate::pool::Pool;
use crate::rangemap;
use crate::sys::{map_aligned, SpinLock};
use core::cell::UnsafeCell;
use core::ptr;
use core::sync::atomic::{AtomicU64, Ordering};

struct State {
    /// Pools given back: a stack through `Pool::next`.
    free: *mut Pool,
    /// The arena being carved, and the offset of its next uncarved pool.
    arena: *mut u8,
    carved: usize,
}

pub struct Source {
    pub lock: SpinLock,
    state: UnsafeCell<State>,
    /// Arenas mapped (statistics).
    pub arenas: AtomicU64,
}

// SAFETY: `state` is only touched under `lock`; the raw pointers in it point
// into arenas that live as long as the process.
unsafe impl Sync for Source {}

pub static SOURCE: Source = Source {
    lock: SpinLock::new(),
    state: UnsafeCell::new(State {
        free: ptr::null_mut(),
        arena: ptr::null_mut(),
        carved: ARENA_SIZE,
    }),
    arenas: AtomicU64::new(0),
};

impl Source {
    /// A pool no table holds (its header not yet initialised), or null when
    /// the system has no memory left.
    #[cold]
    pub fn take(&self) -> *mut Pool {
        self.lock.lock();
        // SAFETY: under the lock.
        let st = unsafe { &mut *self.state.get() };
        let p = if !st.free.is_null() {
            let p = st.free;
            // SAFETY: pools on the stack are ours and unused; `next` is the link.
            st.free = unsafe { (*p).next };
            p
        } else {
            if st.carved == ARENA_SIZE {
                let a = map_aligned(ARENA_SIZE, ARENA_SIZE);
                if a.is_null() {
                    // SAFETY: we hold the lock.
                    unsafe { self.lock.unlock() };
                    return ptr::null_mut();
                }
                rangemap::set(a as usize, rangemap::ARENA);
                self.arenas.fetch_add(1, Ordering::Relaxed);
                st.arena = a;
                st.carved = 0;
            }
            // SAFETY: carved < ARENA_SIZE, so the pool lies inside the arena.
            let p = unsafe { st.arena.add(st.carved) }.cast::<Pool>();
            st.carved += POOL_SIZE;
            p
        };
        // SAFETY: we hold the lock.
        unsafe { self.lock.unlock() };
        p
    }

    /// Takes back a pool none of whose blocks is in use.
    ///
    /// # Safety
    /// `p` came from [`Source::take`], no table holds it any more, and no
    /// block of it is live.
    #[cold]
    pub unsafe fn give(&self, p: *mut Pool) {
        self.lock.lock();
        // SAFETY: under the lock; the caller gave the pool up.
        unsafe {
            let st = &mut *self.state.get();
            (*p).next = st.free;
            st.free = p;
            self.lock.unlock();
        }
    }
}
