//! Attach, detach and stop-the-world for the GIL-free policies: the
//! [`FreeInterp`] way of taking turns (its [`super::Interp`] impl is at the
//! end of this file).
//!
//! Each registered thread has a state word, as in free-threaded CPython
//! (`Python/pystate.c`):
//!
//! | state | meaning | who sets it |
//! |---|---|---|
//! | `DETACHED` (0) | not running heap code (inside `allow_threads`, or between attach and detach) | the thread itself |
//! | `ATTACHED` (1) | running heap code; parks only at a checkpoint | the thread (CAS from DETACHED) |
//! | `SUSPENDED` (2) | stopped for a collection | the requester (CAS from DETACHED) or the thread at its checkpoint (from ATTACHED) |
//!
//! A stop request sets `stop_requested` (the eval breaker), then, under the
//! world mutex, turns every DETACHED thread SUSPENDED and waits until no
//! thread is ATTACHED. An attached thread that sees the request at its
//! checkpoint sets itself SUSPENDED, wakes the requester and sleeps until the
//! world restarts. A thread that detaches stores DETACHED and, if a request is
//! up, wakes the requester to look again; the two sides use sequentially
//! consistent accesses, so either the requester sees DETACHED or the detacher
//! sees the request (no lost wake-up; the loom model `stop_the_world` checks
//! it). Restarting turns every SUSPENDED thread back to DETACHED; each then
//! re-attaches with a CAS, so a second stop that starts meanwhile catches it.
//!
//! Two threads that ask at once do not wait for each other: the second finds
//! the request up, parks like any other thread, and learns that it lost (it
//! then finds the work done). Registering (attaching a new thread, adopting a
//! thread heap) and unregistering wait while the world is stopped.

use super::{Interp, PolicyConfig};
use crate::sync::{AtomicBool, AtomicU8, Condvar, Mutex, MutexGuard, Ordering::*};
use std::time::Instant;

pub const DETACHED: u8 = 0;
pub const ATTACHED: u8 = 1;
pub const SUSPENDED: u8 = 2;

/// A thread's state word. Lives as long as the heap (the policy keeps it in
/// a slot that is never freed before the heap).
pub struct ThreadStateWord {
    pub state: AtomicU8,
}

impl Default for ThreadStateWord {
    fn default() -> Self {
        ThreadStateWord {
            state: AtomicU8::new(DETACHED),
        }
    }
}

struct Registered {
    id: usize,
    word: *const ThreadStateWord,
}

struct WorldState {
    threads: Vec<Registered>,
    requested: bool,
    requester: usize,
}

// SAFETY: the word pointers outlive their registration (see
// `ThreadStateWord`); the list is only touched under the mutex.
unsafe impl Send for WorldState {}

/// The stop-the-world handshake of one heap.
pub struct World {
    st: Mutex<WorldState>,
    cond: Condvar,
    stop_requested: AtomicBool,
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

impl World {
    pub fn new() -> Self {
        let world = World {
            st: Mutex::new(WorldState {
                threads: Vec::new(),
                requested: false,
                requester: 0,
            }),
            cond: Condvar::new(),
            stop_requested: AtomicBool::new(false),
        };
        // Loom takes an atomic's initial value for a non-SeqCst store, which
        // a SeqCst load may still read after another thread's SeqCst store;
        // C++20 forbids that (the initialisation happens before that store),
        // and loom would report a lost wake-up in `detach` that cannot
        // happen. Storing the initial value SeqCst gives loom the real rule.
        #[cfg(loom)]
        world.stop_requested.store(false, SeqCst);
        world
    }

    fn wait_until_running<'a>(
        &'a self,
        mut st: MutexGuard<'a, WorldState>,
    ) -> MutexGuard<'a, WorldState> {
        while st.requested {
            st = self.cond.wait(st);
        }
        st
    }

    /// Registers a thread (waiting while the world is stopped): `pick` runs
    /// under the world lock and returns the thread's id and state word (for
    /// example a slot it adopts). The thread starts DETACHED; call `attach`.
    ///
    /// # Safety
    /// The word returned by `pick` outlives the registration.
    pub unsafe fn register<R>(
        &self,
        pick: impl FnOnce() -> (usize, *const ThreadStateWord, R),
    ) -> R {
        let mut st = self.wait_until_running(self.st.lock());
        let (id, word, r) = pick();
        // SAFETY: the caller's contract.
        unsafe { (*word).state.store(DETACHED, SeqCst) };
        st.threads.push(Registered { id, word });
        r
    }

    /// Unregisters an attached thread for good (waiting while the world is
    /// stopped); `leave` runs under the world lock after the thread is gone.
    pub fn unregister<R>(&self, id: usize, word: &ThreadStateWord, leave: impl FnOnce() -> R) -> R {
        self.detach(word);
        let mut st = self.st.lock();
        while st.requested || word.state.load(SeqCst) == SUSPENDED {
            st = self.cond.wait(st);
        }
        st.threads.retain(|t| t.id != id);
        leave()
    }

    /// Attaches: DETACHED -> ATTACHED, waiting while the world is stopped.
    #[inline]
    pub fn attach(&self, word: &ThreadStateWord) {
        if word
            .state
            .compare_exchange(DETACHED, ATTACHED, SeqCst, Relaxed)
            .is_ok()
        {
            return;
        }
        self.attach_slow(word);
    }

    #[cold]
    fn attach_slow(&self, word: &ThreadStateWord) {
        loop {
            {
                let mut st = self.st.lock();
                while word.state.load(SeqCst) == SUSPENDED {
                    st = self.cond.wait(st);
                }
            }
            if word
                .state
                .compare_exchange(DETACHED, ATTACHED, SeqCst, Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }

    /// Detaches: ATTACHED -> DETACHED; wakes a requester that may be waiting.
    #[inline]
    pub fn detach(&self, word: &ThreadStateWord) {
        debug_assert_eq!(word.state.load(Relaxed), ATTACHED);
        word.state.store(DETACHED, SeqCst);
        if self.stop_requested.load(SeqCst) {
            self.wake_requester();
        }
    }

    #[cold]
    fn wake_requester(&self) {
        let _st = self.st.lock();
        self.cond.notify_all();
    }

    /// The eval breaker's stop flag (one relaxed load).
    #[inline(always)]
    pub fn stop_requested(&self) -> bool {
        self.stop_requested.load(Relaxed)
    }

    /// At a checkpoint: if another thread is stopping the world, suspend until
    /// it restarts, then re-attach. Returns true if it parked.
    #[cold]
    pub fn park(&self, id: usize, word: &ThreadStateWord) -> bool {
        {
            let mut st = self.st.lock();
            if !st.requested || st.requester == id {
                return false;
            }
            let was = word.state.swap(SUSPENDED, SeqCst);
            debug_assert_eq!(was, ATTACHED);
            self.cond.notify_all();
            while word.state.load(SeqCst) == SUSPENDED {
                st = self.cond.wait(st);
            }
        }
        self.attach(word);
        true
    }

    /// Stops every other registered thread. Returns the time to safepoint in
    /// nanoseconds, or `None` if another thread's request came first (this
    /// thread then parked until that one ended).
    pub fn stop(&self, id: usize, word: &ThreadStateWord) -> Option<u64> {
        let start = Instant::now();
        let mut st = self.st.lock();
        if st.requested {
            drop(st);
            self.park(id, word);
            return None;
        }
        st.requested = true;
        st.requester = id;
        self.stop_requested.store(true, SeqCst);
        loop {
            let mut all_stopped = true;
            for t in st.threads.iter().filter(|t| t.id != id) {
                // SAFETY: registered words outlive their registration.
                let w = unsafe { &*t.word };
                match w.state.load(SeqCst) {
                    SUSPENDED => {}
                    DETACHED => {
                        if w.state
                            .compare_exchange(DETACHED, SUSPENDED, SeqCst, SeqCst)
                            .is_err()
                        {
                            all_stopped = false;
                        }
                    }
                    _ => all_stopped = false,
                }
            }
            if all_stopped {
                break;
            }
            st = self.cond.wait(st);
        }
        Some(start.elapsed().as_nanos() as u64)
    }

    /// Restarts the world that `stop` stopped.
    pub fn start(&self, id: usize) {
        let mut st = self.st.lock();
        debug_assert!(st.requested && st.requester == id);
        for t in st.threads.iter().filter(|t| t.id != id) {
            // SAFETY: as in `stop`.
            let w = unsafe { &*t.word };
            if w.state.load(SeqCst) == SUSPENDED {
                w.state.store(DETACHED, SeqCst);
            }
        }
        st.requested = false;
        st.requester = 0;
        self.stop_requested.store(false, SeqCst);
        self.cond.notify_all();
    }

    /// Whether the world is stopped by `id` (for assertions).
    pub fn is_stopped_by(&self, id: usize) -> bool {
        let st = self.st.lock();
        st.requested && st.requester == id
    }

    /// Registered thread count.
    pub fn threads(&self) -> usize {
        self.st.lock().threads.len()
    }
}

/// No GIL: attach/detach state words and the stop-the-world handshake above,
/// as an [`Interp`] (free-threaded CPython's `_PyThreadState_Attach`,
/// `_PyEval_StopTheWorld`).
#[derive(Debug)]
pub struct FreeInterp;

/// One thread's registration with the world.
pub struct FreeLocal {
    id: usize,
    /// Boxed: the world keeps its address while the thread is registered.
    word: Box<ThreadStateWord>,
}

/// State shared by the threads of a free-threaded heap.
pub struct FreeShared {
    pub world: World,
    next_id: crate::sync::AtomicUsize,
}

// SAFETY: `stop` returns only when every other registered thread is
// SUSPENDED (or DETACHED and turned SUSPENDED), and they stay so until
// `start`; a thread runs heap code only while ATTACHED, which it becomes by
// a CAS from DETACHED that fails while it is SUSPENDED (see the module docs
// and the loom model `stop_the_world`).
unsafe impl Interp for FreeInterp {
    const FREE_THREADED: bool = true;
    type Shared = FreeShared;
    type Local = FreeLocal;

    fn new_shared(_config: &PolicyConfig) -> FreeShared {
        FreeShared {
            world: World::new(),
            next_id: crate::sync::AtomicUsize::new(1),
        }
    }

    fn attach(shared: &FreeShared) -> FreeLocal {
        // Relaxed: ids only need to be distinct.
        let id = shared.next_id.fetch_add(1, Relaxed);
        let word = Box::new(ThreadStateWord::default());
        let wp: *const ThreadStateWord = &*word;
        // SAFETY: the word is boxed in the local state, which unregisters
        // before it is dropped (`detach_for_good`).
        unsafe { shared.world.register(|| (id, wp, ())) };
        shared.world.attach(&word);
        FreeLocal { id, word }
    }

    fn detach_for_good(shared: &FreeShared, local: &mut FreeLocal) {
        shared.world.unregister(local.id, &local.word, || ());
    }

    fn release(shared: &FreeShared, local: &mut FreeLocal) {
        shared.world.detach(&local.word);
    }

    fn reacquire(shared: &FreeShared, local: &mut FreeLocal) {
        shared.world.attach(&local.word);
    }

    #[inline(always)]
    fn checkpoint_pending(shared: &FreeShared, _local: &FreeLocal) -> bool {
        shared.world.stop_requested()
    }

    fn checkpoint_slow(shared: &FreeShared, local: &mut FreeLocal) {
        if shared.world.stop_requested() {
            shared.world.park(local.id, &local.word);
        }
    }

    fn stop_the_world(shared: &FreeShared, local: &mut FreeLocal) -> Option<u64> {
        shared.world.stop(local.id, &local.word)
    }

    fn start_the_world(shared: &FreeShared, local: &mut FreeLocal) {
        shared.world.start(local.id)
    }
}
