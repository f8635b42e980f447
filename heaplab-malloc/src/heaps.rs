//! Thread heaps (the `thread-local` design): one class table per thread, in
//! memory mapped for it, never unmapped. A thread finds its heap through a
//! thread-local pointer; a pthread key with a destructor tells us when the
//! thread exits, and its heap is then *abandoned*: put on a list from which
//! the next new thread adopts it, pools, pending remote frees and all
//! (mimalloc's abandonment, at the granularity of a whole heap).
//!
//! Why a pthread key and not a Rust thread-local with a destructor: Rust
//! registers such destructors through the C library, which calls `calloc` —
//! us. The thread-local here holds a plain pointer (const-initialised, no
//! destructor: a `#[thread_local]` static in the static TLS block of a
//! preloaded library, never allocated by `__tls_get_addr`), and the key's
//! destructor is plain C.
//!
//! After the destructor ran, the thread's other destructors may still call
//! `malloc` and `free`: the thread is then *exiting*, allocates from the
//! shared table under the global lock, and frees its old heap's blocks as
//! remote frees (its old heap may already belong to another thread).
//!
//! The thread-local also carries the re-entry guard: a flag set while the
//! thread is inside one of our entry points, so that a call back into us
//! (an allocation through ourselves) stops with one line instead of
//! deadlocking on our own lock.

use crate::sys::{fatal, map_plain, SpinLock};
use crate::table::Table;
use core::cell::{Cell, UnsafeCell};
use core::ptr;
use core::sync::atomic::{AtomicU64, Ordering};

/// A thread heap. `table` comes first: a pool's owner pointer is its heap's
/// address.
#[repr(C)]
pub struct Heap {
    pub table: Table,
    /// Every heap ever made, through this link (written once, under `HEAPS`).
    all_next: *mut Heap,
    /// Under `HEAPS`: the abandoned list's link, and whether a thread has it.
    abandoned_next: *mut Heap,
    in_use: bool,
}

struct Heaps {
    all: *mut Heap,
    abandoned: *mut Heap,
}

pub struct HeapList {
    pub lock: SpinLock,
    state: UnsafeCell<Heaps>,
}

// SAFETY: `state` and the `abandoned_next`/`in_use` fields of every heap are
// touched only under `lock`; heaps live as long as the process.
unsafe impl Sync for HeapList {}

pub static HEAPS: HeapList = HeapList {
    lock: SpinLock::new(),
    state: UnsafeCell::new(Heaps {
        all: ptr::null_mut(),
        abandoned: ptr::null_mut(),
    }),
};

/// Heaps mapped, and heaps adopted from exited threads (statistics).
pub static MADE: AtomicU64 = AtomicU64::new(0);
pub static ADOPTED: AtomicU64 = AtomicU64::new(0);

/// The thread's heap after its key's destructor ran.
const EXITING: *mut Heap = ptr::dangling_mut();

pub struct ThreadState {
    heap: Cell<*mut Heap>,
    busy: Cell<bool>,
}

thread_local! {
    static STATE: ThreadState = const {
        ThreadState { heap: Cell::new(ptr::null_mut()), busy: Cell::new(false) }
    };
}

/// The key whose destructor abandons the thread's heap (set once at start-up).
static KEY: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(u32::MAX);

/// Creates the key (`thread-local` design, at start-up; does not allocate:
/// glibc keeps the first keys' slots in the thread descriptor).
pub fn create_key() {
    let mut key: libc::pthread_key_t = 0;
    // SAFETY: `key` is a valid out-pointer; the destructor is a plain C fn.
    if unsafe { libc::pthread_key_create(&mut key, Some(on_thread_exit)) } != 0 {
        fatal(format_args!("pthread_key_create failed"));
    }
    KEY.store(key, Ordering::Release);
}

/// Marks the thread as inside the allocator; stops the process if it already
/// was (the allocator called itself).
#[inline(always)]
pub fn enter() {
    STATE.with(|s| {
        if s.busy.replace(true) {
            fatal(format_args!(
                "re-entered itself (an allocation inside the allocator)"
            ));
        }
    });
}

#[inline(always)]
pub fn leave() {
    STATE.with(|s| s.busy.set(false));
}

/// The calling thread's heap, made or adopted on first use; null when the
/// thread is exiting (use the shared table).
#[inline(always)]
pub fn current() -> *mut Heap {
    let h = STATE.with(|s| s.heap.get());
    if h as usize > EXITING as usize {
        return h;
    }
    if h == EXITING {
        return ptr::null_mut();
    }
    acquire()
}

/// The calling thread's heap if it has one (frees never make one).
#[inline(always)]
pub fn current_if_any() -> *mut Heap {
    let h = STATE.with(|s| s.heap.get());
    if h as usize > EXITING as usize {
        h
    } else {
        ptr::null_mut()
    }
}

#[cold]
fn acquire() -> *mut Heap {
    HEAPS.lock.lock();
    // SAFETY: under the lock.
    let st = unsafe { &mut *HEAPS.state.get() };
    let h = if !st.abandoned.is_null() {
        let h = st.abandoned;
        // SAFETY: heaps on the list are live and unowned.
        st.abandoned = unsafe { (*h).abandoned_next };
        ADOPTED.fetch_add(1, Ordering::Relaxed);
        h
    } else {
        let h = map_plain(core::mem::size_of::<Heap>().next_multiple_of(crate::geometry::PAGE))
            .cast::<Heap>();
        if h.is_null() {
            fatal(format_args!("cannot map a thread heap"));
        }
        // SAFETY: a fresh mapping large enough for a Heap.
        unsafe {
            h.write(Heap {
                table: Table::new(),
                all_next: st.all,
                abandoned_next: ptr::null_mut(),
                in_use: false,
            })
        };
        st.all = h;
        MADE.fetch_add(1, Ordering::Relaxed);
        h
    };
    // SAFETY: under the lock; `h` is live.
    unsafe {
        (*h).in_use = true;
        HEAPS.lock.unlock();
    }
    STATE.with(|s| s.heap.set(h));
    // SAFETY: the key was created at start-up (this design only); glibc
    // stores low keys' values without allocating.
    unsafe { libc::pthread_setspecific(KEY.load(Ordering::Acquire), h.cast()) };
    h
}

/// The key's destructor: the thread is exiting; its heap goes to the
/// abandoned list.
extern "C" fn on_thread_exit(value: *mut libc::c_void) {
    STATE.with(|s| s.heap.set(EXITING));
    abandon(value.cast());
}

fn abandon(h: *mut Heap) {
    HEAPS.lock.lock();
    // SAFETY: under the lock; `h` is a live heap no thread uses any more.
    unsafe {
        let st = &mut *HEAPS.state.get();
        (*h).in_use = false;
        (*h).abandoned_next = st.abandoned;
        st.abandoned = h;
        HEAPS.lock.unlock();
    }
}

/// Calls `f` on every heap ever made.
///
/// # Safety
/// The caller holds `HEAPS.lock` (the list's links are written under it).
pub unsafe fn for_each(mut f: impl FnMut(*mut Heap)) {
    // SAFETY: under the lock (caller's contract).
    let mut h = unsafe { (*HEAPS.state.get()).all };
    while !h.is_null() {
        f(h);
        // SAFETY: heaps are never unmapped; `all_next` is write-once.
        h = unsafe { (*h).all_next };
    }
}

/// In the child of a fork: every heap in use by a thread other than the
/// caller (threads the child does not have) is abandoned, to be adopted.
///
/// # Safety
/// Runs in the child's `atfork` handler, the child having one thread, with
/// `HEAPS.lock` released.
pub unsafe fn adopt_after_fork() {
    let me = current_if_any();
    HEAPS.lock.lock();
    let mut orphans: *mut Heap = ptr::null_mut();
    // SAFETY: under the lock; the orphans are chained through
    // `abandoned_next`, which no one else touches while `in_use`.
    unsafe {
        for_each(|h| {
            if h != me && (*h).in_use {
                (*h).abandoned_next = orphans;
                orphans = h;
            }
        });
        HEAPS.lock.unlock();
    }
    while !orphans.is_null() {
        // SAFETY: read the link before `abandon` rewrites it.
        let next = unsafe { (*orphans).abandoned_next };
        abandon(orphans);
        orphans = next;
    }
}
