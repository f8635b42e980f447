//! List and tuple operations: `get`, `set`, `append`, `pop`, `len`.
//!
//! A list's body (length, capacity, item array) is guarded by its object
//! lock under the free-threaded policies (none under the GIL, whose holder is
//! alone). While holding it a thread takes no other object lock and waits
//! for nothing but the allocator's own short locks; a contended lock is
//! waited for detached (CPython's `PyMutex` detaches before it parks), and an
//! item that `set` or `pop` displaces is released after the unlock.
//!
//! ## Optimistic reads (`Policy::OPTIMISTIC_READS`: `biased`)
//!
//! `get` on a list first reads without the lock, as free-threaded CPython's
//! `list_get_item_ref`: load the length, then the item array, then the slot
//! (each Acquire), try-incref the item ([`Counts::try_incref`]: never from a
//! zero count), and re-check that the list still has that array and the
//! slot that item; on any failure it gives the reference back and takes the
//! locked path. Writers (under the lock) store the array pointer, the slots
//! and the length with Release, the array before the length that needs it:
//! a reader that sees a length sees an array at least that long (arrays
//! only grow while a list lives; a collector's clear runs with the world
//! stopped). An array replaced by a resize is retired through the heap's
//! QSBR ([`super::qsbr`]) instead of freed, so a reader still walking it
//! reads live memory until its next checkpoint. Why a try-incref on a freed
//! or reused object block cannot return a wrong reference is argued in
//! `policy/biased/try_ref.rs`.

use super::{Mutator, Ref};
use crate::object::{tuple_items, Kind, ListObj, ObjHeader};
use crate::policy::{Counts, ObjAddr, ObjLock, Policy};
use crate::sync::{racy_load, racy_load_ptr, racy_store, racy_store_ptr, Ordering};
use crate::HeapError;
use std::ptr;
use std::ptr::addr_of_mut;

/// The list's item-array pointer, as a word other threads may read.
#[inline(always)]
fn items_word<P: Policy>(l: *mut ListObj<P>) -> *mut *mut *mut ObjHeader<P> {
    // SAFETY: only the field's address is taken (no access).
    unsafe { addr_of_mut!((*l).items) }
}

/// The list's length, as a word other threads may read.
#[inline(always)]
fn len_word<P: Policy>(l: *mut ListObj<P>) -> *mut usize {
    // SAFETY: only the field's address is taken (no access).
    unsafe { addr_of_mut!((*l).len) }
}

impl<'h, P: Policy> Mutator<'h, P> {
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
        // SAFETY: attached (`check_attached`).
        let kind = unsafe { list.kind_attached() };
        if kind != Kind::List {
            return Err(HeapError::wrong_type(op, "list", kind.name()));
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
        let once = || {
            self.with_list(list, "append", |l| {
                // SAFETY: we hold the list's lock (or the GIL).
                unsafe {
                    if (*l).len == (*l).cap {
                        self.grow(l)?;
                    }
                    // Read after growing: under a nursery the item may have
                    // moved while the array grew (`trace::minor`).
                    let raw = item.as_ptr();
                    // Release: the item is initialised before a reader sees it,
                    // and the slot before the length that covers it.
                    racy_store_ptr((*l).items.add((*l).len), raw, Ordering::Release);
                    racy_store(len_word(l), (*l).len + 1, Ordering::Release);
                    if <P::Counts as Counts>::TRACED {
                        // An old list receiving a young item (`trace::minor`).
                        self.heap.write_barrier(l as *mut ObjHeader<P>, raw);
                    }
                }
                Ok(())
            })
        };
        let mut res = once()?;
        // SAFETY: the list's lock is released; we hold only `Ref`s.
        if <P::Counts as Counts>::TRACED && unsafe { self.heap.collect_if_refused(self.ts, &res) } {
            res = once()?;
        }
        if res.is_ok() {
            // The list owns the reference now (`into_raw`: a tracing policy's
            // root goes too, the list reaching the item instead).
            let _ = item.into_raw();
        }
        res
    }

    /// Grows a list's item array (CPython's over-allocation: ~1.125x + 6).
    ///
    /// # Safety
    /// `l` is a live list of this heap and the caller holds its lock (or
    /// the GIL).
    unsafe fn grow(&self, l: *mut ListObj<P>) -> Result<(), HeapError> {
        // SAFETY: the caller holds the list's lock.
        unsafe {
            let old_cap = (*l).cap;
            let new_cap = (old_cap + (old_cap >> 3) + 6) & !3;
            let word = std::mem::size_of::<usize>();
            let new = self.heap.alloc_raw(self.ts, new_cap * word)? as *mut *mut ObjHeader<P>;
            let old = (*l).items;
            if old_cap > 0 {
                ptr::copy_nonoverlapping(old, new, (*l).len);
            }
            // Release: the copied slots before the array is seen.
            racy_store_ptr(items_word(l), new, Ordering::Release);
            (*l).cap = new_cap;
            if old_cap > 0 {
                if P::OPTIMISTIC_READS {
                    // A reader may still walk the old array: free it once
                    // every attached thread has passed a checkpoint.
                    self.heap
                        .qsbr
                        .retire(&mut (*self.ts).qsbr, old as *mut u8, old_cap * word);
                    // And free what is due now, ours included when no other
                    // thread is reading: this thread holds no pointer into
                    // an item array but this list's (it is not in a
                    // lock-free read), so this is a quiescent state, and a
                    // thread that appends without checkpoints does not pile
                    // up retired arrays (CPython processes its delayed
                    // frees as it adds to them, too).
                    self.heap.qsbr_poll(self.ts);
                } else {
                    self.heap.free_raw(self.ts, old as *mut u8, old_cap * word);
                }
            }
            Ok(())
        }
    }

    /// `obj[i]` for a tuple or a list: a new reference. The tuple path is
    /// inlined (an index check and an incref, as CPython's
    /// `PyTuple_GET_ITEM` + `Py_INCREF`); lists go out of line.
    #[inline]
    pub fn get(&self, obj: &Ref<'h, P>, i: usize) -> Result<Ref<'h, P>, HeapError> {
        // SAFETY: a mutator's thread is attached.
        if unsafe { obj.kind_attached() } != Kind::Tuple {
            return self.get_not_tuple(obj, i);
        }
        self.check_attached();
        let o = obj.as_ptr();
        // SAFETY: tuples are immutable after creation; we hold a reference
        // to the tuple, which holds one to the item; `ts` is our attached
        // state.
        unsafe {
            let len = (*o).len as usize;
            if i >= len {
                return Err(HeapError::index("tuple", i, len));
            }
            let item = *tuple_items(o).add(i);
            <P::Counts as Counts>::incref(item as ObjAddr, &mut (*self.ts).counts);
            Ok(Ref::from_raw_in(self.heap, self.ts, item))
        }
    }

    /// `get` on a list (or, refused, a leaf).
    #[inline(never)]
    fn get_not_tuple(&self, obj: &Ref<'h, P>, i: usize) -> Result<Ref<'h, P>, HeapError> {
        // SAFETY: a mutator's thread is attached.
        match unsafe { obj.kind_attached() } {
            Kind::List => {
                if P::OPTIMISTIC_READS {
                    if let Some(r) = self.get_optimistic(obj, i) {
                        return Ok(r);
                    }
                }
                self.get_locked(obj, i)
            }
            _ => Err(HeapError::wrong_type("get", "tuple or list", "leaf")),
        }
    }

    /// `list[i]` without the lock (see the module docs); `None` sends the
    /// caller to the locked path (an index out of range included, so that
    /// the error is the locked path's).
    #[inline(always)]
    fn get_optimistic(&self, list: &Ref<'h, P>, i: usize) -> Option<Ref<'h, P>> {
        self.check_attached();
        let l = list.as_ptr() as *mut ListObj<P>;
        // SAFETY: we hold a reference to the list, so its body is live; the
        // length, array pointer and slots are written with `racy_store` by
        // lock holders. The array we read is the list's, or one retired
        // after we loaded it, which QSBR keeps until our next checkpoint;
        // `i < len` and the Release order of the writers keep the slot in
        // bounds (module docs). `try_incref`'s contract: the item is an
        // object block of this heap, held as one (module docs of
        // `policy/biased/try_ref.rs`).
        unsafe {
            // Acquire: the array (and its slots) published before the length.
            let len = racy_load(len_word(l), Ordering::Acquire);
            if i >= len {
                return None;
            }
            // Acquire: the slots copied before the array was published.
            let items = racy_load_ptr(items_word(l), Ordering::Acquire);
            let slot = items.add(i);
            // Acquire: the item's header, written before it was stored.
            let item = racy_load_ptr(slot, Ordering::Acquire);
            if !<P::Counts as Counts>::try_incref(item as ObjAddr, &mut (*self.ts).counts) {
                return None;
            }
            // Re-check (Acquire, as above): the list still holds this item
            // there, in this array. Otherwise the object we counted may be
            // another one that reused the block: give it back.
            let r = Ref::from_raw(self.heap, item);
            if racy_load_ptr(slot, Ordering::Acquire) == item
                && racy_load_ptr(items_word(l), Ordering::Acquire) == items
            {
                return Some(r);
            }
            self.give_back(r);
            None
        }
    }

    #[cold]
    fn give_back(&self, r: Ref<'h, P>) {
        self.release(r);
    }

    /// `list[i]` under the list's lock.
    fn get_locked(&self, obj: &Ref<'h, P>, i: usize) -> Result<Ref<'h, P>, HeapError> {
        self.with_list(obj, "get", |l| {
            // SAFETY: we hold the list's lock: the item stays put and
            // referenced while we incref it.
            unsafe {
                let len = (*l).len;
                if i >= len {
                    return Err(HeapError::index("list", i, len));
                }
                let item = *(*l).items.add(i);
                <P::Counts as Counts>::incref(item as ObjAddr, &mut (*self.ts).counts);
                Ok(Ref::from_raw(self.heap, item))
            }
        })
        .and_then(|r| r)
    }

    /// `list[i] = item`; the displaced item is released after the unlock.
    pub fn set(&self, list: &Ref<'h, P>, i: usize, item: Ref<'h, P>) -> Result<(), HeapError> {
        let old = self.with_list(list, "set", |l| {
            let raw = item.as_ptr();
            // SAFETY: we hold the list's lock.
            unsafe {
                let len = (*l).len;
                if i >= len {
                    return Err(HeapError::index("list", i, len));
                }
                let slot = (*l).items.add(i);
                let old = *slot;
                // Release: the new item's header before a reader sees it.
                racy_store_ptr(slot, raw, Ordering::Release);
                if <P::Counts as Counts>::TRACED {
                    // An old list receiving a young item (`trace::minor`).
                    self.heap.write_barrier(l as *mut ObjHeader<P>, raw);
                }
                Ok(old)
            }
        })??;
        let _ = item.into_raw();
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
                let len = (*l).len - 1;
                // Relaxed: shrinking publishes nothing; a reader that still
                // sees the old length re-checks the slot it reads.
                racy_store(len_word(l), len, Ordering::Relaxed);
                Some(*(*l).items.add(len))
            }
        })?;
        // SAFETY: the list gave its reference to us.
        Ok(old.map(|o| unsafe { Ref::from_raw(self.heap, o) }))
    }

    /// `len(obj)`: payload bytes of a leaf, items of a tuple or list.
    #[inline]
    pub fn len(&self, obj: &Ref<'h, P>) -> usize {
        // SAFETY: a mutator's thread is attached.
        match unsafe { obj.kind_attached() } {
            // SAFETY: immutable after creation.
            Kind::Leaf | Kind::Tuple => unsafe { (*obj.as_ptr()).len as usize },
            // SAFETY: under the list's lock.
            Kind::List => self
                .with_list(obj, "len", |l| unsafe { (*l).len })
                .unwrap_or(0),
        }
    }
}
