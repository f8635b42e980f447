//! The parking table: where contended object locks sleep, and how one of
//! them is woken.
//!
//! A one-byte lock has no room for a queue, so its waiters queue on the
//! side, in a table keyed by the lock's address (WebKit's and parking_lot's
//! idea, and CPython's `Python/parking_lot.c`). The lock protocol
//! ([`super::ParkingObjLock`]) needs two operations from it:
//!
//! - [`ParkTable::park`]: under the bucket's lock, check that the lock byte
//!   still says "locked, someone parked" and only then queue and sleep, so
//!   an unlock that comes between the check and the sleep still finds the
//!   waiter.
//! - [`ParkTable::unpark_one`]: under the bucket's lock, take the first
//!   waiter on this address and tell the unlocker the facts it needs to
//!   write the lock byte ([`UnparkFacts`]: was anyone woken, do more wait on
//!   this address, has the woken one waited long enough to be handed the
//!   lock), then wake that one thread with the unlocker's verdict (handed
//!   the lock, or just woken to retry).
//!
//! Two backends, chosen at run time when a heap is built ([`LockBackend`]);
//! parking is a slow path (a sleeping thread costs 15-30 us to wake on our
//! guests), so one `match` per park costs nothing measurable:
//!
//! - `std` (the default): buckets of a [`Mutex`] over a queue of waiters,
//!   each waiter sleeping on its own [`Condvar`]. Built on `crate::sync`, so
//!   the loom model `objlock` checks this table together with the lock.
//! - `parking-lot`: parking_lot's global table (`parking_lot_core`), which
//!   grows with the number of threads and parks on a futex. The lock
//!   applies the same rule through it: `unpark_filter` shows the first
//!   waiter's park token, which carries its fairness deadline, and reports
//!   `have_more_threads`. (parking_lot's own `be_fair` is a different rule,
//!   a per-bucket timer firing every 0-1 ms, so it is not used: both
//!   backends hand over after the same 1 ms.) Loom cannot see inside it, so
//!   under `cfg(loom)` this backend is the `std` table.
//!
//! "Waited long enough" is a clock reading ([`FairDeadline`]). Loom has no
//! clock, so under `cfg(loom)` it is a choice made per model
//! ([`set_loom_waited_long_enough`]), the way `crate::sync` models timed
//! waits: each model runs once with every waiter overdue and once with none.

use crate::sync::{Arc, CachePadded, Condvar, Mutex};
use std::collections::VecDeque;

/// Which parking table a heap's object locks use (the `--locks` choice).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LockBackend {
    /// Buckets of `crate::sync` mutexes and condition variables: the table
    /// the loom model checks.
    #[default]
    Std,
    /// parking_lot's global parking table (`parking_lot_core`).
    ParkingLot,
}

impl LockBackend {
    /// Every backend, in the order the CLI lists them.
    pub const ALL: [LockBackend; 2] = [LockBackend::Std, LockBackend::ParkingLot];

    /// The CLI and results name: `std` or `parking-lot`.
    pub fn name(self) -> &'static str {
        match self {
            LockBackend::Std => "std",
            LockBackend::ParkingLot => "parking-lot",
        }
    }
}

impl std::fmt::Display for LockBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for LockBackend {
    type Err = String;

    /// Parses a CLI or results name; the error names the allowed values.
    fn from_str(s: &str) -> Result<Self, String> {
        LockBackend::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| format!("unknown lock backend `{s}` (allowed: std, parking-lot)"))
    }
}

/// How long a parked waiter waits before an unlock hands it the lock
/// directly instead of letting newcomers race it for the lock (CPython's
/// `TIME_TO_BE_FAIR_NS`).
pub const TIME_TO_BE_FAIR: std::time::Duration = std::time::Duration::from_millis(1);

/// The moment after which a waiter is owed the lock.
#[derive(Clone, Copy, Debug)]
pub struct FairDeadline {
    #[cfg(not(loom))]
    at: std::time::Instant,
}

impl FairDeadline {
    /// [`TIME_TO_BE_FAIR`] from now (under loom: no clock is read).
    pub fn start() -> Self {
        FairDeadline {
            #[cfg(not(loom))]
            at: std::time::Instant::now() + TIME_TO_BE_FAIR,
        }
    }

    /// Whether the deadline has passed (under loom: the model's choice).
    fn passed(&self) -> bool {
        #[cfg(not(loom))]
        {
            std::time::Instant::now() > self.at
        }
        #[cfg(loom)]
        {
            LOOM_WAITED_LONG_ENOUGH.load(std::sync::atomic::Ordering::SeqCst)
        }
    }
}

/// Chooses, for the loom model about to run, whether every parked waiter
/// has waited past [`TIME_TO_BE_FAIR`] when it is unparked (`true`: every
/// unlock that wakes a waiter hands it the lock) or none has (`false`: the
/// woken waiter competes for the lock again).
#[cfg(loom)]
pub fn set_loom_waited_long_enough(overdue: bool) {
    LOOM_WAITED_LONG_ENOUGH.store(overdue, std::sync::atomic::Ordering::SeqCst);
}

#[cfg(loom)]
static LOOM_WAITED_LONG_ENOUGH: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// How a [`ParkTable::park`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parked {
    /// The lock byte had changed before the thread could queue: it never
    /// slept. Look at the lock again.
    Invalid,
    /// Woken by an unlock that left the lock free: try to take it again.
    Woken,
    /// Woken by an unlock that handed this thread the lock: it holds it.
    HandedOff,
}

/// What [`ParkTable::unpark_one`] tells the unlocker, under the bucket's
/// lock, before the woken thread runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UnparkFacts {
    /// A waiter on this address was taken off the queue (it will be woken).
    pub unparked: bool,
    /// Other waiters on this address are still queued.
    pub have_more: bool,
    /// The unparked waiter's [`FairDeadline`] has passed.
    pub waited_long_enough: bool,
}

/// Where contended object locks park: see the module docs.
pub struct ParkTable {
    backend: Backend,
}

enum Backend {
    Std(StdTable),
    #[cfg(not(loom))]
    ParkingLot(pl::Table),
}

impl Default for ParkTable {
    fn default() -> Self {
        Self::new()
    }
}

impl ParkTable {
    /// A table with the default backend ([`LockBackend::Std`]).
    pub fn new() -> Self {
        Self::with_backend(LockBackend::default())
    }

    /// A table with the given backend (under loom, always the `std` table:
    /// see the module docs).
    pub fn with_backend(backend: LockBackend) -> Self {
        let backend = match backend {
            LockBackend::Std => Backend::Std(StdTable::new()),
            #[cfg(not(loom))]
            LockBackend::ParkingLot => Backend::ParkingLot(pl::Table::new()),
            #[cfg(loom)]
            LockBackend::ParkingLot => Backend::Std(StdTable::new()),
        };
        ParkTable { backend }
    }

    /// The backend this table runs on.
    pub fn backend(&self) -> LockBackend {
        match self.backend {
            Backend::Std(_) => LockBackend::Std,
            #[cfg(not(loom))]
            Backend::ParkingLot(_) => LockBackend::ParkingLot,
        }
    }

    /// Queues the calling thread on `key` and sleeps until an
    /// [`unpark_one`](Self::unpark_one) on `key` takes it off the queue,
    /// provided `validate()` (run under the bucket's lock) says the lock is
    /// still worth waiting for; otherwise returns [`Parked::Invalid`] at
    /// once. `validate` must not panic or use this table.
    pub fn park(&self, key: usize, validate: impl FnOnce() -> bool, fair: FairDeadline) -> Parked {
        match &self.backend {
            Backend::Std(t) => t.park(key, validate, fair),
            #[cfg(not(loom))]
            Backend::ParkingLot(t) => t.park(key, validate, fair),
        }
    }

    /// Takes the first waiter on `key` off its queue, calls `decide` with
    /// the facts (under the bucket's lock, so no waiter on `key` can queue
    /// or leave meanwhile), and wakes that waiter, handing it the lock when
    /// `decide` returns true. `decide` must not panic or use this table.
    pub fn unpark_one(&self, key: usize, decide: impl FnOnce(UnparkFacts) -> bool) {
        match &self.backend {
            Backend::Std(t) => t.unpark_one(key, decide),
            #[cfg(not(loom))]
            Backend::ParkingLot(t) => t.unpark_one(key, decide),
        }
    }
}

/// Buckets of the `std` table (one under loom, so that every lock in a
/// model shares it).
const STD_BUCKETS: usize = crate::sync::Geometry::PARK_BUCKETS;

const _: () = assert!(STD_BUCKETS.is_power_of_two() && STD_BUCKETS <= 64);

/// One parked thread of the `std` table.
struct Waiter {
    /// The lock's address.
    key: usize,
    fair: FairDeadline,
    /// Set by the unparker, read by the waiter: the waiter's own semaphore.
    wake: Mutex<Wake>,
    cond: Condvar,
}

#[derive(Default)]
struct Wake {
    woken: bool,
    handed_off: bool,
}

/// The `std` backend: a few buckets, each a queue of waiters for every
/// address that hashes to it (first come, first woken per address).
struct StdTable {
    buckets: Vec<CachePadded<Mutex<VecDeque<Arc<Waiter>>>>>,
}

impl StdTable {
    fn new() -> Self {
        StdTable {
            buckets: (0..STD_BUCKETS)
                .map(|_| CachePadded::new(Mutex::new(VecDeque::new())))
                .collect(),
        }
    }

    fn bucket(&self, key: usize) -> &Mutex<VecDeque<Arc<Waiter>>> {
        // Fibonacci hashing of the address (16-byte granules): the top six
        // bits pick one of up to 64 buckets.
        let i = (key >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58;
        &self.buckets[i & (STD_BUCKETS - 1)]
    }

    fn park(&self, key: usize, validate: impl FnOnce() -> bool, fair: FairDeadline) -> Parked {
        let waiter = Arc::new(Waiter {
            key,
            fair,
            wake: Mutex::new(Wake::default()),
            cond: Condvar::new(),
        });
        {
            let mut queue = self.bucket(key).lock();
            if !validate() {
                return Parked::Invalid;
            }
            queue.push_back(waiter.clone());
        }
        // Off the bucket's lock: an unparker that dequeued us sets `woken`
        // under our own mutex, so the flag, not the wake-up, is the fact
        // (spurious wake-ups loop). The mutex also carries the unlocker's
        // critical section to us when it hands the lock over.
        let mut wake = waiter.wake.lock();
        while !wake.woken {
            wake = waiter.cond.wait(wake);
        }
        if wake.handed_off {
            Parked::HandedOff
        } else {
            Parked::Woken
        }
    }

    fn unpark_one(&self, key: usize, decide: impl FnOnce(UnparkFacts) -> bool) {
        let (waiter, handed_off) = {
            let mut queue = self.bucket(key).lock();
            let waiter = queue
                .iter()
                .position(|w| w.key == key)
                .and_then(|i| queue.remove(i));
            let facts = UnparkFacts {
                unparked: waiter.is_some(),
                have_more: waiter.is_some() && queue.iter().any(|w| w.key == key),
                waited_long_enough: waiter.as_ref().is_some_and(|w| w.fair.passed()),
            };
            (waiter, decide(facts))
        };
        // Wake outside the bucket's lock (as CPython does): the waiter is
        // off the queue, so nothing else can reach it.
        if let Some(w) = waiter {
            let mut wake = w.wake.lock();
            wake.woken = true;
            wake.handed_off = handed_off;
            w.cond.notify_one();
        }
    }
}

/// The `parking-lot` backend.
#[cfg(not(loom))]
mod pl {
    use super::{FairDeadline, Parked, UnparkFacts};
    use crate::sync::parking_lot_core::{
        self, FilterOp, ParkResult, ParkToken, UnparkToken, DEFAULT_UNPARK_TOKEN,
    };
    use std::cell::Cell;
    use std::time::Instant;

    /// The token an unlock that hands the lock over passes to the woken
    /// thread (parking_lot's own `TOKEN_HANDOFF` is 1 too).
    const TOKEN_HANDOFF: UnparkToken = UnparkToken(1);

    /// parking_lot's table is global; ours only remembers when it was made,
    /// so a waiter's deadline fits its `usize` park token.
    pub(super) struct Table {
        epoch: Instant,
    }

    impl Table {
        pub(super) fn new() -> Self {
            Table {
                epoch: Instant::now(),
            }
        }

        /// Nanoseconds since the table was made (a `usize` on 64-bit
        /// targets holds 584 years of them).
        fn nanos(&self, at: Instant) -> usize {
            at.saturating_duration_since(self.epoch).as_nanos() as usize
        }

        pub(super) fn park(
            &self,
            key: usize,
            validate: impl FnOnce() -> bool,
            fair: FairDeadline,
        ) -> Parked {
            let token = ParkToken(self.nanos(fair.at));
            // SAFETY: `park` asks for an address we control (the key is the
            // address of the lock byte that this lock owns, and no other
            // parking_lot primitive lives there), a `validate` that neither
            // panics nor calls into parking_lot (it is one atomic load), and
            // no timeout (`None`: the lock waits for as long as it takes).
            let result =
                unsafe { parking_lot_core::park(key, validate, || {}, |_, _| {}, token, None) };
            match result {
                ParkResult::Unparked(TOKEN_HANDOFF) => Parked::HandedOff,
                ParkResult::Unparked(_) => Parked::Woken,
                ParkResult::Invalid => Parked::Invalid,
                ParkResult::TimedOut => unreachable!("object locks park without a timeout"),
            }
        }

        pub(super) fn unpark_one(&self, key: usize, decide: impl FnOnce(UnparkFacts) -> bool) {
            let overdue = Cell::new(false);
            let mut first = true;
            let filter = |token: ParkToken| {
                if first {
                    first = false;
                    overdue.set(self.nanos(Instant::now()) > token.0);
                    FilterOp::Unpark
                } else {
                    // A second waiter on this key: parking_lot then
                    // reports `have_more_threads`.
                    FilterOp::Stop
                }
            };
            let callback = |result: parking_lot_core::UnparkResult| {
                let facts = UnparkFacts {
                    unparked: result.unparked_threads > 0,
                    have_more: result.have_more_threads,
                    waited_long_enough: result.unparked_threads > 0 && overdue.get(),
                };
                if decide(facts) {
                    TOKEN_HANDOFF
                } else {
                    DEFAULT_UNPARK_TOKEN
                }
            };
            // SAFETY: the key is our lock byte's address (see `park`); the
            // filter and the callback neither panic nor call into
            // parking_lot (a clock read, a cell, and `decide`, which stores
            // the lock byte).
            unsafe {
                parking_lot_core::unpark_filter(key, filter, callback);
            }
        }
    }
}
