//! `database_connector`: parameterised SQL on SQLite files (rusqlite,
//! bundled SQLite) and PostgreSQL (tokio-postgres), read-only unless the
//! policy allows writes, with row and time limits; rows come back as JSON
//! objects.

mod postgres;
mod sqlite;

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::config::rule;
use crate::params::{decode, millis, whole};
use crate::{
    DatabasePolicy, FileSandbox, Result, SecurityLevel, Synonyms, Tool, ToolCategory, ToolContext,
    ToolError, ToolMetadata, ToolsConfig,
};

const NAME: &str = "database_connector";

/// Runs one parameterised SQL statement against an SQLite file or a
/// PostgreSQL database and returns the rows as JSON objects.
///
/// - Where: `database` (a name configured in [`DatabasePolicy`]: the URL
///   and its credentials stay with the application), `path` (an SQLite
///   file inside the file roots) or `connection` (`sqlite://FILE`, the
///   file inside the file roots, as rs-llmspell scripts write it).
/// - What: `query` is one SQL statement with placeholders (`?1`/`?` for
///   SQLite, `$1` for PostgreSQL) and `params` their values (a list);
///   values are never spliced into the text, and a text with several
///   statements is refused by both databases.
/// - Operations: `query` (rows: `{columns, rows, row_count, truncated}`),
///   `execute` (`{rows_affected}`), `schema` (tables and their columns).
/// - Read-only by default: SQLite files are opened read-only and a
///   statement that would write is refused before it runs; PostgreSQL
///   statements run in a `READ ONLY` transaction, and the server's refusal
///   is reported the same way. Either is a `PolicyViolation`
///   (`database_read_only`); `DatabasePolicy::allow_writes` lifts it.
/// - Limits: at most `max_rows` rows (the policy's maximum, 1,000 by
///   default; `truncated` says when more were there) and `timeout_ms`
///   (the policy's, 30 s by default): SQLite's progress handler interrupts
///   the statement, PostgreSQL gets `statement_timeout` and the call is
///   abandoned at the deadline.
///
/// Values: SQLite integers, reals, text and null map to JSON; blobs become
/// hex strings. PostgreSQL booleans, integers, floats, text, `json`/
/// `jsonb`, `uuid`, dates and timestamps map to JSON (timestamps as RFC
/// 3339 text), `bytea` to hex; any other column type is an error naming
/// the column and suggesting a cast (`numeric_col::text`). PostgreSQL
/// connections are made per call, without TLS.
#[derive(Debug)]
pub struct DatabaseConnectorTool {
    metadata: ToolMetadata,
    files: FileSandbox,
    policy: DatabasePolicy,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub(super) enum Operation {
    Query,
    Execute,
    Schema,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default = "query_op")]
    operation: Operation,
    database: Option<String>,
    path: Option<String>,
    connection: Option<String>,
    query: Option<String>,
    #[serde(default)]
    params: Vec<Value>,
    max_rows: Option<serde_json::Number>,
    timeout_ms: Option<serde_json::Number>,
}

fn query_op() -> Operation {
    Operation::Query
}

/// One statement to run, with its limits.
#[derive(Debug, Clone)]
pub(super) struct Job {
    pub(super) operation: Operation,
    pub(super) sql: String,
    pub(super) params: Vec<Value>,
    pub(super) max_rows: usize,
    pub(super) timeout: Duration,
    pub(super) writes: bool,
}

enum Target {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl DatabaseConnectorTool {
    /// The tool, with the database policy and file roots of `config`.
    #[must_use]
    pub fn new(config: &ToolsConfig) -> Self {
        let policy = config.database.clone();
        let max_ms = u64::try_from(policy.timeout.as_millis()).unwrap_or(u64::MAX);
        let names: Vec<&String> = policy.databases.keys().collect();
        let metadata = ToolMetadata::new(
            NAME,
            "Run one parameterised SQL statement on an SQLite file or a PostgreSQL database \
             (read-only unless allowed) and get the rows as JSON objects.",
            ToolCategory::Data,
        )
        .with_security_level(SecurityLevel::Restricted)
        .with_parameters(json!({
            "type": "object",
            "properties": {
                "operation": {"enum": ["query", "execute", "schema"], "default": "query"},
                "database": {"type": "string", "minLength": 1,
                             "description": format!("a configured database: one of {names:?}")},
                "path": {"type": "string", "minLength": 1,
                         "description": "an SQLite file inside the file roots"},
                "connection": {"type": "string", "pattern": "^sqlite:",
                               "description": "sqlite://FILE, the file inside the file roots"},
                "query": {"type": "string", "minLength": 1, "maxLength": 1_000_000,
                          "description": "one SQL statement with placeholders (?1 / $1)"},
                "params": {"type": "array", "maxItems": 10_000,
                           "description": "the placeholders' values, in order"},
                "max_rows": {"type": "integer", "minimum": 1, "maximum": policy.max_rows},
                "timeout_ms": {"type": "integer", "minimum": 1, "maximum": max_ms}
            },
            "additionalProperties": false,
            "oneOf": [
                {"required": ["database"]}, {"required": ["path"]}, {"required": ["connection"]}
            ],
            "if": {"properties": {"operation": {"enum": ["query", "execute"]}}},
            "then": {"required": ["query"]}
        }))
        .with_synonyms(
            Synonyms::new()
                .parameter("sql", "query")
                .parameter("parameters", "params"),
        )
        .with_result(json!({"type": "object"}));
        Self {
            metadata,
            files: config.files.clone(),
            policy,
        }
    }

    fn target(&self, p: &Params) -> Result<Target> {
        match (&p.database, &p.path, &p.connection) {
            (Some(name), None, None) => {
                let url = self.policy.databases.get(name).ok_or_else(|| {
                    let known: Vec<&String> = self.policy.databases.keys().collect();
                    ToolError::policy(
                        NAME,
                        rule::DATABASE_NOT_CONFIGURED,
                        format!(
                            "no database named `{name}` is configured; configured: {known:?} \
                             (ToolsConfigBuilder::database)"
                        ),
                    )
                })?;
                Ok(match url.strip_prefix("sqlite:") {
                    Some(path) => Target::Sqlite(path.trim_start_matches("//").into()),
                    None => Target::Postgres(url.clone()),
                })
            }
            (None, Some(path), None) => Ok(Target::Sqlite(self.files.resolve(NAME, path)?)),
            (None, None, Some(conn)) => {
                let path = conn
                    .strip_prefix("sqlite://")
                    .or_else(|| conn.strip_prefix("sqlite:"))
                    .ok_or_else(|| {
                        ToolError::invalid_parameter(
                            NAME,
                            "connection",
                            "only sqlite://FILE connections are taken from scripts; \
                             PostgreSQL databases are configured by name (`database`)",
                        )
                    })?;
                Ok(Target::Sqlite(self.files.resolve(NAME, path)?))
            }
            _ => Err(ToolError::invalid_parameter(
                NAME,
                "database",
                "give exactly one of `database`, `path` and `connection`",
            )),
        }
    }
}

#[async_trait]
impl Tool for DatabaseConnectorTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        let target = self.target(&p)?;
        let max_rows = match &p.max_rows {
            Some(n) => {
                let max = i64::try_from(self.policy.max_rows).unwrap_or(i64::MAX);
                usize::try_from(whole(NAME, "max_rows", n, 1, max)?).unwrap_or(usize::MAX)
            }
            None => self.policy.max_rows,
        };
        let timeout = match &p.timeout_ms {
            Some(n) => millis(NAME, "timeout_ms", n, self.policy.timeout)?,
            None => self.policy.timeout,
        };
        if p.operation == Operation::Execute && !self.policy.allow_writes {
            return Err(read_only("`execute`"));
        }
        let sql = match (p.operation, p.query) {
            (Operation::Schema, _) => String::new(),
            (_, Some(sql)) => sql,
            (_, None) => {
                return Err(ToolError::invalid_parameter(
                    NAME,
                    "query",
                    "required for `query` and `execute`",
                ))
            }
        };
        let job = Job {
            operation: p.operation,
            sql,
            params: p.params,
            max_rows,
            timeout,
            writes: self.policy.allow_writes,
        };
        match target {
            Target::Sqlite(path) => sqlite::run(path, job).await,
            Target::Postgres(url) => {
                match tokio::time::timeout(timeout, postgres::run(&url, job)).await {
                    Ok(out) => out,
                    Err(_) => Err(ToolError::Timeout {
                        tool: NAME.to_owned(),
                        timeout,
                    }),
                }
            }
        }
    }
}

/// The refusal of a statement that would write.
pub(super) fn read_only(what: &str) -> ToolError {
    ToolError::policy(
        NAME,
        rule::DATABASE_READ_ONLY,
        format!(
            "{what} would change data, and database writes are off \
             (DatabasePolicy::allow_writes / ToolsConfigBuilder::allow_database_writes)"
        ),
    )
}

/// The result of a query.
pub(super) fn rows_result(
    columns: Vec<String>,
    rows: Vec<Map<String, Value>>,
    truncated: bool,
) -> Value {
    json!({
        "columns": columns,
        "row_count": rows.len(),
        "rows": rows,
        "truncated": truncated,
    })
}

/// An error naming the `params` entry at fault.
pub(super) fn bad_param(index: usize, message: impl std::fmt::Display) -> ToolError {
    ToolError::invalid_parameter(NAME, "params", format!("params[{}]: {message}", index + 1))
}

/// A database's refusal of the statement text.
pub(super) fn bad_query(message: impl std::fmt::Display) -> ToolError {
    ToolError::invalid_parameter(NAME, "query", message.to_string())
}

/// A failure while running.
pub(super) fn failed(message: impl std::fmt::Display) -> ToolError {
    ToolError::execution(NAME, message.to_string())
}

/// The timeout error.
pub(super) fn timed_out(timeout: Duration) -> ToolError {
    ToolError::Timeout {
        tool: NAME.to_owned(),
        timeout,
    }
}
