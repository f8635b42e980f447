//! heaplab: what does it cost to let many threads share one reference-counted
//! object heap, and which locking design pays least?
//!
//! One CPython-style heap runs unchanged under interchangeable lock policies:
//!
//! - [`alloc`]: the small-object allocator (arenas, pools, blocks: obmalloc);
//! - [`policy`]: the [`Policy`] trait, its components (how threads take
//!   turns, reference counts, the allocator's front end, the object lock)
//!   and the named policies `gil`, `pool-locks`, `biased`;
//! - [`object`]: the object header, leaves, tuples and lists;
//! - [`heap`]: [`Heap<P>`], the per-thread [`Mutator<P>`], [`Ref`], and the
//!   cyclic collector ([`gc`]) with its stop-the-world handshake;
//! - [`verify`]: the integrity and leak check that ends every run;
//! - [`sync`]: the only door to atomics, locks and thread-locals, so that
//!   loom can replace them (the `loom-tests` crate model-checks every
//!   protocol that ships).
//!
//! Data flows one way: scenario file -> runner -> `Heap<P>` -> metrics ->
//! results JSON -> report. See `README.md` and `DESIGN.md` for the map.

pub mod alloc;
pub mod heap;
pub mod histogram;
pub mod metrics;
pub mod object;
pub mod policy;
pub mod report;
pub mod results;
pub mod sync;
pub mod verify;
pub mod workload;

// The core's public names, at the crate root: code above the core (the
// workload runner, the CLI, tests, benches) names them from here, so the
// core's modules can be rearranged without touching it.
pub use heap::gc::{self, GcConfig, GcMode};
pub use heap::{Heap, HeapConfig, Mutator, Ref};
pub use object::{header_bytes, Kind};
pub use policy::{Biased, Gil, GilTracing, Policy, PolicyName, PoolLocks, Tracing};

pub use heap::error::{HeapError, HeapErrorKind};
