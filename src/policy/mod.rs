//! Policies: the axes the lab varies, and the named combinations it compares.
//!
//! A policy is four independent choices, each a component type with its own
//! shared and per-thread state, plus the header's padding:
//!
//! | axis | trait | choices |
//! |---|---|---|
//! | how threads take turns | [`Interp`] | [`GilInterp`] (one global lock, CPython's new GIL); [`FreeInterp`] (attach/detach and stop-the-world, free-threaded CPython) |
//! | reference counts | [`Counts`] | [`PlainCounts`] (needs the GIL); [`AtomicCounts`]; [`BiasedCounts`] (owner-local + shared, merge queue); [`TracedCounts`] (none: handle-table roots and a tracing collector) |
//! | allocator front end | [`Front`] | [`SharedFront`] (one class table, needs the GIL); [`ClassLockFront`] (a lock per class); [`ThreadFront`] (a class table per thread, remote frees, adoption) |
//! | per-object lock on lists | [`ObjLock`] | [`NoLock`]; [`ParkingObjLock`] (one byte, PyMutex-style) |
//! | header padding | [`Policy::Pad`] | none, or 16 bytes (PEP 703's header grew from 16 to 32 bytes) |
//!
//! The named policies the CLI offers are combinations of these:
//!
//! | policy | interp | counts | front | list lock | models |
//! |---|---|---|---|---|---|
//! | `gil` | GIL | plain | shared | none | CPython with the GIL |
//! | `pool-locks` | free | atomic | class locks | one byte | a naive GIL removal |
//! | `biased` | free | biased | per thread | one byte | free-threaded CPython (PEP 703) |
//! | `gil-tracing` | GIL | none (traced) | shared | none | PyPy: a GIL, no counts, a tracing collector |
//! | `tracing` | free | none (traced) | per thread | one byte | Jython / IronPython on the JVM / CLR |
//! | `biased+locked-reads` | free | biased | per thread | one byte | `biased` with locked list reads |
//!
//! `biased` also reads lists without their lock ([`Policy::OPTIMISTIC_READS`],
//! free-threaded CPython's `list_get_item_ref`); `pool-locks` does not: its
//! atomic count sits where a freed block keeps its free-list link, so a
//! try-incref could not tell a freed block from a live object.
//! `biased+locked-reads` is `biased` with every list `get` under the lock
//! (the read path is a constant of the type, so each path is its own
//! policy): `run --list-reads locked,optimistic` runs the two side by side.
//!
//! Everything is chosen at compile time: `Heap<P>` is monomorphised per
//! policy, so no run-time branch on a component sits on any hot path, and a
//! comparison measures the design, not dispatch. A combination that cannot be
//! sound (plain counts or one unlocked class table without the GIL) fails to
//! build: [`Policy::CHECK`] is evaluated when a heap of that policy is made.
//!
//! ## How the components meet the heap (the contract the layers above use)
//!
//! - Objects start with the count word ([`Counts::Word`]) at offset 0; the
//!   policy layer sees an object only as its address ([`ObjAddr`]) and reads
//!   the word there. The object layout itself (`object::ObjHeader<P>`) lives
//!   one layer up and is generic over the policy, so the two layers depend
//!   one way: `object` on `policy`, never back.
//! - The heap attaches a thread by attaching each component in turn
//!   (interp first: a thread that waits for the GIL or for a stopped world
//!   owns nothing yet), and detaches for good in the reverse order (counts
//!   first, since merging a queue may free objects through the front end).
//! - Objects a component finds dead (a merge that reaches zero) are handed
//!   back to the heap in a list, which the heap frees once the component's
//!   call has returned: a component never frees an object itself, and never
//!   holds the thread state borrowed while freeing re-enters it.
//! - The collector: counting policies pair with the cycle collector (the
//!   heap's `gc` module); a count-free policy ([`TracedCounts`]) says so
//!   through [`Counts::TRACED`], and the heap then runs its tracing
//!   collector (`heap::trace`) instead, with the roots that the counts
//!   component keeps ([`Counts::Root`], [`Counts::for_each_root`]). Both collectors live with the heap; the
//!   policy only names which one by a constant, so layers stay one way.
//! - Hooks the heap calls on every container write ([`Counts::WRITE_BARRIER`])
//!   and for byte-based collection triggers ([`Counts::TRACED`]) are
//!   constants too: a policy without them pays nothing.
//!
//! ## Adding a policy
//!
//! A new combination of existing components is one `define_policy!` in
//! this file plus its line in `names.rs` ([`PolicyName`] and
//! [`with_policy!`](crate::with_policy)). A new component implements its
//! axis's trait in its own file.

pub mod biased;
pub mod counts;
pub mod front;
pub mod gil;
pub mod handles;
pub mod interp;
pub mod names;
pub mod objlock;
pub mod thread_front;
pub mod traced;
pub mod world;

pub use biased::BiasedCounts;
pub use counts::{AtomicCounts, Counts, PlainCounts};
pub use front::{ClassLockFront, Front, SharedFront};
pub use gil::GilInterp;
pub use interp::Interp;
pub use names::{ListReads, PolicyName};
pub use objlock::{NoLock, ObjLock, ParkingObjLock};
pub use thread_front::ThreadFront;
pub use traced::TracedCounts;
pub use world::FreeInterp;

use std::time::Duration;

/// An object as the policy layer sees it: its address, where its count word
/// ([`Counts::Word`]) starts.
pub type ObjAddr = *mut u8;

/// What a policy's components may be configured with.
#[derive(Clone, Debug)]
pub struct PolicyConfig {
    /// The GIL's switch interval (CPython's `sys.setswitchinterval`).
    pub switch_interval: Duration,
    /// The parking table of the object locks (`--locks`): a slow path, so
    /// chosen at run time; meaningless where lists have no lock.
    pub locks: objlock::LockBackend,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            switch_interval: Duration::from_millis(5),
            locks: objlock::LockBackend::Std,
        }
    }
}

/// Per-thread counters that a policy's components keep without atomics and
/// the heap sums.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RcCounters {
    /// Reference-count operations done with plain loads and stores.
    pub local_ops: u64,
    /// Reference-count operations that took an atomic read-modify-write.
    pub atomic_ops: u64,
    /// Blocks freed by a thread other than their pool's owner.
    pub remote_frees: u64,
    /// Objects merged (biased: queue merges and owner give-ups).
    pub merges: u64,
    /// Objects pushed onto another thread's merge queue.
    pub queued: u64,
    /// The longest merge queue this thread drained.
    pub max_queue: u64,
    /// Thread heaps (and their pools) adopted from exited threads.
    pub heaps_adopted: u64,
    /// Owner ids (and the objects they own) adopted from exited threads.
    #[serde(default)]
    pub owners_adopted: u64,
}

impl RcCounters {
    pub fn add(&mut self, o: &RcCounters) {
        self.local_ops += o.local_ops;
        self.atomic_ops += o.atomic_ops;
        self.remote_frees += o.remote_frees;
        self.merges += o.merges;
        self.queued += o.queued;
        self.max_queue = self.max_queue.max(o.max_queue);
        self.heaps_adopted += o.heaps_adopted;
        self.owners_adopted += o.owners_adopted;
    }
}

/// A policy: one choice on each axis.
///
/// # Safety
/// The components must be sound together: a component that relies on the
/// GIL for exclusion ([`Counts::NEEDS_GIL`], [`Front::NEEDS_GIL`], a
/// [`NoLock`] list lock) may only be combined with [`GilInterp`]. `CHECK`
/// states this and the heap evaluates it; implementations must not override
/// it.
pub unsafe trait Policy: 'static + Send + Sync + Sized {
    /// The CLI name.
    const NAME: &'static str;
    /// One line for `heaplab list`.
    const SUMMARY: &'static str;

    type Interp: Interp;
    type Counts: Counts;
    type Front: Front;
    /// The per-object lock (zero-sized where there is none).
    type ObjLock: ObjLock;
    /// Padding at the end of the object header (`[u64; 0]` or `[u64; 2]`).
    type Pad: Copy + Default + Send + Sync + 'static;

    /// Whether the heap is shared without a global lock (the collector must
    /// stop the world, and lists need their object lock).
    const FREE_THREADED: bool = <Self::Interp as Interp>::FREE_THREADED;

    /// Whether a list's `get` reads without the list's lock, as free-threaded
    /// CPython's `list_get_item_ref`: a try-incref of the item
    /// ([`Counts::try_incref`]) and a re-check of the slot, with item arrays
    /// replaced by a resize retired through the heap's QSBR and emptied
    /// object pools held (not given back) until the heap is trimmed.
    const OPTIMISTIC_READS: bool = false;

    /// Refuses, at build time, a combination that cannot be sound.
    const CHECK: () = {
        let free = <Self::Interp as Interp>::FREE_THREADED;
        assert!(
            !(free && <Self::Counts as Counts>::NEEDS_GIL),
            "these reference counts need the GIL"
        );
        assert!(
            !(free && <Self::Front as Front>::NEEDS_GIL),
            "this allocator front end needs the GIL"
        );
        assert!(
            !(free && !<Self::ObjLock as ObjLock>::REAL),
            "lists need a real object lock without the GIL"
        );
        assert!(
            !Self::OPTIMISTIC_READS || (free && <Self::Counts as Counts>::TRY_INCREF),
            "optimistic list reads need a GIL-free policy whose counts can try-incref"
        );
    };
}

/// Defines a named policy from its components.
macro_rules! define_policy {
    (
        $(#[$doc:meta])*
        $name:ident = $cli:literal, $summary:literal:
        $interp:ty, $counts:ty, $front:ty, $lock:ty, $pad:ty
        $(, optimistic_reads = $opt:expr)?
    ) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        // SAFETY: the components are checked together by `Policy::CHECK`,
        // evaluated when a heap of this policy is made.
        unsafe impl Policy for $name {
            const NAME: &'static str = $cli;
            const SUMMARY: &'static str = $summary;
            type Interp = $interp;
            type Counts = $counts;
            type Front = $front;
            type ObjLock = $lock;
            type Pad = $pad;
            $(const OPTIMISTIC_READS: bool = $opt;)?
        }
    };
}

define_policy! {
    /// CPython with the GIL: one lock, plain counts, one shared class table.
    Gil = "gil",
    "one global interpreter lock (CPython's new GIL: switch interval, drop request, forced switching)":
    GilInterp, PlainCounts, SharedFront, NoLock, [u64; 0]
}

define_policy! {
    /// PyPy's heap: the GIL, no reference counts, a tracing collector that
    /// runs under the GIL.
    GilTracing = "gil-tracing",
    "one global interpreter lock, no reference counts: handle-table roots and a mark-sweep collector (PyPy)":
    GilInterp, TracedCounts, SharedFront, NoLock, [u64; 0]
}

define_policy! {
    /// The JVM's and CLR's heap (Jython, IronPython): no GIL, no counts,
    /// thread-local pools, a stop-the-world tracing collector.
    Tracing = "tracing",
    "no GIL, no reference counts: thread-local pools, handle-table roots, a stop-the-world mark-sweep collector (JVM, CLR)":
    FreeInterp, TracedCounts, ThreadFront, ParkingObjLock, [u64; 0]
}

define_policy! {
    /// A naive GIL removal: a lock per size class, atomic counts, list locks.
    PoolLocks = "pool-locks",
    "no GIL: a lock per size class, atomic reference counts, a one-byte lock per list":
    FreeInterp, AtomicCounts, ClassLockFront, ParkingObjLock, [u64; 0]
}

define_policy! {
    /// Free-threaded CPython: thread-local pools and biased counts.
    Biased = "biased",
    "no GIL: thread-local pools with remote frees, biased reference counts (free-threaded CPython)":
    FreeInterp, BiasedCounts, ThreadFront, ParkingObjLock, [u64; 0],
    optimistic_reads = true
}

define_policy! {
    /// `biased` with every list `get` under the list's lock: the read path
    /// `biased` replaced, kept to compare the two (`run --list-reads`).
    BiasedLockedReads = "biased+locked-reads",
    "biased with locked list reads (every get takes the list's one-byte lock)":
    FreeInterp, BiasedCounts, ThreadFront, ParkingObjLock, [u64; 0],
    optimistic_reads = false
}

// The single-thread cost of going GIL-free, taken apart: each step below
// adds one ingredient of `biased` to `gil`, in the order PEP 703 discusses
// them, and the last step is `biased` itself (which also drops the GIL:
// attach/detach states and stop-the-world checkpoints). `heaplab
// cost-breakdown` runs them side by side; they are ordinary policies, so
// every scenario, test and report works with them.

define_policy! {
    /// `gil` with PEP 703's 32-byte header (16 bytes of padding).
    GilHeader32 = "gil+hdr32",
    "breakdown step: gil with a 32-byte object header":
    GilInterp, PlainCounts, SharedFront, NoLock, [u64; 2]
}

define_policy! {
    /// `gil+hdr32` with every count atomic: what biasing avoids (a side
    /// branch of the breakdown, not on the way to `biased`).
    GilAtomic = "gil+atomic",
    "breakdown side step: gil with a 32-byte header and atomic reference counts on every object":
    GilInterp, AtomicCounts, SharedFront, NoLock, [u64; 2]
}

define_policy! {
    /// Biased counts under the GIL: the owner-id check on every count, the
    /// shared count and merge queue for others (its word makes the header
    /// 32 bytes by itself).
    GilBiasedRc = "gil+brc",
    "breakdown step: gil with biased reference counts (owner-id check)":
    GilInterp, BiasedCounts, SharedFront, NoLock, [u64; 0]
}

define_policy! {
    /// ... plus thread-local heaps (class tables per thread, remote frees).
    GilThreadHeaps = "gil+brc+tlh",
    "breakdown step: gil with biased counts and thread-local heaps":
    GilInterp, BiasedCounts, ThreadFront, NoLock, [u64; 0]
}

define_policy! {
    /// ... plus the one-byte lock on every list operation.
    GilListLocks = "gil+brc+tlh+locks",
    "breakdown step: gil with biased counts, thread-local heaps and list locks":
    GilInterp, BiasedCounts, ThreadFront, ParkingObjLock, [u64; 0]
}
