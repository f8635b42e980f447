//! List and tuple operations: `get`, `set`, `append`, `pop`, `len`.
//!
//! A list's body (length, capacity, item array) is guarded by its object
//! lock under the free-threaded policies (none under the GIL, whose holder is
//! alone). While holding it a thread takes no other object lock and waits
//! for nothing but the allocator's own short locks; a contended lock is
//! waited for detached (CPython's `PyMutex` detaches before it parks), and an
//! item that `set` or `pop` displaces is released after the unlock.

use super::{Mutator, Ref};
use crate::object::{tuple_items, Kind, ListObj, ObjHeader};
use crate::policy::{Counts, ObjAddr, ObjLock, Policy};
use crate::HeapError;
use std::ptr;

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
        if list.kind() != Kind::List {
            return Err(HeapError::wrong_type(op, "list", list.kind().name()));
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
                        return Err(HeapError::index("tuple", i, len));
                    }
                    let item = *tuple_items(o).add(i);
                    <P::Counts as Counts>::incref(item as ObjAddr, &mut (*self.ts).counts);
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
                            return Err(HeapError::index("list", i, len));
                        }
                        let item = *(*l).items.add(i);
                        <P::Counts as Counts>::incref(item as ObjAddr, &mut (*self.ts).counts);
                        Ok(Ref::from_raw(self.heap, item))
                    }
                })
                .and_then(|r| r),
            Kind::Leaf => Err(HeapError::wrong_type("get", "tuple or list", "leaf")),
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
                    return Err(HeapError::index("list", i, len));
                }
                let slot = (*l).items.add(i);
                let old = *slot;
                *slot = raw;
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
                (*l).len -= 1;
                Some(*(*l).items.add((*l).len))
            }
        })?;
        // SAFETY: the list gave its reference to us.
        Ok(old.map(|o| unsafe { Ref::from_raw(self.heap, o) }))
    }

    /// `len(obj)`: payload bytes of a leaf, items of a tuple or list.
    #[inline]
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
}
