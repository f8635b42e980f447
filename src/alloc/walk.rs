//! Walking the heap's blocks: which are live and which are free.
//!
//! A pool's live blocks are those below its bump offset that are on neither
//! its free list nor its remote-free stack. Both lists are checked as they
//! are walked (inside the pool, on a block boundary, below the bump mark, no
//! repeats), so a corrupted list is reported instead of followed. The
//! verifier and the collector's pool walk (free-threaded CPython's way of
//! finding containers) both stand on this. Only valid while no thread
//! allocates or frees (the world is stopped, or the heap is quiescent).
//!
//! For the collector's walk a scan also carries a `done` bit per block
//! that its user sets for blocks it finished ahead of the walk (found
//! through [`ScanIndex`], by address), so the walk passes them by without
//! reading them; and the walk prefetches ahead of itself.

use super::arena::ArenaSource;
use super::pool_header::{FreeBlock, PoolHeader, FIRST_BLOCK, POOL_UNUSED};
use super::{Domain, ARENA_SIZE, POOLS_PER_ARENA, POOL_SIZE};
use crate::sync::Ordering;
use std::cell::Cell;

/// What a scan found in one pool.
pub struct PoolScan {
    pub pool: *mut PoolHeader,
    pub domain: Domain,
    pub class: usize,
    pub block_size: usize,
    /// Blocks ever handed out (below the bump mark).
    pub bumped: usize,
    /// Bit i set: block i is free (local or remote list).
    free: Vec<u64>,
    /// Bit i set: block i was marked done by the walk's user (`mark_done`),
    /// and `for_each_live_undone` passes it by without reading it.
    done: Vec<Cell<u64>>,
    pub free_local: usize,
    pub free_remote: usize,
}

impl PoolScan {
    pub fn is_free(&self, i: usize) -> bool {
        self.free[i / 64] & (1 << (i % 64)) != 0
    }

    pub fn live(&self) -> usize {
        self.bumped - self.free_local - self.free_remote
    }

    pub fn block(&self, i: usize) -> *mut u8 {
        // Offsets from the pool pointer keep its provenance (wrapping: only
        // blocks below the bump mark, inside the pool, are ever asked for).
        (self.pool as *mut u8).wrapping_add(FIRST_BLOCK + i * self.block_size)
    }

    /// Calls `f` for every live block.
    pub fn for_each_live(&self, mut f: impl FnMut(*mut u8)) {
        for i in 0..self.bumped {
            if !self.is_free(i) {
                f(self.block(i));
            }
        }
    }

    /// Marks block `b` of this pool done: `for_each_live_undone` will not
    /// visit it. A pointer that is not a block of the pool marks nothing.
    pub fn mark_done(&self, b: *const u8) {
        let off = (b as usize).wrapping_sub(self.pool as usize + FIRST_BLOCK);
        let i = off / self.block_size;
        if i < self.bumped && off.is_multiple_of(self.block_size) {
            let w = &self.done[i / 64];
            w.set(w.get() | 1 << (i % 64));
        }
    }

    /// Calls `f` for every live block not marked done (also those marked
    /// by `f` itself, ahead of the walk), asking the cache for the block
    /// `PREFETCH_AHEAD` on as it goes (the hardware's own stream prefetch
    /// stops at each 4 KiB page; a pool's 64-byte blocks cross one every 64).
    pub fn for_each_live_undone(&self, mut f: impl FnMut(*mut u8)) {
        let skip = |i: usize| self.is_free(i) || self.done[i / 64].get() & (1 << (i % 64)) != 0;
        for w in 0..self.free.len() {
            // Blocks of this word below the bump mark, not yet visited.
            let mut left = if (w + 1) * 64 <= self.bumped {
                u64::MAX
            } else {
                (1u64 << (self.bumped % 64)) - 1
            };
            loop {
                // Re-read: `f` may have marked blocks of this word done.
                let todo = left & !self.free[w] & !self.done[w].get();
                if todo == 0 {
                    break;
                }
                let b = todo.trailing_zeros() as usize;
                left &= !(1 << b);
                let i = w * 64 + b;
                let ahead = i + PREFETCH_AHEAD;
                if ahead < self.bumped && !skip(ahead) {
                    prefetch(self.block(ahead));
                }
                f(self.block(i));
            }
        }
    }
}

/// Finds the scan of the pool that holds an address, by the arena's
/// address (arenas are `ARENA_SIZE`-aligned, pools `POOL_SIZE`-aligned in
/// them), remembering the last arena found: a walk's children tend to lie
/// in the arena of the one before.
pub struct ScanIndex {
    /// Sorted arena bases and, for each, the index of its first slot.
    arenas: Vec<usize>,
    /// Per arena, `ARENA_SIZE / POOL_SIZE` slots: the scan's index, or
    /// `u32::MAX` for a pool without one.
    slots: Vec<u32>,
    last: Cell<(usize, usize)>,
}

impl ScanIndex {
    pub fn new(scans: &[PoolScan]) -> ScanIndex {
        let mut arenas: Vec<usize> = scans
            .iter()
            .map(|s| s.pool as usize & !(ARENA_SIZE - 1))
            .collect();
        arenas.sort_unstable();
        arenas.dedup();
        let mut slots = vec![u32::MAX; arenas.len() * POOLS_PER_ARENA];
        for (k, s) in scans.iter().enumerate() {
            let p = s.pool as usize;
            if let Ok(a) = arenas.binary_search(&(p & !(ARENA_SIZE - 1))) {
                slots[a * POOLS_PER_ARENA + (p % ARENA_SIZE) / POOL_SIZE] = k as u32;
            }
        }
        ScanIndex {
            arenas,
            slots,
            last: Cell::new((usize::MAX, 0)),
        }
    }

    /// The index in `scans` (as given to `new`) of the pool holding
    /// `addr`, if it has a scan.
    #[inline]
    pub fn find(&self, addr: usize) -> Option<usize> {
        let base = addr & !(ARENA_SIZE - 1);
        let (lb, la) = self.last.get();
        let a = if lb == base {
            la
        } else {
            let a = self.arenas.binary_search(&base).ok()?;
            self.last.set((base, a));
            a
        };
        let k = self.slots[a * POOLS_PER_ARENA + (addr % ARENA_SIZE) / POOL_SIZE];
        (k != u32::MAX).then_some(k as usize)
    }
}

/// How far ahead the walks prefetch, in blocks or item pointers: about
/// one main-memory latency's worth of a walk's per-block work.
pub const PREFETCH_AHEAD: usize = 16;

/// Asks the cache for the line at `p` ahead of its use: a hint, with no
/// effect on what the program computes (a no-op off x86-64, and under Miri).
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    // SAFETY: a prefetch does not access memory in the program's sense: it
    // cannot fault and has no effect but on the cache, for any address.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(p as *const i8)
    };
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let _ = p;
}

/// Scans one carved pool; `None` for a pool not in use.
///
/// # Safety
/// `pool` is a carved pool of a live arena and no thread allocates or frees.
pub unsafe fn scan_pool(pool: *mut PoolHeader) -> Result<Option<PoolScan>, String> {
    // SAFETY: the caller's contract: a carved pool whose header was written.
    let h = unsafe { &*pool };
    if h.class == POOL_UNUSED {
        return Ok(None);
    }
    let base = pool as usize;
    let bs = h.block_size as usize;
    if bs == 0
        || bs > super::MAX_SMALL
        || !bs.is_multiple_of(super::ALIGNMENT)
        || h.class as usize != bs / 16 - 1
    {
        return Err(format!(
            "pool {base:#x}: bad block size {bs} for class {}",
            h.class
        ));
    }
    let bump = h.bump as usize;
    if bump < FIRST_BLOCK
        || bump > h.limit as usize
        || h.limit as usize > POOL_SIZE
        || !(bump - FIRST_BLOCK).is_multiple_of(bs)
    {
        return Err(format!("pool {base:#x}: bump offset {bump} out of range"));
    }
    let bumped = (bump - FIRST_BLOCK) / bs;
    let domain = match h.domain {
        0 => Domain::Object,
        1 => Domain::Raw,
        d => return Err(format!("pool {base:#x}: bad domain {d}")),
    };
    let mut scan = PoolScan {
        pool,
        domain,
        class: h.class as usize,
        block_size: bs,
        bumped,
        free: vec![0; bumped.div_ceil(64)],
        done: (0..bumped.div_ceil(64)).map(|_| Cell::new(0)).collect(),
        free_local: 0,
        free_remote: 0,
    };
    let mut walk = |mut b: *mut FreeBlock, which: &str| -> Result<usize, String> {
        let mut n = 0;
        while !b.is_null() {
            let addr = b as usize;
            if addr < base + FIRST_BLOCK
                || addr >= base + bump
                || !(addr - base - FIRST_BLOCK).is_multiple_of(bs)
            {
                return Err(format!(
                    "pool {base:#x} (class {}): {which} free list points to {addr:#x}, not a handed-out block of the pool",
                    h.class
                ));
            }
            let i = (addr - base - FIRST_BLOCK) / bs;
            if scan.free[i / 64] & (1 << (i % 64)) != 0 {
                return Err(format!(
                    "pool {base:#x} (class {}): block {i} twice on the free lists",
                    h.class
                ));
            }
            scan.free[i / 64] |= 1 << (i % 64);
            n += 1;
            super::vg::open_link(b as *const u8);
            // SAFETY: checked above to be a block of this pool.
            let next = unsafe { (*b).next };
            super::vg::close_link(b as *const u8);
            b = next;
        }
        Ok(n)
    };
    scan.free_local = walk(h.free, "local")?;
    scan.free_remote = walk(h.remote_free.load(Ordering::Acquire), "remote")?;
    let used = h.allocated.wrapping_sub(h.freed);
    if scan.live() != used as usize - scan.free_remote {
        return Err(format!(
            "pool {base:#x} (class {}): header says {} used ({} remote-freed) but the walk finds {} live",
            h.class,
            used,
            scan.free_remote,
            scan.live()
        ));
    }
    Ok(Some(scan))
}

/// Scans every pool in use.
///
/// # Safety
/// No thread allocates or frees meanwhile.
pub unsafe fn scan_all(arenas: &ArenaSource) -> Result<Vec<PoolScan>, String> {
    let mut pools = Vec::new();
    arenas.for_each_carved_pool(|p| pools.push(p));
    let mut out = Vec::with_capacity(pools.len());
    for p in pools {
        // SAFETY: forwarded.
        if let Some(s) = unsafe { scan_pool(p)? } {
            out.push(s);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scan of a pretend pool at `addr` (never read: these functions only
    /// compute addresses from it).
    fn scan(addr: usize, bumped: usize, free: &[usize]) -> PoolScan {
        let mut s = PoolScan {
            pool: addr as *mut PoolHeader,
            domain: Domain::Object,
            class: 3,
            block_size: 64,
            bumped,
            free: vec![0; bumped.div_ceil(64)],
            done: (0..bumped.div_ceil(64)).map(|_| Cell::new(0)).collect(),
            free_local: free.len(),
            free_remote: 0,
        };
        for &i in free {
            s.free[i / 64] |= 1 << (i % 64);
        }
        s
    }

    #[test]
    fn the_walk_passes_by_free_and_done_blocks_even_those_done_on_the_way() {
        let s = scan(3 * ARENA_SIZE + 5 * POOL_SIZE, 150, &[3, 64, 149]);
        s.mark_done(s.block(5));
        s.mark_done(s.block(10).wrapping_add(8)); // not a block: nothing
        s.mark_done(s.block(200)); // past the bump mark: nothing
        let mut seen = Vec::new();
        s.for_each_live_undone(|b| {
            let i = (b as usize - s.block(0) as usize) / 64;
            seen.push(i);
            if i == 6 {
                s.mark_done(s.block(7)); // ahead of the walk
                s.mark_done(s.block(100)); // in the next word
            }
        });
        let want: Vec<usize> = (0..150)
            .filter(|i| ![3, 5, 7, 64, 100, 149].contains(i))
            .collect();
        assert_eq!(seen, want);
        let mut all = 0;
        s.for_each_live(|_| all += 1);
        assert_eq!(all, 147, "for_each_live ignores the done bits");
    }

    #[test]
    fn scan_index_finds_a_pool_by_any_address_inside_it() {
        let scans = vec![
            scan(7 * ARENA_SIZE + 2 * POOL_SIZE, 10, &[]),
            scan(3 * ARENA_SIZE + 5 * POOL_SIZE, 10, &[]),
            scan(7 * ARENA_SIZE + 63 * POOL_SIZE, 10, &[]),
        ];
        let ix = ScanIndex::new(&scans);
        for (k, s) in scans.iter().enumerate() {
            assert_eq!(ix.find(s.block(4) as usize), Some(k));
            assert_eq!(ix.find(s.pool as usize + POOL_SIZE - 1), Some(k));
        }
        assert_eq!(ix.find(7 * ARENA_SIZE + 3 * POOL_SIZE), None, "no scan");
        assert_eq!(ix.find(9 * ARENA_SIZE), None, "not an arena of the walk");
        assert_eq!(ix.find(3 * ARENA_SIZE + 5 * POOL_SIZE + 64), Some(1));
    }
}
