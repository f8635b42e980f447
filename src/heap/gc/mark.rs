//! The collector's marking phases (CPython's `update_refs`,
//! `subtract_refs`, `move_unreachable`), with the world stopped:
//!
//! - [`Heap::candidates`]: the tracked containers of the set being collected
//!   (every object pool in pool-walk mode, generations 0..=g otherwise), with
//!   `gc_refs = count` written as they are found (update_refs folded in;
//!   the pool walk folds subtract_refs in too);
//! - [`Heap::find_unreachable`]: subtract the references from inside the set
//!   (unless the walk did), then mark everything reachable from what is left
//!   above zero (serially with plain bits, or in parallel with rayon and
//!   atomic bits); the unmarked candidates are the garbage. Marking an
//!   object clears its CANDIDATE bit, so what keeps it is the garbage, and
//!   a collection that reaches every candidate needs no last pass.
//!
//! *Before*: the world is stopped and every count exact (merges applied).
//! *After*: the garbage is returned; no candidate keeps a scratch bit.

use super::GcMode;
use crate::alloc::walk::{prefetch, scan_all, PREFETCH_AHEAD};
use crate::alloc::Domain;
use crate::heap::Heap;
use crate::object::{for_each_child, gc_bits, gc_head, tuple_items, Kind, ListObj, ObjHeader};
use crate::policy::Policy;
#[cfg(not(loom))]
use crate::sync::Ordering;

/// A candidate as rayon's workers share it: the phases that run over the
/// candidate vector in parallel each touch only the candidates of their own
/// chunk.
#[cfg(not(loom))]
#[repr(transparent)]
struct Cand<P: Policy>(*mut ObjHeader<P>);

// SAFETY: read and written by marking workers only while the world is
// stopped, each candidate by the one worker whose chunk holds it.
#[cfg(not(loom))]
unsafe impl<P: Policy> Sync for Cand<P> {}
// SAFETY: as above.
#[cfg(not(loom))]
unsafe impl<P: Policy> Send for Cand<P> {}

/// The candidate vector as `Cand`s.
#[cfg(not(loom))]
fn shared<P: Policy>(cands: &[*mut ObjHeader<P>]) -> &[Cand<P>] {
    // SAFETY: `Cand` is a transparent wrapper of the pointer.
    unsafe { std::slice::from_raw_parts(cands.as_ptr() as *const Cand<P>, cands.len()) }
}

/// Candidates per chunk of the parallel passes over the candidate vector.
#[cfg(not(loom))]
const CAND_CHUNK: usize = 16 * 1024;

#[inline(always)]
fn flags<P: Policy>(o: *mut ObjHeader<P>) -> u8 {
    // SAFETY: candidates and their children are live while the world is stopped.
    unsafe { (*o).gc_flags() }
}

#[inline(always)]
fn set_flags<P: Policy>(o: *mut ObjHeader<P>, f: u8) {
    // SAFETY: as in `flags`.
    unsafe { (*o).set_gc_flags(f) }
}

/// CPython's `_PyTuple_MaybeUntrack`: true when tuple `o` can never be part
/// of a cycle, every item being a leaf or an untracked tuple (tuples are
/// immutable, so that stays true). A tuple with an item not yet set (a
/// cleared one) keeps its tracking, as in CPython.
///
/// # Safety
/// `o` is a live tuple of this heap, its items live, and nobody else
/// writes them (the world is stopped, or the GIL held).
pub(super) unsafe fn tuple_may_untrack<P: Policy>(o: *mut ObjHeader<P>) -> bool {
    // SAFETY: the caller's contract.
    unsafe {
        let items = tuple_items(o);
        (0..(*o).len as usize).all(|i| {
            let c = *items.add(i);
            !c.is_null()
                && match (*c).kind {
                    Kind::Leaf => true,
                    Kind::Tuple => flags(c) & gc_bits::TRACKED == 0,
                    Kind::List => false,
                }
        })
    }
}

/// update_refs for one object: if `o` is a candidate (a tracked, mortal,
/// live container), marks it CANDIDATE with `gc_refs = count` and returns
/// true. In pool-walk mode a tuple that cannot be part of a cycle is
/// untracked instead (free-threaded CPython's `update_refs` calls
/// `_PyTuple_MaybeUntrack`).
#[inline(always)]
fn enter<P: Policy>(o: *mut ObjHeader<P>, pool_walk: bool) -> bool {
    // SAFETY: a live object of this heap (a block of the walk, a child of
    // one, or a node of a generation list); the world is stopped.
    unsafe {
        let (kind, f) = ((*o).kind, (*o).gc_flags());
        if !kind.is_container() || f & (gc_bits::TRACKED | gc_bits::IMMORTAL) != gc_bits::TRACKED {
            return false;
        }
        let total = (*o).rc_total();
        if total <= 0 {
            return false; // dead, waiting for its deallocation
        }
        if pool_walk && kind == Kind::Tuple && tuple_may_untrack(o) {
            set_flags(o, f & !gc_bits::TRACKED);
            return false;
        }
        set_flags(o, f | gc_bits::CANDIDATE);
        (*gc_head(o)).refs = total;
        true
    }
}

/// Atomically marks candidate `o` reachable; true if this call marked it
/// (parallel marking). Reaching a candidate clears its CANDIDATE bit: what
/// keeps the bit after marking is the garbage, and a reached object's
/// scratch bits need no pass of their own to be cleared.
#[cfg(not(loom))]
#[inline(always)]
fn claim<P: Policy>(o: *mut ObjHeader<P>) -> bool {
    // SAFETY: as in `flags`.
    let f = unsafe { &(*o).gc_bits };
    // Relaxed: the markers run with the world stopped and are joined before
    // anyone reads the bits; the RMW alone decides who claims an object.
    let cur = f.load(Ordering::Relaxed);
    if cur & gc_bits::CANDIDATE == 0 {
        return false;
    }
    f.fetch_and(!gc_bits::CANDIDATE, Ordering::Relaxed) & gc_bits::CANDIDATE != 0
}

/// Marks candidate `o` reachable (clears CANDIDATE, as `claim`) with a
/// plain load and store (one marking thread).
#[inline(always)]
fn claim_serial<P: Policy>(o: *mut ObjHeader<P>) -> bool {
    let cur = flags(o);
    if cur & gc_bits::CANDIDATE == 0 {
        return false;
    }
    set_flags(o, cur & !gc_bits::CANDIDATE);
    true
}

/// Whether a claimed object has children to visit, read while its header
/// is in cache from the claim: a childless one (an empty list, say) is not
/// pushed, so the marker does not come back to it after the rest of the
/// stack has pushed it out of the cache.
#[inline(always)]
fn has_children<P: Policy>(o: *mut ObjHeader<P>) -> bool {
    // SAFETY: as in `flags`; a container's layout by its kind.
    unsafe {
        match (*o).kind {
            Kind::Leaf => false,
            Kind::Tuple => (*o).len > 0,
            Kind::List => (*(o as *mut ListObj<P>)).len > 0,
        }
    }
}

/// Marks everything reachable from `stack` (claimed roots); returns how
/// many objects it claimed.
/// `for_each_child`, prefetching each child `PREFETCH_AHEAD` items before
/// it is visited (a wide list's children are each a line the visit must
/// wait for otherwise).
///
/// # Safety
/// `o` is a live object; nobody writes it (the world is stopped).
#[inline(always)]
unsafe fn for_each_child_ahead<P: Policy>(
    o: *mut ObjHeader<P>,
    mut f: impl FnMut(*mut ObjHeader<P>),
) {
    // SAFETY: the caller's contract; a container's layout by its kind.
    let (items, len) = unsafe {
        match (*o).kind {
            Kind::Leaf => return,
            Kind::Tuple => (
                tuple_items(o) as *const *mut ObjHeader<P>,
                (*o).len as usize,
            ),
            Kind::List => {
                let l = o as *mut ListObj<P>;
                ((*l).items as *const *mut ObjHeader<P>, (*l).len)
            }
        }
    };
    for i in 0..len {
        if i + PREFETCH_AHEAD < len {
            // SAFETY: inside the item array.
            prefetch(unsafe { *items.add(i + PREFETCH_AHEAD) });
        }
        // SAFETY: as above.
        let c = unsafe { *items.add(i) };
        if !c.is_null() {
            f(c)
        }
    }
}

fn mark_serial<P: Policy>(mut stack: Vec<*mut ObjHeader<P>>) -> usize {
    let mut claimed = 0;
    while let Some(o) = stack.pop() {
        // SAFETY: world stopped; `o` is a live candidate.
        unsafe {
            for_each_child_ahead(o, |c| {
                if claim_serial(c) {
                    claimed += 1;
                    if has_children(c) {
                        stack.push(c)
                    }
                }
            })
        };
    }
    claimed
}

/// A run of child pointers to mark from: a slice of a container's item
/// array (null entries, a tuple's unset items, are skipped). Marking works
/// on runs rather than objects so that one wide container (the bench's
/// outer list of 1M lists) can be shared out among the workers.
#[cfg(not(loom))]
pub(crate) struct Run<P: Policy>(pub(crate) *const *mut ObjHeader<P>, pub(crate) usize);

// SAFETY: read by marking workers while the world is stopped.
#[cfg(not(loom))]
unsafe impl<P: Policy> Send for Run<P> {}

/// Runs longer than this are halved, the second half handed to rayon for an
/// idle worker to take: small enough that both workers get a share of a
/// wide list, large enough that a task's cost (a few hundred ns) is noise
/// against marking it.
#[cfg(not(loom))]
pub(crate) const RUN_SPLIT: usize = 4096;

/// The items of container `o` as a run (empty for a leaf): the cycle
/// collector's markers and the tracing collector's (`heap::trace::par_mark`)
/// share it.
///
/// # Safety
/// `o` is a live container; nobody writes it (the world is stopped).
#[cfg(not(loom))]
#[inline(always)]
pub(crate) unsafe fn run_of<P: Policy>(o: *mut ObjHeader<P>) -> Run<P> {
    // SAFETY: the caller's contract; a container's layout by its kind.
    unsafe {
        match (*o).kind {
            Kind::Leaf => Run(std::ptr::null(), 0),
            Kind::Tuple => Run(tuple_items(o), (*o).len as usize),
            Kind::List => {
                let l = o as *mut ListObj<P>;
                Run((*l).items, (*l).len)
            }
        }
    }
}

/// Marks everything reachable from `roots` (claimed) with the workers of
/// `pool`; returns how many objects they claimed.
#[cfg(not(loom))]
fn mark_parallel<P: Policy>(pool: &rayon::ThreadPool, roots: Vec<*mut ObjHeader<P>>) -> usize {
    use crate::sync::AtomicUsize;
    fn work<'s, P: Policy>(s: &rayon::Scope<'s>, mut stack: Vec<Run<P>>, total: &'s AtomicUsize) {
        let mut claimed = 0;
        while let Some(Run(items, mut len)) = stack.pop() {
            // A long run: give its second half away, keep the first.
            while len > RUN_SPLIT {
                let half = len / 2;
                // SAFETY: `half < len`: inside the run's array.
                let rest = Run(unsafe { items.add(half) }, len - half);
                s.spawn(move |s| work(s, vec![rest], total));
                len = half;
            }
            for i in 0..len {
                if i + PREFETCH_AHEAD < len {
                    // SAFETY: inside the run.
                    prefetch(unsafe { *items.add(i + PREFETCH_AHEAD) });
                }
                // SAFETY: world stopped; `items[..len]` are the live items
                // of a live candidate.
                let c = unsafe { *items.add(i) };
                if !c.is_null() && claim(c) {
                    claimed += 1;
                    if has_children(c) {
                        // SAFETY: as above; `c` is a live container.
                        stack.push(unsafe { run_of(c) });
                    }
                }
            }
            if stack.len() > RUN_SPLIT {
                let half = stack.split_off(stack.len() / 2);
                s.spawn(move |s| work(s, half, total));
            }
        }
        // One add per task; the scope's join orders it before the load.
        total.fetch_add(claimed, Ordering::Relaxed);
    }
    let total = AtomicUsize::new(0);
    // SAFETY: world stopped; the roots are live candidates.
    let roots: Vec<Run<P>> = roots.into_iter().map(|o| unsafe { run_of(o) }).collect();
    pool.scope(|s| {
        let total = &total;
        let mut roots = roots.into_iter().peekable();
        while roots.peek().is_some() {
            let v: Vec<Run<P>> = roots.by_ref().take(1024).collect();
            s.spawn(move |s| work(s, v, total));
        }
    });
    total.load(Ordering::Relaxed)
}

impl<P: Policy> Heap<P> {
    pub(crate) fn mark_pool(&self) -> Option<std::sync::Arc<rayon::ThreadPool>> {
        if !crate::sync::Geometry::PARALLEL_MARKING || self.gc.config.mark_workers <= 1 {
            return None;
        }
        let mut p = self.gc.pool.lock();
        if p.is_none() {
            *p = rayon::ThreadPoolBuilder::new()
                .num_threads(self.gc.config.mark_workers)
                .thread_name(|i| format!("heaplab-gc-mark-{i}"))
                .build()
                .ok()
                .map(std::sync::Arc::new);
        }
        p.clone()
    }

    /// Finds the candidates of a collection of generation `gen`, with
    /// update_refs done; in pool-walk mode subtract_refs too. In pool-walk
    /// mode a tuple that cannot be part of a cycle is untracked here instead
    /// (free-threaded CPython's `update_refs` calls `_PyTuple_MaybeUntrack`);
    /// generational mode untracks among the survivors, as CPython 3.11
    /// (`after_collection`).
    ///
    /// # Safety
    /// The world is stopped and counts are exact (merges applied).
    pub(super) unsafe fn candidates(&self, gen: usize) -> Candidates<P> {
        let mut out = Candidates {
            all: Vec::new(),
            maybe_roots: None,
        };
        match self.gc.config.mode {
            GcMode::PoolWalk => {
                // update_refs and subtract_refs folded into the walk, one
                // pass over memory instead of two: a candidate's gc_refs is
                // set where it is first met, as a block of the walk or as a
                // child of one (CANDIDATE then says it is set), and each
                // child that is a candidate loses one as its parent is
                // walked. gc_refs only falls after it is set, so a candidate
                // at zero once the walk has passed it (its own children
                // subtracted) is no root: only the others are kept as
                // possible roots, and the root filter looks at those alone.
                let mut maybe = Vec::new();
                let mut visit = |o: *mut ObjHeader<P>| {
                    if flags(o) & gc_bits::CANDIDATE == 0 && !enter(o, true) {
                        return;
                    }
                    out.all.push(o);
                    // SAFETY: world stopped; `o` is a live candidate.
                    unsafe {
                        for_each_child_ahead(o, |c| {
                            if flags(c) & gc_bits::CANDIDATE != 0 || enter(c, true) {
                                (*gc_head(c)).refs -= 1;
                            }
                        });
                        if (*gc_head(o)).refs > 0 {
                            maybe.push(o);
                        }
                    }
                };
                // SAFETY: the world is stopped.
                let scans = unsafe { scan_all(self.mem.arenas()) }
                    .unwrap_or_else(|e| panic!("heap corrupted: {e}"));
                for s in scans.iter().filter(|s| s.domain == Domain::Object) {
                    s.for_each_live(|b| visit(b as *mut ObjHeader<P>));
                }
                self.mem.large().for_each(|b, _, d| {
                    if d == Domain::Object {
                        visit(b as *mut ObjHeader<P>)
                    }
                });
                out.maybe_roots = Some(maybe);
            }
            GcMode::Generational => {
                // SAFETY: under the GIL.
                self.gc.gens.with(|g| unsafe {
                    for list in (*g).iter().take(gen + 1) {
                        let mut o = list.head;
                        while !o.is_null() {
                            if enter(o, false) {
                                out.all.push(o);
                            }
                            o = (*gc_head(o)).next;
                        }
                    }
                });
            }
        }
        out
    }

    /// Phases 3-5 over `cands`: returns the unreachable ones. With
    /// `held = 0` the candidates come from `candidates`, which already did
    /// update_refs (and in pool-walk mode subtract_refs, and the possible
    /// roots, `maybe_roots`: a superset of the roots, or `None` to look at
    /// every candidate); with `held = 1` each candidate's count includes one
    /// reference the collector holds, which is not counted as external.
    ///
    /// Marking clears the CANDIDATE bit of what it reaches; when it reached
    /// every candidate there is no garbage and no last pass (the bench's
    /// live heap), otherwise a sweep returns the candidates still marked and
    /// clears their bit.
    ///
    /// # Safety
    /// The world is stopped; `cands` are live tracked containers of this
    /// heap, as `candidates` returns them (with `held` as described), and
    /// `maybe_roots` holds every candidate whose gc_refs is above zero.
    pub(super) unsafe fn find_unreachable(
        &self,
        cands: &[*mut ObjHeader<P>],
        maybe_roots: Option<&[*mut ObjHeader<P>]>,
        held: isize,
    ) -> Vec<*mut ObjHeader<P>> {
        // update_refs (the first pass does it while finding the candidates)
        if held != 0 {
            for &o in cands {
                // SAFETY: world stopped; live candidates.
                unsafe {
                    set_flags(o, flags(o) | gc_bits::CANDIDATE);
                    (*gc_head(o)).refs = (*o).rc_total() - held;
                }
            }
        }
        // subtract_refs (the pool walk did it as it found the candidates)
        let subtracted = held == 0 && self.gc.config.mode == GcMode::PoolWalk;
        for &o in if subtracted { &[][..] } else { cands } {
            // SAFETY: as above.
            unsafe {
                for_each_child(o, |c| {
                    if flags(c) & gc_bits::CANDIDATE != 0 {
                        (*gc_head(c)).refs -= 1;
                    }
                })
            };
        }
        // mark_reachable from the roots
        let maybe = maybe_roots.unwrap_or(cands);
        let pool = if held == 0 { self.mark_pool() } else { None };
        let is_root =
            // SAFETY: as above.
            |o: *mut ObjHeader<P>| unsafe { (*gc_head(o)).refs > 0 } && claim_serial(o);
        let reached = match pool {
            #[cfg(not(loom))]
            Some(ref pool) => {
                use rayon::prelude::*;
                // Each chunk's candidates are claimed by the one worker
                // that walks the chunk: plain claims suffice here.
                let maybe = shared(maybe);
                let roots: Vec<Vec<Cand<P>>> = pool.install(|| {
                    maybe
                        .par_chunks(CAND_CHUNK)
                        .map(|ch| {
                            ch.iter()
                                .filter(|c| is_root(c.0))
                                .map(|c| Cand(c.0))
                                .collect()
                        })
                        .collect()
                });
                let roots: Vec<_> = roots.into_iter().flatten().map(|c| c.0).collect();
                roots.len() + mark_parallel(pool, roots)
            }
            _ => {
                let roots: Vec<_> = maybe.iter().copied().filter(|&o| is_root(o)).collect();
                roots.len() + mark_serial(roots)
            }
        };
        if reached == cands.len() {
            return Vec::new(); // every candidate reached: bits all clear
        }
        match pool {
            #[cfg(not(loom))]
            Some(pool) => {
                use rayon::prelude::*;
                // One pass, shared out: collect the unmarked, clear their
                // bits.
                let cands = shared(cands);
                let parts: Vec<Vec<Cand<P>>> = pool.install(|| {
                    cands
                        .par_chunks(CAND_CHUNK)
                        .map(|ch| {
                            sweep(ch.iter().map(|c| c.0))
                                .into_iter()
                                .map(Cand)
                                .collect()
                        })
                        .collect()
                });
                parts.into_iter().flatten().map(|c| c.0).collect()
            }
            _ => sweep(cands.iter().copied()),
        }
    }
}

/// What the pool walk or the generation lists found.
pub(super) struct Candidates<P: Policy> {
    /// Every candidate.
    pub all: Vec<*mut ObjHeader<P>>,
    /// A superset of the roots (pool-walk mode), or `None`: any may be one.
    pub maybe_roots: Option<Vec<*mut ObjHeader<P>>>,
}

/// The last pass over the candidates, when marking left some: returns
/// those still marked CANDIDATE (the garbage) and clears the bit.
fn sweep<P: Policy>(cands: impl Iterator<Item = *mut ObjHeader<P>>) -> Vec<*mut ObjHeader<P>> {
    let mut unreachable = Vec::new();
    for o in cands {
        let f = flags(o);
        if f & gc_bits::CANDIDATE != 0 {
            unreachable.push(o);
            set_flags(o, f & !gc_bits::CANDIDATE);
        }
    }
    unreachable
}
