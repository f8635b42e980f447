//! The pool header and the facts every layer of the allocator shares about a
//! pool: where its first block is, how a block finds its pool, and the
//! owner's inbox of remote frees. A leaf of the allocator: the arena source,
//! the class tables and the heap walk all stand on it, and it stands on
//! nothing of theirs.
//!
//! Fields and who may touch them:
//! - `free`, `bump`, `allocated`, `freed`, `next`, `prev`, `linked`: the
//!   pool's owner only
//!   (the class table that holds it: under the GIL's protection, under its
//!   class lock, or its owning thread). `next` is also the arena's free-stack
//!   link while the pool is unused.
//! - `class`, `domain`, `block_size`, `limit`, `inbox`: written once when the
//!   pool is taken from the arena, read by anyone holding a block of it (the
//!   block was handed over after the write, so the reader sees it).
//! - `remote_free`, `remote_next`: shared (the `biased` policy's remote frees).
//!
//! Because owners write their fields while other threads read the
//! write-once ones (a free under `pool-locks` reads `class` and `domain` to
//! find the lock to take), no code makes a `&PoolHeader` or `&mut
//! PoolHeader` of a pool in use: that would claim the whole header for one
//! thread. Fields are read and written through the raw pointer, one place at
//! a time ([`PoolHeader::class_of`], `(*p).used`), and the shared fields are
//! atomics borrowed one by one.

use super::{ALIGNMENT, POOL_SIZE};
use crate::sync::{AtomicPtr, Ordering};
use std::ptr;

/// `class` of a pool that is not in use (on its arena's free stack).
pub const POOL_UNUSED: u8 = u8::MAX;

/// A free block's first word: the next free block.
#[repr(C)]
pub struct FreeBlock {
    pub next: *mut FreeBlock,
}

/// The header at the start of every pool.
#[repr(C)]
pub struct PoolHeader {
    /// Owner-only: local free list.
    pub free: *mut FreeBlock,
    /// Owner-only: offset of the next never-used block.
    pub bump: u32,
    /// Offset past the last whole block.
    pub limit: u32,
    /// Owner-only: blocks handed out, ever (wrapping). With `freed`, the
    /// blocks in use are `allocated - freed` ([`PoolHeader::used`]): two
    /// counters, each written by one half of the pair, so an alloc+free
    /// does not chain a read-modify-write of one word through both halves.
    pub allocated: u32,
    /// Owner-only: blocks freed back to the owner, ever (wrapping; blocks on
    /// `remote_free` count once the owner takes them).
    pub freed: u32,
    /// Block size in bytes.
    pub block_size: u32,
    /// Size class, or `POOL_UNUSED`.
    pub class: u8,
    /// `Domain` as u8.
    pub domain: u8,
    /// Owner-only: on its class table's usable list.
    pub linked: bool,
    /// The arena slot this pool belongs to (written by the arena source).
    pub arena_slot: u32,
    /// Owner-only: usable-list links (also the arena's free-stack link).
    pub next: *mut PoolHeader,
    pub prev: *mut PoolHeader,
    /// The owning thread heap's inbox (`biased`), or null for shared pools.
    pub inbox: *const RemoteInbox,
    /// Shared: blocks freed by other threads.
    pub remote_free: AtomicPtr<FreeBlock>,
    /// Shared: link on the owner's inbox.
    pub remote_next: AtomicPtr<PoolHeader>,
}

impl PoolHeader {
    /// The (domain, class) of the pool holding a live block, read field by
    /// field (see the module docs: no reference to the whole header).
    ///
    /// # Safety
    /// `block` is a live block of a pool in use: its header's write-once
    /// fields were written before the block was handed out.
    #[inline(always)]
    pub unsafe fn class_of(block: *const u8) -> (usize, usize) {
        let p = pool_of(block);
        // SAFETY: the caller's contract; two plain reads of write-once fields.
        unsafe { ((*p).domain as usize, (*p).class as usize) }
    }
}

impl PoolHeader {
    /// Blocks handed out and not freed back to the owner (blocks on
    /// `remote_free` still count until the owner takes them).
    ///
    /// # Safety
    /// `p` is a pool in use, read by its owner (or while nothing allocates).
    #[inline(always)]
    pub unsafe fn used(p: *const PoolHeader) -> u32 {
        // SAFETY: the caller's contract; two plain reads of owner fields.
        unsafe { (*p).allocated.wrapping_sub((*p).freed) }
    }
}

/// Offset of the first block in a pool.
pub const FIRST_BLOCK: usize =
    (std::mem::size_of::<PoolHeader>() + ALIGNMENT - 1) & !(ALIGNMENT - 1);

/// The pool a block lives in.
#[inline(always)]
pub fn pool_of(block: *const u8) -> *mut PoolHeader {
    // `map_addr` keeps the block's provenance (the arena's mapping), so the
    // header pointer is as valid as the block pointer was.
    block.map_addr(|a| a & !(POOL_SIZE - 1)) as *mut PoolHeader
}

/// Pools with blocks freed by other threads, waiting for their owner: a
/// Treiber stack linked through `PoolHeader::remote_next`.
pub struct RemoteInbox {
    pools: AtomicPtr<PoolHeader>,
}

impl Default for RemoteInbox {
    fn default() -> Self {
        RemoteInbox {
            pools: AtomicPtr::new(ptr::null_mut()),
        }
    }
}

impl RemoteInbox {
    /// True when some pool waits (a cheap check for the owner's slow path;
    /// relaxed: a pool pushed just after is found at the next look).
    #[inline]
    pub fn has_work(&self) -> bool {
        !self.pools.load(Ordering::Relaxed).is_null()
    }

    /// Pushes `pool` (whose remote stack just went from empty to non-empty).
    ///
    /// # Safety
    /// `pool` is a pool in use whose owner's inbox is `self`, and it is on no
    /// inbox (its remote stack was empty before the caller's push).
    pub unsafe fn push(&self, pool: *mut PoolHeader) {
        // SAFETY: the caller's contract: the pool's header is live.
        let remote_next = unsafe { &(*pool).remote_next };
        let mut top = self.pools.load(Ordering::Relaxed);
        loop {
            // Relaxed: the Release CAS below publishes this link.
            remote_next.store(top, Ordering::Relaxed);
            // Release: the owner that takes the stack (Acquire) sees the link
            // and the block pushed before this pool was.
            match self
                .pools
                .compare_exchange_weak(top, pool, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(seen) => top = seen,
            }
        }
    }

    /// Takes every waiting pool in one swap (the owner's side). Acquire:
    /// pairs with the pushers' Release, so each pool's `remote_next` and the
    /// blocks on its stack are visible.
    pub fn take_all(&self) -> *mut PoolHeader {
        self.pools.swap(ptr::null_mut(), Ordering::Acquire)
    }
}
