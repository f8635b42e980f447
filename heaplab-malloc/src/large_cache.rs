//! A small cache of freed large mappings, so that a program which frees and
//! re-allocates big buffers (CPython building a string or growing a list)
//! does not pay `munmap`, `mmap` and a page fault per page each time: glibc
//! gets the same from reusing its heap. Bounded by slots and by bytes;
//! everything else goes back to the OS at once.
//!
//! A cached mapping keeps its range-map entries (it is still ours) and its
//! header, with `offset` set to 0: no user pointer ever equals the mapping's
//! base, so a second `free` of the old pointer is refused as not ours.

use crate::sys::SpinLock;
use core::cell::UnsafeCell;
use core::ptr;

const SLOTS: usize = 16;
/// At most this many bytes cached in all (mapped, possibly resident).
const MAX_BYTES: usize = 64 << 20;
/// Mappings larger than this are never cached.
const MAX_ONE: usize = 16 << 20;

struct Slots {
    base: [*mut u8; SLOTS],
    len: [usize; SLOTS],
    bytes: usize,
}

struct Cache {
    lock: SpinLock,
    slots: UnsafeCell<Slots>,
}

// SAFETY: `slots` is only touched under `lock`; the mappings it names are
// ours and unused.
unsafe impl Sync for Cache {}

static CACHE: Cache = Cache {
    lock: SpinLock::new(),
    slots: UnsafeCell::new(Slots {
        base: [ptr::null_mut(); SLOTS],
        len: [0; SLOTS],
        bytes: 0,
    }),
};

fn with<R>(f: impl FnOnce(&mut Slots) -> R) -> R {
    CACHE.lock.lock();
    // SAFETY: under the lock.
    let r = f(unsafe { &mut *CACHE.slots.get() });
    // SAFETY: taken above.
    unsafe { CACHE.lock.unlock() };
    r
}

/// A cached mapping of at least `need` bytes and at most twice that (the
/// smallest such), taken out of the cache, with its length.
pub fn take(need: usize) -> Option<(*mut u8, usize)> {
    with(|s| {
        let mut best: Option<usize> = None;
        for i in 0..SLOTS {
            let l = s.len[i];
            if !s.base[i].is_null()
                && l >= need
                && l / 2 <= need
                && best.is_none_or(|b| l < s.len[b])
            {
                best = Some(i);
            }
        }
        let i = best?;
        let got = (s.base[i], s.len[i]);
        s.base[i] = ptr::null_mut();
        s.bytes -= got.1;
        Some(got)
    })
}

/// Offers a freed mapping to the cache; `false` when it does not fit (the
/// caller unmaps it).
pub fn put(base: *mut u8, len: usize) -> bool {
    // Under memcheck (feature `valgrind`) a freed mapping is unmapped, so a
    // reused one is never a freed, no-access block.
    if len > MAX_ONE || crate::vg::ON {
        return false;
    }
    with(|s| {
        if s.bytes + len > MAX_BYTES {
            return false;
        }
        let Some(i) = (0..SLOTS).find(|&i| s.base[i].is_null()) else {
            return false;
        };
        s.base[i] = base;
        s.len[i] = len;
        s.bytes += len;
        true
    })
}

/// Takes the cache's lock (fork's `prepare`).
pub fn lock() {
    CACHE.lock.lock();
}

/// Releases the cache's lock.
///
/// # Safety
/// As for [`SpinLock::unlock`]: the caller took it with [`lock`].
pub unsafe fn unlock() {
    // SAFETY: the caller's contract.
    unsafe { CACHE.lock.unlock() };
}
