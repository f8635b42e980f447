//! What a finding is: one row of the table of the question it answers.
//!
//! The finders (`findings` for the lab's own questions, `field` for the
//! field's published results) produce [`Finding`]s; the report groups them by
//! [`Question`], one table per question, in the order of [`Question::ALL`].
//! A leaf of the findings: both kinds of finder import it, and nothing here
//! imports them, so the finders depend one way (`findings` lists `field`'s).
//! The judgement of a ratio, [`verdict`], lives here for both.

use super::estimate::Ratio;
use super::format;
use super::stats::Scenario;

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
    /// What it means: "a tie: within the repeats' spread (10.0%)",
    /// "target met".
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

/// What a ratio between two configurations means: from its interval where
/// the statistics give one, otherwise against `noise`, the larger relative
/// range of the two configurations' repeats.
pub fn verdict(r: &Ratio, noise: Option<f64>) -> String {
    match (r.excludes_one(), noise) {
        (Some(true), _) => "a difference at 95% confidence".into(),
        (Some(false), _) => "no difference detected at 95% confidence".into(),
        (None, Some(n)) if (r.value - 1.0).abs() <= n => {
            format!("a tie: within the repeats' spread ({})", format::pct(n))
        }
        (None, Some(n)) => format!("beyond the repeats' spread ({})", format::pct(n)),
        (None, None) => "spread unknown (one ok repeat)".into(),
    }
}

/// The larger relative range of two configurations' throughput.
pub fn noise(sc: &Scenario, a: &str, b: &str, threads: usize) -> Option<f64> {
    let r = |p: &str| {
        sc.config(p, threads)
            .and_then(|c| c.throughput())
            .and_then(|t| t.rel_range())
    };
    match (r(a), r(b)) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
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
            verdict: "beyond the repeats' spread".into(),
            ..Default::default()
        }
        .done();
        assert_eq!(
            f.text,
            "`alloc-churn` at 2 threads: `biased` ahead of `pool-locks`: 1.82x \
             (1.82 M vs 1.00 M ops/s); beyond the repeats' spread"
        );
        assert_eq!(Question::ALL.len(), 6);
        assert!(Question::ALL.windows(2).all(|w| w[0] < w[1]));
    }
}
