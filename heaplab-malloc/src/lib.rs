//! heaplab-malloc: heaplab's allocator designs as a C-ABI `malloc` that any
//! dynamically linked program can load with `LD_PRELOAD`.
//!
//! This crate has its own small core, written after heaplab's `src/alloc/`
//! (arenas, pools, size classes, remote frees) rather than on it: heaplab's
//! arena source and large-object list keep their metadata in `Vec`s and
//! `std::alloc`, which inside a library that *is* `malloc` would call back
//! into itself. Here every byte of metadata comes from `mmap`, and the code
//! uses `core` and `libc` only (no `Vec`, `Box` or `std::alloc`).
//!
//! Where each piece sits (lower files never import higher ones):
//!
//! ```text
//!   geometry.rs   granules, arenas, pools, size classes (the table)
//!   sync.rs       core's atomics, or loom's in the model
//!   sys.rs        mmap, write(2), fatal, the spin lock
//!   rangemap.rs   address_in_range: which granules are ours
//!   pool.rs       a pool's header and blocks
//!   source.rs     arenas -> pools
//!   remote.rs     remote frees: the pool's stack, the owner's inbox
//!   table.rs      a class table
//!   large.rs      one mapping per large block (+ large_cache.rs)
//!   heaps.rs      thread heaps, the thread key, the re-entry guard
//!   design.rs     the three designs, start-up, fork handlers, statistics
//!   vg.rs         memcheck's client requests (feature `valgrind`)
//!   lib.rs        the exported C functions (this file)
//! ```
//!
//! Promises, each tested in `tests/`: never allocates through itself (a
//! re-entry guard stops the process if it does); `free` and `realloc` find a
//! block's owner from its address, and ignore frees of memory that is not
//! ours; a failure prints one line and aborts (nothing unwinds into C);
//! `HEAPLAB_MALLOC` with an unknown value prints the allowed values and exits
//! with status 2.
//!
//! The exports are `#[no_mangle]` only outside unit tests, so that the unit
//! test binary keeps the C library's `malloc`.

#![deny(unsafe_op_in_unsafe_fn)]

mod design;
mod geometry;
mod heaps;
mod large;
mod large_cache;
mod pool;
mod rangemap;
mod remote;
mod source;
mod sync;
mod sys;
mod table;
mod vg;

use core::ffi::c_void;
use core::ptr;
use geometry::{round_up, size_class, ALIGNMENT, MAX_SMALL, PAGE};

fn set_errno(e: i32) {
    // SAFETY: errno is the calling thread's.
    unsafe { *libc::__errno_location() = e };
}

/// Runs an entry point's body inside the re-entry guard.
#[inline(always)]
fn guarded<R>(f: impl FnOnce() -> R) -> R {
    heaps::enter();
    let r = f();
    heaps::leave();
    r
}

/// Tells memcheck (feature `valgrind`) that `p`, when not null, was just
/// handed out: a malloc-like block of its usable size (see `vg.rs` for why
/// not the size asked for), defined when `zeroed`.
#[inline(always)]
fn announce(p: *mut u8, zeroed: bool) {
    if vg::ON && !p.is_null() {
        // SAFETY: a live block of ours, just handed out.
        if let Some(n) = unsafe { usable(p) } {
            vg::malloc_like(p, n, zeroed);
        }
    }
}

/// A block of `size` bytes, zeroed when `zero`.
#[inline(always)]
fn alloc(size: usize, zero: bool) -> *mut u8 {
    let p = if size <= MAX_SMALL {
        let p = design::alloc_small(size_class(size));
        // Before the zeroing: a reused block is no-access to memcheck.
        announce(p, zero);
        if zero && !p.is_null() {
            // SAFETY: a fresh block of at least `size` bytes.
            unsafe { ptr::write_bytes(p, 0, size) };
        }
        p
    } else {
        let _ = design::design();
        let p = large::alloc(size, ALIGNMENT, zero);
        announce(p, zero);
        p
    };
    if p.is_null() {
        set_errno(libc::ENOMEM);
    }
    p
}

/// `align` is a power of two.
fn alloc_aligned(align: usize, size: usize) -> *mut u8 {
    if align <= ALIGNMENT {
        return alloc(size, false);
    }
    // Blocks start at pool + 128 + k * block size; classes whose block size
    // is a multiple of 64 therefore give 64-aligned blocks.
    if align <= 64 && size <= MAX_SMALL {
        let rounded = round_up(size.max(1), align);
        if rounded <= MAX_SMALL {
            let p = design::alloc_small(size_class(rounded));
            announce(p, false);
            if p.is_null() {
                set_errno(libc::ENOMEM);
            }
            return p;
        }
    }
    let _ = design::design();
    let p = large::alloc(size, align, false);
    announce(p, false);
    if p.is_null() {
        set_errno(libc::ENOMEM);
    }
    p
}

/// Starts the allocator when the library is loaded, before the program's
/// `main` and its constructors: an unknown `HEAPLAB_MALLOC` is refused even
/// in a program that never allocates, and start-up never races.
#[cfg(not(test))]
extern "C" fn on_load() {
    guarded(design::design);
}

#[cfg(not(test))]
#[used]
#[link_section = ".init_array"]
static ON_LOAD: extern "C" fn() = on_load;

/// What kind of pointer `p` (non-null) is.
enum Owner {
    Small(*mut pool::Pool),
    Large,
    Foreign,
}

#[inline(always)]
fn owner_of(p: *mut u8) -> Owner {
    match rangemap::kind_of(p as usize) {
        rangemap::ARENA => Owner::Small(pool::pool_of(p)),
        rangemap::LARGE_START | rangemap::LARGE_MORE if large::owns(p as usize) => Owner::Large,
        _ => Owner::Foreign,
    }
}

/// # Safety
/// `p` is null or a live block from us (or foreign memory, which is ignored).
#[inline(always)]
unsafe fn dealloc(p: *mut u8) {
    if p.is_null() {
        return;
    }
    match owner_of(p) {
        // SAFETY: `p` lies in one of our arenas; `check` stops a pointer that
        // is not a block start; then it is a live block (caller's contract).
        Owner::Small(pool) => unsafe {
            design::check(pool, p);
            vg::free_like(p);
            design::free_small(pool, p)
        },
        // SAFETY: a live large block of ours (caller's contract).
        Owner::Large => unsafe {
            vg::free_like(p);
            large::free(p)
        },
        Owner::Foreign => {
            design::FOREIGN_FREES.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// The usable size of our live block `p`, or `None` when it is not ours.
///
/// # Safety
/// `p` is non-null and, if ours, live.
unsafe fn usable(p: *mut u8) -> Option<usize> {
    match owner_of(p) {
        // SAFETY: the pool's write-once field, for a block of ours.
        Owner::Small(pool) => unsafe {
            design::check(pool, p);
            Some((*pool).block_size as usize)
        },
        // SAFETY: a live large block (caller's contract).
        Owner::Large => Some(unsafe { large::usable_size(p) }),
        Owner::Foreign => None,
    }
}

/// C `malloc`.
///
/// # Safety
/// None beyond C's: callable from any thread at any time but from a signal
/// handler.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
    guarded(|| alloc(size, false).cast())
}

/// C `free`.
///
/// # Safety
/// `p` is null or a live pointer from this allocator's `malloc` family.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn free(p: *mut c_void) {
    // SAFETY: forwarded contract.
    guarded(|| unsafe { dealloc(p.cast()) })
}

/// C `calloc`: null with `ENOMEM` when `n * size` overflows.
///
/// # Safety
/// As for `malloc`.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn calloc(n: usize, size: usize) -> *mut c_void {
    let Some(total) = n.checked_mul(size) else {
        set_errno(libc::ENOMEM);
        return ptr::null_mut();
    };
    guarded(|| alloc(total, true).cast())
}

/// C `realloc`; `realloc(p, 0)` frees `p` and returns null (glibc's choice).
///
/// # Safety
/// `p` is null or a live pointer from this allocator; a pointer that is not
/// ours stops the process (its size is unknown, so it cannot be copied).
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn realloc(p: *mut c_void, size: usize) -> *mut c_void {
    let p = p.cast::<u8>();
    guarded(|| {
        if p.is_null() {
            return alloc(size, false).cast();
        }
        if size == 0 {
            // SAFETY: forwarded contract.
            unsafe { dealloc(p) };
            return ptr::null_mut();
        }
        // SAFETY: non-null; live by contract.
        let Some(old) = (unsafe { usable(p) }) else {
            sys::fatal(format_args!(
                "realloc of {p:p}, which this allocator did not allocate"
            ));
        };
        // Keep the block when the new size fits and wastes at most half.
        if size <= old && size >= old / 2 {
            return p.cast();
        }
        let q = if size > MAX_SMALL && size > old {
            // Growing a large block: leave room to grow again in place
            // (untouched pages cost address space only).
            let q = large::alloc(size.saturating_add(size / 2), ALIGNMENT, false);
            announce(q, false);
            q
        } else {
            alloc(size, false)
        };
        if q.is_null() {
            set_errno(libc::ENOMEM);
            return ptr::null_mut();
        }
        // SAFETY: both blocks are live and distinct; `min` bytes fit both.
        unsafe {
            ptr::copy_nonoverlapping(p, q, old.min(size));
            dealloc(p);
        }
        q.cast()
    })
}

/// C `posix_memalign`: `EINVAL` unless `align` is a power of two multiple of
/// `sizeof(void *)`.
///
/// # Safety
/// `out` is valid for a pointer write.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn posix_memalign(out: *mut *mut c_void, align: usize, size: usize) -> i32 {
    if !align.is_power_of_two() || !align.is_multiple_of(core::mem::size_of::<*mut c_void>()) {
        return libc::EINVAL;
    }
    let p = guarded(|| alloc_aligned(align, size));
    if p.is_null() {
        return libc::ENOMEM;
    }
    // SAFETY: caller's contract.
    unsafe { *out = p.cast() };
    0
}

/// C11 `aligned_alloc` (glibc's rules: any power-of-two alignment, any size).
///
/// # Safety
/// As for `malloc`.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut c_void {
    if !align.is_power_of_two() {
        set_errno(libc::EINVAL);
        return ptr::null_mut();
    }
    guarded(|| alloc_aligned(align, size).cast())
}

/// Obsolete `memalign`: an alignment that is not a power of two is rounded
/// up to one (glibc's behaviour).
///
/// # Safety
/// As for `malloc`.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn memalign(align: usize, size: usize) -> *mut c_void {
    let Some(align) = align.max(1).checked_next_power_of_two() else {
        set_errno(libc::EINVAL);
        return ptr::null_mut();
    };
    guarded(|| alloc_aligned(align, size).cast())
}

/// Obsolete `valloc`: page-aligned.
///
/// # Safety
/// As for `malloc`.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn valloc(size: usize) -> *mut c_void {
    guarded(|| alloc_aligned(PAGE, size).cast())
}

/// Obsolete `pvalloc`: page-aligned, size rounded up to whole pages.
///
/// # Safety
/// As for `malloc`.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn pvalloc(size: usize) -> *mut c_void {
    let Some(rounded) = size.max(1).checked_add(PAGE - 1).map(|n| n & !(PAGE - 1)) else {
        set_errno(libc::ENOMEM);
        return ptr::null_mut();
    };
    guarded(|| alloc_aligned(PAGE, rounded).cast())
}

/// `malloc_usable_size`: 0 for null or memory that is not ours.
///
/// # Safety
/// `p` is null or a live pointer.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn malloc_usable_size(p: *mut c_void) -> usize {
    if p.is_null() {
        return 0;
    }
    // SAFETY: non-null; live by contract.
    guarded(|| unsafe { usable(p.cast()) }.unwrap_or(0))
}
