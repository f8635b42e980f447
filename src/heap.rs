//! `Heap<P>` and the per-thread `Mutator<P>`.
//!
//! The heap owns the memory (arenas, large objects, the budget), the policy's
//! shared state, the collector's state, and the queue of decrefs deferred from
//! threads that were not attached. A thread attaches a [`Mutator`] (CPython's
//! thread state) and does every heap operation through it; the mutator's
//! [`ThreadState`] is also published in a thread-local so that `Ref::clone`
//! and `Ref::drop`, which have no mutator in hand, find it.
//!
//! Deallocation runs on the thread that dropped the last reference. It is
//! recursive through containers, bounded by CPython's "trashcan": past a
//! nesting depth, objects are put on a per-thread list and freed iteratively
//! once the outermost deallocation returns, so dropping a chain of a million
//! objects uses a few frames of stack.

use crate::alloc::{size_class, Domain, Memory, OutOfMemory, MAX_SMALL};
use crate::gc::{GcConfig, GcState};
use crate::object::{
    gc_bits, header_bytes, leaf_size, list_size, tuple_items, tuple_size, Kind, ListObj, ObjHeader,
    Ref, LARGE,
};
use crate::policy::objlock::{ObjLock, ParkTable};
use crate::policy::{Policy, RcCounters};
use crate::sync::{AtomicBool, AtomicI64, Mutex, Ordering};
use crate::HeapError;
use std::cell::Cell;
use std::marker::PhantomData;
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

/// How deep deallocation recurses before it defers (CPython uses 50).
const TRASHCAN_DEPTH: u32 = 50;

/// Everything a heap can be configured with.
#[derive(Clone, Debug)]
pub struct HeapConfig {
    /// The GIL's switch interval (CPython's `sys.setswitchinterval`).
    pub switch_interval: Duration,
    /// The collector.
    pub gc: GcConfig,
    /// Bytes the heap may reserve from the OS (`--max-heap`).
    pub max_heap: Option<usize>,
}

impl Default for HeapConfig {
    fn default() -> Self {
        HeapConfig {
            switch_interval: Duration::from_millis(5),
            gc: GcConfig::default(),
            max_heap: None,
        }
    }
}

/// Per-thread live counters, readable by a monitor thread while the run goes
/// on. Only their own thread writes them, with plain load + store (no atomic
/// read-modify-write), so they cost what a local counter costs.
#[derive(Default)]
pub struct LiveCounters {
    /// Bytes in blocks handed out by this thread minus those it freed.
    pub block_bytes: AtomicI64,
    /// Bytes requested by this thread minus those of blocks it freed.
    pub requested_bytes: AtomicI64,
    /// Objects allocated minus objects freed by this thread.
    pub objects: AtomicI64,
}

impl LiveCounters {
    #[inline(always)]
    fn bump(c: &AtomicI64, by: i64) {
        c.store(c.load(Ordering::Relaxed) + by, Ordering::Relaxed);
    }
}

/// Counters summed from threads that have detached.
#[derive(Clone, Debug, Default)]
pub struct ThreadTotals {
    pub rc: RcCounters,
    pub allocations: u64,
    pub frees: u64,
}

/// The non-generic head of a thread state, what the thread-local points to.
#[repr(C)]
pub struct ThreadCtx {
    heap: usize,
    attached: bool,
}

#[cfg(not(loom))]
std::thread_local! {
    static CURRENT: Cell<*mut ThreadCtx> = const { Cell::new(ptr::null_mut()) };
}

#[cfg(loom)]
loom::thread_local! {
    static CURRENT: Cell<*mut ThreadCtx> = Cell::new(ptr::null_mut());
}

#[inline(always)]
fn current_ctx() -> *mut ThreadCtx {
    CURRENT.with(|c| c.get())
}

#[inline(always)]
fn set_current_ctx(p: *mut ThreadCtx) -> *mut ThreadCtx {
    CURRENT.with(|c| c.replace(p))
}

#[cold]
#[inline(never)]
fn not_attached(policy: &str) -> ! {
    panic!("Ref::clone on a thread that is not attached to this {policy} heap")
}

/// One thread's state on one heap (CPython's `PyThreadState`).
#[repr(C)]
pub struct ThreadState<P: Policy> {
    ctx: ThreadCtx,
    pub(crate) local: P::Local,
    trash_depth: u32,
    trash: Vec<*mut ObjHeader<P>>,
    pub(crate) live: Arc<crate::sync::CachePadded<LiveCounters>>,
    allocations: u64,
    frees: u64,
    /// Containers allocated minus freed since the last publish (GC trigger).
    pub(crate) gc_delta: isize,
    prev_ctx: *mut ThreadCtx,
}

/// A heap of reference-counted objects under lock policy `P`.
pub struct Heap<P: Policy> {
    pub(crate) shared: P::Shared,
    pub(crate) mem: Memory,
    pub(crate) park: ParkTable,
    pending: Mutex<Vec<usize>>,
    pending_flag: AtomicBool,
    pub(crate) gc: GcState<P>,
    pub(crate) config: HeapConfig,
    totals: Mutex<ThreadTotals>,
    live: Mutex<Vec<Arc<crate::sync::CachePadded<LiveCounters>>>>,
}

/// Heap aliases by policy.
pub type GilHeap = Heap<crate::policy::Gil>;
pub type PoolLocksHeap = Heap<crate::policy::PoolLocks>;
pub type BiasedHeap = Heap<crate::policy::Biased>;

/// A snapshot of the heap's memory figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MemoryFigures {
    /// Bytes mapped or malloc'd from the OS (arenas + large blocks).
    pub bytes_reserved: u64,
    /// Peak of `bytes_reserved`.
    pub bytes_reserved_peak: u64,
    /// Bytes in blocks handed out (small blocks at their block size, large at
    /// their size).
    pub bytes_in_blocks: i64,
    /// Bytes the objects asked for.
    pub bytes_requested: i64,
    /// Objects alive.
    pub objects: i64,
    pub arenas: crate::alloc::arena::ArenaStats,
    pub large_objects: u64,
}

impl<P: Policy> Heap<P> {
    /// A new, empty heap.
    pub fn new(config: HeapConfig) -> Result<Self, HeapError> {
        config.gc.validate::<P>()?;
        Ok(Heap {
            shared: P::new_shared(&config)?,
            mem: Memory::new(config.max_heap),
            park: ParkTable::new(),
            pending: Mutex::new(Vec::new()),
            pending_flag: AtomicBool::new(false),
            gc: GcState::new(&config.gc),
            config,
            totals: Mutex::new(ThreadTotals::default()),
            live: Mutex::new(Vec::new()),
        })
    }

    /// A heap with the default configuration.
    pub fn with_defaults() -> Self {
        Self::new(HeapConfig::default()).expect("default configuration is valid")
    }

    pub fn config(&self) -> &HeapConfig {
        &self.config
    }

    pub fn policy_name(&self) -> &'static str {
        P::NAME
    }

    pub fn mem(&self) -> &Memory {
        &self.mem
    }

    pub fn shared(&self) -> &P::Shared {
        &self.shared
    }

    /// Attaches the calling thread (waits for the GIL, or for a stopped world).
    pub fn attach(&self) -> Mutator<'_, P> {
        let local = P::attach(&self.shared, &self.mem);
        let live = Arc::new(crate::sync::CachePadded::new(LiveCounters::default()));
        self.live.lock().push(live.clone());
        let ts = Box::into_raw(Box::new(ThreadState::<P> {
            ctx: ThreadCtx {
                heap: self as *const Self as usize,
                attached: true,
            },
            local,
            trash_depth: 0,
            trash: Vec::new(),
            live,
            allocations: 0,
            frees: 0,
            gc_delta: 0,
            prev_ctx: ptr::null_mut(),
        }));
        // SAFETY: just made; the thread-local points at its head.
        unsafe { (*ts).prev_ctx = set_current_ctx(ts as *mut ThreadCtx) };
        let m = Mutator {
            heap: self,
            ts,
            _not_send: PhantomData,
        };
        m.apply_pending();
        m
    }

    /// The current thread's state on this heap, if it is attached. The
    /// thread-local is null while the thread is detached (`allow_threads`).
    #[inline(always)]
    fn attached_state(&self) -> Option<*mut ThreadState<P>> {
        let ctx = current_ctx();
        // SAFETY: a non-null context points at a live, attached thread state
        // of this thread (cleared before the thread detaches or the state is
        // freed).
        if !ctx.is_null() && unsafe { (*ctx).heap } == self as *const Self as usize {
            Some(ctx as *mut ThreadState<P>)
        } else {
            None
        }
    }

    /// `Ref::clone`.
    #[inline(always)]
    pub(crate) fn incref_current(&self, obj: *mut ObjHeader<P>) {
        match self.attached_state() {
            // SAFETY: attached, and the caller holds a reference.
            Some(ts) => unsafe { P::incref(obj, &mut (*ts).local) },
            None => not_attached(P::NAME),
        }
    }

    /// `Ref::drop`: applied at once on an attached thread that is not
    /// unwinding, deferred otherwise.
    #[inline(always)]
    pub(crate) fn release_ref(&self, obj: *mut ObjHeader<P>) {
        match self.attached_state() {
            // SAFETY: attached; the caller gives up its reference.
            Some(ts) if !std::thread::panicking() => unsafe { self.decref(ts, obj) },
            _ => self.defer_decref(obj),
        }
    }

    #[cold]
    fn defer_decref(&self, obj: *mut ObjHeader<P>) {
        self.pending.lock().push(obj as usize);
        self.pending_flag.store(true, Ordering::Release);
    }

    /// Decrefs that wait for an attached thread.
    pub fn pending_decrefs(&self) -> usize {
        self.pending.lock().len()
    }

    /// Drops one reference held by the attached thread `ts`.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state; it owns one reference.
    #[inline(always)]
    pub(crate) unsafe fn decref(&self, ts: *mut ThreadState<P>, obj: *mut ObjHeader<P>) {
        // SAFETY: forwarded.
        unsafe {
            if P::decref(&self.shared, obj, &mut (*ts).local) {
                self.dealloc_cold(ts, obj);
            }
        }
    }

    /// Deallocation off the hot path of `decref`, so that `Ref::drop`
    /// inlines to a few instructions.
    #[cold]
    #[inline(never)]
    unsafe fn dealloc_cold(&self, ts: *mut ThreadState<P>, obj: *mut ObjHeader<P>) {
        // SAFETY: forwarded.
        unsafe { self.dealloc(ts, obj) }
    }

    /// Deallocates an object whose count reached zero.
    ///
    /// # Safety
    /// `ts` is the calling thread's attached state; nobody refers to `obj`.
    pub(crate) unsafe fn dealloc(&self, ts: *mut ThreadState<P>, obj: *mut ObjHeader<P>) {
        // SAFETY: forwarded; `ts` is ours.
        unsafe {
            if (*obj).gc_flags() & gc_bits::HAS_FINALIZER != 0
                && self.run_finalizer_on_zero(ts, obj)
            {
                return; // resurrected
            }
            if (*ts).trash_depth >= TRASHCAN_DEPTH {
                (*ts).trash.push(obj);
                return;
            }
            (*ts).trash_depth += 1;
            self.dealloc_one(ts, obj);
            (*ts).trash_depth -= 1;
            if (*ts).trash_depth == 0 {
                while let Some(o) = (*ts).trash.pop() {
                    (*ts).trash_depth = 1;
                    self.dealloc_one(ts, o);
                    (*ts).trash_depth = 0;
                }
            }
        }
    }

    unsafe fn dealloc_one(&self, ts: *mut ThreadState<P>, obj: *mut ObjHeader<P>) {
        // SAFETY: the object is dead and ours to free; see `dealloc`.
        unsafe {
            let kind = (*obj).kind;
            if kind.is_container() {
                self.gc_untrack(ts, obj);
            }
            // Release the children (CPython's tp_clear, shared with the
            // collector's clear phase), then the block.
            self.clear_references(ts, obj);
            self.free_object(ts, obj);
        }
    }

    /// Frees an object's block (no children, no counts).
    pub(crate) unsafe fn free_object(&self, ts: *mut ThreadState<P>, obj: *mut ObjHeader<P>) {
        // SAFETY: the caller's contract: a dead object of ours.
        unsafe {
            let size = (*obj).object_size();
            let class = (*obj).class;
            ptr::drop_in_place(obj);
            let live = &(*ts).live;
            (*ts).frees += 1;
            LiveCounters::bump(&live.objects, -1);
            LiveCounters::bump(&live.requested_bytes, -(size as i64));
            if class == LARGE {
                LiveCounters::bump(&live.block_bytes, -(size as i64));
                self.mem.free_large(obj as *mut u8);
            } else {
                LiveCounters::bump(
                    &live.block_bytes,
                    -(crate::alloc::class_block_size(class as usize) as i64),
                );
                P::free_block(&self.shared, &self.mem, &mut (*ts).local, obj as *mut u8);
            }
        }
    }

    /// Allocates a block for an object of `size` bytes; returns it with its
    /// class (or LARGE).
    #[inline(always)]
    unsafe fn alloc_object_block(
        &self,
        ts: *mut ThreadState<P>,
        size: usize,
    ) -> Result<(*mut u8, u8), HeapError> {
        // SAFETY: `ts` is the calling thread's attached state.
        unsafe {
            let live = &(*ts).live;
            (*ts).allocations += 1;
            let r = if size <= MAX_SMALL {
                let class = size_class(size);
                let b = P::alloc_block(
                    &self.shared,
                    &self.mem,
                    &mut (*ts).local,
                    Domain::Object,
                    class,
                )
                .map_err(HeapError::from)?;
                LiveCounters::bump(
                    &live.block_bytes,
                    crate::alloc::class_block_size(class) as i64,
                );
                (b, class as u8)
            } else {
                let b = self
                    .mem
                    .alloc_large(size, Domain::Object)
                    .map_err(HeapError::from)?;
                LiveCounters::bump(&live.block_bytes, size as i64);
                (b, LARGE)
            };
            LiveCounters::bump(&live.objects, 1);
            LiveCounters::bump(&live.requested_bytes, size as i64);
            Ok(r)
        }
    }

    /// Raw memory (list item arrays): the small-object allocator's raw
    /// domain while it fits, else the system allocator.
    pub(crate) unsafe fn alloc_raw(
        &self,
        ts: *mut ThreadState<P>,
        size: usize,
    ) -> Result<*mut u8, HeapError> {
        // SAFETY: `ts` is ours.
        unsafe {
            if size <= MAX_SMALL {
                P::alloc_block(
                    &self.shared,
                    &self.mem,
                    &mut (*ts).local,
                    Domain::Raw,
                    size_class(size),
                )
                .map_err(HeapError::from)
            } else {
                self.mem
                    .alloc_large(size, Domain::Raw)
                    .map_err(HeapError::from)
            }
        }
    }

    pub(crate) unsafe fn free_raw(&self, ts: *mut ThreadState<P>, block: *mut u8, size: usize) {
        // SAFETY: the caller's contract: `block` came from `alloc_raw(size)`.
        unsafe {
            if size <= MAX_SMALL {
                P::free_block(&self.shared, &self.mem, &mut (*ts).local, block)
            } else {
                self.mem.free_large(block)
            }
        }
    }

    /// Writes a fresh header into a new block.
    #[inline(always)]
    unsafe fn init_header(
        &self,
        ts: *mut ThreadState<P>,
        block: *mut u8,
        class: u8,
        kind: Kind,
        len: u32,
    ) -> *mut ObjHeader<P> {
        let obj = block as *mut ObjHeader<P>;
        // SAFETY: a fresh block, large enough for the header.
        unsafe {
            obj.write(ObjHeader {
                rc: P::rc_new(&(*ts).local),
                kind,
                class,
                gc_bits: crate::sync::AtomicU8::new(0),
                lock: P::ObjLock::new(),
                len,
            });
        }
        obj
    }

    /// Applies decrefs deferred from unattached threads.
    unsafe fn apply_pending(&self, ts: *mut ThreadState<P>) {
        if !self.pending_flag.load(Ordering::Acquire) {
            return;
        }
        let objs = {
            let mut p = self.pending.lock();
            self.pending_flag.store(false, Ordering::Relaxed);
            std::mem::take(&mut *p)
        };
        for o in objs {
            // SAFETY: each entry is a reference given up by its owner.
            unsafe { self.decref(ts, o as *mut ObjHeader<P>) };
        }
    }

    /// Memory figures now (approximate while threads run).
    pub fn memory(&self) -> MemoryFigures {
        let mut f = MemoryFigures {
            bytes_reserved: self.mem.budget().reserved() as u64,
            bytes_reserved_peak: self.mem.budget().reserved_peak() as u64,
            arenas: self.mem.arena_stats(),
            large_objects: self.mem.large().count() as u64,
            ..Default::default()
        };
        for l in self.live.lock().iter() {
            f.bytes_in_blocks += l.block_bytes.load(Ordering::Relaxed);
            f.bytes_requested += l.requested_bytes.load(Ordering::Relaxed);
            f.objects += l.objects.load(Ordering::Relaxed);
        }
        f
    }

    /// Gives every empty pool back to its arena (and so empty arenas back to
    /// the OS, but for one spare), like `malloc_trim`. Class tables keep one
    /// empty pool per class between collections so that allocating and
    /// freeing at a pool boundary does not churn the arena lock; full
    /// collections and the leak check trim. The heap must be quiescent (or
    /// the world stopped by the caller).
    pub fn trim(&self) {
        P::release_empty_pools(&self.shared, &self.mem);
    }

    /// Counters summed over the threads that have detached.
    pub fn totals(&self) -> ThreadTotals {
        self.totals.lock().clone()
    }

    /// GIL statistics (under `gil`).
    pub fn gil_stats(&self) -> Option<crate::policy::gil::GilStats> {
        P::gil_stats(&self.shared)
    }
}

/// One thread's handle on a heap. Not `Send`: it is the thread's attachment.
pub struct Mutator<'h, P: Policy> {
    heap: &'h Heap<P>,
    ts: *mut ThreadState<P>,
    _not_send: PhantomData<*const ()>,
}

impl<'h, P: Policy> Mutator<'h, P> {
    /// A mutator view of an attached thread state that this handle does not
    /// own (for finalizers run from inside the heap). Never drop it: wrap it
    /// in `ManuallyDrop`.
    pub(crate) fn borrowed(heap: &'h Heap<P>, ts: *mut ThreadState<P>) -> Self {
        Mutator {
            heap,
            ts,
            _not_send: PhantomData,
        }
    }

    pub fn heap(&self) -> &'h Heap<P> {
        self.heap
    }

    #[inline(always)]
    pub(crate) fn ts(&self) -> *mut ThreadState<P> {
        self.ts
    }

    #[inline(always)]
    fn check_attached(&self) {
        // SAFETY: our own state.
        debug_assert!(
            unsafe { (*self.ts).ctx.attached },
            "heap operation inside allow_threads"
        );
        debug_assert!(
            // SAFETY: our own state.
            P::may_write(&self.heap.shared, unsafe { &(*self.ts).local }),
            "heap write without the GIL"
        );
    }

    /// A leaf object with a copy of `payload` (an int, a string, bytes).
    pub fn alloc_leaf(&self, payload: &[u8]) -> Result<Ref<'h, P>, HeapError> {
        self.check_attached();
        let len = u32::try_from(payload.len()).map_err(|_| HeapError::TooLarge(payload.len()))?;
        let size = leaf_size::<P>(payload.len());
        // SAFETY: attached; the block is fresh and `size` bytes long.
        unsafe {
            let (block, class) = self.heap.alloc_object_block(self.ts, size)?;
            let obj = self
                .heap
                .init_header(self.ts, block, class, Kind::Leaf, len);
            ptr::copy_nonoverlapping(
                payload.as_ptr(),
                block.add(header_bytes::<P>()),
                payload.len(),
            );
            Ok(Ref::from_raw(self.heap, obj))
        }
    }

    /// A leaf holding a little-endian i64 (a Python int).
    pub fn alloc_int(&self, v: i64) -> Result<Ref<'h, P>, HeapError> {
        self.alloc_leaf(&v.to_le_bytes())
    }

    /// A leaf's payload.
    pub fn leaf_bytes<'r>(&self, r: &'r Ref<'h, P>) -> Result<&'r [u8], HeapError> {
        if r.kind() != Kind::Leaf {
            return Err(HeapError::Type {
                op: "leaf_bytes",
                expected: "leaf",
                got: r.kind().name(),
            });
        }
        // SAFETY: a live leaf's payload is immutable after creation and lives
        // as long as the reference.
        unsafe {
            let obj = r.as_ptr();
            Ok(std::slice::from_raw_parts(
                (obj as *const u8).add(header_bytes::<P>()),
                (*obj).len as usize,
            ))
        }
    }

    /// The value of an int leaf.
    pub fn int_value(&self, r: &Ref<'h, P>) -> Result<i64, HeapError> {
        let b = self.leaf_bytes(r)?;
        let arr: [u8; 8] = b.try_into().map_err(|_| HeapError::Type {
            op: "int_value",
            expected: "int (8-byte leaf)",
            got: "leaf",
        })?;
        Ok(i64::from_le_bytes(arr))
    }

    /// A tuple that takes ownership of `items`.
    pub fn alloc_tuple(&self, items: Vec<Ref<'h, P>>) -> Result<Ref<'h, P>, HeapError> {
        self.check_attached();
        let n = items.len();
        let size = tuple_size::<P>(n);
        // SAFETY: attached; the block is fresh and holds the prefix and `n`
        // item slots.
        unsafe {
            let (block, class) = self.heap.alloc_object_block(self.ts, size)?;
            let obj = self
                .heap
                .init_header(self.ts, block, class, Kind::Tuple, n as u32);
            crate::object::gc_head(obj).write(crate::object::GcHead {
                next: ptr::null_mut(),
                prev: ptr::null_mut(),
                refs: 0,
            });
            let slots = tuple_items(obj);
            for (i, r) in items.into_iter().enumerate() {
                *slots.add(i) = r.into_raw();
            }
            self.heap.gc_track(self.ts, obj);
            Ok(Ref::from_raw(self.heap, obj))
        }
    }

    /// A tuple of new references to `items`.
    pub fn tuple_of(&self, items: &[&Ref<'h, P>]) -> Result<Ref<'h, P>, HeapError> {
        self.alloc_tuple(items.iter().map(|r| (*r).clone()).collect())
    }

    /// An empty list.
    pub fn alloc_list(&self) -> Result<Ref<'h, P>, HeapError> {
        self.check_attached();
        // SAFETY: attached; a fresh block the size of a list.
        unsafe {
            let (block, class) = self.heap.alloc_object_block(self.ts, list_size::<P>())?;
            let obj = self.heap.init_header(self.ts, block, class, Kind::List, 0);
            crate::object::gc_head(obj).write(crate::object::GcHead {
                next: ptr::null_mut(),
                prev: ptr::null_mut(),
                refs: 0,
            });
            let l = obj as *mut ListObj<P>;
            ptr::addr_of_mut!((*l).len).write(0);
            ptr::addr_of_mut!((*l).cap).write(0);
            ptr::addr_of_mut!((*l).items).write(ptr::null_mut());
            self.heap.gc_track(self.ts, obj);
            Ok(Ref::from_raw(self.heap, obj))
        }
    }

    /// A list holding `items` (ownership moves in).
    pub fn list_of(&self, items: Vec<Ref<'h, P>>) -> Result<Ref<'h, P>, HeapError> {
        let l = self.alloc_list()?;
        for it in items {
            self.append(&l, it)?;
        }
        Ok(l)
    }

    /// Runs `f` on a list's body with the list's lock held (no lock under the
    /// GIL). A contended lock is waited for detached.
    #[inline(always)]
    fn with_list<R>(
        &self,
        list: &Ref<'h, P>,
        op: &'static str,
        f: impl FnOnce(*mut ListObj<P>) -> R,
    ) -> Result<R, HeapError> {
        self.check_attached();
        if list.kind() != Kind::List {
            return Err(HeapError::Type {
                op,
                expected: "list",
                got: list.kind().name(),
            });
        }
        let obj = list.as_ptr();
        // SAFETY: we hold a reference, so the header is live.
        let lock = unsafe { &(*obj).lock };
        if <P::ObjLock as ObjLock>::REAL && !lock.try_lock() {
            self.lock_contended(lock);
        }
        let r = f(obj as *mut ListObj<P>);
        lock.unlock(&self.heap.park);
        Ok(r)
    }

    #[cold]
    fn lock_contended(&self, lock: &P::ObjLock) {
        let park = &self.heap.park;
        self.allow_threads(|| lock.lock_contended(park));
    }

    /// `list.append(item)`.
    pub fn append(&self, list: &Ref<'h, P>, item: Ref<'h, P>) -> Result<(), HeapError> {
        let raw = item.as_ptr();
        let res = self.with_list(list, "append", |l| {
            // SAFETY: we hold the list's lock (or the GIL).
            unsafe {
                if (*l).len == (*l).cap {
                    self.grow(l)?;
                }
                *(*l).items.add((*l).len) = raw;
                (*l).len += 1;
            }
            Ok(())
        })?;
        if res.is_ok() {
            std::mem::forget(item);
        }
        res
    }

    /// Grows a list's item array (CPython's over-allocation: ~1.125x + 6).
    unsafe fn grow(&self, l: *mut ListObj<P>) -> Result<(), HeapError> {
        // SAFETY: the caller holds the list's lock.
        unsafe {
            let old_cap = (*l).cap;
            let new_cap = (old_cap + (old_cap >> 3) + 6) & !3;
            let word = std::mem::size_of::<usize>();
            let new = self.heap.alloc_raw(self.ts, new_cap * word)? as *mut *mut ObjHeader<P>;
            if old_cap > 0 {
                ptr::copy_nonoverlapping((*l).items, new, (*l).len);
                self.heap
                    .free_raw(self.ts, (*l).items as *mut u8, old_cap * word);
            }
            (*l).items = new;
            (*l).cap = new_cap;
            Ok(())
        }
    }

    /// `obj[i]` for a tuple or a list: a new reference.
    pub fn get(&self, obj: &Ref<'h, P>, i: usize) -> Result<Ref<'h, P>, HeapError> {
        match obj.kind() {
            Kind::Tuple => {
                self.check_attached();
                let o = obj.as_ptr();
                // SAFETY: tuples are immutable after creation; we hold a
                // reference to the tuple, which holds one to the item.
                unsafe {
                    let len = (*o).len as usize;
                    if i >= len {
                        return Err(HeapError::Index {
                            kind: "tuple",
                            index: i,
                            len,
                        });
                    }
                    let item = *tuple_items(o).add(i);
                    P::incref(item, &mut (*self.ts).local);
                    Ok(Ref::from_raw(self.heap, item))
                }
            }
            Kind::List => self
                .with_list(obj, "get", |l| {
                    // SAFETY: we hold the list's lock: the item stays put and
                    // referenced while we incref it.
                    unsafe {
                        let len = (*l).len;
                        if i >= len {
                            return Err(HeapError::Index {
                                kind: "list",
                                index: i,
                                len,
                            });
                        }
                        let item = *(*l).items.add(i);
                        P::incref(item, &mut (*self.ts).local);
                        Ok(Ref::from_raw(self.heap, item))
                    }
                })
                .and_then(|r| r),
            Kind::Leaf => Err(HeapError::Type {
                op: "get",
                expected: "tuple or list",
                got: "leaf",
            }),
        }
    }

    /// `list[i] = item`; the displaced item is released after the unlock.
    pub fn set(&self, list: &Ref<'h, P>, i: usize, item: Ref<'h, P>) -> Result<(), HeapError> {
        let raw = item.as_ptr();
        let old = self.with_list(list, "set", |l| {
            // SAFETY: we hold the list's lock.
            unsafe {
                let len = (*l).len;
                if i >= len {
                    return Err(HeapError::Index {
                        kind: "list",
                        index: i,
                        len,
                    });
                }
                let slot = (*l).items.add(i);
                let old = *slot;
                *slot = raw;
                Ok(old)
            }
        })??;
        std::mem::forget(item);
        // SAFETY: the list gave up its reference to `old` to us.
        drop(unsafe { Ref::from_raw(self.heap, old) });
        Ok(())
    }

    /// `list.pop()`: the last item, or None when empty.
    pub fn pop(&self, list: &Ref<'h, P>) -> Result<Option<Ref<'h, P>>, HeapError> {
        let old = self.with_list(list, "pop", |l| {
            // SAFETY: we hold the list's lock.
            unsafe {
                if (*l).len == 0 {
                    return None;
                }
                (*l).len -= 1;
                Some(*(*l).items.add((*l).len))
            }
        })?;
        // SAFETY: the list gave its reference to us.
        Ok(old.map(|o| unsafe { Ref::from_raw(self.heap, o) }))
    }

    /// `len(obj)`: payload bytes of a leaf, items of a tuple or list.
    pub fn len(&self, obj: &Ref<'h, P>) -> usize {
        match obj.kind() {
            // SAFETY: immutable after creation.
            Kind::Leaf | Kind::Tuple => unsafe { (*obj.as_ptr()).len as usize },
            // SAFETY: under the list's lock.
            Kind::List => self
                .with_list(obj, "len", |l| unsafe { (*l).len })
                .unwrap_or(0),
        }
    }

    /// The eval breaker: serves GIL drop requests, stop-the-world requests,
    /// merge queues, deferred decrefs and collection triggers.
    #[inline(always)]
    pub fn checkpoint(&self) {
        // SAFETY: our own state.
        let local = unsafe { &(*self.ts).local };
        if P::checkpoint_pending(&self.heap.shared, local)
            || self.heap.pending_flag.load(Ordering::Relaxed)
            || self.heap.gc.wants_collection()
        {
            self.checkpoint_slow();
        }
    }

    #[cold]
    #[inline(never)]
    fn checkpoint_slow(&self) {
        let ts = self.ts;
        let heap = self.heap;
        // SAFETY: our own attached state; objects handed to `on_dead` are
        // dead and ours to free.
        unsafe {
            P::checkpoint_slow(&heap.shared, &heap.mem, &mut (*ts).local, &mut |o| {
                heap.dealloc(ts, o)
            });
            heap.apply_pending(ts);
        }
        if self.heap.gc.wants_collection() {
            self.heap.collect_if_due(self);
        }
    }

    /// Runs `f` with the interpreter released (native code, I/O, a blocking
    /// wait): other threads may take the GIL or stop the world meanwhile.
    /// `Ref`s dropped inside are deferred, not lost.
    pub fn allow_threads<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Reattach<'a, 'h, P: Policy>(&'a Mutator<'h, P>);
        impl<P: Policy> Drop for Reattach<'_, '_, P> {
            fn drop(&mut self) {
                let ts = self.0.ts;
                // SAFETY: our own state.
                unsafe {
                    P::reacquire(&self.0.heap.shared, &mut (*ts).local);
                    (*ts).ctx.attached = true;
                    set_current_ctx(ts as *mut ThreadCtx);
                }
            }
        }
        let ts = self.ts;
        // SAFETY: our own state.
        unsafe {
            (*ts).ctx.attached = false;
            set_current_ctx(ptr::null_mut());
            P::release(&self.heap.shared, &mut (*ts).local);
        }
        let _back = Reattach(self);
        f()
    }

    /// A new reference to `r`, counted through this mutator: the
    /// reference count alone, with no thread-local look-up (what
    /// CPython's `Py_INCREF` is, the thread id read from a register).
    /// `Ref::clone` does the same after finding the thread's state.
    #[inline(always)]
    pub fn clone_ref(&self, r: &Ref<'h, P>) -> Ref<'h, P> {
        self.check_attached();
        // SAFETY: our attached state; `r` keeps the object alive.
        unsafe {
            P::incref(r.as_ptr(), &mut (*self.ts).local);
            Ref::from_raw(self.heap, r.as_ptr())
        }
    }

    /// Drops `r` through this mutator (`Py_DECREF`): no thread-local
    /// look-up. Dropping a `Ref` does the same after finding the state.
    #[inline(always)]
    pub fn release(&self, r: Ref<'h, P>) {
        self.check_attached();
        let obj = r.into_raw();
        // SAFETY: our attached state; we give up the reference `r` held.
        unsafe { self.heap.decref(self.ts, obj) }
    }

    /// Applies deferred decrefs now.
    pub fn apply_pending(&self) {
        // SAFETY: our own attached state.
        unsafe { self.heap.apply_pending(self.ts) }
    }

    /// This thread's reference-count counters so far.
    pub fn rc_counters(&self) -> RcCounters {
        // SAFETY: our own state.
        P::counters(unsafe { &(*self.ts).local })
    }

    /// This thread's live counters.
    pub fn live_counters(&self) -> &LiveCounters {
        // SAFETY: our own state.
        unsafe { &(*self.ts).live }
    }
}

impl<P: Policy> Drop for Mutator<'_, P> {
    fn drop(&mut self) {
        let ts = self.ts;
        let heap = self.heap;
        // SAFETY: our own state; we are still attached (a mutator is dropped
        // outside `allow_threads`).
        unsafe {
            // Finish our own business, unwinding or not (a panic between
            // heap operations leaves the heap consistent): merge our queue,
            // apply deferred decrefs (those of this unwind included).
            P::checkpoint_slow(&heap.shared, &heap.mem, &mut (*ts).local, &mut |o| {
                heap.dealloc(ts, o)
            });
            heap.apply_pending(ts);
            P::detach_for_good(&heap.shared, &heap.mem, &mut (*ts).local, &mut |o| {
                heap.dealloc(ts, o)
            });
            heap.gc.publish(&mut (*ts).gc_delta, true);
            {
                let mut t = heap.totals.lock();
                t.rc.add(&P::counters(&(*ts).local));
                t.allocations += (*ts).allocations;
                t.frees += (*ts).frees;
            }
            (*ts).ctx.attached = false;
            set_current_ctx((*ts).prev_ctx);
            drop(Box::from_raw(ts));
        }
    }
}

impl From<OutOfMemory> for HeapError {
    fn from(e: OutOfMemory) -> Self {
        HeapError::Memory(e)
    }
}
