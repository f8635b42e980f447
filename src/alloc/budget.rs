//! The memory budget of one heap: bytes reserved from the OS (arenas and
//! large blocks), its peak, and the optional limit (`--max-heap`) past which
//! an allocation fails with [`OutOfMemory`] (Python's `MemoryError`).
//!
//! Every ordering here is `Relaxed`: the counters are sums that guard no
//! other memory (the mapping itself is published by whoever hands the
//! arena out), and the limit needs only that the compare-and-swap on the
//! one counter never lets two reservations past it together.

use crate::sync::{AtomicUsize, Ordering::Relaxed};

/// The allocator refused a request: the heap's memory limit would be passed,
/// or the OS refused to map memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfMemory {
    /// Bytes asked for from the OS (an arena, or a large object).
    pub requested: usize,
    /// Bytes reserved when it was refused.
    pub reserved: usize,
    /// The heap's limit (usize::MAX when none).
    pub limit: usize,
}

/// Bytes reserved from the OS by one heap, with an optional limit
/// (`--max-heap`). Shared by the arena source and the large-object list.
pub struct MemoryBudget {
    limit: usize,
    reserved: AtomicUsize,
    reserved_peak: AtomicUsize,
}

impl MemoryBudget {
    pub fn new(limit: Option<usize>) -> Self {
        MemoryBudget {
            limit: limit.unwrap_or(usize::MAX),
            reserved: AtomicUsize::new(0),
            reserved_peak: AtomicUsize::new(0),
        }
    }

    /// Takes `bytes` from the budget, or says why not.
    pub fn reserve(&self, bytes: usize) -> Result<(), OutOfMemory> {
        let mut current = self.reserved.load(Relaxed);
        loop {
            let next = current.saturating_add(bytes);
            if next > self.limit {
                return Err(OutOfMemory {
                    requested: bytes,
                    reserved: current,
                    limit: self.limit,
                });
            }
            match self
                .reserved
                .compare_exchange_weak(current, next, Relaxed, Relaxed)
            {
                Ok(_) => {
                    self.reserved_peak.fetch_max(next, Relaxed);
                    return Ok(());
                }
                Err(seen) => current = seen,
            }
        }
    }

    pub fn release(&self, bytes: usize) {
        self.reserved.fetch_sub(bytes, Relaxed);
    }

    pub fn reserved(&self) -> usize {
        self.reserved.load(Relaxed)
    }

    pub fn reserved_peak(&self) -> usize {
        self.reserved_peak.load(Relaxed)
    }

    pub fn limit(&self) -> Option<usize> {
        (self.limit != usize::MAX).then_some(self.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_refuses_past_the_limit() {
        let b = MemoryBudget::new(Some(100));
        assert!(b.reserve(60).is_ok());
        let err = b.reserve(60).unwrap_err();
        assert_eq!(err.reserved, 60);
        assert_eq!(err.limit, 100);
        b.release(60);
        assert!(b.reserve(100).is_ok());
        assert_eq!(b.reserved_peak(), 100);
    }
}
