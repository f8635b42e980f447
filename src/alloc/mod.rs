//! The small-object allocator: CPython's obmalloc design, shared by every policy.
//!
//! ```text
//!   OS (mmap / munmap)
//!    └── arena   1 MiB, aligned to 1 MiB         ArenaSource (one per heap, behind a lock: rare)
//!         └── pool   16 KiB, aligned to 16 KiB   one size class; header at its start
//!              └── block   16..=512 bytes         one object, or one list's item array
//! ```
//!
//! Glossary:
//! - **arena**: 1 MiB mapped straight from the OS; carved lazily into pools, so
//!   untouched pools never become resident. An arena whose pools are all free
//!   goes back to the OS, except one spare kept so that a program freeing and
//!   re-allocating at a boundary does not thrash mmap.
//! - **pool**: 16 KiB serving one size class of one *domain* (objects, or raw
//!   item arrays: CPython's `PyObject_Malloc` vs `PyMem_Malloc`). Its header
//!   sits at its start, so a block's pool is its address masked with
//!   `!(POOL_SIZE - 1)`. A pool hands out blocks from its free list first and
//!   then by bumping an offset.
//! - **block**: the unit handed out: `(class + 1) * 16` bytes.
//! - **class table**: the per-class lists of partly used pools
//!   ([`pool::ClassPools`], CPython's `usedpools`). Who owns a class table is
//!   the policy's choice: one shared table under the GIL, one table with a lock
//!   per class under `pool-locks`, one table per thread under `biased`.
//!
//! Size classes (CPython's since 3.8; requests are rounded up to 16 bytes):
//!
//! | request (bytes) | block size | class index |
//! |---|---|---|
//! | 1-16 | 16 | 0 |
//! | 17-32 | 32 | 1 |
//! | 33-48 | 48 | 2 |
//! | ... | ... | ... |
//! | 497-512 | 512 | 31 |
//!
//! (This table is checked by a unit test against [`size_class`].)
//!
//! Requests above [`MAX_SMALL`] go to the system allocator and are kept on a
//! list ([`large::LargeList`]) so that the verifier, the leak check and the
//! collector see them too.

pub mod arena;
pub mod block_counts;
pub mod budget;
pub mod large;
pub mod memory;
pub mod pool;
pub mod pool_header;
pub mod vg;
pub mod walk;

pub use arena::{ArenaSource, ArenaStats};
pub use block_counts::BlockCounts;
pub use budget::{MemoryBudget, OutOfMemory};
pub use large::LargeList;
pub use memory::Memory;
pub use pool::{remote_free as remote_free_block, ClassPools, ClassTable};
pub use pool_header::{pool_of, PoolHeader, RemoteInbox};

/// Alignment and spacing of size classes.
pub const ALIGNMENT: usize = 16;
/// The largest request served from pools.
pub const MAX_SMALL: usize = 512;
/// Number of size classes.
pub const NUM_CLASSES: usize = MAX_SMALL / ALIGNMENT;
/// A pool: one size class, header at its start.
pub const POOL_SIZE: usize = 16 * 1024;
/// An arena: mapped from the OS in one piece.
pub const ARENA_SIZE: usize = 1024 * 1024;
/// Pools in one arena.
pub const POOLS_PER_ARENA: usize = ARENA_SIZE / POOL_SIZE;

/// Which kind of memory a pool holds. Objects and raw item arrays live in
/// different pools so that the verifier can tell them apart by their pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Domain {
    /// Blocks that start with an object header.
    Object = 0,
    /// Item arrays of lists (non-object memory).
    Raw = 1,
}

/// Number of domains.
pub const NUM_DOMAINS: usize = 2;

// Class tables index (domain, class) by masking, which needs powers of two.
const _: () = assert!(NUM_CLASSES.is_power_of_two() && NUM_DOMAINS.is_power_of_two());

impl Domain {
    pub const ALL: [Domain; NUM_DOMAINS] = [Domain::Object, Domain::Raw];

    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The size class serving a request of `size` bytes (1..=MAX_SMALL).
#[inline(always)]
pub const fn size_class(size: usize) -> usize {
    (size.saturating_sub(1)) / ALIGNMENT
}

/// The block size of a class.
#[inline(always)]
pub const fn class_block_size(class: usize) -> usize {
    (class + 1) * ALIGNMENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_class_table_in_the_docs_holds() {
        assert_eq!(size_class(1), 0);
        assert_eq!(size_class(16), 0);
        assert_eq!(size_class(17), 1);
        assert_eq!(size_class(32), 1);
        assert_eq!(size_class(33), 2);
        assert_eq!(size_class(48), 2);
        assert_eq!(size_class(497), 31);
        assert_eq!(size_class(512), 31);
        assert_eq!(class_block_size(0), 16);
        assert_eq!(class_block_size(31), 512);
        assert_eq!(NUM_CLASSES, 32);
        assert_eq!(POOLS_PER_ARENA, 64);
        for size in 1..=MAX_SMALL {
            let bs = class_block_size(size_class(size));
            assert!(
                bs >= size && bs < size + ALIGNMENT,
                "size {size} block {bs}"
            );
        }
    }
}
