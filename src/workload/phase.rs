//! The phases of one measured configuration, and what each worker may count.
//!
//! The main thread moves one word through `warm-up -> measuring -> stopped`;
//! each worker reads that one word once per step. A worker counts only the
//! operations between its own first sight of `measuring` and its own sight of
//! `stopped`: because both facts come from the same word, a worker can never
//! see "stopped" while still believing it is warming up and then hand in its
//! warm-up operations as measured (two separate flags allowed exactly that
//! on a loaded machine, and it printed throughputs no thread can reach).
//!
//! A worker that sees `stopped` without ever having seen `measuring` (it
//! started so late that the whole measured window passed it by) measured
//! nothing; the configuration fails with that reason instead of counting it
//! as zero or as its warm-up.
//!
//! A second line of defence compares what each worker counted with its own
//! CPU time ([`thread_cpu_ns`]): no heap operation is cheaper than a
//! non-atomic increment and decrement of one counter (the run's measured
//! floor), so more operations per CPU-second than that floor allows is a
//! figure that cannot be true, and fails the configuration.

use crate::sync::{AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Where a configuration is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// Operations are run but not counted.
    WarmUp = 0,
    /// Operations count.
    Measuring = 1,
    /// Workers finish their step and leave.
    Stopped = 2,
}

/// The phase word the main thread moves forward and every worker reads,
/// with the count of workers whose measured window has opened.
pub struct RunPhase {
    word: AtomicU8,
    windows_opened: AtomicUsize,
}

impl RunPhase {
    /// Starts in `phase` (`Measuring` for fixed-operation runs, which have no
    /// warm-up).
    pub fn new(phase: Phase) -> Self {
        RunPhase {
            word: AtomicU8::new(phase as u8),
            windows_opened: AtomicUsize::new(0),
        }
    }

    /// A worker's window opened (it saw `Measuring`).
    pub fn note_window_opened(&self) {
        self.windows_opened.fetch_add(1, Ordering::Relaxed);
    }

    /// Waits (polling, calling `between` every millisecond) until `workers`
    /// windows have opened, the run stopped, or `limit` passed. The main
    /// thread starts its measured clock only then, so that a worker held up
    /// at start (a GIL hand-off, a busy machine) still measures the whole
    /// duration instead of missing it. Returns whether all opened.
    pub fn wait_for_windows(
        &self,
        workers: usize,
        limit: Duration,
        mut between: impl FnMut(),
    ) -> bool {
        let start = Instant::now();
        loop {
            if self.windows_opened.load(Ordering::Relaxed) >= workers {
                return true;
            }
            if self.stopped() || start.elapsed() >= limit {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
            between();
        }
    }

    /// The phase now. Relaxed: the word carries no data with it; a worker that
    /// sees a phase change one step late only shifts its own window, which it
    /// measures itself.
    #[inline]
    pub fn get(&self) -> Phase {
        match self.word.load(Ordering::Relaxed) {
            0 => Phase::WarmUp,
            1 => Phase::Measuring,
            _ => Phase::Stopped,
        }
    }

    /// Moves forward to `phase` (never back: a stop stays a stop).
    pub fn advance(&self, phase: Phase) {
        self.word.fetch_max(phase as u8, Ordering::Relaxed);
    }

    pub fn stopped(&self) -> bool {
        self.get() == Phase::Stopped
    }
}

/// What a worker should do at the top of a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepAction {
    /// Run the step, not counted (warm-up).
    Uncounted,
    /// The measured window opens now: reset counters, then run it counted.
    OpenWindow,
    /// Run the step, counted.
    Counted,
    /// Leave the loop.
    Leave,
}

/// One worker's view of the phases: its measured window.
#[derive(Debug, Default)]
pub struct WorkerWindow {
    opened: bool,
    /// Thread CPU time when the window opened.
    cpu_at_open_ns: u64,
    /// Wall clock when the window opened.
    wall_at_open: Option<Instant>,
}

impl WorkerWindow {
    /// A window that opens at once (fixed-operation runs).
    pub fn open_now() -> Self {
        let mut w = WorkerWindow::default();
        w.open();
        w
    }

    fn open(&mut self) {
        self.opened = true;
        self.cpu_at_open_ns = thread_cpu_ns();
        self.wall_at_open = Some(Instant::now());
    }

    /// Decides the next step from the phase the worker sees now.
    pub fn observe(&mut self, phase: Phase) -> StepAction {
        match (phase, self.opened) {
            (Phase::Stopped, _) => StepAction::Leave,
            (Phase::WarmUp, false) => StepAction::Uncounted,
            (Phase::WarmUp, true) => StepAction::Counted,
            (Phase::Measuring, true) => StepAction::Counted,
            (Phase::Measuring, false) => {
                self.open();
                StepAction::OpenWindow
            }
        }
    }

    /// Whether this worker ever counted.
    pub fn opened(&self) -> bool {
        self.opened
    }

    /// CPU time this thread spent inside its window so far.
    pub fn cpu_ns(&self) -> u64 {
        thread_cpu_ns().saturating_sub(self.cpu_at_open_ns)
    }

    /// Wall-clock seconds since the window opened (0 if it never did).
    pub fn wall_secs(&self) -> f64 {
        self.wall_at_open.map_or(0.0, |t| t.elapsed().as_secs_f64())
    }
}

/// CPU time the calling thread has used, in nanoseconds (0 where the clock
/// is unavailable).
pub fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write into; the clock id is a
    // constant every Linux kernel supports.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// CPU time below which a count is not judged: the thread CPU clock and a
/// step that straddles the window's edges make tiny windows unreliable.
const PLAUSIBILITY_SLACK_NS: f64 = 50_000.0;

/// Checks a worker's count against its CPU time and the run's floor (a
/// non-atomic increment + decrement pair, in ns). The floor is halved as a
/// margin: it is measured by wall clock, on a machine that may be busy.
/// Returns the reason when the count cannot be true.
pub fn implausible(ops: u64, cpu_ns: u64, floor_pair_ns: f64) -> Option<String> {
    if ops == 0 || floor_pair_ns <= 0.0 || !floor_pair_ns.is_finite() {
        return None;
    }
    let least_ns = ops as f64 * floor_pair_ns / 2.0;
    if least_ns > cpu_ns as f64 + PLAUSIBILITY_SLACK_NS {
        Some(format!(
            "implausible count: {ops} operations in {:.3} ms of thread CPU time, \
             fewer than {:.2} ns each (half the run's floor of {floor_pair_ns:.2} ns a \
             non-atomic increment pair)",
            cpu_ns as f64 / 1e6,
            cpu_ns as f64 / ops as f64,
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_that_starts_late_never_counts() {
        // The main thread went through the whole run before this worker took
        // its first step: it sees only `Stopped`.
        let phase = RunPhase::new(Phase::WarmUp);
        phase.advance(Phase::Measuring);
        phase.advance(Phase::Stopped);
        let mut w = WorkerWindow::default();
        assert_eq!(w.observe(phase.get()), StepAction::Leave);
        assert!(
            !w.opened(),
            "a late worker must report that it measured nothing"
        );
    }

    #[test]
    fn warm_up_is_never_counted_even_when_stop_comes_first_in_view() {
        // Warm-up steps, then the worker's next look finds the run stopped
        // (it was descheduled across the whole window): nothing counts.
        let phase = RunPhase::new(Phase::WarmUp);
        let mut w = WorkerWindow::default();
        assert_eq!(w.observe(phase.get()), StepAction::Uncounted);
        assert_eq!(w.observe(phase.get()), StepAction::Uncounted);
        phase.advance(Phase::Measuring);
        phase.advance(Phase::Stopped);
        assert_eq!(w.observe(phase.get()), StepAction::Leave);
        assert!(!w.opened());
    }

    #[test]
    fn the_window_opens_once_and_closes_at_stop() {
        let phase = RunPhase::new(Phase::WarmUp);
        let mut w = WorkerWindow::default();
        assert_eq!(w.observe(phase.get()), StepAction::Uncounted);
        phase.advance(Phase::Measuring);
        assert_eq!(w.observe(phase.get()), StepAction::OpenWindow);
        assert_eq!(w.observe(phase.get()), StepAction::Counted);
        phase.advance(Phase::Stopped);
        assert_eq!(w.observe(phase.get()), StepAction::Leave);
        assert!(w.opened());
    }

    #[test]
    fn the_main_thread_waits_for_every_window_but_not_forever() {
        let phase = RunPhase::new(Phase::Measuring);
        phase.note_window_opened();
        assert!(!phase.wait_for_windows(2, Duration::from_millis(5), || {}));
        phase.note_window_opened();
        assert!(phase.wait_for_windows(2, Duration::from_millis(5), || {}));
    }

    #[test]
    fn phases_never_go_back() {
        let phase = RunPhase::new(Phase::WarmUp);
        phase.advance(Phase::Stopped);
        phase.advance(Phase::Measuring);
        assert_eq!(phase.get(), Phase::Stopped);
    }

    #[test]
    fn counts_beyond_the_floor_are_implausible() {
        // 4.3e10 ops/s on one thread: 43M ops in 1 ms of CPU.
        assert!(implausible(43_000_000, 1_000_000, 0.6).is_some());
        // 15M ops in a second of CPU time: an ordinary thread.
        assert!(implausible(15_000_000, 1_000_000_000, 0.6).is_none());
        // Nothing to judge.
        assert!(implausible(0, 0, 0.6).is_none());
        assert!(implausible(10, 0, 0.6).is_none(), "inside the slack");
    }

    #[test]
    fn thread_cpu_clock_advances() {
        let a = thread_cpu_ns();
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = std::hint::black_box(x.wrapping_add(i));
        }
        assert!(thread_cpu_ns() > a);
    }
}
