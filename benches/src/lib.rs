//! Shared helpers for the llmspell criterion benches.
//!
//! Every performance budget is checked by a bench that measures its subject
//! and a baseline in the same run and prints one greppable line:
//!
//! ```text
//! ratio <bench-name> = <subject/baseline, 2 decimals> (budget <number>)
//! ```
//!
//! [`ratio_line`] formats it and [`report_ratio`] prints it; both are used by
//! every bench in `benches/benches/`.

use std::time::Duration;

/// The ratio line for one budget: `ratio <name> = <x.xx> (budget <y>)`.
///
/// ```
/// use std::time::Duration;
/// let line = llmspell_benches::ratio_line(
///     "hooks/executor_5_noop",
///     Duration::from_nanos(150),
///     Duration::from_nanos(100),
///     1.5,
/// );
/// assert_eq!(line, "ratio hooks/executor_5_noop = 1.50 (budget 1.5)");
/// ```
#[must_use]
pub fn ratio_line(name: &str, subject: Duration, baseline: Duration, budget: f64) -> String {
    let ratio = if baseline.is_zero() {
        f64::INFINITY
    } else {
        subject.as_secs_f64() / baseline.as_secs_f64()
    };
    format!("ratio {name} = {ratio:.2} (budget {budget})")
}

/// Prints [`ratio_line`] to standard output and returns the ratio.
#[allow(clippy::print_stdout)]
pub fn report_ratio(name: &str, subject: Duration, baseline: Duration, budget: f64) -> f64 {
    println!("{}", ratio_line(name, subject, baseline, budget));
    if baseline.is_zero() {
        f64::INFINITY
    } else {
        subject.as_secs_f64() / baseline.as_secs_f64()
    }
}

/// Time accumulated for a subject and its baseline across criterion's
/// `iter_custom` calls, with the number of operations they covered.
///
/// Criterion hands each `iter_custom` closure only an iteration count; the
/// benches keep their own totals here (interior mutability, since the
/// closure is `FnMut` borrowed by criterion) and print the ratio line at
/// the end with [`Tally::report`].
///
/// ```
/// use std::time::Duration;
/// let tally = llmspell_benches::Tally::new();
/// tally.add_subject(Duration::from_nanos(300));
/// tally.add_baseline(Duration::from_nanos(200));
/// tally.add_count(100);
/// assert_eq!(tally.ns_per(tally.subject()), 3.0);
/// assert_eq!(tally.ratio(), 1.5);
/// ```
#[derive(Debug, Default)]
pub struct Tally {
    subject: std::cell::Cell<Duration>,
    baseline: std::cell::Cell<Duration>,
    count: std::cell::Cell<u64>,
}

impl Tally {
    /// Empty totals.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds time spent on the subject.
    pub fn add_subject(&self, d: Duration) {
        self.subject.set(self.subject.get() + d);
    }

    /// Adds time spent on the baseline.
    pub fn add_baseline(&self, d: Duration) {
        self.baseline.set(self.baseline.get() + d);
    }

    /// Adds to the number of operations measured (per side).
    pub fn add_count(&self, n: u64) {
        self.count.set(self.count.get() + n);
    }

    /// Total subject time.
    #[must_use]
    pub fn subject(&self) -> Duration {
        self.subject.get()
    }

    /// Total baseline time.
    #[must_use]
    pub fn baseline(&self) -> Duration {
        self.baseline.get()
    }

    /// Operations measured (per side).
    #[must_use]
    pub fn count(&self) -> u64 {
        self.count.get()
    }

    /// `d` in nanoseconds per operation (per at least one operation).
    #[must_use]
    #[allow(clippy::cast_precision_loss)]
    pub fn ns_per(&self, d: Duration) -> f64 {
        d.as_nanos() as f64 / self.count.get().max(1) as f64
    }

    /// Subject time over baseline time.
    #[must_use]
    pub fn ratio(&self) -> f64 {
        let base = self.baseline.get();
        if base.is_zero() {
            f64::INFINITY
        } else {
            self.subject.get().as_secs_f64() / base.as_secs_f64()
        }
    }

    /// Prints the ratio line for `name` (see [`report_ratio`]) and returns
    /// the ratio. Prints nothing and returns `None` when nothing was
    /// measured (the bench was filtered out of the run): a missing line
    /// says so more plainly than a ratio of `inf`.
    ///
    /// ```
    /// let tally = llmspell_benches::Tally::new();
    /// assert_eq!(tally.report("not/run", 1.0), None);
    /// ```
    pub fn report(&self, name: &str, budget: f64) -> Option<f64> {
        if self.count.get() == 0 && self.subject.get().is_zero() && self.baseline.get().is_zero() {
            return None;
        }
        Some(report_ratio(
            name,
            self.subject.get(),
            self.baseline.get(),
            budget,
        ))
    }
}
