//! The try-incref of biased counts: a reference taken to an object read
//! from a slot without the slot's lock (free-threaded CPython's
//! `_Py_TryIncrefFast` and `_Py_TryIncRefShared`, `Include/internal/
//! pycore_object.h`). A child of `biased.rs`, whose count word it reads;
//! the list code (`heap/list.rs`) calls it through `Counts::try_incref`.
//!
//! ## Why a freed or reused block never yields a wrong reference
//!
//! The reader holds no reference, so the object may be freed (and its
//! block reused) between its load of the slot and the increment. The word
//! is `tid` (offset 0), `shared` (offset 8), `local` (offset 16):
//!
//! - An object is freed only when its true count is zero, with `shared`
//!   `0` (the owner's fast path: nobody else ever counted it) or
//!   `0 | MERGED` (every other path). The shared path refuses both
//!   ("never from zero"), so an increment can never revive a dead object;
//!   any other value means the count is still positive (a queued object is
//!   held by its queue), and the CAS makes it one more.
//! - A freed block keeps `shared` and `local` as they were at the free: the
//!   pool's free-list link ([`crate::alloc::pool_header::FreeBlock`]) is
//!   written at offset 0, over `tid` only (checked by a test). A link is a
//!   block address or null, never an owner id (ids are `1..=MAX_OWNERS`,
//!   far below any mapped address), so the owner path is never taken on a
//!   freed block; null is "no owner". This is why the link stays at offset
//!   0 rather than moving: at offset 8 it would overwrite `shared` with an
//!   address, which the CAS would take for a live count.
//! - A block reused for a new object holds that object's word: `shared` 0
//!   (refused), or a count taken by other threads (accepted: a reference to
//!   a live object). The caller then re-checks that the slot (and the list's
//!   item array) still hold that address and otherwise gives the reference
//!   back: it returns the reference only to what the list holds. For the
//!   re-check to see the slot as it was when the old object was freed, the
//!   reuse writes the word in place with [`super::reinit_word`] (`shared`
//!   first, Release) and the CAS here acquires (see the comment at it).
//! - Every write that can meet these loads is atomic, so the race is a
//!   defined one: the free-list link is stored atomically
//!   (`alloc::pool::set_link`), and a new object's word is stored field by
//!   field in place (`Counts::init_word`) rather than as one plain write.
//! - The block stays an object block of the same class: under optimistic
//!   reads emptied object pools are held, not given back to their arena
//!   (`ClassPools::hold`), until the heap is trimmed with every thread at a
//!   checkpoint or detached. Large objects (the system allocator's) are not
//!   freed at once but retired through QSBR (`Heap::retire_large_object`),
//!   their words untouched until then.
//!
//! The owner path needs no CAS: only the owner writes `local`, and a thread
//! that finds its own id in `tid` is that owner (a block's `tid` holds an id
//! only while an object owned by it lives there).

use super::{unpack_shared, BiasedCounts, BiasedLocal, DEFAULT, IMMORTAL_LOCAL, MERGED, ONE};
use crate::policy::counts::word;
use crate::policy::ObjAddr;
use crate::sync::Ordering;

/// See the module docs and [`crate::policy::Counts::try_incref`].
///
/// # Safety
/// As `Counts::try_incref`: `obj` is an object-domain block that stays one
/// while this runs.
#[inline(always)]
pub(super) unsafe fn try_incref(obj: ObjAddr, local: &mut BiasedLocal) -> bool {
    // SAFETY: the block is mapped and holds an object header or a freed
    // block (which keeps the word's `shared` and `local`): the caller's
    // contract. The loads may race with a new object's header being written
    // into a reused block; whatever they read, the CAS below decides.
    let rc = unsafe { word::<BiasedCounts>(obj) };
    // Relaxed: as `incref` (only the owner stores its own id and `local`).
    if rc.tid.load(Ordering::Relaxed) == local.tid {
        let l = rc.local.load(Ordering::Relaxed);
        if l == 0 {
            return false;
        }
        rc.local.store(l + 1, Ordering::Relaxed);
        local.counters.local_ops += 1;
        return true;
    }
    try_incref_shared(rc, local)
}

/// Off the owner's path (cold, as `incref_shared`: a list read by its
/// items' owner stays short).
#[cold]
#[inline(never)]
fn try_incref_shared(rc: &super::BiasedRc, local: &mut BiasedLocal) -> bool {
    // Relaxed: immortality is set before an object is shared.
    if rc.local.load(Ordering::Relaxed) == IMMORTAL_LOCAL {
        return true;
    }
    // Relaxed first read: the CAS decides.
    let mut shared = rc.shared.load(Ordering::Relaxed);
    loop {
        let (count, state) = unpack_shared(shared);
        if count == 0 && (state == DEFAULT || state == MERGED) {
            return false;
        }
        // Acquire on success: if the block was freed and reused, the new
        // object's `shared` was set by `reinit_word`'s Release store, and
        // every later change of it is an RMW, so our CAS reads from that
        // store's release sequence: the reuse, and the slot store that
        // happened before the old object's free, happen-before the caller's
        // re-check, which therefore cannot read the stale slot value that
        // would let it return the new object (loom model `list_reads`
        // finds exactly that with a Relaxed CAS). The CAS is also what makes
        // "never from zero" atomic against a free deciding on the word.
        match rc.shared.compare_exchange_weak(
            shared,
            shared + ONE,
            Ordering::Acquire,
            Ordering::Relaxed,
        ) {
            Ok(_) => {
                local.counters.atomic_ops += 1;
                return true;
            }
            Err(seen) => shared = seen,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::super::{pack_shared, BiasedRc, QUEUED};
    use super::*;
    use crate::alloc::pool_header::FreeBlock;
    use crate::policy::{Counts, RcCounters};
    use std::mem::{offset_of, size_of};
    use std::ptr;

    fn local(tid: usize) -> BiasedLocal {
        BiasedLocal {
            tid,
            owner: ptr::null(),
            counters: RcCounters::default(),
        }
    }

    #[test]
    fn the_free_list_link_covers_the_owner_id_only() {
        assert_eq!(offset_of!(BiasedRc, tid), 0);
        assert!(size_of::<FreeBlock>() <= offset_of!(BiasedRc, shared));
        assert!(size_of::<FreeBlock>() <= offset_of!(BiasedRc, local));
    }

    #[test]
    fn try_incref_refuses_the_words_a_freed_block_keeps() {
        let mut me = local(2);
        for shared in [pack_shared(0, DEFAULT), pack_shared(0, MERGED)] {
            // A freed block: the link over `tid`, `local` 0.
            let rc = BiasedRc {
                tid: crate::sync::AtomicUsize::new(0x7f00_1234_5000),
                shared: crate::sync::AtomicIsize::new(shared),
                local: crate::sync::AtomicU32::new(0),
            };
            let addr = &rc as *const BiasedRc as ObjAddr;
            // SAFETY: a word on our stack.
            assert!(!unsafe { try_incref(addr, &mut me) });
            assert_eq!(rc.shared.load(Ordering::Relaxed), shared);
        }
    }

    #[test]
    fn try_incref_takes_live_counts() {
        let mut owner = local(1);
        let mut other = local(2);
        let rc = BiasedCounts::word_new(&owner);
        let addr = &rc as *const BiasedRc as ObjAddr;
        // Another thread: shared is 0 while the owner holds the object, so it
        // is refused (CPython falls back to the lock here too).
        // SAFETY: a word on our stack.
        assert!(!unsafe { try_incref(addr, &mut other) });
        // The owner: a plain increment.
        // SAFETY: as above.
        assert!(unsafe { try_incref(addr, &mut owner) });
        assert_eq!(rc.parts(), (1, 2, 0, DEFAULT));
        // Once others count it (or it is queued, or merged and alive), the
        // CAS takes one more.
        for start in [
            pack_shared(1, DEFAULT),
            pack_shared(0, QUEUED),
            pack_shared(2, MERGED),
            pack_shared(-1, DEFAULT),
        ] {
            rc.shared.store(start, Ordering::Relaxed);
            // SAFETY: as above.
            assert!(unsafe { try_incref(addr, &mut other) });
            assert_eq!(rc.shared.load(Ordering::Relaxed), start + ONE);
        }
        let imm = BiasedCounts::word_immortal();
        // SAFETY: as above.
        assert!(unsafe { try_incref(&imm as *const BiasedRc as ObjAddr, &mut other) });
        assert!(BiasedCounts::is_immortal(&imm));
    }
}

/// Reinitialises, in place, the word of a block being reused for a new
/// object owned by `local`'s thread, with a count of one. A try-incref may
/// read the word meanwhile (`try_ref`): `shared` first, set to 0 (refused),
/// then `local`, then `tid` (only the new owner, which is running this, would
/// take the owner path), so every state in between is one a try-incref
/// refuses. `local` and `tid` are Relaxed: the object is published later
/// by a Release store of a pointer to it. `shared` is Release: a try-incref
/// that later succeeds on this word reads from this store's release
/// sequence, so the free and reuse of the block happen-before its re-check
/// of the slot (see `try_ref`).
pub fn reinit_word(rc: &super::BiasedRc, local: &BiasedLocal) {
    rc.shared
        .store(super::pack_shared(0, super::DEFAULT), Ordering::Release);
    rc.local.store(1, Ordering::Relaxed);
    rc.tid.store(local.tid, Ordering::Relaxed);
}
