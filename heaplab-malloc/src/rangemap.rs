//! The range map: which 1 MiB granules of the address space are ours, and
//! how. This is our `address_in_range` (CPython's `obmalloc.c`), in the form
//! CPython adopted in 3.10: a radix tree over the address, so that telling
//! our blocks from foreign ones never reads memory that may not be mapped
//! (the old trick read a pool header at the masked address of any pointer).
//!
//! Two levels: a static root of 4096 leaf pointers (each leaf covers 64 GiB)
//! and leaves of 65536 one-byte entries, mapped on first use and never given
//! back. A byte says:
//!
//! | entry | meaning |
//! |---|---|
//! | `FOREIGN` (0) | not ours (or never was) |
//! | `ARENA` | the whole granule is one of our arenas |
//! | `LARGE_START` | a large mapping starts at the granule's base |
//! | `LARGE_MORE` | a large mapping that started in an earlier granule covers the granule's base |
//!
//! A large mapping starts on a granule but need not fill its last one: the
//! kernel may place someone else's mapping after its end, so a large entry
//! is followed by a check of the address against the mapping's length
//! (large.rs).
//!
//! Entries are written before the memory they describe is handed out and
//! cleared before it is unmapped; a reader only asks about an address it got
//! from a program that got it from us, so the happens-before that carried the
//! pointer carries the entry too: loads and stores are Relaxed.

use crate::geometry::{ADDRESS_BITS, GRANULE_SHIFT};
use crate::sys::{fatal, map_plain, unmap};
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU8, Ordering};

pub const FOREIGN: u8 = 0;
pub const ARENA: u8 = 1;
pub const LARGE_START: u8 = 2;
pub const LARGE_MORE: u8 = 3;

const INDEX_BITS: u32 = ADDRESS_BITS - GRANULE_SHIFT; // 28
const LEAF_BITS: u32 = 16;
const ROOT_BITS: u32 = INDEX_BITS - LEAF_BITS; // 12
const LEAF_LEN: usize = 1 << LEAF_BITS; // 64 KiB of entries

#[allow(clippy::declare_interior_mutable_const)]
const NO_LEAF: AtomicPtr<AtomicU8> = AtomicPtr::new(ptr::null_mut());
static ROOT: [AtomicPtr<AtomicU8>; 1 << ROOT_BITS] = [NO_LEAF; 1 << ROOT_BITS];

#[inline(always)]
fn split(addr: usize) -> Option<(usize, usize)> {
    if addr >> ADDRESS_BITS != 0 {
        return None;
    }
    let g = addr >> GRANULE_SHIFT;
    Some((g >> LEAF_BITS, g & (LEAF_LEN - 1)))
}

/// The entry of the granule holding `addr`.
#[inline(always)]
pub fn kind_of(addr: usize) -> u8 {
    let Some((r, i)) = split(addr) else {
        return FOREIGN;
    };
    // Acquire: pairs with the Release that published the leaf, so its
    // zeroed pages are seen as such (mmap's zeroes need no ordering, but the
    // pointer must not be seen before the mapping exists).
    let leaf = ROOT[r].load(Ordering::Acquire);
    if leaf.is_null() {
        return FOREIGN;
    }
    // SAFETY: a published leaf is a live mapping of LEAF_LEN entries, never
    // unmapped, and i < LEAF_LEN.
    unsafe { (*leaf.add(i)).load(Ordering::Relaxed) }
}

/// Sets the entry of the granule holding `addr`, mapping its leaf if needed.
pub fn set(addr: usize, kind: u8) {
    let Some((r, i)) = split(addr) else {
        fatal(format_args!("mapping at {addr:#x} beyond the range map"));
    };
    let mut leaf = ROOT[r].load(Ordering::Acquire);
    if leaf.is_null() {
        let fresh = map_plain(LEAF_LEN).cast::<AtomicU8>();
        if fresh.is_null() {
            fatal(format_args!("cannot map a range-map leaf"));
        }
        // AcqRel: Release publishes the fresh mapping; Acquire (on failure)
        // sees the winner's.
        match ROOT[r].compare_exchange(ptr::null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => leaf = fresh,
            Err(winner) => {
                // SAFETY: `fresh` was never published; no one else knows it.
                unsafe { unmap(fresh.cast(), LEAF_LEN) };
                leaf = winner;
            }
        }
    }
    // SAFETY: as in `kind_of`.
    unsafe { (*leaf.add(i)).store(kind, Ordering::Relaxed) };
}
