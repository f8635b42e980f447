//! What a finding is: one row of the table of the question it answers.
//!
//! The finders (`findings` for the lab's own questions, `field` for the
//! field's published results) produce [`Finding`]s; the report groups them by
//! [`Question`], one table per question, in the order of [`Question::ALL`].
//! A leaf of the findings: both kinds of finder import it, and nothing here
//! imports them, so the finders depend one way (`findings` lists `field`'s).
//! The judgement of a ratio, [`verdict`] (and [`target`] for a goal the lab
//! set itself), lives here for both: from the ratio's 95% interval only.

use super::estimate::Ratio;
use super::format;
use crate::results::confidence::{self, Method};

/// The questions the findings answer, in the order the report asks them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Question {
    /// Which policy has the highest throughput, per scenario and thread count.
    #[default]
    Leads,
    /// The largest speed-up and slowdown against `gil`.
    GilTrade,
    /// The weakest scaling.
    Scaling,
    /// The widest gaps in latency and memory.
    Differences,
    /// The field's published results held up against this run.
    Field,
    /// Failures and repeats: how far to trust the rest.
    Trust,
}

impl Question {
    pub const ALL: [Question; 6] = [
        Question::Leads,
        Question::GilTrade,
        Question::Scaling,
        Question::Differences,
        Question::Field,
        Question::Trust,
    ];

    /// The question as the report's heading (inline text).
    pub fn title(self) -> &'static str {
        match self {
            Question::Leads => "Which policy leads each scenario?",
            Question::GilTrade => {
                "Where does dropping the GIL pay most, and where does it cost most?"
            }
            Question::Scaling => "Which configuration scales worst?",
            Question::Differences => "Where do latency and memory differ most?",
            Question::Field => "Do the field's published results hold here?",
            Question::Trust => "How far can this run be trusted?",
        }
    }

    /// The HTML anchor of the question's table.
    pub fn id(self) -> &'static str {
        match self {
            Question::Leads => "q-leads",
            Question::GilTrade => "q-gil-trade",
            Question::Scaling => "q-scaling",
            Question::Differences => "q-differences",
            Question::Field => "q-field",
            Question::Trust => "q-trust",
        }
    }
}

/// One finding: a row of its question's table, and the same as a sentence.
///
/// Text fields are inline text (`code` and **strong** markup, see `doc`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Finding {
    pub question: Question,
    /// A short label of the kind of finding ("Winner", "Biggest speed-up").
    pub topic: String,
    /// The scenario it is about, if one.
    pub workload: Option<String>,
    /// The thread count it is about, if one.
    pub threads: Option<usize>,
    /// What is measured: "`biased` over `gil`".
    pub subject: String,
    /// The figure, written: "1.92x".
    pub measured: String,
    /// The figures it rests on: "1.82 M vs 950 k ops/s".
    pub basis: String,
    /// What it means: "**faster** at 95% confidence", "undecided after 5
    /// rounds (±7.3%)", "target 95%: **met** at 95% confidence".
    pub verdict: String,
    /// The whole finding as one sentence (for the scenario's "in short" box
    /// and for callers that print findings): see [`Finding::sentence`].
    pub text: String,
    /// The ratio it rests on, for tools that rank or filter findings.
    pub ratio: Option<f64>,
}

impl Finding {
    /// Fills [`Finding::text`] from the parts, so the sentence says exactly
    /// what the table row says.
    pub fn done(mut self) -> Finding {
        self.text = self.sentence();
        self
    }

    /// "`scenario` at N threads: subject: measured (basis); verdict".
    pub fn sentence(&self) -> String {
        match &self.workload {
            Some(w) if self.threads.is_some() => {
                format!("{} {}", super::doc::code(w), self.brief())
            }
            Some(w) => format!("{}: {}", super::doc::code(w), self.brief()),
            None => self.brief(),
        }
    }

    /// The sentence without the scenario (for the scenario's own section):
    /// "at N threads: subject: measured (basis); verdict".
    pub fn brief(&self) -> String {
        let mut s = String::new();
        if let Some(t) = self.threads {
            s.push_str(&format!("at {}: ", threads_word(t)));
        }
        s.push_str(&self.subject);
        if !self.measured.is_empty() {
            s.push_str(&format!(": {}", self.measured));
        }
        if !self.basis.is_empty() {
            s.push_str(&format!(" ({})", self.basis));
        }
        if !self.verdict.is_empty() {
            s.push_str(&format!("; {}", self.verdict));
        }
        s
    }
}

/// What a ratio's 95% interval decides.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Decision {
    /// The interval lies above 1.
    Above,
    /// The interval lies below 1.
    Below,
    /// The interval holds 1 and is no wider than the run's precision (±):
    /// any difference is smaller than that.
    NoDifference { half_width: f64 },
    /// The interval holds 1 but is wider than the precision: the rounds did
    /// not settle it (never a tie).
    Undecided { rounds: usize, half_width: f64 },
    /// Paired, but fewer rounds than an interval needs.
    TooFewRounds { rounds: usize },
    /// Not paired by round (a schema-1 file): no interval at all.
    Unknown,
}

/// Decides a ratio from its interval; `precision` is the ± share (0.05)
/// below which an interval that holds 1 says "no difference".
pub fn decide(r: &Ratio, precision: f64) -> Decision {
    match (r.interval, r.method) {
        (Some((lo, _)), _) if lo > 1.0 => Decision::Above,
        (Some((_, hi)), _) if hi < 1.0 => Decision::Below,
        (Some(_), _) => {
            let half_width = r.half_width().unwrap_or(f64::INFINITY);
            if half_width <= precision {
                Decision::NoDifference { half_width }
            } else {
                Decision::Undecided {
                    rounds: r.rounds,
                    half_width,
                }
            }
        }
        (None, Method::TooFewRounds) => Decision::TooFewRounds { rounds: r.rounds },
        (None, _) => Decision::Unknown,
    }
}

/// The words for a ratio above and below 1: "faster"/"slower" for a
/// throughput, "higher"/"lower" for a latency.
#[derive(Clone, Copy, Debug)]
pub struct Words {
    pub above: &'static str,
    pub below: &'static str,
}

pub const FASTER: Words = Words {
    above: "faster",
    below: "slower",
};

pub const HIGHER: Words = Words {
    above: "higher",
    below: "lower",
};

/// The verdict on a ratio between two configurations, from its interval
/// alone (never from the repeats' min..max): "faster", "slower", "no
/// difference detected at 95%", "undecided after N rounds", or why there is
/// no verdict.
pub fn verdict(r: &Ratio, precision: f64, words: Words) -> String {
    let pm = |h: f64| format!("±{}", format::pct(h));
    match decide(r, precision) {
        Decision::Above => format!("**{}** at 95% confidence", words.above),
        Decision::Below => format!("**{}** at 95% confidence", words.below),
        Decision::NoDifference { half_width } => {
            format!("no difference detected at 95% ({})", pm(half_width))
        }
        Decision::Undecided { rounds, half_width } => {
            format!("undecided after {rounds} rounds ({})", pm(half_width))
        }
        Decision::TooFewRounds { rounds } => format!(
            "no verdict: {} paired, {} needed",
            rounds_word(rounds),
            confidence::MIN_ROUNDS
        ),
        Decision::Unknown => "interval unknown (rounds not paired)".into(),
    }
}

/// A target range `[low, high]` judged from the interval: met where the
/// interval lies inside it, missed where it lies outside, undecided where it
/// straddles an edge; judged on the value alone, and said so, without an
/// interval.
pub fn target(name: &str, r: &Ratio, low: f64, high: f64) -> String {
    let inside = |x: f64| low <= x && x <= high;
    let word = match r.interval {
        Some((lo, hi)) if inside(lo) && inside(hi) => "**met** at 95% confidence".to_string(),
        Some((lo, hi)) if hi < low || lo > high => "**missed** at 95% confidence".to_string(),
        Some(_) => "undecided (the interval straddles it)".to_string(),
        None if inside(r.value) => "**met** by the value (no interval)".to_string(),
        None => "**missed** by the value (no interval)".to_string(),
    };
    format!("target {name}: {word}")
}

/// "1 round", "3 rounds".
pub fn rounds_word(n: usize) -> String {
    if n == 1 {
        "1 round".into()
    } else {
        format!("{n} rounds")
    }
}

/// "x vs y ops/s".
pub fn versus(a: f64, b: f64, unit: fn(f64) -> String, what: &str) -> String {
    let what = if what.is_empty() {
        String::new()
    } else {
        format!(" {what}")
    };
    format!("{} vs {}{what}", unit(a), unit(b))
}

/// "1 thread", "2 threads".
pub fn threads_word(t: usize) -> String {
    if t == 1 {
        "1 thread".into()
    } else {
        format!("{t} threads")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sentence_is_the_row() {
        let f = Finding {
            workload: Some("alloc-churn".into()),
            threads: Some(2),
            subject: "`biased` ahead of `pool-locks`".into(),
            measured: "1.82x".into(),
            basis: "1.82 M vs 1.00 M ops/s".into(),
            verdict: "**faster** at 95% confidence".into(),
            ..Default::default()
        }
        .done();
        assert_eq!(
            f.text,
            "`alloc-churn` at 2 threads: `biased` ahead of `pool-locks`: 1.82x \
             (1.82 M vs 1.00 M ops/s); **faster** at 95% confidence"
        );
        assert_eq!(Question::ALL.len(), 6);
        assert!(Question::ALL.windows(2).all(|w| w[0] < w[1]));
    }

    fn paired(value: f64, lo: f64, hi: f64, rounds: usize) -> Ratio {
        Ratio {
            rounds,
            ..Ratio::with_interval(value, lo, hi)
        }
    }

    #[test]
    fn verdicts_come_from_the_interval() {
        let p = 0.05;
        assert_eq!(
            verdict(&paired(1.10, 1.04, 1.16, 5), p, FASTER),
            "**faster** at 95% confidence"
        );
        assert_eq!(
            verdict(&paired(0.90, 0.85, 0.96, 5), p, FASTER),
            "**slower** at 95% confidence"
        );
        assert_eq!(
            verdict(&paired(1.3, 1.1, 1.5, 3), p, HIGHER),
            "**higher** at 95% confidence"
        );
        // Holds 1 and narrow: no difference; holds 1 and wide: undecided,
        // never a tie.
        assert_eq!(
            verdict(&paired(1.01, 0.98, 1.04, 6), p, FASTER),
            "no difference detected at 95% (±3.0%)"
        );
        assert_eq!(
            verdict(&paired(1.02, 0.95, 1.10, 8), p, FASTER),
            "undecided after 8 rounds (±7.8%)"
        );
        assert_eq!(
            decide(&paired(1.02, 0.95, 1.10, 8), 0.10),
            Decision::NoDifference {
                half_width: 1.10 / 1.02 - 1.0
            }
        );
        let two = Ratio {
            rounds: 2,
            method: Method::TooFewRounds,
            ..Ratio::point(1.5)
        };
        assert_eq!(
            verdict(&two, p, FASTER),
            "no verdict: 2 rounds paired, 3 needed"
        );
        assert_eq!(
            verdict(&Ratio::point(1.5), p, FASTER),
            "interval unknown (rounds not paired)"
        );
    }

    #[test]
    fn targets_are_met_missed_or_undecided_by_the_interval() {
        let t = |r: &Ratio| target("95%", r, 0.95, f64::INFINITY);
        assert_eq!(
            t(&paired(0.97, 0.955, 0.99, 5)),
            "target 95%: **met** at 95% confidence"
        );
        assert_eq!(
            t(&paired(0.90, 0.86, 0.94, 5)),
            "target 95%: **missed** at 95% confidence"
        );
        assert_eq!(
            t(&paired(0.95, 0.90, 1.00, 5)),
            "target 95%: undecided (the interval straddles it)"
        );
        assert_eq!(
            t(&Ratio::point(0.96)),
            "target 95%: **met** by the value (no interval)"
        );
        assert_eq!(
            target("0.9x..1x", &paired(1.2, 1.1, 1.3, 4), 0.9, 1.0),
            "target 0.9x..1x: **missed** at 95% confidence"
        );
    }
}
