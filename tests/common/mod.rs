//! Shared test helpers: one generic test body, instantiated per policy.
#![allow(dead_code, unused_macros)]

/// Instantiates each generic `fn name<P: Policy>()` once per policy, in
/// modules `gil`, `pool_locks`, `biased` and `biased_locked_reads` (`biased`
/// with locked list reads: `run --list-reads locked`).
#[macro_export]
macro_rules! all_policies {
    ($($f:ident),* $(,)?) => {
        mod gil {
            $( #[test] fn $f() { super::$f::<heaplab::Gil>() } )*
        }
        mod pool_locks {
            $( #[test] fn $f() { super::$f::<heaplab::PoolLocks>() } )*
        }
        mod biased {
            $( #[test] fn $f() { super::$f::<heaplab::Biased>() } )*
        }
        mod biased_locked_reads {
            $( #[test] fn $f() { super::$f::<heaplab::policy::BiasedLockedReads>() } )*
        }
    };
}

pub fn heap<P: heaplab::Policy>() -> heaplab::Heap<P> {
    heaplab::Heap::<P>::with_defaults()
}

/// A heap whose collector runs only when asked.
pub fn heap_no_auto_gc<P: heaplab::Policy>() -> heaplab::Heap<P> {
    let mut c = heaplab::HeapConfig::default();
    c.gc.enabled = false;
    heaplab::Heap::<P>::new(c).unwrap()
}

/// Instantiates each generic `fn name<P: Policy>()` once per count-free
/// policy, in modules `gil_tracing` and `tracing` (their tests compare after
/// a collection, so they are not in `all_policies!`).
#[macro_export]
macro_rules! tracing_policies {
    ($($f:ident),* $(,)?) => {
        mod gil_tracing {
            $( #[test] fn $f() { super::$f::<heaplab::GilTracing>() } )*
        }
        mod tracing {
            $( #[test] fn $f() { super::$f::<heaplab::Tracing>() } )*
        }
    };
}
