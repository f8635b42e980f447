//! Arenas: 1 MiB mapped from the OS, carved into pools.
//!
//! One `ArenaSource` per heap hands out free pools to whichever class table
//! needs one and takes empty pools back. It sits behind a lock under every
//! policy: a pool is 16 KiB of blocks, so this path runs once per hundreds of
//! allocations and its lock is never the bottleneck (the per-policy benches
//! show it).
//!
//! Choosing an arena follows CPython's `usable_arenas` order: the arena with
//! the fewest free pools (but at least one) goes first, so allocations pack
//! into the most-used arenas and the others get a chance to empty. Arenas are
//! kept in buckets by their count of free pools, with a bitmap of non-empty
//! buckets, so the choice is O(1).
//!
//! An arena whose pools are all free is unmapped, unless no other wholly free
//! arena is kept: then it stays as the one spare.

use super::budget::{MemoryBudget, OutOfMemory};
use super::pool_header::{PoolHeader, POOL_UNUSED};
use super::{ARENA_SIZE, POOLS_PER_ARENA, POOL_SIZE};
use crate::sync::{AtomicU64, AtomicUsize, Mutex, Ordering::Relaxed};
use std::ptr;

/// One mapped arena.
struct ArenaRec {
    /// Base of the mapping (aligned to ARENA_SIZE). A pointer, not an
    /// address, so that pools carved from it keep its provenance.
    base: *mut u8,
    /// Pools not in use: on `free_pools` or never carved.
    nfree: usize,
    /// Pools carved so far, from the arena's start; the rest were never touched.
    ncarved: usize,
    /// Singly linked (through `PoolHeader::next`) stack of pools given back.
    free_pools: *mut PoolHeader,
    /// Position in its bucket's vector.
    bucket_pos: usize,
}

struct ArenaState {
    arenas: Vec<Option<ArenaRec>>,
    free_slots: Vec<u32>,
    /// `buckets[n]`: slots of arenas with exactly `n` free pools (n >= 1).
    buckets: Vec<Vec<u32>>,
    /// Bit n set when `buckets[n]` is not empty.
    nonempty: u128,
}

// SAFETY: the raw pool pointers in the state point into arenas this state owns;
// the state is only touched under the `ArenaSource` mutex.
unsafe impl Send for ArenaState {}

/// Arena counters in the spirit of `sys._debugmallocstats()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ArenaStats {
    /// Arenas mapped over the heap's life.
    pub allocated: u64,
    /// Arenas unmapped over the heap's life.
    pub freed: u64,
    /// Arenas mapped now.
    pub current: u64,
    /// The most arenas mapped at once.
    pub high_water: u64,
}

/// The per-heap source of pools. The budget it reserves from is passed in
/// by its owner ([`super::Memory`]) on every call that maps or unmaps, so the
/// source holds no pointer to it.
pub struct ArenaSource {
    state: Mutex<ArenaState>,
    // Statistics, read by reports: they guard no memory, so every access is
    // Relaxed (the arenas themselves are handed out under `state`'s lock).
    allocated: AtomicU64,
    freed: AtomicU64,
    current: AtomicUsize,
    high_water: AtomicUsize,
}

impl Default for ArenaSource {
    fn default() -> Self {
        Self::new()
    }
}

impl ArenaSource {
    pub fn new() -> Self {
        ArenaSource {
            state: Mutex::new(ArenaState {
                arenas: Vec::new(),
                free_slots: Vec::new(),
                buckets: (0..=POOLS_PER_ARENA).map(|_| Vec::new()).collect(),
                nonempty: 0,
            }),
            allocated: AtomicU64::new(0),
            freed: AtomicU64::new(0),
            current: AtomicUsize::new(0),
            high_water: AtomicUsize::new(0),
        }
    }

    pub fn stats(&self) -> ArenaStats {
        ArenaStats {
            allocated: self.allocated.load(Relaxed),
            freed: self.freed.load(Relaxed),
            current: self.current.load(Relaxed) as u64,
            high_water: self.high_water.load(Relaxed) as u64,
        }
    }

    /// Takes a free pool (its header not yet initialised) from the most-used
    /// arena that has one, mapping a new arena when none has.
    #[cold]
    pub fn take_pool(&self, budget: &MemoryBudget) -> Result<*mut PoolHeader, OutOfMemory> {
        let mut st = self.state.lock();
        // Lowest bucket >= 1 that has arenas: the most-used arena with room.
        let candidates = st.nonempty & !1u128;
        let slot = if candidates != 0 {
            let n = candidates.trailing_zeros() as usize;
            *st.buckets[n].last().expect("bitmap says non-empty")
        } else {
            self.map_arena(&mut st, budget)?
        };
        let rec = st.arenas[slot as usize].as_mut().expect("live arena");
        let pool = if !rec.free_pools.is_null() {
            let p = rec.free_pools;
            // SAFETY: pools on the free stack are carved pools of this arena
            // whose headers we wrote when they were given back.
            rec.free_pools = unsafe { (*p).next };
            p
        } else {
            debug_assert!(rec.ncarved < POOLS_PER_ARENA);
            // SAFETY: `ncarved < POOLS_PER_ARENA`: inside the mapping.
            let p = unsafe { rec.base.add(rec.ncarved * POOL_SIZE) } as *mut PoolHeader;
            rec.ncarved += 1;
            p
        };
        let old = rec.nfree;
        rec.nfree -= 1;
        Self::rebucket(&mut st, slot, old, old - 1);
        // SAFETY: `pool` is inside a mapped arena; the arena slot index fits.
        unsafe { ptr::addr_of_mut!((*pool).arena_slot).write(slot) };
        Ok(pool)
    }

    /// Gives an empty pool back to its arena; unmaps the arena when all its
    /// pools are free and another wholly free arena is already kept.
    ///
    /// # Safety
    /// `pool` came from `take_pool` of this source, holds no live block and
    /// is on no class table's list.
    #[cold]
    pub unsafe fn give_back_pool(&self, pool: *mut PoolHeader, budget: &MemoryBudget) {
        let mut st = self.state.lock();
        // SAFETY: the caller's contract: a carved pool of ours.
        let slot = unsafe { (*pool).arena_slot };
        let rec = st.arenas[slot as usize].as_mut().expect("live arena");
        // SAFETY: as above; we own the pool's header now.
        unsafe {
            (*pool).class = POOL_UNUSED;
            (*pool).next = rec.free_pools;
        }
        rec.free_pools = pool;
        let old = rec.nfree;
        rec.nfree += 1;
        if rec.nfree == POOLS_PER_ARENA && !st.buckets[POOLS_PER_ARENA].is_empty() {
            // Another wholly free arena is already the spare: return this one.
            Self::remove_from_bucket(&mut st, slot, old);
            let rec = st.arenas[slot as usize].take().expect("live arena");
            st.free_slots.push(slot);
            drop(st);
            // SAFETY: `rec.base` was mapped by `map_arena` with ARENA_SIZE and
            // no pool of it is in use.
            unsafe { unmap(rec.base, ARENA_SIZE) };
            budget.release(ARENA_SIZE);
            self.freed.fetch_add(1, Relaxed);
            self.current.fetch_sub(1, Relaxed);
        } else {
            Self::rebucket(&mut st, slot, old, old + 1);
        }
    }

    /// Calls `f(pool)` for every carved pool of every arena, in use or not.
    /// Only meaningful while no thread allocates (the verifier's view).
    pub fn for_each_carved_pool(&self, mut f: impl FnMut(*mut PoolHeader)) {
        let st = self.state.lock();
        for rec in st.arenas.iter().flatten() {
            for i in 0..rec.ncarved {
                // SAFETY: `i < ncarved <= POOLS_PER_ARENA`: inside the mapping.
                f(unsafe { rec.base.add(i * POOL_SIZE) } as *mut PoolHeader);
            }
        }
    }

    /// Checks the arena bookkeeping: each arena's free count agrees with its
    /// free stack and carving mark, and each arena sits in the right bucket.
    pub fn check(&self) -> Result<(), String> {
        let st = self.state.lock();
        for (slot, rec) in st.arenas.iter().enumerate() {
            let Some(rec) = rec else { continue };
            let mut on_stack = 0;
            let mut p = rec.free_pools;
            while !p.is_null() {
                on_stack += 1;
                if on_stack > POOLS_PER_ARENA {
                    return Err(format!("arena {slot}: free pool stack has a cycle"));
                }
                let addr = p as usize;
                let base = rec.base as usize;
                if addr < base || addr >= base + rec.ncarved * POOL_SIZE {
                    return Err(format!("arena {slot}: free pool {addr:#x} outside it"));
                }
                // SAFETY: checked to be a carved pool of this arena.
                unsafe {
                    if (*p).class != POOL_UNUSED {
                        return Err(format!("arena {slot}: pool {addr:#x} on free stack in use"));
                    }
                    p = (*p).next;
                }
            }
            if on_stack + POOLS_PER_ARENA - rec.ncarved != rec.nfree {
                return Err(format!(
                    "arena {slot}: nfree {} but {} on stack and {} never carved",
                    rec.nfree,
                    on_stack,
                    POOLS_PER_ARENA - rec.ncarved
                ));
            }
            if rec.nfree > 0 && st.buckets[rec.nfree].get(rec.bucket_pos) != Some(&(slot as u32)) {
                return Err(format!("arena {slot}: not in bucket {}", rec.nfree));
            }
        }
        Ok(())
    }

    /// Pools in use per arena, for tests of the packing order.
    pub fn pools_in_use_per_arena(&self) -> Vec<usize> {
        let st = self.state.lock();
        st.arenas
            .iter()
            .flatten()
            .map(|r| POOLS_PER_ARENA - r.nfree)
            .collect()
    }

    fn map_arena(&self, st: &mut ArenaState, budget: &MemoryBudget) -> Result<u32, OutOfMemory> {
        budget.reserve(ARENA_SIZE)?;
        let base = match map_aligned(ARENA_SIZE) {
            Some(b) => b,
            None => {
                budget.release(ARENA_SIZE);
                return Err(OutOfMemory {
                    requested: ARENA_SIZE,
                    reserved: budget.reserved(),
                    limit: budget.limit().unwrap_or(usize::MAX),
                });
            }
        };
        let rec = ArenaRec {
            base,
            nfree: POOLS_PER_ARENA,
            ncarved: 0,
            free_pools: ptr::null_mut(),
            bucket_pos: 0,
        };
        let slot = match st.free_slots.pop() {
            Some(s) => {
                st.arenas[s as usize] = Some(rec);
                s
            }
            None => {
                st.arenas.push(Some(rec));
                (st.arenas.len() - 1) as u32
            }
        };
        Self::add_to_bucket(st, slot, POOLS_PER_ARENA);
        self.allocated.fetch_add(1, Relaxed);
        let now = self.current.fetch_add(1, Relaxed) + 1;
        self.high_water.fetch_max(now, Relaxed);
        Ok(slot)
    }

    fn rebucket(st: &mut ArenaState, slot: u32, old: usize, new: usize) {
        if old > 0 {
            Self::remove_from_bucket(st, slot, old);
        }
        if new > 0 {
            Self::add_to_bucket(st, slot, new);
        }
    }

    fn add_to_bucket(st: &mut ArenaState, slot: u32, n: usize) {
        let pos = st.buckets[n].len();
        st.buckets[n].push(slot);
        st.nonempty |= 1u128 << n;
        st.arenas[slot as usize].as_mut().expect("live").bucket_pos = pos;
    }

    fn remove_from_bucket(st: &mut ArenaState, slot: u32, n: usize) {
        let pos = st.arenas[slot as usize].as_ref().expect("live").bucket_pos;
        let bucket = &mut st.buckets[n];
        debug_assert_eq!(bucket[pos], slot);
        bucket.swap_remove(pos);
        if let Some(&moved) = bucket.get(pos) {
            st.arenas[moved as usize].as_mut().expect("live").bucket_pos = pos;
        }
        if st.buckets[n].is_empty() {
            st.nonempty &= !(1u128 << n);
        }
    }
}

impl Drop for ArenaSource {
    fn drop(&mut self) {
        // The budget goes with the heap: no need to give the bytes back.
        let st = self.state.lock();
        for rec in st.arenas.iter().flatten() {
            // SAFETY: the heap is being dropped; nothing refers to its memory.
            unsafe { unmap(rec.base, ARENA_SIZE) };
        }
    }
}

/// Maps `size` bytes aligned to `size` (a power of two) by mapping twice the
/// size and trimming both ends.
#[cfg(not(miri))]
fn map_aligned(size: usize) -> Option<*mut u8> {
    let len = size * 2;
    // SAFETY: an anonymous private mapping with no address hint has no
    // preconditions; the result is checked against MAP_FAILED.
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
        return None;
    }
    let raw = raw as *mut u8;
    let head = raw.align_offset(size);
    let tail = len - head - size;
    // SAFETY: both trimmed ranges lie inside the mapping just made and are
    // not the aligned middle we keep.
    unsafe {
        let aligned = raw.add(head);
        if head > 0 {
            unmap(raw, head);
        }
        if tail > 0 {
            unmap(aligned.add(size), tail);
        }
        Some(aligned)
    }
}

/// # Safety
/// `[addr, addr + len)` is a mapping of ours that nothing uses any more.
#[cfg(not(miri))]
unsafe fn unmap(addr: *mut u8, len: usize) {
    // SAFETY: the caller's contract.
    let rc = unsafe { libc::munmap(addr as *mut libc::c_void, len) };
    debug_assert_eq!(rc, 0, "munmap failed");
}

// Miri follows anonymous `mmap` but not a partial `munmap` (the trimming
// above), so under Miri an arena is an aligned allocation of the Rust
// allocator instead: the pool and arena logic above it is the same code, and
// Miri checks it. Only whole arenas are ever unmapped, with the size they
// were mapped with.
#[cfg(miri)]
fn map_aligned(size: usize) -> Option<*mut u8> {
    let layout = std::alloc::Layout::from_size_align(size, size).ok()?;
    // SAFETY: the layout has a non-zero size.
    let p = unsafe { std::alloc::alloc(layout) };
    (!p.is_null()).then_some(p)
}

/// # Safety
/// `addr` came from `map_aligned(len)` and nothing uses it any more.
#[cfg(miri)]
unsafe fn unmap(addr: *mut u8, len: usize) {
    let layout = std::alloc::Layout::from_size_align(len, len).expect("arena layout");
    // SAFETY: the caller's contract: allocated with this layout.
    unsafe { std::alloc::dealloc(addr, layout) };
}
