//! The pool: 64 KiB of one size class, its header at its start, so that a
//! block's pool is its address masked with `!(POOL_SIZE - 1)`.
//!
//! State machine (CPython's): a pool taken from the source is *used* (on its
//! table's usable list for its class) while it has a block to give; *full*
//! (off the list) when it has none; *empty* when every block came back, and
//! then it goes back to the source unless it is the only pool its class has.
//!
//! Invariant: `used` = blocks handed out and not yet freed to the owner;
//! blocks on `remote_free` still count until the owner takes them.
//!
//! Fields and who may touch them:
//! - `free`, `bump`, `used`, `next`, `prev`, `linked`: the holder of the
//!   owning table's lock for this class (the global lock, the class lock, or
//!   the owning thread heap's lock).
//! - `class`, `block_size`, `limit`, `owner`, `inbox`: written when the pool is taken
//!   from the source, before any of its blocks is handed out; read by anyone
//!   holding one of its blocks.
//! - `remote_free`, `remote_next`: shared (remote frees, thread-local design).

use crate::geometry::{class_block_size, POOL_HEADER, POOL_SIZE};
use crate::sync::AtomicPtr;
use crate::sys::fatal;
use crate::vg;
use core::ptr;

/// A free block's first word: the next free block.
#[repr(C)]
pub struct FreeBlock {
    pub next: *mut FreeBlock,
}

/// The header at the start of every pool (at most `POOL_HEADER` bytes).
#[repr(C)]
pub struct Pool {
    /// Local free list.
    pub free: *mut FreeBlock,
    /// Usable-list links (`next` is also the source's free-stack link).
    pub next: *mut Pool,
    pub prev: *mut Pool,
    /// The table whose class list holds this pool (an address compared,
    /// never dereferenced through this field).
    pub owner: *const u8,
    /// The owning table's inbox of pools with remote frees (remote.rs).
    pub inbox: *const AtomicPtr<Pool>,
    /// Blocks freed by threads other than the owner.
    pub remote_free: AtomicPtr<FreeBlock>,
    /// Link on the owner's inbox of pools with remote frees.
    pub remote_next: AtomicPtr<Pool>,
    /// Offset of the next never-used block.
    pub bump: u32,
    /// Offset past the last whole block.
    pub limit: u32,
    /// Blocks handed out (see the invariant above).
    pub used: u32,
    pub block_size: u32,
    pub class: u32,
    /// On its table's usable list.
    pub linked: bool,
}

const _: () = assert!(core::mem::size_of::<Pool>() <= POOL_HEADER);

/// The pool holding a block of one of our arenas.
#[inline(always)]
pub fn pool_of(block: *const u8) -> *mut Pool {
    (block as usize & !(POOL_SIZE - 1)) as *mut Pool
}

/// Initialises the header of a pool fresh from the source.
///
/// # Safety
/// `p` is a pool of one of our arenas that no table holds and no live block
/// points into.
pub unsafe fn init(p: *mut Pool, class: usize, owner: *const u8, inbox: *const AtomicPtr<Pool>) {
    let bs = class_block_size(class);
    let limit = POOL_HEADER + (POOL_SIZE - POOL_HEADER) / bs * bs;
    // SAFETY: the caller owns the header; writing the whole struct.
    unsafe {
        p.write(Pool {
            free: ptr::null_mut(),
            next: ptr::null_mut(),
            prev: ptr::null_mut(),
            owner,
            inbox,
            remote_free: AtomicPtr::new(ptr::null_mut()),
            remote_next: AtomicPtr::new(ptr::null_mut()),
            bump: POOL_HEADER as u32,
            limit: limit as u32,
            used: 0,
            block_size: bs as u32,
            class: class as u32,
            linked: false,
        })
    };
}

/// Takes a block, or null when the pool has none left.
///
/// # Safety
/// The caller holds the lock that guards `p`'s owner-only fields.
#[inline(always)]
pub unsafe fn take_block(p: *mut Pool) -> *mut u8 {
    // SAFETY: owner-only fields under the caller's lock; free-list entries
    // are blocks of this pool whose first word we wrote when they were freed.
    unsafe {
        let b = (*p).free;
        if !b.is_null() {
            // The link word of a freed block is no-access to memcheck; the
            // block becomes a malloc-like one when handed out (lib.rs).
            vg::open_link(b.cast());
            (*p).free = (*b).next;
            (*p).used += 1;
            return b.cast();
        }
        if (*p).bump < (*p).limit {
            let b = p.cast::<u8>().add((*p).bump as usize);
            (*p).bump += (*p).block_size;
            (*p).used += 1;
            return b;
        }
        ptr::null_mut()
    }
}

/// Whether the pool has a block to give.
///
/// # Safety
/// As for [`take_block`].
#[inline(always)]
pub unsafe fn has_room(p: *mut Pool) -> bool {
    // SAFETY: owner-only fields under the caller's lock.
    unsafe { !(*p).free.is_null() || (*p).bump < (*p).limit }
}

/// Puts a block back on the local free list.
///
/// # Safety
/// As for [`take_block`]; `b` is a live block of `p`, handed out and not yet
/// freed.
#[inline(always)]
pub unsafe fn put_block(p: *mut Pool, b: *mut u8) {
    // SAFETY: owner-only fields under the caller's lock; the block is ours
    // again, so its first word is free for the link.
    unsafe {
        let fb = b.cast::<FreeBlock>();
        vg::open_link(b);
        (*fb).next = (*p).free;
        vg::close_link(b);
        (*p).free = fb;
        if (*p).used == 0 {
            fatal(format_args!(
                "free of {b:p}: its pool has no block in use (double free?)"
            ));
        }
        (*p).used -= 1;
    }
}

/// Checks that `b` is the start of a block of `p` (not its header, not the
/// middle of a block): a pointer that fails was never returned by us.
///
/// # Safety
/// `p` is `pool_of(b)` and lies in one of our arenas.
#[inline(always)]
pub unsafe fn check_block(p: *mut Pool, b: *const u8) {
    let off = b as usize - p as usize;
    // SAFETY: the pool's write-once fields; a pool never taken from the
    // source has a zeroed header (block_size 0), which fails the check.
    let (bs, limit) = unsafe { ((*p).block_size as usize, (*p).limit as usize) };
    if bs == 0 || off < POOL_HEADER || off >= limit || !(off - POOL_HEADER).is_multiple_of(bs) {
        fatal(format_args!(
            "free or realloc of {b:p}, which is not a block we handed out"
        ));
    }
}
