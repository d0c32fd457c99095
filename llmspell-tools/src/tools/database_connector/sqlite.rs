//! SQLite files through rusqlite (bundled SQLite), on the tools' worker
//! threads.

use std::path::PathBuf;
use std::time::Instant;

use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, OpenFlags};
use serde_json::{json, Map, Value};

use super::{
    bad_param, bad_query, failed, read_only, rows_result, timed_out, Job, Operation, NAME,
};
use crate::blocking::{self, Cancel};
use crate::Result;

/// Runs `job` on the file at `path`.
pub(super) async fn run(path: PathBuf, job: Job) -> Result<Value> {
    blocking::run(NAME, move |cancel| run_here(&path, &job, cancel)).await
}

fn run_here(path: &std::path::Path, job: &Job, cancel: &Cancel) -> Result<Value> {
    let flags = if job.writes {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let mut conn = Connection::open_with_flags(path, flags).map_err(|e| {
        failed(format!(
            "cannot open the SQLite file {}: {e}",
            path.display()
        ))
    })?;
    // Interrupt the statement at the deadline or when the caller has gone.
    let deadline = Instant::now() + job.timeout;
    let stop = cancel.clone();
    conn.progress_handler(
        1000,
        Some(move || Instant::now() >= deadline || stop.is_cancelled()),
    )
    .map_err(failed)?;
    let interrupted = |e: rusqlite::Error| {
        if matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::OperationInterrupted)
        ) {
            timed_out(job.timeout)
        } else {
            failed(e)
        }
    };
    if job.operation == Operation::Schema {
        return schema(&conn).map_err(interrupted);
    }
    let mut stmt = conn.prepare(&job.sql).map_err(bad_query)?;
    if !job.writes && !stmt.readonly() {
        return Err(read_only("the statement"));
    }
    let expected = stmt.parameter_count();
    if expected != job.params.len() {
        return Err(bad_query(format!(
            "the statement has {expected} placeholders and {} params were given",
            job.params.len()
        )));
    }
    for (i, value) in job.params.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, to_sql(i, value)?)
            .map_err(|e| bad_param(i, e))?;
    }
    if job.operation == Operation::Execute {
        let n = stmt.raw_execute().map_err(interrupted)?;
        return Ok(json!({"rows_affected": n}));
    }
    let columns: Vec<String> = stmt.column_names().map(str::to_owned).collect();
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    let mut truncated = false;
    while let Some(row) = rows.next().map_err(interrupted)? {
        if out.len() == job.max_rows {
            truncated = true;
            break;
        }
        let mut object = Map::with_capacity(columns.len());
        for (i, name) in columns.iter().enumerate() {
            let value = row.get_ref(i).map_err(failed)?;
            object.insert(name.clone(), to_json(value));
        }
        out.push(object);
    }
    Ok(rows_result(columns, out, truncated))
}

/// A JSON parameter as an SQLite value: booleans as 0/1, arrays and
/// objects as their JSON text.
fn to_sql(index: usize, value: &Value) -> Result<SqlValue> {
    Ok(match value {
        Value::Null => SqlValue::Null,
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => SqlValue::Integer(i),
            None => SqlValue::Real(
                n.as_f64()
                    .ok_or_else(|| bad_param(index, "a number SQLite cannot hold"))?,
            ),
        },
        Value::String(s) => SqlValue::Text(s.clone()),
        other => SqlValue::Text(other.to_string()),
    })
}

/// An SQLite value as JSON; blobs as hex, non-finite reals as null.
fn to_json(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::String(hex::encode(b)),
    }
}

/// Tables and views with their columns.
fn schema(conn: &Connection) -> rusqlite::Result<Value> {
    let mut tables = conn.prepare(
        "SELECT name, type FROM sqlite_schema WHERE type IN ('table', 'view') \
         AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )?;
    let names: Vec<(String, String)> = tables
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::with_capacity(names.len());
    for (name, kind) in names {
        let mut info =
            conn.prepare("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1)")?;
        let columns: Vec<Value> = info
            .query_map([&name], |r| {
                Ok(json!({
                    "name": r.get::<_, String>(0)?,
                    "type": r.get::<_, String>(1)?,
                    "nullable": r.get::<_, i64>(2)? == 0,
                    "primary_key": r.get::<_, i64>(3)? > 0,
                }))
            })?
            .collect::<rusqlite::Result<_>>()?;
        out.push(json!({"name": name, "kind": kind, "columns": columns}));
    }
    Ok(json!({"tables": out}))
}
