//! The object model: a header chosen by the policy and three kinds of
//! object. (The owned reference handle, `Ref`, lives with the heap, which
//! gives it its meaning.)
//!
//! ```text
//!  leaf   [ObjHeader][payload: len bytes]                     ints, strings, bytes
//!  tuple  [ObjHeader][GcHead][items: len pointers]            immutable after creation
//!  list   [ObjHeader][GcHead][len, cap, items pointer]        items: a raw block (<= 512 B) or the system allocator
//! ```
//!
//! The header is `rc` (the policy's count word), `kind`, `class` (the size
//! class of the object's block, or [`LARGE`]), `gc_bits`, the policy's
//! per-object lock, `len`, and the policy's padding. Its size per policy is
//! part of what the lab compares (16 bytes under `gil` and `pool-locks`, 32
//! under `biased`, as PEP 703 grew CPython's header from 16 to 32): see
//! [`header_bytes`].
//!
//! The count word is the header's first field (`repr(C)`), so the policy
//! layer, which sees an object only as its address, finds the word there
//! (`policy::counts::word`). This layer depends on the policy layer (the
//! header is generic over it), never the other way round.
//!
//! Containers (tuples and lists) carry a `GcHead`: the generation links that
//! the generational collector uses under `gil` and the `gc_refs` scratch word
//! of every collection. Leaves are never tracked.

use crate::policy::{Counts, ObjAddr, Policy};
use crate::sync::AtomicU8;
use std::ptr;

/// `class` of an object that lives on the large-object list.
pub const LARGE: u8 = u8::MAX;

/// The kinds of object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    Leaf = 0,
    Tuple = 1,
    List = 2,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Leaf => "leaf",
            Kind::Tuple => "tuple",
            Kind::List => "list",
        }
    }

    #[inline(always)]
    pub fn is_container(self) -> bool {
        !matches!(self, Kind::Leaf)
    }
}

/// Bits of `ObjHeader::gc_bits`.
pub mod gc_bits {
    /// The collector may look at it (containers only).
    pub const TRACKED: u8 = 1;
    /// Has a finalizer registered with the heap.
    pub const HAS_FINALIZER: u8 = 2;
    /// Its finalizer has run (PEP 442: at most once).
    pub const FINALIZED: u8 = 4;
    /// Collector scratch: found reachable in this collection.
    pub const REACHABLE: u8 = 8;
    /// Collector scratch: a candidate of this collection.
    pub const CANDIDATE: u8 = 16;
    /// Immortal: its count is never written (PEP 683).
    pub const IMMORTAL: u8 = 32;
    /// Collector scratch: garbage found by this collection.
    pub const UNREACHABLE: u8 = 64;
    /// In the nursery's remembered set (an old container that received a
    /// young item: `heap::trace::nursery`; tracing policies only).
    pub const REMEMBERED: u8 = 128;
}

/// The count word type of policy `P`.
pub type CountWord<P> = <<P as Policy>::Counts as Counts>::Word;

/// The header at the start of every object.
#[repr(C)]
pub struct ObjHeader<P: Policy> {
    /// First, at offset 0: see the module docs.
    pub rc: CountWord<P>,
    pub kind: Kind,
    pub class: u8,
    pub gc_bits: AtomicU8,
    pub lock: P::ObjLock,
    /// Leaf payload bytes, or tuple length.
    pub len: u32,
    /// The policy's padding (PEP 703's larger header, as a switch).
    pub pad: P::Pad,
}

/// The collector's part of a container.
#[repr(C)]
pub struct GcHead<P: Policy> {
    /// Generation list links (generational mode under `gil`).
    pub next: *mut ObjHeader<P>,
    pub prev: *mut ObjHeader<P>,
    /// `gc_refs` during a collection.
    pub refs: isize,
}

/// A container's common prefix.
#[repr(C)]
pub struct Container<P: Policy> {
    pub hdr: ObjHeader<P>,
    pub gc: GcHead<P>,
}

/// A list's body, guarded by the object lock under GIL-free policies.
#[repr(C)]
pub struct ListObj<P: Policy> {
    pub c: Container<P>,
    pub len: usize,
    pub cap: usize,
    pub items: *mut *mut ObjHeader<P>,
}

/// Bytes of an object header under policy `P`.
pub const fn header_bytes<P: Policy>() -> usize {
    std::mem::size_of::<ObjHeader<P>>()
}

/// Bytes of a container prefix (header + GC head).
pub const fn container_bytes<P: Policy>() -> usize {
    std::mem::size_of::<Container<P>>()
}

/// Size in bytes of a leaf with `len` payload bytes.
#[inline(always)]
pub const fn leaf_size<P: Policy>(len: usize) -> usize {
    header_bytes::<P>() + len
}

/// Size in bytes of a tuple of `len` items.
#[inline(always)]
pub const fn tuple_size<P: Policy>(len: usize) -> usize {
    container_bytes::<P>() + len * std::mem::size_of::<usize>()
}

/// Size in bytes of a list object (its items live apart).
#[inline(always)]
pub const fn list_size<P: Policy>() -> usize {
    std::mem::size_of::<ListObj<P>>()
}

impl<P: Policy> ObjHeader<P> {
    /// The object's address as the policy layer sees it.
    #[inline(always)]
    pub fn addr(obj: *mut ObjHeader<P>) -> ObjAddr {
        obj as ObjAddr
    }

    /// The object at a policy-layer address.
    #[inline(always)]
    pub fn from_addr(addr: ObjAddr) -> *mut ObjHeader<P> {
        addr as *mut ObjHeader<P>
    }

    /// The true count (exact only with the world stopped and merges applied).
    #[inline(always)]
    pub fn rc_total(&self) -> isize {
        <P::Counts as Counts>::total(&self.rc)
    }

    #[inline(always)]
    pub fn gc_flags(&self) -> u8 {
        self.gc_bits.load(crate::sync::Ordering::Relaxed)
    }

    /// Relaxed: GC bits are written by the object's creator before it is
    /// shared, by the deallocating thread, or with the world stopped.
    #[inline(always)]
    pub fn set_gc_flags(&self, bits: u8) {
        self.gc_bits.store(bits, crate::sync::Ordering::Relaxed)
    }

    /// Size of this object's block request.
    pub fn object_size(&self) -> usize {
        match self.kind {
            Kind::Leaf => leaf_size::<P>(self.len as usize),
            Kind::Tuple => tuple_size::<P>(self.len as usize),
            Kind::List => list_size::<P>(),
        }
    }
}

/// Pointer to a tuple's items.
///
/// # Safety
/// `obj` is a live tuple.
#[inline(always)]
pub unsafe fn tuple_items<P: Policy>(obj: *mut ObjHeader<P>) -> *mut *mut ObjHeader<P> {
    // SAFETY: the items follow the container prefix in the same block.
    unsafe { (obj as *mut u8).add(container_bytes::<P>()) as *mut *mut ObjHeader<P> }
}

/// The container's GC head.
///
/// # Safety
/// `obj` is a live container.
#[inline(always)]
pub unsafe fn gc_head<P: Policy>(obj: *mut ObjHeader<P>) -> *mut GcHead<P> {
    // SAFETY: containers start with `Container`.
    unsafe { ptr::addr_of_mut!((*(obj as *mut Container<P>)).gc) }
}

/// Calls `f` for each reference a container holds (CPython's `tp_traverse`).
/// Under a GIL-free policy the caller must have the world stopped or hold the
/// list's lock.
///
/// # Safety
/// `obj` is a live object.
#[inline]
pub unsafe fn for_each_child<P: Policy>(
    obj: *mut ObjHeader<P>,
    mut f: impl FnMut(*mut ObjHeader<P>),
) {
    // SAFETY: the caller's contract; the layouts are as documented above.
    unsafe {
        match (*obj).kind {
            Kind::Leaf => {}
            Kind::Tuple => {
                let items = tuple_items(obj);
                for i in 0..(*obj).len as usize {
                    let c = *items.add(i);
                    if !c.is_null() {
                        f(c)
                    }
                }
            }
            Kind::List => {
                let l = obj as *mut ListObj<P>;
                let items = (*l).items;
                for i in 0..(*l).len {
                    f(*items.add(i))
                }
            }
        }
    }
}
