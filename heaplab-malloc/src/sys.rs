//! What the allocator asks of the operating system, none of which allocates:
//! aligned anonymous mappings, one-line reports through `write(2)`, the fatal
//! path (a line, then `abort`), and the spin lock every design uses.
//!
//! Nothing here panics: a panic would format its message and box its payload
//! through `malloc`, that is through us, possibly under one of our locks.

use core::fmt::{self, Write};
use core::hint::spin_loop;
use core::ptr;
use core::sync::atomic::{AtomicBool, Ordering};

/// Writes `bytes` to standard error, ignoring failures (there is no one to
/// tell).
pub fn write_stderr(bytes: &[u8]) {
    write_fd(2, bytes);
}

/// Writes `bytes` to descriptor `fd`, ignoring failures.
pub fn write_fd(fd: i32, bytes: &[u8]) {
    let mut rest = bytes;
    while !rest.is_empty() {
        // SAFETY: `rest` is a live byte slice; write(2) reads at most its length.
        let n = unsafe { libc::write(fd, rest.as_ptr().cast(), rest.len()) };
        if n <= 0 {
            return;
        }
        rest = &rest[n as usize..];
    }
}

/// A fixed buffer that `core::fmt` writes into without allocating; text past
/// its end is cut.
pub struct LineBuf {
    buf: [u8; 512],
    len: usize,
}

impl LineBuf {
    pub const fn new() -> Self {
        LineBuf {
            buf: [0; 512],
            len: 0,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Write for LineBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len() - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Prints one line (`heaplab-malloc: ...`) to standard error and aborts: the
/// only way out of a broken invariant that neither unwinds nor allocates.
#[cold]
#[inline(never)]
pub fn fatal(args: fmt::Arguments<'_>) -> ! {
    let mut line = LineBuf::new();
    let _ = line.write_str("heaplab-malloc: fatal: ");
    let _ = line.write_fmt(args);
    let _ = line.write_str("\n");
    write_stderr(line.as_bytes());
    // SAFETY: abort(3) has no preconditions; it does not return.
    unsafe { libc::abort() }
}

/// Maps `len` bytes (a multiple of the page size) of zeroed, private,
/// anonymous memory whose start is a multiple of `align` (a power of two, at
/// least a page). Null when the system refuses.
pub fn map_aligned(len: usize, align: usize) -> *mut u8 {
    let Some(span) = len.checked_add(align) else {
        return ptr::null_mut();
    };
    // SAFETY: an anonymous private mapping at an address of the kernel's
    // choosing touches no existing memory.
    let raw = unsafe {
        libc::mmap(
            ptr::null_mut(),
            span,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if raw == libc::MAP_FAILED {
        return ptr::null_mut();
    }
    let start = raw as usize;
    let aligned = (start + align - 1) & !(align - 1);
    let head = aligned - start;
    let tail = span - head - len;
    // SAFETY: both trimmed pieces lie inside the mapping just made and are
    // page-aligned (start, aligned and len are multiples of the page size);
    // no one else knows of them yet.
    unsafe {
        if head > 0 {
            libc::munmap(raw, head);
        }
        if tail > 0 {
            libc::munmap((aligned + len) as *mut libc::c_void, tail);
        }
    }
    aligned as *mut u8
}

/// Maps `len` zeroed bytes anywhere (metadata: range-map leaves, heaps).
pub fn map_plain(len: usize) -> *mut u8 {
    // SAFETY: as in `map_aligned`: a fresh anonymous mapping.
    let raw = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if raw == libc::MAP_FAILED {
        ptr::null_mut()
    } else {
        raw.cast()
    }
}

/// Gives a mapping back.
///
/// # Safety
/// `[p, p + len)` is a whole mapping (or whole pages of one) made by this
/// module, and nothing will touch it again.
pub unsafe fn unmap(p: *mut u8, len: usize) {
    // SAFETY: the caller gives up the pages.
    unsafe { libc::munmap(p.cast(), len) };
}

/// A lock that neither allocates nor parks in the kernel through anything
/// that could allocate: an atomic flag, spinning briefly and then yielding
/// the processor. Critical sections are a few dozen instructions (a pool list
/// edit) or one `mmap`, so a futex would rarely pay for itself.
pub struct SpinLock {
    held: AtomicBool,
}

impl SpinLock {
    pub const fn new() -> Self {
        SpinLock {
            held: AtomicBool::new(false),
        }
    }

    #[inline]
    pub fn lock(&self) {
        // Acquire: what the previous holder wrote before its Release unlock
        // is visible to us once we hold the flag.
        if self
            .held
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_slow();
        }
    }

    #[cold]
    fn lock_slow(&self) {
        let mut spins = 0u32;
        loop {
            // Relaxed: only a hint; the exchange below is what acquires.
            if !self.held.load(Ordering::Relaxed)
                && self
                    .held
                    .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                return;
            }
            spins += 1;
            if spins < 64 {
                spin_loop();
            } else {
                // On a machine with fewer cores than threads the holder may
                // be descheduled: give it the processor.
                // SAFETY: sched_yield(2) has no preconditions.
                unsafe { libc::sched_yield() };
            }
        }
    }

    /// Releases the lock.
    ///
    /// # Safety
    /// The caller holds it (or is the child of a fork whose parent held it
    /// in the thread that forked: the `atfork` child handler).
    #[inline]
    pub unsafe fn unlock(&self) {
        // Release: publishes the critical section to the next holder.
        self.held.store(false, Ordering::Release);
    }
}
