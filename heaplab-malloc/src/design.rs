//! The three designs, chosen once per process by `HEAPLAB_MALLOC`:
//!
//! | value | class table | lock taken for a block of class c | models |
//! |---|---|---|---|
//! | `global-lock` (default) | one, shared | the table's one lock | a GIL-protected pymalloc with real threads |
//! | `class-locks` | one, shared | the table's lock for c | heaplab's `pool-locks` |
//! | `thread-local` | one per thread | the thread heap's own (uncontended; there for fork) | heaplab's `biased`, mimalloc |
//!
//! Under `thread-local` a free of another heap's block is a remote free (a
//! lock-free push, table.rs). Start-up happens on the first call, from
//! whichever thread: it reads the environment with `getenv` (which does not
//! allocate), then, once ready, registers the fork handlers and the exit
//! report, either of which may call `malloc` (which by then works).

use crate::geometry::PAGE;
use crate::heaps::{self, HEAPS};
use crate::pool::{self, Pool};
use crate::remote;
use crate::source::SOURCE;
use crate::sys::{fatal, write_fd, write_stderr, LineBuf};
use crate::table::Table;
use core::ffi::CStr;
use core::fmt::Write;
use core::hint::spin_loop;
use core::sync::atomic::{AtomicI32, AtomicU64, AtomicU8, Ordering};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum Design {
    GlobalLock = 1,
    ClassLocks = 2,
    ThreadLocal = 3,
}

impl Design {
    pub const ALL: [Design; 3] = [Design::GlobalLock, Design::ClassLocks, Design::ThreadLocal];

    pub const fn name(self) -> &'static str {
        match self {
            Design::GlobalLock => "global-lock",
            Design::ClassLocks => "class-locks",
            Design::ThreadLocal => "thread-local",
        }
    }

    pub fn parse(s: &[u8]) -> Option<Design> {
        Design::ALL.into_iter().find(|d| d.name().as_bytes() == s)
    }
}

/// The shared table (`global-lock`, `class-locks`, and exiting threads under
/// `thread-local`).
pub static SHARED: Table = Table::new();

/// 0 before start-up, else the `Design` as u8.
static DESIGN: AtomicU8 = AtomicU8::new(0);
/// 0: not started; 1: starting; 2: ready.
static STARTED: AtomicU8 = AtomicU8::new(0);
/// A copy of standard error made at start-up for the exit report: programs
/// such as GNU `ls` close standard error in their own exit handlers, which
/// run before ours.
static STATS_FD: AtomicI32 = AtomicI32::new(-1);
/// Frees of pointers that are not ours, ignored (statistics).
pub static FOREIGN_FREES: AtomicU64 = AtomicU64::new(0);

/// The design in force, starting the allocator on first use.
#[inline(always)]
pub fn design() -> Design {
    match DESIGN.load(Ordering::Acquire) {
        1 => Design::GlobalLock,
        2 => Design::ClassLocks,
        3 => Design::ThreadLocal,
        _ => start(),
    }
}

#[cold]
#[inline(never)]
fn start() -> Design {
    if STARTED
        .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        // Another thread is starting us (start-up does not allocate, so it
        // cannot be this thread): wait for it.
        while STARTED.load(Ordering::Acquire) != 2 {
            spin_loop();
        }
        return design();
    }
    // SAFETY: sysconf has no preconditions.
    if unsafe { libc::sysconf(libc::_SC_PAGESIZE) } != PAGE as libc::c_long {
        fatal(format_args!("the page size is not {PAGE}"));
    }
    let d = match env(c"HEAPLAB_MALLOC") {
        None => Design::GlobalLock,
        Some(v) => Design::parse(v).unwrap_or_else(|| {
            write_stderr(
                b"heaplab-malloc: HEAPLAB_MALLOC must be global-lock, class-locks or thread-local\n",
            );
            // SAFETY: _exit(2) has no preconditions; exit status 2 as for a usage error.
            unsafe { libc::_exit(2) }
        }),
    };
    if d == Design::ThreadLocal {
        heaps::create_key();
    }
    let stats = env(c"HEAPLAB_MALLOC_STATS").is_some_and(|v| v == b"1");
    if stats {
        // SAFETY: fcntl(F_DUPFD_CLOEXEC) on any descriptor number is defined
        // (it fails on a closed one, leaving -1: no report).
        let fd = unsafe { libc::fcntl(2, libc::F_DUPFD_CLOEXEC, 3) };
        STATS_FD.store(fd, Ordering::Relaxed);
    }
    // Release: the key and the settings above are seen by whoever sees the design.
    DESIGN.store(d as u8, Ordering::Release);
    STARTED.store(2, Ordering::Release);
    // Both may allocate: only now, when allocating works. The caller's
    // re-entry guard is held, so step out of it.
    heaps::leave();
    // SAFETY: the handlers are plain C functions that take and release our
    // locks in one order (see `prepare`).
    unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
    if stats {
        // SAFETY: a plain C function, run at exit.
        unsafe { libc::atexit(print_stats) };
    }
    heaps::enter();
    d
}

fn env(name: &CStr) -> Option<&'static [u8]> {
    // SAFETY: `name` is NUL-terminated; getenv returns null or a
    // NUL-terminated string in the environment, which we do not modify and
    // which programs rarely change (the C library's own caveat).
    unsafe {
        let v = libc::getenv(name.as_ptr());
        (!v.is_null()).then(|| CStr::from_ptr(v).to_bytes())
    }
}

/// A block of `class`, or null when out of memory.
#[inline(always)]
pub fn alloc_small(class: usize) -> *mut u8 {
    // SAFETY: each arm holds the lock that guards `class` of its table.
    unsafe {
        match design() {
            Design::GlobalLock => with_lock(&SHARED.lock, || SHARED.alloc(class)),
            Design::ClassLocks => with_lock(&SHARED.class_locks[class], || SHARED.alloc(class)),
            Design::ThreadLocal => {
                let h = heaps::current();
                if h.is_null() {
                    return with_lock(&SHARED.lock, || SHARED.alloc(class));
                }
                let t = &(*h).table;
                with_lock(&t.lock, || t.alloc(class))
            }
        }
    }
}

/// Frees a block of one of our pools.
///
/// # Safety
/// `b` is a live block of `p`, handed out by us and not used again.
#[inline(always)]
pub unsafe fn free_small(p: *mut Pool, b: *mut u8) {
    // SAFETY: each arm holds the lock guarding the pool's class of the
    // table that owns it, or pushes remotely (table.rs).
    unsafe {
        match design() {
            Design::GlobalLock => with_lock(&SHARED.lock, || SHARED.free(p, b)),
            Design::ClassLocks => {
                let c = (*p).class as usize;
                with_lock(&SHARED.class_locks[c], || SHARED.free(p, b))
            }
            Design::ThreadLocal => {
                let owner = (*p).owner;
                let h = heaps::current_if_any();
                if !h.is_null() && owner == (&(*h).table as *const Table).cast() {
                    let t = &(*h).table;
                    with_lock(&t.lock, || t.free(p, b))
                } else if owner == (&SHARED as *const Table).cast() {
                    with_lock(&SHARED.lock, || SHARED.free(p, b))
                } else {
                    remote::push(p, b)
                }
            }
        }
    }
}

#[inline(always)]
fn with_lock<R>(lock: &crate::sys::SpinLock, f: impl FnOnce() -> R) -> R {
    lock.lock();
    let r = f();
    // SAFETY: taken just above.
    unsafe { lock.unlock() };
    r
}

/// `pool::check_block` for callers outside the pool module.
///
/// # Safety
/// As for [`pool::check_block`].
#[inline(always)]
pub unsafe fn check(p: *mut Pool, b: *const u8) {
    // SAFETY: forwarded contract.
    unsafe { pool::check_block(p, b) }
}

/// Fork, before: take every lock, in the order the allocator nests them
/// (heap list; each table's locks; the pool source), so that no other
/// thread is inside the allocator when the address space is copied.
extern "C" fn prepare() {
    HEAPS.lock.lock();
    // SAFETY: we hold the heap list's lock.
    unsafe { heaps::for_each(|h| (*h).table.lock.lock()) };
    SHARED.lock.lock();
    for l in &SHARED.class_locks {
        l.lock();
    }
    SOURCE.lock.lock();
    crate::large_cache::lock();
}

fn release_all() {
    // SAFETY: `prepare` took each of these in this thread.
    unsafe {
        crate::large_cache::unlock();
        SOURCE.lock.unlock();
        for l in &SHARED.class_locks {
            l.unlock();
        }
        SHARED.lock.unlock();
        heaps::for_each(|h| (*h).table.lock.unlock());
        HEAPS.lock.unlock();
    }
}

extern "C" fn parent() {
    release_all();
}

extern "C" fn child() {
    release_all();
    if DESIGN.load(Ordering::Acquire) == Design::ThreadLocal as u8 {
        // SAFETY: the child's handler, one thread, locks released.
        unsafe { heaps::adopt_after_fork() };
    }
}

extern "C" fn print_stats() {
    let mut line = LineBuf::new();
    let _ = writeln!(
        line,
        "heaplab-malloc: design {} arenas {} large-mappings {} heaps {} adopted {} foreign-frees {}",
        design().name(),
        SOURCE.arenas.load(Ordering::Relaxed),
        crate::large::MAPPED.load(Ordering::Relaxed),
        heaps::MADE.load(Ordering::Relaxed),
        heaps::ADOPTED.load(Ordering::Relaxed),
        FOREIGN_FREES.load(Ordering::Relaxed),
    );
    write_fd(STATS_FD.load(Ordering::Relaxed), line.as_bytes());
}
