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
