//! `database_connector` policy.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Where `database_connector` may connect and what it may do there.
///
/// Named databases hide their URLs (and credentials) from scripts: a
/// script says `database = "analytics"`, the application configures
/// `analytics = postgres://reader:secret@db:5432/analytics`. SQLite files
/// can also be opened by `path` inside the file roots, without naming them
/// here.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabasePolicy {
    /// Named connections: `postgres://user:password@host:port/db` (or
    /// `postgresql://`, or a key=value connection string starting with
    /// `host=`), or `sqlite:PATH` for an SQLite file (any path: the
    /// application chose it).
    pub databases: BTreeMap<String, String>,
    /// Whether statements may change data (`INSERT`, `UPDATE`, `CREATE`,
    /// ...). Off by default: SQLite files are opened read-only and
    /// PostgreSQL statements run in a `READ ONLY` transaction.
    pub allow_writes: bool,
    /// Most rows one query returns (a call may ask for fewer).
    pub max_rows: usize,
    /// Default and longest run time of one call (connect + statement).
    pub timeout: Duration,
}

impl Default for DatabasePolicy {
    /// No named databases, read-only, 1,000 rows, 30 s.
    fn default() -> Self {
        Self {
            databases: BTreeMap::new(),
            allow_writes: false,
            max_rows: 1000,
            timeout: Duration::from_secs(30),
        }
    }
}

impl fmt::Debug for DatabasePolicy {
    /// Names only: the URLs may hold passwords.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabasePolicy")
            .field("databases", &self.databases.keys().collect::<Vec<_>>())
            .field("allow_writes", &self.allow_writes)
            .field("max_rows", &self.max_rows)
            .field("timeout", &self.timeout)
            .finish()
    }
}
