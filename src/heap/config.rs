//! What a heap can be configured with: the policy's own settings, the
//! collector's, and the memory limit.

use super::gc::GcConfig;
use super::trace::TraceConfig;
use crate::policy::PolicyConfig;
use std::time::Duration;

/// Everything a heap can be configured with.
#[derive(Clone, Debug, Default)]
pub struct HeapConfig {
    /// The policy's components (the GIL's switch interval, ...).
    pub policy: PolicyConfig,
    /// The collector.
    pub gc: GcConfig,
    /// The tracing collector (count-free policies only).
    pub trace: TraceConfig,
    /// Bytes the heap may reserve from the OS (`--max-heap`).
    pub max_heap: Option<usize>,
}

impl HeapConfig {
    /// The GIL's switch interval (CPython's `sys.setswitchinterval`).
    pub fn with_switch_interval(mut self, interval: Duration) -> Self {
        self.policy.switch_interval = interval;
        self
    }
}
