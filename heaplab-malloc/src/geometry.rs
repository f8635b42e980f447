//! Geometry: granules, arenas, pools and size classes, derived from a few
//! shifts. The leaf of the crate: everything else stands on these numbers.
//!
//! ```text
//!   address space   one byte of the range map per 1 MiB granule (rangemap.rs)
//!    ├── arena      1 MiB, one granule, aligned: 16 pools        (source.rs)
//!    │    └── pool  64 KiB, aligned; header in its first 128 bytes (pool.rs)
//!    │         └── block   16 .. 8192 bytes, one size class
//!    └── large      > 8192 bytes (or over-aligned): its own mapping,
//!                   starting on a granule, header at its start   (large.rs)
//! ```
//!
//! Size classes: heaplab's (CPython's since 3.8) up to 512 bytes, 16 apart;
//! then four per doubling up to 8 KiB (mimalloc's spacing). heaplab itself
//! never asks for more than 512 bytes, but a C malloc sees many requests of a
//! few KiB (CPython's dict tables and list arrays under `PYTHONMALLOC=malloc`),
//! and sending each of those to `mmap` would cost three system calls and
//! fresh page faults per request. Pools are therefore 64 KiB (heaplab's are
//! 16 KiB), so that an 8 KiB class still gets seven blocks a pool.
//!
//! | request (bytes) | block size | class |
//! |---|---|---|
//! | 0-16 | 16 | 0 |
//! | 17-32 | 32 | 1 |
//! | ... | 16 apart | ... |
//! | 497-512 | 512 | 31 |
//! | 513-640 | 640 | 32 |
//! | 641-768 | 768 | 33 |
//! | 769-896 | 896 | 34 |
//! | 897-1024 | 1024 | 35 |
//! | ... | four per doubling | ... |
//! | 7169-8192 | 8192 | 47 |
//!
//! (Checked by a unit test against [`size_class`] and [`class_block_size`].)

/// A granule: the unit of the range map; every arena is one granule.
pub const GRANULE_SHIFT: u32 = 20; // 1 MiB
pub const GRANULE: usize = 1 << GRANULE_SHIFT;
/// An arena: mapped in one piece, aligned to its size.
pub const ARENA_SIZE: usize = GRANULE;
/// A pool: one size class; header at its start, found by masking.
pub const POOL_SHIFT: u32 = 16; // 64 KiB
pub const POOL_SIZE: usize = 1 << POOL_SHIFT;
/// Pools in one arena.
pub const POOLS_PER_ARENA: usize = ARENA_SIZE / POOL_SIZE; // 16
/// Bytes before a pool's first block (its header, padded).
pub const POOL_HEADER: usize = 128;
/// Every block and every pointer returned is aligned to this.
pub const ALIGNMENT: usize = 16;
/// The largest class spaced `ALIGNMENT` apart (heaplab's `MAX_SMALL`).
pub const MAX_FINE: usize = 512;
/// Classes spaced `ALIGNMENT` apart.
pub const NUM_FINE: usize = MAX_FINE / ALIGNMENT; // 32
/// The largest request served from pools; larger ones are mapped alone.
pub const MAX_SMALL: usize = 8192;
/// All classes: the fine ones and four per doubling from 512 to 8192.
pub const NUM_CLASSES: usize = NUM_FINE + 4 * 4; // 48
/// The page size assumed for rounding large mappings (checked at start-up).
pub const PAGE: usize = 4096;
/// Bytes before the user's pointer in a large mapping (its header).
pub const LARGE_HEADER: usize = 64;
/// Address bits the range map covers (x86-64 and aarch64 user space with
/// 4-level tables); addresses above are never ours (we never ask for them).
pub const ADDRESS_BITS: u32 = 48;

const _: () = assert!(POOL_SIZE.is_power_of_two() && POOLS_PER_ARENA * POOL_SIZE == ARENA_SIZE);
const _: () = assert!(POOL_HEADER.is_multiple_of(64) && POOL_HEADER < POOL_SIZE);
const _: () = assert!((POOL_SIZE - POOL_HEADER) / MAX_SMALL >= 7);
const _: () = assert!(class_block_size(NUM_CLASSES - 1) == MAX_SMALL);
const _: () = assert!(LARGE_HEADER >= 3 * 8 && LARGE_HEADER.is_multiple_of(ALIGNMENT));

/// The size class serving a request of `size` bytes (0..=MAX_SMALL; 0 is
/// served as 1).
#[inline(always)]
pub const fn size_class(size: usize) -> usize {
    if size <= MAX_FINE {
        return size.saturating_sub(1) / ALIGNMENT;
    }
    let s = size - 1;
    // b = floor(log2(s)): 9 for 513..=1024, up to 12 for 4097..=8192.
    let b = (usize::BITS - 1 - s.leading_zeros()) as usize;
    NUM_FINE + (b - 9) * 4 + ((s >> (b - 2)) - 4)
}

/// The block size of a class.
#[inline(always)]
pub const fn class_block_size(class: usize) -> usize {
    if class < NUM_FINE {
        return (class + 1) * ALIGNMENT;
    }
    let g = class - NUM_FINE;
    let b = 9 + g / 4;
    ((g % 4) + 5) << (b - 2)
}

/// Rounds `n` up to a multiple of the power of two `to` (no overflow check:
/// callers bound `n` first).
#[inline(always)]
pub const fn round_up(n: usize, to: usize) -> usize {
    (n + to - 1) & !(to - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_class_table_in_the_docs_holds() {
        let rows = [
            (0, 16, 0),
            (1, 16, 0),
            (16, 16, 0),
            (17, 32, 1),
            (512, 512, 31),
            (513, 640, 32),
            (640, 640, 32),
            (641, 768, 33),
            (896, 896, 34),
            (1024, 1024, 35),
            (1025, 1280, 36),
            (7169, 8192, 47),
            (8192, 8192, 47),
        ];
        for (req, bs, class) in rows {
            assert_eq!(size_class(req), class, "request {req}");
            assert_eq!(class_block_size(class), bs, "class {class}");
        }
    }

    #[test]
    fn every_request_fits_its_block_and_classes_grow() {
        for size in 1..=MAX_SMALL {
            let c = size_class(size);
            assert!(c < NUM_CLASSES);
            let bs = class_block_size(c);
            assert!(bs >= size, "size {size} block {bs}");
            assert_eq!(bs % ALIGNMENT, 0);
            if c > 0 {
                assert!(
                    class_block_size(c - 1) < size,
                    "size {size} fits a smaller class"
                );
            }
        }
        // Blocks of the geometric classes are multiples of 128, so that the
        // 64-byte alignments (posix_memalign) can be served from pools.
        for c in NUM_FINE..NUM_CLASSES {
            assert_eq!(class_block_size(c) % 128, 0);
        }
    }
}
