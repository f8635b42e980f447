//! `Memory`: everything one heap takes from the OS, in one owner.
//!
//! ```text
//!   Memory
//!    ├── budget   bytes reserved, peak, limit (--max-heap)
//!    ├── arenas   1 MiB mappings carved into pools       (ArenaSource)
//!    └── large    requests over 512 bytes, on a list     (LargeList)
//! ```
//!
//! The budget lives inline and is lent to the arena source and the large
//! list on each call that reserves or releases, so no part holds a pointer
//! into another (a boxed budget reached through a raw pointer was undefined
//! behaviour once the box moved). Class tables ask `Memory` for pools;
//! the policies own the class tables; the heap owns the `Memory`.

use super::arena::{ArenaSource, ArenaStats};
use super::budget::{MemoryBudget, OutOfMemory};
use super::large::LargeList;
use super::pool_header::PoolHeader;
use super::Domain;

/// The memory of one heap.
pub struct Memory {
    budget: MemoryBudget,
    arenas: ArenaSource,
    large: LargeList,
}

impl Memory {
    /// Empty memory with an optional limit in bytes.
    pub fn new(limit: Option<usize>) -> Self {
        Memory {
            budget: MemoryBudget::new(limit),
            arenas: ArenaSource::new(),
            large: LargeList::new(),
        }
    }

    pub fn budget(&self) -> &MemoryBudget {
        &self.budget
    }

    pub fn arenas(&self) -> &ArenaSource {
        &self.arenas
    }

    pub fn large(&self) -> &LargeList {
        &self.large
    }

    pub fn arena_stats(&self) -> ArenaStats {
        self.arenas.stats()
    }

    /// A free pool (header not yet initialised), mapping an arena if needed.
    #[cold]
    pub fn take_pool(&self) -> Result<*mut PoolHeader, OutOfMemory> {
        self.arenas.take_pool(&self.budget)
    }

    /// Gives an empty pool back to its arena.
    ///
    /// # Safety
    /// As [`ArenaSource::give_back_pool`]: `pool` came from `take_pool` of
    /// this memory, holds no live block and is on no class table's list.
    #[cold]
    pub unsafe fn give_back_pool(&self, pool: *mut PoolHeader) {
        // SAFETY: forwarded.
        unsafe { self.arenas.give_back_pool(pool, &self.budget) }
    }

    /// A large block of `size` bytes (uninitialised), linked on the list.
    pub fn alloc_large(&self, size: usize, domain: Domain) -> Result<*mut u8, OutOfMemory> {
        self.large.alloc(size, domain, &self.budget)
    }

    /// Frees a large block.
    ///
    /// # Safety
    /// `block` came from `alloc_large` of this memory and is not used any more.
    pub unsafe fn free_large(&self, block: *mut u8) {
        // SAFETY: forwarded.
        unsafe { self.large.free(block, &self.budget) }
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        // Under memcheck, blocks still live when the heap goes (immortal
        // objects, or a heap dropped with objects in it) are released here:
        // tell memcheck, or it sees the next heap's blocks at the same
        // addresses overlap them.
        #[cfg(feature = "valgrind")]
        self.arenas.for_each_carved_pool(|p| {
            // SAFETY: the heap is being dropped: nothing allocates.
            if let Ok(Some(scan)) = unsafe { super::walk::scan_pool(p) } {
                scan.for_each_live(|b| super::vg::free_like(b));
            }
        });
        // The arena source and the large list give their memory back as
        // they drop, after this.
    }
}
