//! The heap integrity check: every block is free xor live, counts agree.
//!
//! Walks every arena, pool and large block while the heap is quiescent (no
//! thread allocating, freeing or mutating: after the workers joined, or with
//! the world stopped) and checks:
//! - the arena bookkeeping (free pool stacks, buckets);
//! - each pool's free lists (local and remote) are well formed and agree with
//!   its `used` count; the class tables' block counts agree with the walk;
//! - every live block of an object pool holds a well-formed header of the
//!   pool's class; every reference held by a live container points at a live
//!   object; every live object's count is at least the references that live
//!   containers hold to it;
//! - every list's item array is a live raw block, and no raw block is
//!   orphaned (a leak).
//!
//! Under a count-free policy (`Counts::TRACED`) there are no counts to
//! check: the checks on counts are skipped, the rest stand.
//!
//! The leak check adds: after the last `Ref` is dropped (and, for cycles, a
//! final collection) there are zero live blocks but immortal objects, which
//! are counted apart.

use crate::alloc::walk::scan_all;
use crate::alloc::{class_block_size, Domain};
use crate::heap::Heap;
use crate::object::{for_each_child, gc_bits, Kind, ListObj, ObjHeader, LARGE};
use crate::policy::{Counts, Policy};
use std::collections::{HashMap, HashSet};

/// What the verifier found.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VerifyReport {
    /// Live objects that are not immortal.
    pub live_objects: usize,
    /// Immortal objects (released with the heap).
    pub immortal_objects: usize,
    /// Live raw blocks (list item arrays), small and large.
    pub raw_blocks: usize,
    /// Live blocks in pools (objects and raw).
    pub pool_blocks: usize,
    /// Large blocks.
    pub large_blocks: usize,
    /// Pools in use.
    pub pools: usize,
    /// Bytes the live blocks were asked for: each object's size, and each
    /// list item array's capacity (the block sizes round these up).
    pub requested_bytes: usize,
    /// Live blocks per class (object domain).
    pub blocks_per_class: Vec<usize>,
    /// Pools per class (object domain).
    pub pools_per_class: Vec<usize>,
    /// Sum of the counts of live, non-immortal objects.
    pub count_sum: i64,
    /// References that live containers hold to live, non-immortal objects.
    /// `count_sum - inbound_sum` is the number of references held from
    /// outside the heap (Rust `Ref`s, deferred decrefs): the reference-count
    /// conservation check.
    pub inbound_sum: i64,
}

impl VerifyReport {
    /// Blocks that are not immortal objects (what the leak check wants at 0).
    pub fn leaked_blocks(&self) -> usize {
        self.live_objects + self.raw_blocks
    }
}

impl<P: Policy> Heap<P> {
    /// Checks the heap's integrity. The heap must be quiescent.
    pub fn verify(&self) -> Result<VerifyReport, String> {
        self.mem.arenas().check()?;
        let from_tables = self.blocks_in_use();
        // SAFETY: the caller keeps the heap quiescent.
        let scans = unsafe { scan_all(self.mem.arenas())? };
        let mut rep = VerifyReport {
            blocks_per_class: vec![0; crate::alloc::NUM_CLASSES],
            pools_per_class: vec![0; crate::alloc::NUM_CLASSES],
            ..Default::default()
        };
        let mut objects: Vec<*mut ObjHeader<P>> = Vec::new();
        let mut raw: HashSet<usize> = HashSet::new();
        for s in &scans {
            rep.pools += 1;
            rep.pool_blocks += s.live();
            match s.domain {
                Domain::Object => {
                    rep.blocks_per_class[s.class] += s.live();
                    rep.pools_per_class[s.class] += 1;
                    s.for_each_live(|b| objects.push(b as *mut ObjHeader<P>));
                }
                Domain::Raw => s.for_each_live(|b| {
                    raw.insert(b as usize);
                }),
            }
        }
        if rep.pool_blocks != from_tables {
            return Err(format!(
                "class tables count {from_tables} blocks in use but the pools hold {}",
                rep.pool_blocks
            ));
        }
        let mut large_sizes = HashMap::new();
        self.mem.large().for_each(|b, size, d| {
            rep.large_blocks += 1;
            match d {
                Domain::Object => objects.push(b as *mut ObjHeader<P>),
                Domain::Raw => {
                    raw.insert(b as usize);
                }
            }
            large_sizes.insert(b as usize, size);
        });
        // Young objects (a nursery: `heap::trace::nursery`) are live too.
        // SAFETY: the caller keeps the heap quiescent.
        unsafe { self.for_each_young_object(|o| objects.push(o)) };
        let live: HashSet<usize> = objects.iter().map(|&o| o as usize).collect();
        // Keyed by address, holding the pointer itself (so that no pointer is
        // made back from an integer).
        let mut inbound: HashMap<usize, (*mut ObjHeader<P>, isize)> = HashMap::new();
        let mut raw_owned = 0usize;
        for &o in &objects {
            // SAFETY: a live object block; quiescent heap.
            let (kind_byte, class, size) = unsafe {
                let kb = *(std::ptr::addr_of!((*o).kind) as *const u8);
                (kb, (*o).class, if kb <= 2 { (*o).object_size() } else { 0 })
            };
            if kind_byte > 2 {
                return Err(format!("object {o:p}: bad kind byte {kind_byte}"));
            }
            rep.requested_bytes += size;
            if class == crate::heap::trace::nursery::NURSERY_CLASS
                && self.trace.nursery.contains(o as *const u8)
            {
                // A young object: no pool serves it.
            } else if class == LARGE {
                if large_sizes.get(&(o as usize)) != Some(&size) {
                    return Err(format!(
                        "large object {o:p}: size {size} disagrees with its block"
                    ));
                }
            } else {
                let pool = crate::alloc::pool_of(o as *const u8);
                // SAFETY: the pool of a live block.
                let pc = unsafe { (*pool).class };
                if pc != class || size > class_block_size(class as usize) {
                    return Err(format!(
                        "object {o:p}: header says class {class} (size {size}) in a pool of class {pc}"
                    ));
                }
            }
            // SAFETY: as above.
            let (flags, total, kind) = unsafe { ((*o).gc_flags(), (*o).rc_total(), (*o).kind) };
            if flags & gc_bits::IMMORTAL != 0 {
                rep.immortal_objects += 1;
            } else {
                rep.live_objects += 1;
                if !<P::Counts as Counts>::TRACED && total <= 0 {
                    return Err(format!("live {} {o:p} has count {total}", kind.name()));
                }
            }
            let mut bad = None;
            // SAFETY: quiescent; the object is live.
            unsafe {
                for_each_child(o, |c| {
                    if !live.contains(&(c as usize)) {
                        bad = Some(c);
                    }
                    inbound.entry(c as usize).or_insert((c, 0)).1 += 1;
                })
            };
            if let Some(c) = bad {
                return Err(format!(
                    "{} {o:p} refers to {c:p}, which is not a live object",
                    kind.name()
                ));
            }
            if kind == Kind::List {
                // SAFETY: a live list.
                let (items, cap, len) = unsafe {
                    let l = o as *mut ListObj<P>;
                    ((*l).items as usize, (*l).cap, (*l).len)
                };
                if len > cap {
                    return Err(format!("list {o:p}: len {len} > cap {cap}"));
                }
                if cap > 0 {
                    rep.requested_bytes += cap * std::mem::size_of::<usize>();
                    if !raw.contains(&items) {
                        return Err(format!(
                            "list {o:p}: item array {items:#x} is not a live raw block"
                        ));
                    }
                    raw_owned += 1;
                }
            }
        }
        for &(obj, n) in inbound.values() {
            // SAFETY: checked live above.
            let (total, flags) = unsafe { ((*obj).rc_total(), (*obj).gc_flags()) };
            if flags & gc_bits::IMMORTAL != 0 {
                continue;
            }
            if !<P::Counts as Counts>::TRACED && total < n {
                return Err(format!(
                    "object {obj:p}: count {total} but {n} references from live containers"
                ));
            }
            rep.inbound_sum += n as i64;
        }
        for &o in &objects {
            // SAFETY: live objects of a quiescent heap.
            let (total, flags) = unsafe { ((*o).rc_total(), (*o).gc_flags()) };
            if flags & gc_bits::IMMORTAL == 0 {
                rep.count_sum += total as i64;
            }
        }
        // Item arrays retired by a resize and waiting for QSBR are live too.
        let retired = self.qsbr.waiting();
        if raw_owned + retired != raw.len() {
            return Err(format!(
                "{} raw blocks are live but only {raw_owned} lists own an item array \
                 ({retired} retired)",
                raw.len()
            ));
        }
        rep.raw_blocks = raw.len();
        for &f in self.gc.finalizers.lock().keys() {
            if !live.contains(&f) {
                return Err(format!(
                    "a finalizer is registered for {f:#x}, which is not a live object"
                ));
            }
        }
        Ok(rep)
    }

    /// The leak check that ends every test and run: applies deferred
    /// decrefs (on a temporary attachment), optionally collects, verifies,
    /// and requires zero live blocks but immortal objects. The heap must be
    /// quiescent (no other thread attached). A count-free heap frees only by
    /// collecting, so it always collects here: after the final collection it
    /// must hold nothing but what Rust still holds.
    pub fn leak_check(&self, collect: bool) -> Result<VerifyReport, String> {
        {
            let m = self.attach();
            m.apply_pending();
            if collect || <P::Counts as Counts>::TRACED {
                m.collect();
            }
        }
        self.trim();
        let rep = self.verify()?;
        if rep.leaked_blocks() != 0 {
            return Err(format!(
                "leak: {} live objects and {} raw blocks remain after the last reference was dropped",
                rep.live_objects, rep.raw_blocks
            ));
        }
        Ok(rep)
    }
}

/// Test helper: verify and assert zero leaked blocks (no collection: what
/// reference counting alone must free).
pub fn assert_no_leaks<P: Policy>(heap: &Heap<P>) {
    if let Err(e) = heap.leak_check(false) {
        panic!("{} heap: {e}", P::NAME);
    }
}

/// Test helper: as `assert_no_leaks`, after a final full collection.
pub fn assert_no_leaks_after_collect<P: Policy>(heap: &Heap<P>) {
    if let Err(e) = heap.leak_check(true) {
        panic!("{} heap: {e}", P::NAME);
    }
}
