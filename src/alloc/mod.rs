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
pub mod large;
pub mod pool;
pub mod vg;
pub mod walk;

pub use arena::ArenaSource;
pub use large::LargeList;
pub use pool::{pool_of, remote_free as remote_free_block, ClassPools, PoolHeader, RemoteInbox};

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

/// The allocator refused a request: the heap's memory limit would be passed,
/// or the OS refused to map memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfMemory {
    /// Bytes asked for from the OS (an arena, or a large object).
    pub requested: usize,
    /// Bytes reserved when it was refused.
    pub reserved: usize,
    /// The heap's limit (usize::MAX when none).
    pub limit: usize,
}

/// Bytes reserved from the OS by one heap, with an optional limit
/// (`--max-heap`). Shared by the arena source and the large-object list.
pub struct MemoryBudget {
    limit: usize,
    reserved: crate::sync::AtomicUsize,
    reserved_peak: crate::sync::AtomicUsize,
}

impl MemoryBudget {
    pub fn new(limit: Option<usize>) -> Self {
        MemoryBudget {
            limit: limit.unwrap_or(usize::MAX),
            reserved: crate::sync::AtomicUsize::new(0),
            reserved_peak: crate::sync::AtomicUsize::new(0),
        }
    }

    /// Takes `bytes` from the budget, or says why not.
    pub fn reserve(&self, bytes: usize) -> Result<(), OutOfMemory> {
        use crate::sync::Ordering::Relaxed;
        let mut current = self.reserved.load(Relaxed);
        loop {
            let next = current.saturating_add(bytes);
            if next > self.limit {
                return Err(OutOfMemory {
                    requested: bytes,
                    reserved: current,
                    limit: self.limit,
                });
            }
            match self
                .reserved
                .compare_exchange_weak(current, next, Relaxed, Relaxed)
            {
                Ok(_) => {
                    self.reserved_peak.fetch_max(next, Relaxed);
                    return Ok(());
                }
                Err(seen) => current = seen,
            }
        }
    }

    pub fn release(&self, bytes: usize) {
        self.reserved
            .fetch_sub(bytes, crate::sync::Ordering::Relaxed);
    }

    pub fn reserved(&self) -> usize {
        self.reserved.load(crate::sync::Ordering::Relaxed)
    }

    pub fn reserved_peak(&self) -> usize {
        self.reserved_peak.load(crate::sync::Ordering::Relaxed)
    }

    pub fn limit(&self) -> Option<usize> {
        (self.limit != usize::MAX).then_some(self.limit)
    }
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

    #[test]
    fn budget_refuses_past_the_limit() {
        let b = MemoryBudget::new(Some(100));
        assert!(b.reserve(60).is_ok());
        let err = b.reserve(60).unwrap_err();
        assert_eq!(err.reserved, 60);
        assert_eq!(err.limit, 100);
        b.release(60);
        assert!(b.reserve(100).is_ok());
        assert_eq!(b.reserved_peak(), 100);
    }
}
