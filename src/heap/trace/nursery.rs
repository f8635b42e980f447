//! The nursery (`--nursery BYTES`): one region where `gil-tracing` bump-
//! allocates young objects, emptied by minor collections ([`super::minor`])
//! that copy the survivors into the pools (promotion). PyPy's generational
//! collector, in its simplest form: one nursery, shared under the GIL,
//! every survivor promoted at its first minor collection (no aging).
//!
//! ```text
//!  base                              base + top                  base + size
//!  [obj][obj][fwd][obj][fwd][obj]... |     free                          |
//!   each object at a 16-byte step of young_span(object_size)
//! ```
//!
//! Glossary:
//! - *young*: an object whose address lies in `[base, base + size)`; its
//!   header's `class` is [`NURSERY_CLASS`] (no pool serves it).
//! - *forwarded*: a young object already copied by the minor collection in
//!   progress; its `class` is [`FORWARDED_CLASS`] and the word at
//!   [`fwd_offset`] holds the copy's address. Kind and length stay intact,
//!   so the nursery can still be walked object by object.
//! - *remembered set*: the old containers that a write barrier saw receive
//!   a young item (`list.set`, `list.append`, a tuple made old with young
//!   items); each is listed once (header bit [`gc_bits::REMEMBERED`]).
//!
//! What goes straight to old space (the pools, as without a nursery):
//! objects over [`MAX_YOUNG`] bytes (large objects), list item arrays (raw
//! memory, never moved: a young list's array stays put when the list is
//! promoted), and every allocation while the nursery is pinned or full with
//! the collector disabled. Objects that get a finalizer or become immortal
//! while young are promoted by the next minor collection, whether reachable
//! or not (the full collection decides their fate).
//!
//! Concurrency: the nursery exists only under a policy with a GIL
//! ([`TraceConfig::validate`](super::TraceConfig::validate) refuses it
//! elsewhere), and every field but the remembered set's mutex is read and
//! written only by the thread that holds the GIL, so plain (Relaxed) loads
//! and stores of atomics suffice: the GIL hand-over orders them. Threads
//! that are not attached may still drop `Ref`s (empty handle slots) while a
//! minor collection runs: `Handles::move_roots` is the protocol for that.

use crate::object::{header_bytes, ObjHeader, LARGE};
use crate::policy::{ObjAddr, Policy};
use crate::sync::{AtomicUsize, Mutex, Ordering};

#[cfg(doc)]
use crate::object::gc_bits;

/// The smallest nursery (`--nursery`), 64 KiB.
pub const MIN_NURSERY: usize = 64 << 10;
/// The largest nursery, 1 GiB.
pub const MAX_NURSERY: usize = 1 << 30;
/// Young objects are at most this many bytes (the small-object limit: a
/// survivor is copied into a pool block).
pub const MAX_YOUNG: usize = crate::alloc::MAX_SMALL;
/// Alignment of young objects (the size classes' step). Under loom the
/// header is larger (loom's atomics are), so the step is too.
const ALIGN: usize = if cfg!(loom) { 64 } else { 16 };
/// `class` of a young object.
pub const NURSERY_CLASS: u8 = LARGE - 1;
/// `class` of a young object already copied out (a forwarding header).
pub const FORWARDED_CLASS: u8 = LARGE - 2;

const _: () = assert!(MIN_NURSERY.is_multiple_of(ALIGN) && MAX_NURSERY.is_multiple_of(ALIGN));
const _: () = assert!((NURSERY_CLASS as usize) > crate::alloc::NUM_CLASSES);
const _: () = assert!((FORWARDED_CLASS as usize) > crate::alloc::NUM_CLASSES);

/// Whether policy `P` can have a nursery: a count-free policy with a GIL
/// and a header of at most 8 bytes (`gil-tracing`).
pub const fn supported<P: Policy>() -> bool {
    <P::Counts as crate::policy::Counts>::TRACED && !P::FREE_THREADED && header_fits::<P>()
}

/// Where a forwarded object keeps its copy's address: the first word after
/// the header (kind and length stay readable).
pub const fn fwd_offset<P: Policy>() -> usize {
    (header_bytes::<P>() + 7) & !7
}

/// Whether policy `P`'s header leaves room for the forwarding word in the
/// smallest young span (a header of at most 8 bytes: true of both tracing
/// policies; under loom, at most 56; [`TraceConfig::validate`](super::TraceConfig::validate)
/// refuses a nursery otherwise).
pub const fn header_fits<P: Policy>() -> bool {
    fwd_offset::<P>() + 8 <= ALIGN
}

/// Bytes a young object of `size` bytes takes in the nursery: its size
/// rounded to the alignment, at least one step (room for the forwarding
/// word). Every multiple of the step is a span, so a gap can be filled
/// with a dead leaf (`alloc_tuple` with a short iterator).
#[inline(always)]
pub const fn young_span<P: Policy>(size: usize) -> usize {
    let s = if size < ALIGN { ALIGN } else { size };
    (s + ALIGN - 1) & !(ALIGN - 1)
}

/// The old containers to rescan at the next minor collection.
struct Remembered(Vec<ObjAddr>);

// SAFETY: addresses of heap objects, used only by the GIL holder (the
// mutex keeps the vector itself sound whoever calls).
unsafe impl Send for Remembered {}

/// Figures of the minor collections so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NurseryStats {
    /// Minor collections.
    pub minor_collections: u64,
    /// Objects copied into the pools.
    pub promoted_objects: u64,
    /// Bytes of those objects.
    pub promoted_bytes: u64,
    /// Young objects that died young (never copied).
    pub died_young: u64,
}

/// The nursery's state (one per heap; empty when `--nursery` is not set).
pub struct Nursery {
    /// The region (null, with `size` 0, when there is no nursery).
    base: *mut u8,
    size: usize,
    /// Bytes in use from `base` (the bump pointer, as an offset).
    top: AtomicUsize,
    /// Pins held (`Mutator::with_leaf_bytes`, a tuple being filled): no
    /// minor collection while above 0.
    pins: AtomicUsize,
    remembered: Mutex<Remembered>,
    pub(crate) stats: Mutex<NurseryStats>,
}

// SAFETY: `base` is a region this value owns (allocated in `new`, freed in
// `Drop`); its objects are used under the GIL, see the module docs.
unsafe impl Send for Nursery {}
// SAFETY: as above; every field is an atomic or a mutex.
unsafe impl Sync for Nursery {}

fn layout(size: usize) -> std::alloc::Layout {
    std::alloc::Layout::from_size_align(size, 4096).expect("nursery size validated")
}

impl Nursery {
    /// A nursery of `size` bytes (validated: 0, or within
    /// [`MIN_NURSERY`]..=[`MAX_NURSERY`]); 0 makes none.
    pub fn new(size: usize) -> Self {
        let base = if size == 0 {
            std::ptr::null_mut()
        } else {
            // SAFETY: a non-zero size with a valid alignment.
            let p = unsafe { std::alloc::alloc(layout(size)) };
            if p.is_null() {
                std::alloc::handle_alloc_error(layout(size));
            }
            p
        };
        Nursery {
            base,
            size,
            top: AtomicUsize::new(0),
            pins: AtomicUsize::new(0),
            remembered: Mutex::new(Remembered(Vec::new())),
            stats: Mutex::new(NurseryStats::default()),
        }
    }

    /// Whether there is a nursery.
    #[inline(always)]
    pub fn enabled(&self) -> bool {
        self.size != 0
    }

    /// The nursery's size in bytes (0: none).
    pub fn size(&self) -> usize {
        self.size
    }

    /// Bytes in use.
    pub fn used(&self) -> usize {
        // Relaxed: the GIL holder's own field (module docs).
        self.top.load(Ordering::Relaxed)
    }

    /// Whether `o` is young. False for every address without a nursery.
    #[inline(always)]
    pub fn contains(&self, o: *const u8) -> bool {
        (o as usize).wrapping_sub(self.base as usize) < self.size
    }

    /// A young block of `span` bytes (from [`young_span`]), or None when
    /// the nursery is full (or absent). The caller holds the GIL.
    #[inline(always)]
    pub(crate) fn bump(&self, span: usize) -> Option<*mut u8> {
        // Relaxed: the GIL holder's own field (module docs).
        let top = self.top.load(Ordering::Relaxed);
        if span <= self.size - top {
            self.top.store(top + span, Ordering::Relaxed);
            // SAFETY: `top + span <= size`: inside the region.
            Some(unsafe { self.base.add(top) })
        } else {
            None
        }
    }

    /// Calls `f` with each young object, in address order (forwarded ones
    /// included).
    ///
    /// # Safety
    /// The caller holds the GIL (or the heap is quiescent), and every young
    /// block has a header written (no allocation is half made).
    pub(crate) unsafe fn for_each_young<P: Policy>(&self, mut f: impl FnMut(*mut ObjHeader<P>)) {
        let top = self.used();
        let mut off = 0;
        while off < top {
            // SAFETY: `off < top`: inside the used part of the region.
            let o = unsafe { self.base.add(off) } as *mut ObjHeader<P>;
            // SAFETY: a young object's header (kind and length are kept
            // when it is forwarded).
            let size = unsafe { (*o).object_size() };
            f(o);
            off += young_span::<P>(size);
        }
    }

    /// Empties the nursery after a minor collection. In debug builds the
    /// region is poisoned, so a reference the collector failed to move
    /// shows up at once.
    pub(crate) fn reset(&self) {
        if cfg!(debug_assertions) && self.enabled() {
            // SAFETY: the used part of our region; nothing refers to it any
            // more (the minor collection moved every survivor out).
            unsafe { std::ptr::write_bytes(self.base, 0xdb, self.used()) };
        }
        self.top.store(0, Ordering::Relaxed);
    }

    /// Takes a pin: no minor collection until it is dropped. The caller is
    /// attached (it holds the GIL), and so is the thread that drops it.
    #[inline]
    pub(crate) fn pin(&self) -> NurseryPin<'_> {
        // Relaxed load and store: only the GIL holder changes the count.
        let p = self.pins.load(Ordering::Relaxed);
        self.pins.store(p + 1, Ordering::Relaxed);
        NurseryPin(self)
    }

    /// Whether a pin is held.
    #[inline]
    pub fn pinned(&self) -> bool {
        self.pins.load(Ordering::Relaxed) != 0
    }

    /// Lists an old container that received a young item.
    pub(crate) fn remember(&self, o: ObjAddr) {
        self.remembered.lock().0.push(o);
    }

    /// The remembered set, emptied.
    pub(crate) fn take_remembered(&self) -> Vec<ObjAddr> {
        std::mem::take(&mut self.remembered.lock().0)
    }

    /// Figures so far.
    pub fn stats(&self) -> NurseryStats {
        *self.stats.lock()
    }
}

impl Drop for Nursery {
    fn drop(&mut self) {
        if self.enabled() {
            // SAFETY: allocated in `new` with this layout.
            unsafe { std::alloc::dealloc(self.base, layout(self.size)) };
        }
    }
}

/// A pin on the nursery (see [`Nursery::pin`]).
pub(crate) struct NurseryPin<'a>(&'a Nursery);

impl Drop for NurseryPin<'_> {
    fn drop(&mut self) {
        // Relaxed: as in `pin`.
        let p = self.0.pins.load(Ordering::Relaxed);
        self.0.pins.store(p - 1, Ordering::Relaxed);
    }
}
