//! `csv_analyzer`: CSV statistics and conversion to JSON (csv).

use std::collections::HashSet;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::blocking::{self, Cancel};
use crate::params::decode;
use crate::{Result, Synonyms, Tool, ToolCategory, ToolContext, ToolError, ToolMetadata};

const NAME: &str = "csv_analyzer";
/// Largest CSV text accepted, in bytes.
const MAX_INPUT_BYTES: usize = 16 << 20;
/// Inputs up to this many bytes are parsed inline.
const INLINE_LIMIT: usize = 64 * 1024;
/// Distinct values tracked per column before `unique` is reported as a
/// lower bound.
const MAX_DISTINCT: usize = 10_000;
/// Line numbers of ragged rows listed in the result.
const MAX_RAGGED_LINES: usize = 10;

/// Analyses CSV text (`analyze`: row and column counts, per-column type,
/// empties, distinct values, numeric min/max/mean) or converts it to JSON
/// rows (`to_json`), optionally filtered by a column value (`filter`).
///
/// A header row with the same name twice (`a,a,b`) is refused: JSON rows
/// would keep one value per name (use `has_headers = false` to get
/// `column_1`, `column_2`, ...). Rows with a different number of fields
/// than the header are kept (missing fields are empty or null, extra ones
/// get `column_N` names) and reported: `ragged_rows` counts them and
/// `ragged_lines` lists the first 10 line numbers.
#[derive(Debug)]
pub struct CsvAnalyzerTool {
    metadata: ToolMetadata,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Operation {
    Analyze,
    ToJson,
    Filter,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default = "analyze")]
    operation: Operation,
    input: String,
    #[serde(default = "comma")]
    delimiter: String,
    #[serde(default = "yes")]
    has_headers: bool,
    #[serde(default = "thousand")]
    max_rows: usize,
    column: Option<String>,
    equals: Option<String>,
}

fn analyze() -> Operation {
    Operation::Analyze
}
fn comma() -> String {
    ",".to_owned()
}
fn yes() -> bool {
    true
}
fn thousand() -> usize {
    1000
}

impl Default for CsvAnalyzerTool {
    fn default() -> Self {
        Self::new()
    }
}

impl CsvAnalyzerTool {
    /// The tool.
    #[must_use]
    pub fn new() -> Self {
        let metadata = ToolMetadata::new(
            NAME,
            "Analyse CSV text (rows, columns, types, empties, distinct values, numeric \
             min/max/mean), convert it to JSON rows, or filter rows by a column value.",
            ToolCategory::Data,
        )
        .with_parameters(json!({
            "type": "object",
            "properties": {
                "operation": {"enum": ["analyze", "to_json", "filter"], "default": "analyze"},
                "input": {"type": "string", "maxLength": MAX_INPUT_BYTES},
                "delimiter": {"type": "string", "minLength": 1, "maxLength": 1, "default": ","},
                "has_headers": {"type": "boolean", "default": true},
                "max_rows": {"type": "integer", "minimum": 1, "maximum": 100_000, "default": 1000},
                "column": {"type": "string"},
                "equals": {"type": "string"}
            },
            "required": ["input"],
            "additionalProperties": false,
            "if": {"properties": {"operation": {"const": "filter"}}, "required": ["operation"]},
            "then": {"required": ["column", "equals"]}
        }))
        .with_synonyms(synonyms())
        .with_result(json!({"type": "object"}));
        Self { metadata }
    }
}

#[derive(Default)]
struct ColumnStats {
    non_empty: usize,
    empty: usize,
    integers: usize,
    floats: usize,
    booleans: usize,
    distinct: HashSet<String>,
    distinct_capped: bool,
    min: Option<f64>,
    max: Option<f64>,
    sum: f64,
}

impl ColumnStats {
    fn add(&mut self, value: &str) {
        let value = value.trim();
        if value.is_empty() {
            self.empty += 1;
            return;
        }
        self.non_empty += 1;
        if self.distinct.len() < MAX_DISTINCT {
            self.distinct.insert(value.to_owned());
        } else if !self.distinct.contains(value) {
            self.distinct_capped = true;
        }
        if value.parse::<i64>().is_ok() {
            self.integers += 1;
        } else if value.parse::<f64>().is_ok_and(f64::is_finite) {
            self.floats += 1;
        } else if matches!(value.to_ascii_lowercase().as_str(), "true" | "false") {
            self.booleans += 1;
        }
        if let Ok(n) = value.parse::<f64>() {
            if n.is_finite() {
                self.min = Some(self.min.map_or(n, |m| m.min(n)));
                self.max = Some(self.max.map_or(n, |m| m.max(n)));
                self.sum += n;
            }
        }
    }

    fn kind(&self) -> &'static str {
        if self.non_empty == 0 {
            "empty"
        } else if self.integers == self.non_empty {
            "integer"
        } else if self.integers + self.floats == self.non_empty {
            "float"
        } else if self.booleans == self.non_empty {
            "boolean"
        } else {
            "string"
        }
    }

    fn to_json(&self, name: &str) -> Value {
        let kind = self.kind();
        let numeric = matches!(kind, "integer" | "float");
        #[allow(clippy::cast_precision_loss)]
        let mean = numeric.then(|| self.sum / self.non_empty as f64);
        json!({
            "name": name,
            "type": kind,
            "non_empty": self.non_empty,
            "empty": self.empty,
            "unique": self.distinct.len(),
            "unique_is_lower_bound": self.distinct_capped,
            "min": if numeric { self.min } else { None },
            "max": if numeric { self.max } else { None },
            "mean": mean,
        })
    }
}

fn reader(p: &Params) -> Result<csv::Reader<&[u8]>> {
    let delimiter = match p.delimiter.as_bytes() {
        [d] => *d,
        _ => {
            return Err(ToolError::invalid_parameter(
                NAME,
                "delimiter",
                "must be exactly one ASCII character",
            ))
        }
    };
    Ok(csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(p.has_headers)
        .flexible(true)
        .from_reader(p.input.as_bytes()))
}

/// Refuses a header row that names a column twice.
fn refuse_duplicates(headers: &[String]) -> Result<()> {
    let mut seen = HashSet::new();
    for (i, h) in headers.iter().enumerate() {
        if !seen.insert(h.as_str()) {
            let first = headers.iter().position(|x| x == h).map_or(0, |p| p + 1);
            return Err(ToolError::invalid_parameter(
                NAME,
                "input",
                format!(
                    "the header names column `{h}` twice (columns {first} and {}); JSON rows \
                     would keep only one value; rename the columns or set `has_headers` to \
                     false (columns are then named column_1, column_2, ...)",
                    i + 1
                ),
            ));
        }
    }
    Ok(())
}

fn bad_csv(e: &csv::Error) -> ToolError {
    ToolError::invalid_parameter(NAME, "input", format!("not valid CSV: {e}"))
}

#[async_trait]
impl Tool for CsvAnalyzerTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        if p.input.len() > MAX_INPUT_BYTES {
            return Err(ToolError::invalid_parameter(
                NAME,
                "input",
                format!("larger than {MAX_INPUT_BYTES} bytes"),
            ));
        }
        // Large inputs are parsed on a worker thread (the timeout holds).
        blocking::run_unless(p.input.len() <= INLINE_LIMIT, NAME, move |cancel| {
            process(&p, cancel)
        })
        .await
    }
}

fn process(p: &Params, cancel: &Cancel) -> Result<Value> {
    let mut rdr = reader(p)?;
    let mut headers: Vec<String> = if p.has_headers {
        rdr.headers()
            .map_err(|e| bad_csv(&e))?
            .iter()
            .map(str::to_owned)
            .collect()
    } else {
        Vec::new()
    };
    refuse_duplicates(&headers)?;
    // The width rows are checked against: the header's, or the first row's.
    let mut width = p.has_headers.then_some(headers.len());
    let mut ragged_rows = 0usize;
    let mut ragged_lines = Vec::new();
    let filter_index = match (&p.operation, &p.column) {
        (Operation::Filter, Some(column)) => {
            Some(headers.iter().position(|h| h == column).ok_or_else(|| {
                ToolError::invalid_parameter(
                    NAME,
                    "column",
                    format!("no column `{column}`; columns are [{}]", headers.join(", ")),
                )
            })?)
        }
        (Operation::Filter, None) => {
            return Err(ToolError::invalid_parameter(
                NAME,
                "column",
                "required for `filter`",
            ))
        }
        _ => None,
    };
    let mut stats: Vec<ColumnStats> = Vec::new();
    let mut rows = Vec::new();
    let mut row_count = 0usize;
    let mut truncated = false;
    for (n, record) in rdr.records().enumerate() {
        if n % 1024 == 0 {
            cancel.check(NAME)?;
        }
        let record = record.map_err(|e| bad_csv(&e))?;
        let expected = *width.get_or_insert(record.len());
        if record.len() != expected {
            ragged_rows += 1;
            if ragged_lines.len() < MAX_RAGGED_LINES {
                ragged_lines.push(record.position().map_or(0, csv::Position::line));
            }
        }
        while headers.len() < record.len() {
            headers.push(format!("column_{}", headers.len() + 1));
        }
        match p.operation {
            Operation::Analyze => {
                row_count += 1;
                stats.resize_with(headers.len(), ColumnStats::default);
                for (i, field) in record.iter().enumerate() {
                    stats[i].add(field);
                }
                for missing in stats.iter_mut().skip(record.len()) {
                    missing.add("");
                }
            }
            Operation::ToJson | Operation::Filter => {
                if let Some(i) = filter_index {
                    if record.get(i) != p.equals.as_deref() {
                        continue;
                    }
                }
                row_count += 1;
                if rows.len() == p.max_rows {
                    truncated = true;
                    continue;
                }
                let row: Map<String, Value> = headers
                    .iter()
                    .zip(record.iter().map(Some).chain(std::iter::repeat(None)))
                    .map(|(h, v)| (h.clone(), v.map_or(Value::Null, Value::from)))
                    .collect();
                rows.push(Value::Object(row));
            }
        }
    }
    Ok(match p.operation {
        Operation::Analyze => {
            stats.resize_with(headers.len(), ColumnStats::default);
            json!({
                "row_count": row_count,
                "column_count": headers.len(),
                "columns": headers.iter().zip(&stats).map(|(h, s)| s.to_json(h)).collect::<Vec<_>>(),
                "ragged_rows": ragged_rows,
                "ragged_lines": ragged_lines,
            })
        }
        Operation::ToJson | Operation::Filter => json!({
            "row_count": row_count,
            "rows": rows,
            "truncated": truncated,
            "ragged_rows": ragged_rows,
            "ragged_lines": ragged_lines,
        }),
    })
}

/// The names rs-llmspell's scripts use (see `Synonyms`).
fn synonyms() -> Synonyms {
    Synonyms::new()
        .parameter("data", "input")
        .parameter("csv_data", "input")
        .value("operation", "convert", "to_json")
}
