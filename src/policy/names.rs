//! The policies by CLI name: the one place that maps a name to a type
//! ([`PolicyName`] and [`with_policy!`](crate::with_policy)).

use super::Policy;

/// The policies by CLI name: the one place that maps a name to a type.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum PolicyName {
    #[serde(rename = "gil")]
    Gil,
    #[serde(rename = "pool-locks")]
    PoolLocks,
    #[serde(rename = "biased")]
    Biased,
    #[serde(rename = "biased+locked-reads")]
    BiasedLockedReads,
    #[serde(rename = "gil+hdr32")]
    GilHeader32,
    #[serde(rename = "gil+atomic")]
    GilAtomic,
    #[serde(rename = "gil+brc")]
    GilBiasedRc,
    #[serde(rename = "gil+brc+tlh")]
    GilThreadHeaps,
    #[serde(rename = "gil+brc+tlh+locks")]
    GilListLocks,
    #[serde(rename = "gil-tracing")]
    GilTracing,
    #[serde(rename = "tracing")]
    Tracing,
}

impl PolicyName {
    /// The policies the lab compares (`--policy all`): the three locking
    /// designs of a counted heap, and the two count-free (tracing) heaps
    /// that complete the 2x2 of {GIL, no GIL} x {counts, tracing}.
    pub const ALL: [PolicyName; 5] = [
        PolicyName::Gil,
        PolicyName::PoolLocks,
        PolicyName::Biased,
        PolicyName::GilTracing,
        PolicyName::Tracing,
    ];

    /// The single-thread cost breakdown from `gil` to `biased`, one
    /// ingredient a step (`heaplab cost-breakdown`).
    pub const STEPS: [PolicyName; 6] = [
        PolicyName::Gil,
        PolicyName::GilHeader32,
        PolicyName::GilBiasedRc,
        PolicyName::GilThreadHeaps,
        PolicyName::GilListLocks,
        PolicyName::Biased,
    ];

    /// Side steps of the breakdown, measured beside it (not on the way).
    pub const SIDE_STEPS: [PolicyName; 1] = [PolicyName::GilAtomic];

    /// Every policy there is.
    pub const EVERY: [PolicyName; 11] = [
        PolicyName::Gil,
        PolicyName::PoolLocks,
        PolicyName::Biased,
        PolicyName::BiasedLockedReads,
        PolicyName::GilTracing,
        PolicyName::Tracing,
        PolicyName::GilHeader32,
        PolicyName::GilAtomic,
        PolicyName::GilBiasedRc,
        PolicyName::GilThreadHeaps,
        PolicyName::GilListLocks,
    ];

    pub fn as_str(self) -> &'static str {
        crate::with_policy!(self, P => P::NAME)
    }

    pub fn summary(self) -> &'static str {
        crate::with_policy!(self, P => P::SUMMARY)
    }

    /// What a step of the cost breakdown adds to the step before it (for
    /// the side step, to `gil+hdr32`); the baseline adds nothing.
    pub fn adds(self) -> &'static str {
        match self {
            PolicyName::Gil => "the baseline: CPython with the GIL",
            PolicyName::GilHeader32 => "a 32-byte object header (PEP 703's, 16 bytes of padding)",
            PolicyName::GilBiasedRc => {
                "biased counts: the owner-id check on every count, a shared count for others"
            }
            PolicyName::GilThreadHeaps => {
                "thread-local heaps: a class table per thread, remote frees"
            }
            PolicyName::GilListLocks => "a one-byte lock taken by every list operation",
            PolicyName::Biased => "no GIL: attach and detach states, stop-the-world checkpoints",
            PolicyName::GilAtomic => "atomic counts on every object instead (what biasing avoids)",
            PolicyName::PoolLocks
            | PolicyName::BiasedLockedReads
            | PolicyName::GilTracing
            | PolicyName::Tracing => "(not a breakdown step)",
        }
    }

    /// The same policy with the other list read path: `biased` and
    /// `biased+locked-reads` (`run --list-reads`); `None` for a policy that
    /// has only one (every list read takes the lock, or the GIL guards it).
    pub fn read_twin(self) -> Option<PolicyName> {
        match self {
            PolicyName::Biased => Some(PolicyName::BiasedLockedReads),
            PolicyName::BiasedLockedReads => Some(PolicyName::Biased),
            _ => None,
        }
    }

    /// Whether a list's `get` reads without the lock
    /// ([`Policy::OPTIMISTIC_READS`](super::Policy::OPTIMISTIC_READS)).
    pub fn optimistic_reads(self) -> bool {
        crate::with_policy!(self, P => P::OPTIMISTIC_READS)
    }

    pub fn parse(s: &str) -> Option<PolicyName> {
        PolicyName::EVERY.into_iter().find(|p| p.as_str() == s)
    }
}

/// A list read path (`run --list-reads`): which of a policy and its
/// [`read twin`](PolicyName::read_twin) a run measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListReads {
    /// Every `get` takes the list's lock.
    Locked,
    /// `get` reads without the lock (free-threaded CPython; the default).
    Optimistic,
}

impl ListReads {
    pub const ALL: [ListReads; 2] = [ListReads::Locked, ListReads::Optimistic];

    pub fn name(self) -> &'static str {
        match self {
            ListReads::Locked => "locked",
            ListReads::Optimistic => "optimistic",
        }
    }

    /// The policy that measures this read path in place of `p`: `p`'s read
    /// twin where `p` reads optimistically and this path is `locked`, else
    /// `p` itself.
    pub fn apply(self, p: PolicyName) -> PolicyName {
        match (self, p.read_twin()) {
            (ListReads::Locked, Some(twin)) if p.optimistic_reads() => twin,
            _ => p,
        }
    }
}

impl std::fmt::Display for ListReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::fmt::Display for PolicyName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Calls a generic function with the policy type that `name` stands for.
#[macro_export]
macro_rules! with_policy {
    ($name:expr, $p:ident => $body:expr) => {
        match $name {
            $crate::policy::PolicyName::Gil => {
                type $p = $crate::policy::Gil;
                $body
            }
            $crate::policy::PolicyName::PoolLocks => {
                type $p = $crate::policy::PoolLocks;
                $body
            }
            $crate::policy::PolicyName::Biased => {
                type $p = $crate::policy::Biased;
                $body
            }
            $crate::policy::PolicyName::BiasedLockedReads => {
                type $p = $crate::policy::BiasedLockedReads;
                $body
            }
            $crate::policy::PolicyName::GilHeader32 => {
                type $p = $crate::policy::GilHeader32;
                $body
            }
            $crate::policy::PolicyName::GilAtomic => {
                type $p = $crate::policy::GilAtomic;
                $body
            }
            $crate::policy::PolicyName::GilBiasedRc => {
                type $p = $crate::policy::GilBiasedRc;
                $body
            }
            $crate::policy::PolicyName::GilThreadHeaps => {
                type $p = $crate::policy::GilThreadHeaps;
                $body
            }
            $crate::policy::PolicyName::GilListLocks => {
                type $p = $crate::policy::GilListLocks;
                $body
            }
            $crate::policy::PolicyName::GilTracing => {
                type $p = $crate::policy::GilTracing;
                $body
            }
            $crate::policy::PolicyName::Tracing => {
                type $p = $crate::policy::Tracing;
                $body
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips_and_is_listed_once() {
        for p in PolicyName::EVERY {
            assert_eq!(PolicyName::parse(p.as_str()), Some(p));
            assert_eq!(crate::with_policy!(p, P => P::NAME), p.as_str());
        }
        let mut names: Vec<_> = PolicyName::EVERY.iter().map(|p| p.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), PolicyName::EVERY.len());
        assert_eq!(PolicyName::STEPS.first(), Some(&PolicyName::Gil));
        assert_eq!(PolicyName::STEPS.last(), Some(&PolicyName::Biased));
        assert_eq!(PolicyName::parse("nope"), None);
        for p in PolicyName::EVERY {
            if let Some(t) = p.read_twin() {
                assert_eq!(t.read_twin(), Some(p));
                assert_ne!(t.optimistic_reads(), p.optimistic_reads());
            }
            assert_eq!(ListReads::Optimistic.apply(p), p);
            let locked = ListReads::Locked.apply(p);
            assert!(!locked.optimistic_reads(), "{p}");
        }
    }
}
