//! What the console shows while a suite runs: a progress bar on stderr
//! (drawn only on a terminal) with the round, the headline ratios still open
//! and the widest interval among them; the stages as lines; each failed
//! repeat as it happens; or nothing at all (`--quiet`).

use super::interrupt::NewlineOnInterrupt;
use heaplab::results::{Run, Status};
use heaplab::workload::suite::{Observer, RoundStart};
use heaplab::workload::Config;
use indicatif::{ProgressBar, ProgressStyle};

/// The console observer of a suite.
pub struct Console {
    bar: Option<ProgressBar>,
    /// While the bar is drawn: SIGINT/SIGTERM end its line first.
    interrupt: Option<NewlineOnInterrupt>,
    quiet: bool,
}

impl Console {
    pub fn new(quiet: bool) -> Console {
        Console {
            bar: None,
            interrupt: None,
            quiet,
        }
    }

    fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    /// Clears the bar (the end of the configurations).
    fn clear(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.interrupt = None;
    }
}

impl Observer for Console {
    fn note(&mut self, line: &str) {
        // The Python peers run after the last configuration: the bar is done.
        self.clear();
        if !self.quiet {
            eprintln!("heaplab: {line}");
        }
    }

    fn round(&mut self, r: &RoundStart) {
        if self.quiet {
            return;
        }
        let widest = r
            .widest
            .map(|w| format!(", widest ±{:.1}%", w * 100.0))
            .unwrap_or_default();
        let text = format!("round {}: {} open{widest}", r.round + 1, r.open);
        match &self.bar {
            Some(bar) => bar.set_prefix(text),
            None => eprintln!("heaplab: {text}"),
        }
    }

    fn planned(&mut self, configurations: &[Config<'_>]) {
        if self.quiet {
            return;
        }
        // Rounds after the base ones are planned as they come: the bar grows.
        if let Some(bar) = &self.bar {
            bar.inc_length(configurations.len() as u64);
            return;
        }
        let bar = ProgressBar::new(configurations.len() as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} {prefix} [{bar:30}] {pos}/{len} ETA {eta} {msg}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        self.interrupt = (!bar.is_hidden()).then(NewlineOnInterrupt::install);
        self.bar = Some(bar);
    }

    fn starting(&mut self, c: &Config<'_>) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{} {} x{}", c.scenario.name, c.policy, c.threads));
        }
    }

    fn finished(&mut self, r: &Run) {
        if r.status == Status::Failed && !self.quiet {
            self.line(&format!(
                "FAILED {} {} x{} (repeat {}): {}",
                r.workload,
                r.policy,
                r.threads,
                r.repeat,
                r.error.as_deref().unwrap_or("?")
            ));
        }
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        self.clear();
    }
}
