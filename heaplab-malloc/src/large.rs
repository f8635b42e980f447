//! Large blocks: requests above `MAX_SMALL`, and alignments above 64, each in
//! a mapping of its own that starts on a granule (so the range map can mark
//! it), with a header at the mapping's start:
//!
//! ```text
//!   granule-aligned base
//!   ├── Header { len, offset, magic }        LARGE_HEADER bytes (or `align`)
//!   └── user block at base + offset          offset = max(LARGE_HEADER, align)
//! ```
//!
//! The mapping's pages past the request are never touched, so rounding the
//! start up to a granule costs address space, not memory.
//!
//! Known limit: an address in the last granule of a large mapping, past its
//! end, belongs to whoever the kernel gave that space to; telling it is not
//! ours reads our header, and a concurrent `free` of our block could unmap
//! that header between the range-map lookup and the read. Only a program
//! that frees foreign pointers could meet this.

use crate::geometry::{round_up, ALIGNMENT, GRANULE, GRANULE_SHIFT, LARGE_HEADER, PAGE};
use crate::large_cache;
use crate::rangemap;
use crate::sys::{fatal, map_aligned, unmap};
use core::ptr;
use core::sync::atomic::{AtomicU64, Ordering};

const MAGIC: usize = 0x6865_6170_6c61_6221; // "heaplab!"

#[repr(C)]
struct Header {
    /// Bytes mapped (a multiple of the page size).
    len: usize,
    /// From the mapping's start to the user's block.
    offset: usize,
    /// `MAGIC ^ base`: a cheap check that the header is ours.
    magic: usize,
}

/// Large mappings made (statistics).
pub static MAPPED: AtomicU64 = AtomicU64::new(0);

/// A block of `size` bytes aligned to `align` (a power of two), zeroed when
/// `zero`; null when the request cannot be served.
pub fn alloc(size: usize, align: usize, zero: bool) -> *mut u8 {
    let align = align.max(ALIGNMENT);
    let offset = align.max(LARGE_HEADER);
    let Some(len) = size
        .checked_add(offset + PAGE - 1)
        .filter(|&n| n < isize::MAX as usize / 2)
        .map(|n| n & !(PAGE - 1))
    else {
        return ptr::null_mut();
    };
    if align <= GRANULE {
        if let Some((base, have)) = large_cache::take(len) {
            // SAFETY: a cached mapping is ours, unused, at least `len` long,
            // granule-aligned (so aligned to `align`), its header in place.
            unsafe {
                (*base.cast::<Header>()).offset = offset;
                let p = base.add(offset);
                if zero {
                    ptr::write_bytes(p, 0, size.min(have - offset));
                }
                return p;
            }
        }
    }
    let base = map_aligned(len, align.max(GRANULE));
    if base.is_null() {
        return ptr::null_mut();
    }
    MAPPED.fetch_add(1, Ordering::Relaxed);
    // SAFETY: the mapping is fresh (zeroed), at least LARGE_HEADER long and aligned.
    unsafe {
        base.cast::<Header>().write(Header {
            len,
            offset,
            magic: MAGIC ^ base as usize,
        })
    };
    let granules = round_up(len, GRANULE) >> GRANULE_SHIFT;
    rangemap::set(base as usize, rangemap::LARGE_START);
    for g in 1..granules {
        rangemap::set(base as usize + (g << GRANULE_SHIFT), rangemap::LARGE_MORE);
    }
    // SAFETY: offset < len.
    unsafe { base.add(offset) }
}

/// The header of the large mapping covering `addr` (whose range-map entry is
/// `LARGE_START` or `LARGE_MORE`), or null when `addr` lies past that
/// mapping's end (someone else's memory in its last granule).
fn header_of(addr: usize) -> *mut Header {
    let mut g = addr & !(GRANULE - 1);
    while rangemap::kind_of(g) == rangemap::LARGE_MORE {
        g -= GRANULE;
    }
    if rangemap::kind_of(g) != rangemap::LARGE_START {
        return ptr::null_mut();
    }
    let h = g as *mut Header;
    // SAFETY: a granule marked LARGE_START is the live base of one of our
    // mappings, whose header we wrote (see the module's known limit).
    let (len, magic) = unsafe { ((*h).len, (*h).magic) };
    if magic != MAGIC ^ g {
        fatal(format_args!("large header at {g:#x} is corrupt"));
    }
    if addr >= g + len {
        return ptr::null_mut();
    }
    h
}

/// Whether `addr` (a large-marked address) is ours; `false` for someone
/// else's memory sharing the last granule of one of our mappings.
pub fn owns(addr: usize) -> bool {
    !header_of(addr).is_null()
}

/// The usable size of a live large block.
///
/// # Safety
/// `p` is a live block returned by [`alloc`].
pub unsafe fn usable_size(p: *mut u8) -> usize {
    let h = checked(p);
    // SAFETY: `checked` found our live header.
    unsafe { (*h).len - (*h).offset }
}

fn checked(p: *mut u8) -> *mut Header {
    let h = header_of(p as usize);
    // SAFETY: a non-null header is ours and live (see `header_of`).
    if h.is_null() || h as usize + unsafe { (*h).offset } != p as usize {
        fatal(format_args!(
            "free or realloc of {p:p}, which is not a block we handed out"
        ));
    }
    h
}

/// Unmaps a large block.
///
/// # Safety
/// `p` is a live block returned by [`alloc`]; it is not used again.
pub unsafe fn free(p: *mut u8) {
    let h = checked(p);
    // SAFETY: our live header.
    let len = unsafe { (*h).len };
    let base = h as usize;
    // A second free of `p` must fail `checked`: no user pointer has offset 0.
    // SAFETY: our live header.
    unsafe { (*h).offset = 0 };
    if large_cache::put(h.cast(), len) {
        return;
    }
    let granules = round_up(len, GRANULE) >> GRANULE_SHIFT;
    // Clear the map before the space can be given to someone else.
    for g in 0..granules {
        rangemap::set(base + (g << GRANULE_SHIFT), rangemap::FOREIGN);
    }
    // SAFETY: the whole mapping is ours and, by the caller, unused now.
    unsafe { unmap(h.cast(), len) };
}
