//! Lock policies: the one axis the lab varies.
//!
//! A [`Policy`] decides four things for the heap, and nothing else:
//! the reference-count word in every object header ([`Policy::RefCount`]),
//! the per-object lock ([`Policy::ObjLock`], zero-sized under the GIL), which
//! class table an allocation or a free goes to (shared, locked per class, or
//! per thread), and how a thread attaches, releases the interpreter, reaches
//! a safepoint and stops the world.
//!
//! `Heap<P>` is generic over the policy and monomorphised, so a comparison
//! measures the policy and not dynamic dispatch. The CLI maps a policy name to
//! an instantiation with one `match` ([`PolicyName`]).
//!
//! | policy | allocator | reference counts | list lock | collector |
//! |---|---|---|---|---|
//! | `gil` | one shared class table, no locks | plain integers | none | world stopped by the GIL |
//! | `pool-locks` | shared class table, one lock per class | atomic | one byte | stop-the-world |
//! | `biased` | a class table per thread, remote frees | biased | one byte | stop-the-world |

pub mod biased;
pub mod gil;
pub mod objlock;
pub mod pool_locks;
pub mod world;

pub use biased::Biased;
pub use gil::Gil;
pub use objlock::{NoLock, ObjLock, ParkingObjLock};
pub use pool_locks::PoolLocks;

use crate::alloc::Memory;
use crate::alloc::{Domain, OutOfMemory};
use crate::heap::HeapConfig;
use crate::object::ObjHeader;

/// Per-thread counters that a policy keeps without atomics and the heap sums.
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
    }
}

/// A lock policy.
///
/// # Safety
///
/// Implementations promise, for the heap built on them:
/// - `alloc_block` returns a block of `class` in `domain` that no one else
///   holds, and `free_block` accepts any block from `alloc_block` of the same
///   heap, from any attached thread;
/// - `incref`/`decref` keep an exact count: the object is reported dead
///   (`decref` returns true, or `checkpoint` hands it to `on_dead`) exactly
///   once, after its last reference is gone, on a thread that may free it;
/// - while `stop_the_world` is in force, no other thread runs heap code until
///   `start_the_world`;
/// - an attached thread that calls `checkpoint` only parks there, and a
///   thread that is not attached never touches the heap.
pub unsafe trait Policy: 'static + Send + Sync + Sized {
    /// The CLI name.
    const NAME: &'static str;
    /// One line for `heaplab list`.
    const SUMMARY: &'static str;
    /// Whether the heap is shared without a global lock (the collector must
    /// stop the world, and containers need their object lock).
    const FREE_THREADED: bool;

    /// The reference-count word in every object header.
    type RefCount: Send + Sync;
    /// The per-object lock (zero-sized where there is none).
    type ObjLock: ObjLock;
    /// Policy state shared by all threads of one heap.
    type Shared: Send + Sync;
    /// Per-thread state, owned by the thread's mutator (stable address).
    type Local;

    fn new_shared(config: &HeapConfig) -> Result<Self::Shared, crate::HeapError>;

    /// Registers a new thread and attaches it (waits for the GIL, or for a
    /// stopped world to restart).
    fn attach(shared: &Self::Shared, mem: &Memory) -> Self::Local;
    /// Detaches for good: the thread will not touch the heap again. Objects
    /// found dead on the way out (a last merge) go to `on_dead` while the
    /// thread is still attached.
    fn detach_for_good(
        shared: &Self::Shared,
        mem: &Memory,
        local: &mut Self::Local,
        on_dead: &mut dyn FnMut(*mut ObjHeader<Self>),
    );
    /// Releases the interpreter around native/I-O work (`allow_threads`).
    fn release(shared: &Self::Shared, local: &mut Self::Local);
    /// Takes the interpreter back after `release`.
    fn reacquire(shared: &Self::Shared, local: &mut Self::Local);
    /// True when the next checkpoint has policy work (a drop request, a stop
    /// request, a merge queue). One or two relaxed loads.
    fn checkpoint_pending(shared: &Self::Shared, local: &Self::Local) -> bool;
    /// The policy's part of a checkpoint: hand off the GIL, park for a
    /// stopped world, merge queued objects (those found dead go to `on_dead`).
    fn checkpoint_slow(
        shared: &Self::Shared,
        mem: &Memory,
        local: &mut Self::Local,
        on_dead: &mut dyn FnMut(*mut ObjHeader<Self>),
    );

    /// Stops every other thread at a safepoint. Returns false, having parked
    /// until the other request ended, when another thread stopped the world
    /// first (two requests never wait for each other). Returns the
    /// time-to-safepoint in nanoseconds on success.
    fn stop_the_world(shared: &Self::Shared, local: &mut Self::Local) -> Option<u64>;
    /// Restarts the threads that `stop_the_world` stopped.
    fn start_the_world(shared: &Self::Shared, local: &mut Self::Local);

    /// # Safety
    /// The thread is attached; `class` < NUM_CLASSES.
    unsafe fn alloc_block(
        shared: &Self::Shared,
        mem: &Memory,
        local: &mut Self::Local,
        domain: Domain,
        class: usize,
    ) -> Result<*mut u8, OutOfMemory>;
    /// # Safety
    /// The thread is attached; `block` came from `alloc_block` of this heap
    /// and is not used any more.
    unsafe fn free_block(
        shared: &Self::Shared,
        mem: &Memory,
        local: &mut Self::Local,
        block: *mut u8,
    );

    /// A count of one, owned by the current thread.
    fn rc_new(local: &Self::Local) -> Self::RefCount;
    /// A count that no thread writes (PEP 683 immortal objects).
    fn rc_immortal() -> Self::RefCount;
    fn rc_is_immortal(rc: &Self::RefCount) -> bool;
    /// # Safety
    /// The thread is attached and holds a reference to `obj`.
    unsafe fn incref(obj: *mut ObjHeader<Self>, local: &mut Self::Local);
    /// Drops one reference; true when it was the last and the caller must
    /// deallocate. (Under `biased` a drop may be queued to the owner instead.)
    ///
    /// # Safety
    /// The thread is attached and gives up a reference it holds.
    unsafe fn decref(
        shared: &Self::Shared,
        obj: *mut ObjHeader<Self>,
        local: &mut Self::Local,
    ) -> bool;
    /// The true count (local + shared). Exact only while the world is stopped
    /// and merge queues are drained.
    fn rc_total(rc: &Self::RefCount) -> isize;
    /// Before a collection (world stopped): apply pending merges so that
    /// `rc_total` is exact; objects found dead go to `on_dead`.
    fn prepare_collection(
        shared: &Self::Shared,
        mem: &Memory,
        local: &mut Self::Local,
        on_dead: &mut dyn FnMut(*mut ObjHeader<Self>),
    );

    /// Counters of this thread.
    fn counters(local: &Self::Local) -> RcCounters;
    /// Blocks in use as seen by this policy's class tables (after draining
    /// remote frees where needed; world quiescent).
    fn blocks_in_use(shared: &Self::Shared, mem: &Memory) -> usize;
    /// Gives empty pools back to the arenas (world quiescent).
    fn release_empty_pools(shared: &Self::Shared, mem: &Memory);
    /// GIL statistics where the policy has a GIL.
    fn gil_stats(_shared: &Self::Shared) -> Option<gil::GilStats> {
        None
    }
    /// Whether the current thread holds what a heap write needs (the GIL
    /// under `gil`; always true otherwise). Used by debug assertions.
    fn may_write(_shared: &Self::Shared, _local: &Self::Local) -> bool {
        true
    }
}

/// The policies by CLI name: the one place that maps a name to a type.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum PolicyName {
    #[serde(rename = "gil")]
    Gil,
    #[serde(rename = "pool-locks")]
    PoolLocks,
    #[serde(rename = "biased")]
    Biased,
}

impl PolicyName {
    pub const ALL: [PolicyName; 3] = [PolicyName::Gil, PolicyName::PoolLocks, PolicyName::Biased];

    pub fn as_str(self) -> &'static str {
        match self {
            PolicyName::Gil => Gil::NAME,
            PolicyName::PoolLocks => PoolLocks::NAME,
            PolicyName::Biased => Biased::NAME,
        }
    }

    pub fn summary(self) -> &'static str {
        match self {
            PolicyName::Gil => Gil::SUMMARY,
            PolicyName::PoolLocks => PoolLocks::SUMMARY,
            PolicyName::Biased => Biased::SUMMARY,
        }
    }

    pub fn parse(s: &str) -> Option<PolicyName> {
        PolicyName::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl std::fmt::Display for PolicyName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Calls a generic function with the policy type that `name` stands for.
#[macro_export]
macro_rules! with_policy {
    ($name:expr, $p:ident => $body:expr) => {
        match $name {
            $crate::policy::PolicyName::Gil => {
                type $p = $crate::policy::Gil;
                $body
            }
            $crate::policy::PolicyName::PoolLocks => {
                type $p = $crate::policy::PoolLocks;
                $body
            }
            $crate::policy::PolicyName::Biased => {
                type $p = $crate::policy::Biased;
                $body
            }
        }
    };
}
