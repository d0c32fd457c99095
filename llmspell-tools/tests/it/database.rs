//! database_connector on real SQLite files and a real PostgreSQL server
//! started by the test (Debian's postgresql, run as the `postgres` user).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use llmspell_tools::{ToolRegistry, ToolsConfig};
use serde_json::{json, Value};

use crate::common::{assert_invalid, assert_policy, call_in};

fn registry(dir: &Path, writes: bool, extra: &[(&str, &str)]) -> ToolRegistry {
    let mut b = ToolsConfig::builder()
        .file_root(dir)
        .allow_database_writes(writes);
    for (name, url) in extra {
        b = b.database(*name, *url);
    }
    ToolRegistry::with_standard_tools(&b.build().unwrap()).unwrap()
}

async fn db(r: &ToolRegistry, params: Value) -> llmspell_tools::Result<Value> {
    call_in(r, "database_connector", params).await
}

#[tokio::test]
async fn sqlite_writes_when_allowed_and_reads_rows_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let rw = registry(dir.path(), true, &[]);
    db(&rw, json!({"operation": "execute", "path": "t.db",
                   "query": "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, data BLOB)"}))
        .await
        .unwrap();
    for (i, name) in ["ada", "bob", "cy"].iter().enumerate() {
        let out = db(&rw, json!({"operation": "execute", "path": "t.db",
                                 "query": "INSERT INTO users (name, score, data) VALUES (?1, ?2, x'CAFE')",
                                 "params": [name, 1.5 + i as f64]}))
            .await
            .unwrap();
        assert_eq!(out["rows_affected"], 1);
    }
    // An injection attempt is just a value.
    let evil = "x'); DROP TABLE users; --";
    db(
        &rw,
        json!({"operation": "execute", "path": "t.db",
                   "query": "INSERT INTO users (name) VALUES (?)", "params": [evil]}),
    )
    .await
    .unwrap();

    let ro = registry(dir.path(), false, &[]);
    let out = db(&ro, json!({"path": "t.db", "query": "SELECT id, name, score, data FROM users WHERE score > ?1 ORDER BY id",
                             "params": [2]}))
        .await
        .unwrap();
    assert_eq!(out["columns"], json!(["id", "name", "score", "data"]));
    assert_eq!(out["row_count"], 2);
    assert_eq!(
        out["rows"][0],
        json!({"id": 2, "name": "bob", "score": 2.5, "data": "cafe"})
    );
    assert_eq!(out["truncated"], false);
    let all = db(
        &ro,
        json!({"connection": "sqlite://t.db", "sql": "SELECT name FROM users ORDER BY id"}),
    )
    .await
    .unwrap();
    assert_eq!(all["rows"][3]["name"], evil);

    // Row limit.
    let limited = db(
        &ro,
        json!({"path": "t.db", "query": "SELECT id FROM users", "max_rows": 2}),
    )
    .await
    .unwrap();
    assert_eq!(limited["row_count"], 2);
    assert_eq!(limited["truncated"], true);

    // Schema.
    let schema = db(&ro, json!({"operation": "schema", "path": "t.db"}))
        .await
        .unwrap();
    assert_eq!(schema["tables"][0]["name"], "users");
    assert_eq!(
        schema["tables"][0]["columns"][1],
        json!({"name": "name", "type": "TEXT", "nullable": false, "primary_key": false})
    );
}

#[tokio::test]
async fn sqlite_is_read_only_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let rw = registry(dir.path(), true, &[]);
    db(
        &rw,
        json!({"operation": "execute", "path": "t.db", "query": "CREATE TABLE t (x INTEGER)"}),
    )
    .await
    .unwrap();
    let ro = registry(dir.path(), false, &[]);
    assert_policy(
        db(
            &ro,
            json!({"path": "t.db", "query": "INSERT INTO t VALUES (1)"}),
        )
        .await,
        "database_read_only",
    );
    assert_policy(
        db(&ro, json!({"path": "t.db", "query": "DROP TABLE t"})).await,
        "database_read_only",
    );
    assert_policy(
        db(
            &ro,
            json!({"operation": "execute", "path": "t.db", "query": "DELETE FROM t"}),
        )
        .await,
        "database_read_only",
    );
    // Nothing changed.
    let out = db(
        &ro,
        json!({"path": "t.db", "query": "SELECT count(*) AS n FROM t"}),
    )
    .await
    .unwrap();
    assert_eq!(out["rows"][0]["n"], 0);
}

#[tokio::test]
async fn sqlite_refuses_bad_input_and_paths_outside_the_roots() {
    let dir = tempfile::tempdir().unwrap();
    let rw = registry(dir.path(), true, &[]);
    db(
        &rw,
        json!({"operation": "execute", "path": "t.db", "query": "CREATE TABLE t (x INTEGER)"}),
    )
    .await
    .unwrap();
    // Two statements in one text: refused, the second never runs.
    assert_invalid(
        db(
            &rw,
            json!({"operation": "execute", "path": "t.db",
                       "query": "INSERT INTO t VALUES (1); DROP TABLE t"}),
        )
        .await,
        "query",
    );
    assert_invalid(
        db(&rw, json!({"path": "t.db", "query": "SELEKT 1"})).await,
        "query",
    );
    assert_invalid(
        db(
            &rw,
            json!({"path": "t.db", "query": "SELECT ?1 + ?2", "params": [1]}),
        )
        .await,
        "query",
    );
    assert_invalid(db(&rw, json!({"path": "t.db"})).await, "query");
    assert_invalid(db(&rw, json!({"query": "SELECT 1"})).await, "params");
    assert_invalid(
        db(
            &rw,
            json!({"path": "t.db", "query": "SELECT 1", "max_rows": 0}),
        )
        .await,
        "max_rows",
    );
    assert_policy(
        db(&rw, json!({"path": "../escape.db", "query": "SELECT 1"})).await,
        "path_traversal",
    );
    assert_policy(
        db(&rw, json!({"database": "nope", "query": "SELECT 1"})).await,
        "database_not_configured",
    );
    assert_invalid(
        db(
            &rw,
            json!({"connection": "sqlite:", "database": "x", "query": "SELECT 1"}),
        )
        .await,
        "params",
    );
}

#[tokio::test]
async fn sqlite_statements_stop_at_the_time_limit() {
    let dir = tempfile::tempdir().unwrap();
    let rw = registry(dir.path(), true, &[]);
    let started = Instant::now();
    let err = db(&rw, json!({"path": "t.db", "timeout_ms": 200,
                             "query": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c"}))
        .await
        .unwrap_err();
    assert!(
        matches!(err, llmspell_tools::ToolError::Timeout { .. }),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_named_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("named.db");
    let url = format!("sqlite:{}", file.display());
    let rw = registry(dir.path(), true, &[("app", &url)]);
    db(
        &rw,
        json!({"operation": "execute", "database": "app", "query": "CREATE TABLE k (v TEXT)"}),
    )
    .await
    .unwrap();
    db(&rw, json!({"operation": "execute", "database": "app", "query": "INSERT INTO k VALUES (?)", "params": [{"a": 1}]}))
        .await
        .unwrap();
    let out = db(&rw, json!({"database": "app", "query": "SELECT v FROM k"}))
        .await
        .unwrap();
    assert_eq!(out["rows"][0]["v"], "{\"a\":1}");
}

// ---- PostgreSQL ------------------------------------------------------

/// A PostgreSQL server on a random loopback port in a temporary data
/// directory; stopped when dropped.
struct Postgres {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pg_bin() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("LLMSPELL_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("postgres").exists() && p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `program args` as the `postgres` user when running as root (PostgreSQL
/// refuses to run as root), as ourselves otherwise.
fn as_pg_user(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Starts a server, or returns `None` (with a notice) when PostgreSQL is
/// not installed and `LLMSPELL_REQUIRE_POSTGRES` is not `1`.
async fn start_postgres() -> Option<Postgres> {
    let required = std::env::var("LLMSPELL_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    let Some(bin) = pg_bin() else {
        assert!(
            !required,
            "LLMSPELL_REQUIRE_POSTGRES=1 but no PostgreSQL under /usr/lib/postgresql"
        );
        eprintln!("NOTICE: PostgreSQL is not installed; skipping the PostgreSQL tests");
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    if is_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
    }
    let init = as_pg_user(&bin.join("initdb"))
        .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
        .arg(&data)
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "initdb: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = as_pg_user(&bin.join("postgres"))
        .arg("-D")
        .arg(&data)
        .args([
            "-p",
            &port.to_string(),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
        ])
        .arg("-k")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Postgres {
        child,
        port,
        _dir: dir,
    };
    let url = server.url();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .is_ok()
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "PostgreSQL did not start on port {port}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Some(server)
}

impl Postgres {
    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_queries_writes_limits_and_refusals() {
    let Some(pg) = start_postgres().await else {
        return;
    };
    let url = pg.url();
    let dir = tempfile::tempdir().unwrap();
    let rw = registry(dir.path(), true, &[("main", &url)]);
    db(&rw, json!({"operation": "execute", "database": "main",
                   "query": "CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, price float8, \
                             tags jsonb, made timestamptz, qty int4, ok bool, amount numeric)"}))
        .await
        .unwrap();
    let out = db(&rw, json!({"operation": "execute", "database": "main",
                             "query": "INSERT INTO items (name, price, tags, made, qty, ok) VALUES ($1, $2, $3, $4, $5, $6), ($1 || '2', $2 * 2, NULL, NULL, NULL, NULL)",
                             "params": ["pen", 1.5, {"a": [1]}, "2024-01-02T03:04:05Z", 7, true]}))
        .await
        .unwrap();
    assert_eq!(out["rows_affected"], 2);

    let ro = registry(dir.path(), false, &[("main", &url)]);
    let rows = db(&ro, json!({"database": "main",
                              "query": "SELECT id, name, price, tags, made, qty, ok FROM items WHERE price >= $1 ORDER BY id",
                              "params": [1]}))
        .await
        .unwrap();
    assert_eq!(rows["row_count"], 2);
    assert_eq!(
        rows["rows"][0],
        json!({"id": 1, "name": "pen", "price": 1.5, "tags": {"a": [1]},
               "made": "2024-01-02T03:04:05+00:00", "qty": 7, "ok": true})
    );
    assert_eq!(rows["rows"][1]["tags"], Value::Null);
    // An injection attempt is a value, not SQL.
    let none = db(
        &ro,
        json!({"database": "main", "query": "SELECT id FROM items WHERE name = $1",
                              "params": ["pen' OR '1'='1"]}),
    )
    .await
    .unwrap();
    assert_eq!(none["row_count"], 0);
    let limited = db(
        &ro,
        json!({"database": "main", "query": "SELECT generate_series(1, 50) AS n", "max_rows": 10}),
    )
    .await
    .unwrap();
    assert_eq!(limited["row_count"], 10);
    assert_eq!(limited["truncated"], true);

    // Read-only by default: the server refuses inside a READ ONLY transaction.
    assert_policy(
        db(&ro, json!({"database": "main", "query": "INSERT INTO items (name) VALUES ('x') RETURNING id"})).await,
        "database_read_only",
    );
    assert_policy(
        db(
            &ro,
            json!({"operation": "execute", "database": "main", "query": "DELETE FROM items"}),
        )
        .await,
        "database_read_only",
    );
    // Several statements in one text are refused by the server.
    assert_invalid(
        db(
            &rw,
            json!({"operation": "execute", "database": "main",
                       "query": "DELETE FROM items; DROP TABLE items"}),
        )
        .await,
        "query",
    );
    assert_invalid(
        db(&ro, json!({"database": "main", "query": "SELEC 1"})).await,
        "query",
    );
    assert_invalid(
        db(
            &ro,
            json!({"database": "main", "query": "SELECT $1::int4 + 1", "params": ["x"]}),
        )
        .await,
        "params",
    );
    // A type with no JSON form names the column and the cast.
    let err = db(
        &ro,
        json!({"database": "main", "query": "SELECT amount FROM items"}),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("amount") && err.to_string().contains("::text"),
        "{err}"
    );
    // Time limit: statement_timeout stops a long statement.
    let started = Instant::now();
    let err = db(
        &ro,
        json!({"database": "main", "query": "SELECT pg_sleep(5)", "timeout_ms": 300}),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, llmspell_tools::ToolError::Timeout { .. }),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(4));
    // Schema.
    let schema = db(&ro, json!({"operation": "schema", "database": "main"}))
        .await
        .unwrap();
    assert_eq!(schema["tables"][0]["name"], "items");
    assert_eq!(schema["tables"][0]["columns"][1]["name"], "name");
    // Nothing was changed by the refused statements.
    let count = db(
        &ro,
        json!({"database": "main", "query": "SELECT count(*)::int4 AS n FROM items"}),
    )
    .await
    .unwrap();
    assert_eq!(count["rows"][0]["n"], 2);
}
