//! How threads take turns in the interpreter: the axis `gil` varies against
//! the free-threaded policies.
//!
//! An [`Interp`] owns what CPython's thread state owns for attaching:
//! - attach (take the GIL, or turn DETACHED into ATTACHED), release and
//!   re-acquire around native work (`allow_threads`), detach for good;
//! - the eval breaker's policy part: `checkpoint_pending` is one or two
//!   relaxed loads on every checkpoint, `checkpoint_slow` hands the GIL over
//!   or parks for a stopped world;
//! - stop-the-world for the collector (trivially true under the GIL, whose
//!   holder is alone in the heap).
//!
//! Implementations: [`super::GilInterp`] (`gil.rs`) and
//! [`super::FreeInterp`] (`world.rs`).

use super::PolicyConfig;

/// A way for threads to share the interpreter.
///
/// # Safety
/// - While `stop_the_world` is in force (it returned `Some`), no other
///   thread runs heap code until `start_the_world`.
/// - Under an implementation with `FREE_THREADED == false`, at most one
///   attached thread runs heap code at a time (it holds the lock), and the
///   hand-over from one holder to the next synchronises (happens-before).
/// - A thread that is not attached (never attached, released, or detached
///   for good) never runs heap code; an attached thread parks only in
///   `checkpoint_slow` or when it re-acquires.
pub unsafe trait Interp: 'static + Sized {
    /// Whether heap code runs on several threads at once.
    const FREE_THREADED: bool;
    /// State shared by the threads of one heap.
    type Shared: Send + Sync;
    /// One thread's state (owned by its mutator; a stable address).
    type Local;

    fn new_shared(config: &PolicyConfig) -> Self::Shared;
    /// Registers and attaches a new thread (waits for the GIL, or for a
    /// stopped world to restart).
    fn attach(shared: &Self::Shared) -> Self::Local;
    /// Detaches for good: the thread will not touch the heap again.
    fn detach_for_good(shared: &Self::Shared, local: &mut Self::Local);
    /// Releases the interpreter around native/I-O work (`allow_threads`).
    fn release(shared: &Self::Shared, local: &mut Self::Local);
    /// Takes the interpreter back after `release`.
    fn reacquire(shared: &Self::Shared, local: &mut Self::Local);
    /// True when the next checkpoint has work here (a drop request, a stop
    /// request): one relaxed load.
    fn checkpoint_pending(shared: &Self::Shared, local: &Self::Local) -> bool;
    /// Hands the GIL off if asked, or parks for a stopped world.
    fn checkpoint_slow(shared: &Self::Shared, local: &mut Self::Local);
    /// Stops every other thread at a safepoint. Returns the time-to-safepoint
    /// in nanoseconds, or `None`, having parked until the other request
    /// ended, when another thread stopped the world first (two requests
    /// never wait for each other).
    fn stop_the_world(shared: &Self::Shared, local: &mut Self::Local) -> Option<u64>;
    /// Restarts the threads that `stop_the_world` stopped.
    fn start_the_world(shared: &Self::Shared, local: &mut Self::Local);
    /// GIL statistics where there is a GIL.
    fn gil_stats(_shared: &Self::Shared) -> Option<super::gil::GilStats> {
        None
    }
    /// Whether the current thread may write the heap (it holds the GIL;
    /// always true without one). Used by debug assertions.
    fn may_write(_shared: &Self::Shared, _local: &Self::Local) -> bool {
        true
    }
}
