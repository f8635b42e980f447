//! Pools and class tables.
//!
//! A pool is 16 KiB serving one size class; its header sits at its start, so
//! any block finds its pool by masking its address. The pool's state machine
//! (CPython's used / full / empty):
//!
//! ```text
//!            alloc (free list or bump)          alloc takes the last block
//!   empty ───────────────────────────► used ─────────────────────────────► full
//!     ▲      (taken from the arena)      │ ▲                                  │
//!     │                                  │ └──────────────────────────────────┘
//!     └──────────────────────────────────┘        free into a full pool
//!         last block freed: back to the arena (unless it is the class's only
//!         usable pool: kept so alloc/free at a boundary does not churn)
//! ```
//!
//! A `used` pool is on its class table's doubly linked `usable` list; a `full`
//! pool is on no list (nothing to allocate from it) until a block comes back.
//! A pool becomes `full` lazily: the allocation that takes its last block
//! leaves it on the list, and the next one, finding it dry, takes it off
//! (so the fast path, [`ClassPools::pop`], checks no fullness).
//!
//! Who may touch which header field is written at [`super::pool_header`];
//! in short, the owner's fields are reached through the raw pointer one at a
//! time, never through a reference to the whole header.
//!
//! The invariant of a pool in use: blocks handed out and not yet freed back
//! to the owner (`used`) + blocks on the local free list + blocks never
//! bumped = capacity, where `used` still counts blocks on the remote stack
//! until the owner takes them back (the verifier checks it).
//!
//! Remote frees (mimalloc's `thread_free`): a thread that frees a block of a
//! pool it does not own pushes the block onto the pool's atomic `remote_free`
//! stack. The push that turns that stack from empty to non-empty also pushes
//! the pool onto its owner's [`RemoteInbox`]. The owner takes the whole inbox
//! in one swap and, for each pool, first reads `remote_next` and then takes
//! the pool's stack in one swap: so a pool is on the inbox at most once, and a
//! pusher never rewrites `remote_next` while the owner still needs it.

use super::block_counts::BlockCounts;
use super::memory::Memory;
use super::pool_header::{pool_of, FreeBlock, PoolHeader, RemoteInbox, FIRST_BLOCK};
use super::vg;
use super::{class_block_size, Domain, OutOfMemory, NUM_CLASSES, NUM_DOMAINS, POOL_SIZE};
use crate::sync::{AtomicPtr, Ordering};
use std::ptr;

/// Writes a free block's link. The link lies over the first word of what
/// was an object, its count word's `tid` under `biased`, which a lock-free
/// reader's try-incref may be loading (`policy/biased/try_ref.rs`): so it is
/// an atomic store (Relaxed: the free lists' own publication orders it),
/// and the race is a defined one. Reads of links stay plain: only the
/// pool's owner reads them, after its own writes or an Acquire swap.
///
/// # Safety
/// `fb` is a block being freed, owned by the caller.
#[inline(always)]
unsafe fn set_link(fb: *mut FreeBlock, next: *mut FreeBlock) {
    // SAFETY: the caller's contract; the link is a word at the block's start.
    unsafe { crate::sync::racy_store_ptr(ptr::addr_of_mut!((*fb).next), next, Ordering::Relaxed) }
}

/// Frees `block` from a thread that does not own its pool: pushes it onto
/// the pool's remote stack, and the pool onto its owner's inbox when the
/// stack was empty.
///
/// # Safety
/// `block` is a live block of a pool with a non-null inbox, not freed before,
/// and no longer used by anyone.
pub unsafe fn remote_free(block: *mut u8) {
    let pool = pool_of(block);
    let fb = block as *mut FreeBlock;
    // SAFETY: a live block's pool header is initialised and stays in place
    // while the block is live (a pool holding a live block is never
    // released); we borrow only the shared atomic field.
    let remote_free = unsafe { &(*pool).remote_free };
    vg::free_like(block);
    let mut head = remote_free.load(Ordering::Relaxed);
    loop {
        vg::open_link(block);
        // SAFETY: the block is ours until the CAS below publishes it.
        unsafe { set_link(fb, head) };
        vg::close_link(block);
        // Release: the owner that swaps the stack out (Acquire) sees the
        // link we just wrote.
        match remote_free.compare_exchange_weak(head, fb, Ordering::Release, Ordering::Relaxed) {
            Ok(_) => break,
            Err(seen) => head = seen,
        }
    }
    if head.is_null() {
        // The stack went from empty to non-empty: tell the owner. Until this
        // push lands the owner cannot see our block, so the pool stays alive.
        // SAFETY: `inbox` is write-once and the inbox lives as long as the
        // heap (thread heaps are never freed before the heap); the pool was
        // on no inbox, since its stack was empty.
        unsafe { (*(*pool).inbox).push(pool) };
    }
}

/// The per-class lists of partly used pools of one owner (CPython's
/// `usedpools`), for one domain and one class, with its counters.
pub struct ClassPools {
    /// Head of the doubly linked list of pools with a free block.
    usable: *mut PoolHeader,
    /// Pools owned.
    pub pools: usize,
    /// Keep emptied pools instead of giving them back to the arena (until
    /// `release_empty`): set on object classes under optimistic list reads,
    /// so that a block a lock-free reader may still be looking at stays a
    /// block of the same domain and class (see `policy::biased::try_ref`).
    pub hold: bool,
}

// SAFETY: a class table is moved between threads only with its owner's
// protection (the GIL, its lock, or a thread heap being adopted).
unsafe impl Send for ClassPools {}

impl Default for ClassPools {
    fn default() -> Self {
        ClassPools {
            usable: ptr::null_mut(),
            pools: 0,
            hold: false,
        }
    }
}

impl ClassPools {
    /// Whether some pool of this class is on the usable list. The head may
    /// have run dry since (see [`ClassPools::pop`]): this says that no new
    /// pool would be taken before that pool is looked at.
    #[inline(always)]
    pub fn has_usable(&self) -> bool {
        !self.usable.is_null()
    }

    /// The fast path of [`ClassPools::alloc`]: pops a block off the first
    /// usable pool's free list, or returns null when there is no pool or its
    /// free list is empty (then [`ClassPools::alloc_slow`] bumps, unlinks a
    /// full pool or takes a new one). Nothing else is looked at here: a pool
    /// whose free list this pop empties stays on the usable list until an
    /// allocation finds it dry (mimalloc's way), so the pop checks no
    /// fullness.
    ///
    /// # Safety
    /// The caller owns this class table (see the module docs).
    #[inline(always)]
    pub unsafe fn pop(&mut self) -> *mut u8 {
        let p = self.usable;
        if p.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: pools on the usable list are owned by us and initialised;
        // fields are reached through the raw pointer (see pool_header).
        unsafe {
            let free = (*p).free;
            if free.is_null() {
                return ptr::null_mut();
            }
            vg::open_link(free as *const u8);
            (*p).free = (*free).next;
            (*p).allocated = (*p).allocated.wrapping_add(1);
            vg::malloc_like(free as *mut u8, (*p).block_size as usize);
            free as *mut u8
        }
    }

    /// Allocates one block of `class` in `domain`.
    ///
    /// # Safety
    /// The caller owns this class table (see the module docs); `inbox` is
    /// this table's inbox (null for shared tables) and outlives its pools.
    #[inline(always)]
    pub unsafe fn alloc(
        &mut self,
        domain: Domain,
        class: usize,
        mem: &Memory,
        inbox: *const RemoteInbox,
    ) -> Result<*mut u8, OutOfMemory> {
        // SAFETY: forwarded contract.
        unsafe {
            let b = self.pop();
            if !b.is_null() {
                return Ok(b);
            }
            self.alloc_slow(domain, class, mem, inbox)
        }
    }

    /// The rest of `alloc` once [`ClassPools::pop`] found nothing: bumps the
    /// first usable pool, takes pools that have nothing left off the list
    /// (until a block comes back, nothing can be allocated from them), and
    /// takes a new pool from the arenas when no usable pool is left.
    ///
    /// # Safety
    /// As [`ClassPools::alloc`].
    #[inline(never)]
    pub unsafe fn alloc_slow(
        &mut self,
        domain: Domain,
        class: usize,
        mem: &Memory,
        inbox: *const RemoteInbox,
    ) -> Result<*mut u8, OutOfMemory> {
        loop {
            let p = self.usable;
            if p.is_null() {
                // SAFETY: forwarded contract.
                return unsafe { self.alloc_from_new_pool(domain, class, mem, inbox) };
            }
            // SAFETY: pools on the usable list are ours and initialised.
            unsafe {
                let b = self.pop();
                if !b.is_null() {
                    return Ok(b);
                }
                // A pool being filled for the first time: bump.
                let bs = (*p).block_size;
                let bump = (*p).bump;
                if bump + bs <= (*p).limit {
                    (*p).bump = bump + bs;
                    (*p).allocated = (*p).allocated.wrapping_add(1);
                    let block = (p as *mut u8).add(bump as usize);
                    vg::malloc_like(block, bs as usize);
                    return Ok(block);
                }
                // Dry: off the list until a block comes back.
                self.unlink(p);
            }
        }
    }

    /// The slow path of `alloc`: no usable pool, so take one from the
    /// arenas, initialise its header and allocate from it.
    ///
    /// # Safety
    /// As [`ClassPools::alloc`].
    #[cold]
    #[inline(never)]
    unsafe fn alloc_from_new_pool(
        &mut self,
        domain: Domain,
        class: usize,
        mem: &Memory,
        inbox: *const RemoteInbox,
    ) -> Result<*mut u8, OutOfMemory> {
        let p = mem.take_pool()?;
        let bs = class_block_size(class);
        let capacity = (POOL_SIZE - FIRST_BLOCK) / bs;
        // SAFETY: the arena source handed us an unused pool; we initialise
        // its header before anyone else can see it.
        unsafe {
            ptr::addr_of_mut!((*p).free).write(ptr::null_mut());
            ptr::addr_of_mut!((*p).bump).write((FIRST_BLOCK + bs) as u32);
            ptr::addr_of_mut!((*p).limit).write((FIRST_BLOCK + capacity * bs) as u32);
            ptr::addr_of_mut!((*p).allocated).write(1);
            ptr::addr_of_mut!((*p).freed).write(0);
            ptr::addr_of_mut!((*p).block_size).write(bs as u32);
            ptr::addr_of_mut!((*p).class).write(class as u8);
            ptr::addr_of_mut!((*p).domain).write(domain as u8);
            ptr::addr_of_mut!((*p).linked).write(false);
            ptr::addr_of_mut!((*p).next).write(ptr::null_mut());
            ptr::addr_of_mut!((*p).prev).write(ptr::null_mut());
            ptr::addr_of_mut!((*p).inbox).write(inbox);
            ptr::addr_of_mut!((*p).remote_free).write(AtomicPtr::new(ptr::null_mut()));
            ptr::addr_of_mut!((*p).remote_next).write(AtomicPtr::new(ptr::null_mut()));
        }
        self.pools += 1;
        self.link(p);
        // SAFETY: the pool is ours, initialised, and its first block unused.
        let block = unsafe { (p as *mut u8).add(FIRST_BLOCK) };
        vg::malloc_like(block, bs);
        Ok(block)
    }

    /// Frees a block of one of this table's pools, by its owner: a push on
    /// the pool's free list; everything else (linking a pool that was dry,
    /// giving back an emptied one) is out of line. An emptied pool that is
    /// the class's only usable one stays (the check is inline: alloc/free at
    /// a boundary empties it every time).
    ///
    /// # Safety
    /// The caller owns this table; `block` is a live block of one of its pools.
    #[inline(always)]
    pub unsafe fn free(&mut self, block: *mut u8, mem: &Memory) {
        let p = pool_of(block);
        // SAFETY: the block's pool is ours and initialised; fields through
        // the raw pointer (see pool_header).
        unsafe {
            let fb = block as *mut FreeBlock;
            vg::free_like(block);
            vg::open_link(block);
            set_link(fb, (*p).free);
            vg::close_link(block);
            (*p).free = fb;
            let freed = (*p).freed.wrapping_add(1);
            (*p).freed = freed;
            if !(*p).linked {
                self.relink(p, mem);
            } else if freed == (*p).allocated && !(self.usable == p && (*p).next.is_null()) {
                self.maybe_release(p, mem);
            }
        }
    }

    /// A block came back to a pool that was taken off the list dry: it is
    /// usable again (and, if that was its only block, empty).
    ///
    /// # Safety
    /// The caller owns this table; `p` is one of its pools, off the list.
    #[cold]
    #[inline(never)]
    unsafe fn relink(&mut self, p: *mut PoolHeader, mem: &Memory) {
        self.link(p);
        // SAFETY: `p` is ours and now on our list.
        unsafe {
            if PoolHeader::used(p) == 0 {
                self.maybe_release(p, mem);
            }
        }
    }

    /// Returns blocks that other threads freed (a list taken from the pool's
    /// remote stack) to the pool; returns how many.
    ///
    /// # Safety
    /// The caller owns this table and `p`; `list` is the pool's remote stack
    /// just taken by swap.
    pub unsafe fn take_back_remote(
        &mut self,
        p: *mut PoolHeader,
        list: *mut FreeBlock,
        mem: &Memory,
    ) -> usize {
        // SAFETY: the caller's contract; every block on `list` belongs to `p`.
        unsafe {
            let mut b = list;
            let mut n = 0u32;
            while !b.is_null() {
                vg::open_link(b as *const u8);
                let next = (*b).next;
                set_link(b, (*p).free);
                vg::close_link(b as *const u8);
                (*p).free = b;
                b = next;
                n += 1;
            }
            (*p).freed = (*p).freed.wrapping_add(n);
            if !(*p).linked {
                self.link(p);
            }
            if PoolHeader::used(p) == 0 {
                self.maybe_release(p, mem);
            }
            n as usize
        }
    }

    /// An emptied pool goes back to the arena unless it is the only usable
    /// pool of its class (then it stays, so alloc/free at a boundary is cheap).
    ///
    /// # Safety
    /// The caller owns this table; `p` is one of its pools, on its usable
    /// list, with no block in use.
    #[cold]
    #[inline(never)]
    unsafe fn maybe_release(&mut self, p: *mut PoolHeader, mem: &Memory) {
        // SAFETY: `p` is ours and on our list.
        unsafe {
            if self.hold || (self.usable == p && (*p).next.is_null()) {
                return;
            }
            self.unlink(p);
            self.pools -= 1;
            mem.give_back_pool(p);
        }
    }

    /// Gives every empty pool back to the arena (at heap teardown and before
    /// measuring memory), including the one kept as a buffer.
    ///
    /// # Safety
    /// The caller owns this table.
    pub unsafe fn release_empty(&mut self, mem: &Memory) {
        let mut p = self.usable;
        while !p.is_null() {
            // SAFETY: pools on our list are ours.
            unsafe {
                let next = (*p).next;
                if PoolHeader::used(p) == 0 {
                    self.unlink(p);
                    self.pools -= 1;
                    mem.give_back_pool(p);
                }
                p = next;
            }
        }
    }

    #[inline(always)]
    fn link(&mut self, p: *mut PoolHeader) {
        // SAFETY: `p` is ours and not on the list.
        unsafe {
            (*p).prev = ptr::null_mut();
            (*p).next = self.usable;
            if !self.usable.is_null() {
                (*self.usable).prev = p;
            }
            (*p).linked = true;
        }
        self.usable = p;
    }

    #[inline(always)]
    fn unlink(&mut self, p: *mut PoolHeader) {
        // SAFETY: `p` is ours and on the list.
        unsafe {
            let (prev, next) = ((*p).prev, (*p).next);
            if prev.is_null() {
                self.usable = next;
            } else {
                (*prev).next = next;
            }
            if !next.is_null() {
                (*next).prev = prev;
            }
            (*p).linked = false;
            (*p).next = ptr::null_mut();
            (*p).prev = ptr::null_mut();
        }
    }
}

/// A full class table: one `ClassPools` per domain and class.
pub struct ClassTable {
    pub classes: [[ClassPools; NUM_CLASSES]; 2],
}

impl Default for ClassTable {
    fn default() -> Self {
        ClassTable {
            classes: [
                std::array::from_fn(|_| ClassPools::default()),
                std::array::from_fn(|_| ClassPools::default()),
            ],
        }
    }
}

impl ClassTable {
    /// The pools of (domain, class). The indices are masked into range
    /// (both counts are powers of two) rather than bounds-checked: callers
    /// pass a class computed from a size or read from a pool header, always
    /// in range (checked in debug builds).
    #[inline(always)]
    pub fn pools(&mut self, domain: usize, class: usize) -> &mut ClassPools {
        debug_assert!(domain < NUM_DOMAINS && class < NUM_CLASSES);
        &mut self.classes[domain & (NUM_DOMAINS - 1)][class & (NUM_CLASSES - 1)]
    }

    /// Takes back every block that other threads freed into pools of this
    /// table (the owner's side of the remote-free protocol), and takes them
    /// off the owner's block counts. Returns the pools drained.
    ///
    /// # Safety
    /// The caller owns this table, `inbox` is its inbox and `counts` its
    /// counts.
    #[cold]
    pub unsafe fn drain_inbox(
        &mut self,
        inbox: &RemoteInbox,
        mem: &Memory,
        counts: &BlockCounts,
    ) -> usize {
        let mut p = inbox.take_all();
        let mut pools = 0;
        while !p.is_null() {
            // SAFETY: pools on our inbox are ours; read the link before taking
            // the stack (see the module docs).
            unsafe {
                // Relaxed: `take_all`'s Acquire already made the link visible.
                let next = (*p).remote_next.load(Ordering::Relaxed);
                // Acquire: pairs with each pusher's Release, so the links of
                // every block on the stack are visible.
                let list = (*p).remote_free.swap(ptr::null_mut(), Ordering::Acquire);
                let d = (*p).domain as usize;
                let c = (*p).class as usize;
                let n = self.pools(d, c).take_back_remote(p, list, mem);
                counts.sub(d, c, n);
                p = next;
            }
            pools += 1;
        }
        pools
    }

    /// Holds emptied pools of `domain` (see [`ClassPools::hold`]).
    pub fn hold_empty_pools(&mut self, domain: Domain) {
        for c in self.classes[domain.index()].iter_mut() {
            c.hold = true;
        }
    }

    /// # Safety
    /// The caller owns this table.
    pub unsafe fn release_empty(&mut self, mem: &Memory) {
        for c in self.classes.iter_mut().flatten() {
            // SAFETY: forwarded.
            unsafe { c.release_empty(mem) };
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
