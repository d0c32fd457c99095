//! PostgreSQL through tokio-postgres: one connection per call, the
//! statement in a transaction that is `READ ONLY` unless writes are
//! allowed, with `statement_timeout` set.

use futures::{pin_mut, TryStreamExt};
use serde_json::{json, Map, Value};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Config, NoTls, Row};

use super::{bad_param, bad_query, failed, read_only, rows_result, timed_out, Job, Operation};
use crate::{Result, ToolError};

/// Aborts the connection task when the call ends, however it ends.
struct ConnectionTask(tokio::task::JoinHandle<()>);

impl Drop for ConnectionTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

type Param = Box<dyn ToSql + Sync + Send>;

/// Runs `job` against the database at `url`.
pub(super) async fn run(url: &str, job: Job) -> Result<Value> {
    let mut config: Config = url
        .parse()
        .map_err(|e| failed(format!("the configured PostgreSQL URL is not usable: {e}")))?;
    config.connect_timeout(job.timeout);
    let (client, connection) = config
        .connect(NoTls)
        .await
        .map_err(|e| failed(format!("cannot connect to PostgreSQL: {e}")))?;
    let _task = ConnectionTask(tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "database_connector: PostgreSQL connection ended");
        }
    }));
    let begin = if job.writes {
        "BEGIN"
    } else {
        "BEGIN READ ONLY"
    };
    client
        .batch_execute(begin)
        .await
        .map_err(|e| db_error(e, &job))?;
    let ms = job.timeout.as_millis().max(1);
    client
        .batch_execute(&format!("SET LOCAL statement_timeout = {ms}"))
        .await
        .map_err(|e| db_error(e, &job))?;
    let out = statement(&client, &job).await;
    let end = if out.is_ok() && job.writes {
        "COMMIT"
    } else {
        "ROLLBACK"
    };
    let ended = client.batch_execute(end).await;
    let value = out?;
    ended.map_err(|e| db_error(e, &job))?;
    Ok(value)
}

async fn statement(client: &Client, job: &Job) -> Result<Value> {
    if job.operation == Operation::Schema {
        return schema(client, job).await;
    }
    let stmt = client
        .prepare(&job.sql)
        .await
        .map_err(|e| db_error(e, job))?;
    let types = stmt.params();
    if types.len() != job.params.len() {
        return Err(bad_query(format!(
            "the statement has {} placeholders and {} params were given",
            types.len(),
            job.params.len()
        )));
    }
    let params: Vec<Param> = job
        .params
        .iter()
        .zip(types)
        .enumerate()
        .map(|(i, (v, t))| to_sql(i, v, t))
        .collect::<Result<_>>()?;
    let refs: Vec<&(dyn ToSql + Sync)> = params
        .iter()
        .map(|p| -> &(dyn ToSql + Sync) { p.as_ref() })
        .collect();
    if job.operation == Operation::Execute {
        let n = client
            .execute(&stmt, &refs)
            .await
            .map_err(|e| db_error(e, job))?;
        return Ok(json!({"rows_affected": n}));
    }
    let columns: Vec<String> = stmt.columns().iter().map(|c| c.name().to_owned()).collect();
    let stream = client
        .query_raw(&stmt, refs)
        .await
        .map_err(|e| db_error(e, job))?;
    pin_mut!(stream);
    let mut rows = Vec::new();
    let mut truncated = false;
    while let Some(row) = stream.try_next().await.map_err(|e| db_error(e, job))? {
        if rows.len() == job.max_rows {
            truncated = true;
            break;
        }
        rows.push(to_object(&row)?);
    }
    Ok(rows_result(columns, rows, truncated))
}

/// Tables and views of the non-system schemas with their columns.
async fn schema(client: &Client, job: &Job) -> Result<Value> {
    let rows = client
        .query(
            "SELECT c.table_schema::text, c.table_name::text, c.column_name::text, \
                    c.data_type::text, c.is_nullable = 'YES' \
             FROM information_schema.columns c \
             WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema') \
             ORDER BY c.table_schema, c.table_name, c.ordinal_position",
            &[],
        )
        .await
        .map_err(|e| db_error(e, job))?;
    let mut tables: Vec<Value> = Vec::new();
    for row in rows {
        let (schema, table): (String, String) = (row.get(0), row.get(1));
        let column = json!({"name": row.get::<_, String>(2), "type": row.get::<_, String>(3),
                            "nullable": row.get::<_, bool>(4)});
        match tables.last_mut() {
            Some(t) if t["schema"] == schema.as_str() && t["name"] == table.as_str() => {
                if let Some(cols) = t["columns"].as_array_mut() {
                    cols.push(column);
                }
            }
            _ => tables.push(json!({"schema": schema, "name": table, "columns": [column]})),
        }
    }
    Ok(json!({"tables": tables}))
}

/// A PostgreSQL error in this tool's terms: a write refused by the read-only
/// transaction is a policy refusal, a cancelled statement a timeout, a
/// statement the server refuses to parse or plan a bad `query`.
fn db_error(e: tokio_postgres::Error, job: &Job) -> ToolError {
    use tokio_postgres::error::SqlState;
    let Some(db) = e.as_db_error() else {
        return failed(format!("PostgreSQL: {e}"));
    };
    let code = db.code();
    if *code == SqlState::READ_ONLY_SQL_TRANSACTION {
        return read_only("the statement");
    }
    if *code == SqlState::QUERY_CANCELED {
        return timed_out(job.timeout);
    }
    let class = &code.code()[..2];
    // 42: syntax error or access rule violation; 22: data exception.
    if matches!(class, "42" | "22") {
        return bad_query(format!(
            "PostgreSQL refused the statement: {}",
            db.message()
        ));
    }
    failed(format!("PostgreSQL: {}", db.message()))
}

/// A JSON parameter as the type the statement expects.
fn to_sql(i: usize, v: &Value, t: &Type) -> Result<Param> {
    fn int<T: TryFrom<i64> + ToSql + Sync + Send + 'static>(i: usize, v: &Value) -> Result<Param> {
        let n = v
            .as_i64()
            .ok_or_else(|| bad_param(i, format!("expected a whole number, got {v}")))?;
        let n = T::try_from(n).map_err(|_| bad_param(i, format!("{n} is out of range")))?;
        Ok(Box::new(n))
    }
    let null = v.is_null();
    Ok(match *t {
        Type::BOOL if null => Box::new(None::<bool>),
        Type::BOOL => Box::new(
            v.as_bool()
                .ok_or_else(|| bad_param(i, format!("expected a boolean, got {v}")))?,
        ),
        Type::INT2 if null => Box::new(None::<i16>),
        Type::INT2 => int::<i16>(i, v)?,
        Type::INT4 if null => Box::new(None::<i32>),
        Type::INT4 => int::<i32>(i, v)?,
        Type::INT8 if null => Box::new(None::<i64>),
        Type::INT8 => int::<i64>(i, v)?,
        Type::FLOAT4 | Type::FLOAT8 if null => Box::new(None::<f64>),
        Type::FLOAT4 => {
            #[allow(clippy::cast_possible_truncation)]
            let f = number(i, v)? as f32;
            Box::new(f)
        }
        Type::FLOAT8 => Box::new(number(i, v)?),
        Type::JSON | Type::JSONB => Box::new(v.clone()),
        Type::UUID if null => Box::new(None::<uuid::Uuid>),
        Type::UUID => Box::new(
            v.as_str()
                .and_then(|s| s.parse::<uuid::Uuid>().ok())
                .ok_or_else(|| bad_param(i, format!("expected a UUID string, got {v}")))?,
        ),
        Type::TIMESTAMPTZ if null => Box::new(None::<chrono::DateTime<chrono::Utc>>),
        Type::TIMESTAMPTZ => Box::new(
            v.as_str()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .map(|d| d.with_timezone(&chrono::Utc))
                .ok_or_else(|| bad_param(i, format!("expected an RFC 3339 timestamp, got {v}")))?,
        ),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN if null => {
            Box::new(None::<String>)
        }
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
            Box::new(match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        }
        ref other => {
            return Err(bad_param(
                i,
                format!(
                    "the placeholder has type `{other}`, which has no JSON form here; \
                     cast it in the statement (e.g. `$1::text::{other}`)"
                ),
            ))
        }
    })
}

fn number(i: usize, v: &Value) -> Result<f64> {
    v.as_f64()
        .ok_or_else(|| bad_param(i, format!("expected a number, got {v}")))
}

/// A row as a JSON object.
fn to_object(row: &Row) -> Result<Map<String, Value>> {
    let mut out = Map::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let value = cell(row, i, column.type_()).map_err(|e| match e {
            Cell::Db(e) => failed(format!("column `{}`: {e}", column.name())),
            Cell::Unsupported => failed(format!(
                "column `{}` has type `{}`, which has no JSON form here; cast it in the \
                 statement (e.g. `{}::text`)",
                column.name(),
                column.type_(),
                column.name()
            )),
        })?;
        out.insert(column.name().to_owned(), value);
    }
    Ok(out)
}

enum Cell {
    Db(tokio_postgres::Error),
    Unsupported,
}

impl From<tokio_postgres::Error> for Cell {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::Db(e)
    }
}

fn cell(row: &Row, i: usize, t: &Type) -> std::result::Result<Value, Cell> {
    fn opt<T: Into<Value>>(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
    Ok(match *t {
        Type::BOOL => opt(row.try_get::<_, Option<bool>>(i)?),
        Type::INT2 => opt(row.try_get::<_, Option<i16>>(i)?),
        Type::INT4 => opt(row.try_get::<_, Option<i32>>(i)?),
        Type::INT8 => opt(row.try_get::<_, Option<i64>>(i)?),
        Type::OID => opt(row.try_get::<_, Option<u32>>(i)?),
        Type::FLOAT4 => opt(row.try_get::<_, Option<f32>>(i)?.map(f64::from)),
        Type::FLOAT8 => opt(row.try_get::<_, Option<f64>>(i)?),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
            opt(row.try_get::<_, Option<String>>(i)?)
        }
        Type::JSON | Type::JSONB => row.try_get::<_, Option<Value>>(i)?.unwrap_or(Value::Null),
        Type::UUID => opt(row
            .try_get::<_, Option<uuid::Uuid>>(i)?
            .map(|u| u.to_string())),
        Type::TIMESTAMPTZ => opt(row
            .try_get::<_, Option<chrono::DateTime<chrono::Utc>>>(i)?
            .map(|d| d.to_rfc3339())),
        Type::TIMESTAMP => opt(row
            .try_get::<_, Option<chrono::NaiveDateTime>>(i)?
            .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.f").to_string())),
        Type::DATE => opt(row
            .try_get::<_, Option<chrono::NaiveDate>>(i)?
            .map(|d| d.to_string())),
        Type::BYTEA => opt(row.try_get::<_, Option<Vec<u8>>>(i)?.map(hex::encode)),
        _ => return Err(Cell::Unsupported),
    })
}
