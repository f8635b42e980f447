//! Handle tables: the roots of a count-free heap (a JVM's handle blocks, a
//! shadow stack that is not a stack).
//!
//! Under a tracing policy ([`super::TracedCounts`]) a `Ref` held by Rust
//! code owns one *slot* of a handle table, and the slot holds the object's
//! address: the tracing collector's roots are the live slots of every table.
//! Each attached thread owns one table and is the only one to fill its
//! slots; any thread, attached or not, may empty one (a `Ref` dropped out of
//! order, on another thread, inside `allow_threads`, while unwinding).
//!
//! A slot is one word with three states:
//!
//! | value | state | who writes it next |
//! |---|---|---|
//! | [`LISTED`] (1) | on its owner's local free list | the owner, filling it |
//! | an address | live: a root | whoever drops the `Ref`: [`DROPPED`] |
//! | [`DROPPED`] (0) | emptied, not yet reclaimed | the owner's sweep: [`LISTED`] |
//!
//! The protocol with a root scan (the collector, world stopped):
//! - Slots are filled only by their attached owner, and the scan runs only
//!   while every attached thread is parked (stop-the-world, or the GIL), so a
//!   scan never sees a slot being filled; the handshake orders the fill
//!   before the scan.
//! - A slot may be emptied during a scan, by a thread that is not attached.
//!   The empty is a release store and the scan's read an acquire load: a scan
//!   that reads the address keeps the object (floating garbage, freed by the
//!   next cycle); a scan that reads `DROPPED` synchronises with the drop, so
//!   the dropping thread's uses of the object happen-before the collector
//!   frees it.
//! - Emptied slots are reclaimed by their owner's sweep (attached, world
//!   running), so a slot is never refilled while a scan might read it.
//!
//! The loom model `loom-tests/tests/handles.rs` checks this with a thread
//! dropping a root while another scans and then reuses slots.
//!
//! Tables outlive their threads: a `Ref` may outlive the thread that made it,
//! so a thread leaving for good hands its table back to the heap's spare
//! list (its free list turned into `DROPPED` slots), and the next thread to
//! attach adopts it. Tables are freed with the heap.

use super::ObjAddr;
use crate::sync::{AtomicUsize, Mutex, Ordering};

/// An emptied slot, waiting for its owner's sweep.
pub const DROPPED: usize = 0;
/// A slot on its owner's local free list.
pub const LISTED: usize = 1;

/// The smallest chunk of slots a table grows by.
const MIN_CHUNK: usize = if cfg!(loom) { 2 } else { 256 };

/// One slot of a handle table.
pub struct Slot(AtomicUsize);

/// One thread's table: chunks of slots that never move (a `Ref` points at
/// its slot).
pub struct HandleTable {
    /// Only its owner pushes a chunk (attached, world running); a root scan
    /// reads the list with the world stopped. The mutex is never contended
    /// but keeps the list sound whatever the caller does.
    chunks: Mutex<Vec<Box<[Slot]>>>,
}

impl HandleTable {
    fn new() -> Self {
        HandleTable {
            chunks: Mutex::new(Vec::new()),
        }
    }

    /// Slots in the table.
    fn capacity(&self) -> usize {
        self.chunks.lock().iter().map(|c| c.len()).sum()
    }
}

/// The heap's tables, owned or spare (the count-free policy's shared state).
pub struct Handles {
    /// Every table ever made; a table's address is stable (boxed: the
    /// vector may move, the tables must not) and it lives until the heap is
    /// dropped, so a `Ref`'s slot never dangles.
    #[allow(clippy::vec_box)]
    all: Mutex<Vec<Box<HandleTable>>>,
    /// Tables of threads that left for good, to adopt.
    spare: Mutex<Vec<*const HandleTable>>,
}

// SAFETY: the raw pointers in `spare` point into `all`'s boxes, which live
// as long as `Handles`; tables are `Sync` (atomics under a mutex).
unsafe impl Send for Handles {}
// SAFETY: as above.
unsafe impl Sync for Handles {}

/// One thread's handle on its table: the slots it may fill.
pub struct HandleLocal {
    table: *const HandleTable,
    /// Slots in `LISTED` state, ready to fill.
    free: Vec<*const Slot>,
}

/// A root: the slot a `Ref` owns (null when it owns none: a `Ref` of a
/// counting policy never has one).
#[derive(Debug)]
pub struct Handle(*const Slot);

impl Default for Handle {
    fn default() -> Self {
        Handle(std::ptr::null())
    }
}

// SAFETY: a handle is emptied with one atomic store, from any thread; the
// slot lives as long as the heap, which the `Ref` holding it cannot outlive.
unsafe impl Send for Handle {}
// SAFETY: as above; `&Handle` allows nothing.
unsafe impl Sync for Handle {}

impl Default for Handles {
    fn default() -> Self {
        Handles::new()
    }
}

impl Handles {
    pub fn new() -> Self {
        Handles {
            all: Mutex::new(Vec::new()),
            spare: Mutex::new(Vec::new()),
        }
    }

    /// A table for a thread that attaches: a spare one (adopted with its
    /// live slots, which other threads' `Ref`s still own) or a new one.
    pub fn attach(&self) -> HandleLocal {
        let spare = self.spare.lock().pop();
        let table = spare.unwrap_or_else(|| {
            let mut all = self.all.lock();
            all.push(Box::new(HandleTable::new()));
            &**all.last().expect("just pushed") as *const HandleTable
        });
        HandleLocal {
            table,
            free: Vec::new(),
        }
    }

    /// A thread leaves for good: its unfilled slots become `DROPPED` (for
    /// the adopter's sweep) and its table spare.
    pub fn detach(&self, local: &mut HandleLocal) {
        for s in local.free.drain(..) {
            // SAFETY: our own listed slot, in a live table.
            // Relaxed: the adopter takes the table through the `spare` mutex,
            // which orders this store before its sweep.
            unsafe { (*s).0.store(DROPPED, Ordering::Relaxed) };
        }
        self.spare.lock().push(local.table);
    }

    /// Calls `f` with every root (the address in each live slot).
    ///
    /// Must run with every attached thread parked (world stopped or the GIL
    /// held), so no slot is being filled; slots may be emptied meanwhile by
    /// threads that are not attached (see the module docs).
    pub fn for_each_root(&self, f: &mut dyn FnMut(ObjAddr)) {
        for t in self.all.lock().iter() {
            for chunk in t.chunks.lock().iter() {
                for s in chunk.iter() {
                    // Acquire: pairs with the release in `drop_root`, so a
                    // thread's uses of an object it dropped happen-before a
                    // free that follows this scan.
                    let v = s.0.load(Ordering::Acquire);
                    if v > LISTED {
                        f(v as ObjAddr);
                    }
                }
            }
        }
    }

    /// Moves roots: each live slot holding `a` is set to `f(a)` (when that
    /// differs) by a compare-and-swap, so that a slot emptied meanwhile by
    /// a thread that is not attached stays empty: a plain store would
    /// refill it with an address no `Ref` owns any more (a root that is
    /// never dropped, and a slot its owner's sweep never takes back).
    ///
    /// Must run as `for_each_root` does, every attached thread parked (a
    /// moving collector: the nursery's minor collection). The heap queues
    /// drops from threads that are not attached while it has a nursery
    /// (`heap::refs`), so no slot is emptied during a move there; the swap
    /// keeps the table sound whatever a caller does.
    pub fn move_roots(&self, f: &mut dyn FnMut(ObjAddr) -> ObjAddr) {
        for t in self.all.lock().iter() {
            for chunk in t.chunks.lock().iter() {
                for s in chunk.iter() {
                    // Acquire: as in `for_each_root`.
                    let v = s.0.load(Ordering::Acquire);
                    if v <= LISTED {
                        continue;
                    }
                    let new = f(v as ObjAddr) as usize;
                    if new != v {
                        // Release on success: the moved object's contents
                        // before a reader of the slot (`Handle::obj`) sees
                        // the new address. Acquire on failure: the slot
                        // was emptied; the dropping thread's uses of the
                        // object happen-before the collector reuses the
                        // memory it moved out of.
                        let _ =
                            s.0.compare_exchange(v, new, Ordering::AcqRel, Ordering::Acquire);
                    }
                }
            }
        }
    }

    /// Live slots in all tables (for tests and statistics; world stopped or
    /// quiescent for an exact figure).
    pub fn roots(&self) -> usize {
        let mut n = 0;
        self.for_each_root(&mut |_| n += 1);
        n
    }
}

impl HandleLocal {
    /// Fills a slot of this thread's table with `obj`: a new root.
    ///
    /// The calling thread is this table's attached owner.
    #[inline]
    pub fn new_root(&mut self, obj: ObjAddr) -> Handle {
        let s = match self.free.pop() {
            Some(s) => s,
            None => self.refill(),
        };
        // SAFETY: a listed slot of our table, which lives as long as the heap.
        // Relaxed: only we write a listed slot, and a scan reads it only
        // after the stop-the-world handshake (or GIL hand-over) that orders
        // this store before it.
        unsafe { (*s).0.store(obj as usize, Ordering::Relaxed) };
        Handle(s)
    }

    /// Reclaims the table's emptied slots; grows the table when fewer than
    /// half of its slots come back (so a sweep is paid for by as many fills
    /// as the table has slots). Returns a listed slot.
    #[cold]
    #[inline(never)]
    fn refill(&mut self) -> *const Slot {
        // SAFETY: our table lives as long as the heap.
        let table = unsafe { &*self.table };
        let mut chunks = table.chunks.lock();
        let mut total = 0;
        for chunk in chunks.iter() {
            total += chunk.len();
            for s in chunk.iter() {
                // Acquire: we may refill the slot; reading its emptying
                // store first keeps the slot's history in one order.
                if s.0.load(Ordering::Acquire) == DROPPED {
                    s.0.store(LISTED, Ordering::Relaxed);
                    self.free.push(s);
                }
            }
        }
        if self.free.len() * 2 <= total || self.free.is_empty() {
            let n = total.max(MIN_CHUNK);
            let chunk: Box<[Slot]> = (0..n).map(|_| Slot(AtomicUsize::new(LISTED))).collect();
            self.free.extend(chunk.iter().map(|s| s as *const Slot));
            chunks.push(chunk);
        }
        self.free.pop().expect("refilled")
    }

    /// Slots in this thread's table.
    pub fn capacity(&self) -> usize {
        // SAFETY: our table lives as long as the heap.
        unsafe { (*self.table).capacity() }
    }
}

impl Handle {
    /// The address the slot holds now: the object this root names, where a
    /// moving collector may have put it since (`move_roots`). Meaningful
    /// while the root is live (not yet dropped).
    #[inline(always)]
    pub fn obj(&self) -> ObjAddr {
        if self.0.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: a non-null handle points at a slot of a live table (the
        // heap outlives every `Ref`, which owns this handle).
        // Acquire: pairs with `move_roots`' release, so an object moved
        // before we read its new address is seen with its contents.
        unsafe { (*self.0).0.load(Ordering::Acquire) as ObjAddr }
    }

    /// Empties the slot: the root is gone. Any thread, attached or not.
    ///
    /// # Safety
    /// The handle was made by `new_root` on a table of a heap that is still
    /// alive, and is emptied once.
    #[inline(always)]
    pub unsafe fn drop_root(&self) {
        if !self.0.is_null() {
            // Release: our uses of the object happen-before a collector that
            // reads `DROPPED` here and frees it (see `for_each_root`).
            // SAFETY: the caller's contract.
            unsafe { (*self.0).0.store(DROPPED, Ordering::Release) };
        }
    }
}
