//! Human output: colour decisions and aligned tables.
//!
//! Colour is used only when it is allowed for the stream it goes to
//! ([`color_enabled`]): `--color never` and a set `NO_COLOR` turn it off
//! everywhere; `--color auto` (the default) colours only a terminal.

use std::io::IsTerminal;

use crate::cli::ColorChoice;

/// Whether a stream gets colour: never when `NO_COLOR` is set (to anything
/// but the empty string) or with `--color never`; always with `--color
/// always`; with `--color auto` only when the stream is a terminal.
#[must_use]
pub fn color_enabled(choice: ColorChoice, is_terminal: bool) -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    match choice {
        _ if no_color => false,
        ColorChoice::Never => false,
        ColorChoice::Always => true,
        ColorChoice::Auto => is_terminal,
    }
}

/// How a command writes human output: with colour or without.
#[derive(Debug, Clone, Copy, Default)]
pub struct Output {
    color: bool,
}

impl Output {
    /// The style of standard output under `choice`.
    #[must_use]
    pub fn for_stdout(choice: ColorChoice) -> Self {
        Self {
            color: color_enabled(choice, std::io::stdout().is_terminal()),
        }
    }

    /// The style of standard error under `choice`.
    #[must_use]
    pub fn for_stderr(choice: ColorChoice) -> Self {
        Self {
            color: color_enabled(choice, std::io::stderr().is_terminal()),
        }
    }

    /// Whether this output is coloured.
    #[must_use]
    pub fn colored(&self) -> bool {
        self.color
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// Bold text (table headers).
    #[must_use]
    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    /// Red, bold text (errors).
    #[must_use]
    pub fn error(&self, text: &str) -> String {
        self.paint("1;31", text)
    }

    /// Dim text (secondary columns).
    #[must_use]
    pub fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }

    /// Cyan text (names).
    #[must_use]
    pub fn name(&self, text: &str) -> String {
        self.paint("36", text)
    }
}

/// A table printed with aligned columns; the last column is not padded.
#[derive(Debug, Default)]
pub(crate) struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub(crate) fn new(headers: &[&str]) -> Self {
        Self {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells are empty).
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table's lines, the header first (in bold when coloured).
    pub(crate) fn render(&self, style: &Output) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let line = |cells: &[String], header: bool| {
            let mut text = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = cells.get(i).map_or("", String::as_str);
                let last = i + 1 == columns;
                let padded = if last {
                    cell.to_owned()
                } else {
                    format!("{cell}{}", " ".repeat(width - cell.chars().count()))
                };
                text.push_str(&if header { style.bold(&padded) } else { padded });
                if !last {
                    text.push_str("  ");
                }
            }
            text.trim_end().to_owned()
        };
        let mut out = line(&self.headers, true);
        out.push('\n');
        for row in &self.rows {
            out.push_str(&line(row, false));
            out.push('\n');
        }
        out
    }
}

/// `text` cut to at most `max` characters, with `…` when cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}
