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
use super::{Domain, POOL_SIZE};
use crate::sync::Ordering;

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

    /// Calls `f` for every live block, asking the cache for the block
    /// `PREFETCH_AHEAD` on as it goes (the hardware's own stream prefetch
    /// stops at each 4 KiB page, a pool's 64-byte blocks cross one every 64).
    pub fn for_each_live(&self, mut f: impl FnMut(*mut u8)) {
        for i in 0..self.bumped {
            if i + PREFETCH_AHEAD < self.bumped {
                prefetch(self.block(i + PREFETCH_AHEAD));
            }
            if !self.is_free(i) {
                f(self.block(i));
            }
        }
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
