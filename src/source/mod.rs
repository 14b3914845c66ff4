//! Row sources: where a data source's rows live and how they are read. A warm asks for the row
//! count (progress) and then a stream of row batches ordered by the grouping columns, so it can
//! finish one group and move on with bounded memory. PostgreSQL and SQLite, both through sqlx.

pub mod catalog;
pub mod demo;
pub mod encode;
pub mod file;
pub mod postgres;
pub mod registry;
pub mod seed;
pub mod sqlite;

use tokio::sync::mpsc;

use crate::sql_ident::quote;

use crate::error::AppError;
pub use crate::model::source::SourceKind;
use encode::Column;

/// Names of the grouping columns (SPEC §1); only the period column differs between sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupColumns {
    pub measure: String,
    pub practice: String,
    pub provider: String,
    pub period: String,
}

impl GroupColumns {
    pub fn with_period(period: &str) -> Self {
        GroupColumns {
            measure: "measure".into(),
            practice: "practice_uid".into(),
            provider: "provider_uid".into(),
            period: period.into(),
        }
    }

    pub fn all(&self) -> [&str; 4] {
        [&self.measure, &self.practice, &self.provider, &self.period]
    }
}

/// Where a source's rows live.
#[derive(Debug, Clone)]
pub enum Db {
    Postgres(sqlx::PgPool),
    Sqlite(sqlx::SqlitePool),
}

impl Db {
    pub fn backend(&self) -> &'static str {
        match self {
            Db::Postgres(_) => "postgresql",
            Db::Sqlite(_) => "sqlite",
        }
    }
}

/// A data source definition, from the registry, a file or the demo.
#[derive(Debug, Clone)]
pub struct SourceDef {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub kind: SourceKind,
    pub schema: String,
    pub table: String,
    pub columns: GroupColumns,
    pub db: Db,
}

impl SourceDef {
    /// `source 3 (App Measures)`: how errors name a source.
    pub fn label(&self) -> String {
        format!("source {} ({})", self.id, self.name)
    }

    /// Checks schema, table and column names against the identifier pattern and the allowed
    /// schemas. Called before any SQL is built from them.
    pub fn validate(&self, allowed_schemas: &[String]) -> Result<(), AppError> {
        use crate::sql_ident::is_identifier;
        let bad = |what: &str, value: &str| {
            AppError::validation(format!(
                "{}: {what} `{value}` is not a plain SQL identifier; nothing was run",
                self.label()
            ))
        };
        if self.id <= 0 {
            return Err(AppError::validation(format!("{}: the id must be a positive integer", self.label())));
        }
        if !is_identifier(&self.schema) {
            return Err(bad("schema", &self.schema));
        }
        if !allowed_schemas.iter().any(|s| s == &self.schema) {
            return Err(AppError::validation(format!(
                "{}: schema `{}` is not in HEARTH_ALLOWED_SCHEMAS ({})",
                self.label(),
                self.schema,
                allowed_schemas.join(", ")
            )));
        }
        if !is_identifier(&self.table) {
            return Err(bad("table", &self.table));
        }
        for c in self.columns.all() {
            if !is_identifier(c) {
                return Err(bad("column", c));
            }
        }
        Ok(())
    }
}

/// The table's columns as read from the database, with the grouping columns located.
#[derive(Debug, Clone)]
pub struct TableShape {
    pub columns: Vec<Column>,
}

impl TableShape {
    /// Fails naming the source when a grouping column is missing.
    pub fn check_grouping(&self, def: &SourceDef) -> Result<(), AppError> {
        for c in def.columns.all() {
            if !self.columns.iter().any(|col| col.name == c) {
                return Err(AppError::validation(format!(
                    "{}: column `{c}` is missing from {}.{}",
                    def.label(),
                    def.schema,
                    def.table
                )));
            }
        }
        Ok(())
    }
}

/// Consecutive rows of one group, ready for the cache: the group's key and its rows' JSON objects
/// as the start of a JSON array (`[{…},{…}` without the closing bracket), so a group spanning
/// batches is continued with `,` and finished with `]` without copying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRows {
    pub measure: String,
    pub practice: String,
    /// `None` for a NULL provider (written `*` in keys).
    pub provider: Option<String>,
    pub period: String,
    pub json: String,
    pub rows: u32,
}

impl GroupRows {
    pub fn same_group(&self, other: &GroupRows) -> bool {
        self.measure == other.measure
            && self.practice == other.practice
            && self.provider == other.provider
            && self.period == other.period
    }
}

/// Rows as they come off the database, in grouping order and already gathered by group, with
/// the rows skipped for a missing measure, practice or period counted.
#[derive(Debug, Default)]
pub struct RowBatch {
    pub groups: Vec<GroupRows>,
    pub rows: u64,
    pub skipped: u64,
}

impl RowBatch {
    /// Adds one fetched row: the four grouping values (as text) then the table's columns.
    /// Rows of the group in progress are appended to it; only a new group allocates.
    pub(crate) fn push<'a>(&mut self, shape: &TableShape, mut cells: impl Iterator<Item = Option<&'a str>>) {
        let present = |v: Option<Option<&'a str>>| v.flatten().filter(|s| !s.is_empty());
        let (measure, practice, provider, period) =
            (present(cells.next()), present(cells.next()), present(cells.next()), present(cells.next()));
        let (Some(measure), Some(practice), Some(period)) = (measure, practice, period) else {
            self.skipped += 1;
            return;
        };
        self.rows += 1;
        match self.groups.last_mut() {
            Some(g)
                if g.measure == measure
                    && g.practice == practice
                    && g.provider.as_deref() == provider
                    && g.period == period =>
            {
                g.json.push(',');
                encode::push_row(&mut g.json, &shape.columns, cells);
                g.rows += 1;
            }
            _ => {
                let mut json = String::with_capacity(4096);
                json.push('[');
                encode::push_row(&mut json, &shape.columns, cells);
                self.groups.push(GroupRows {
                    measure: measure.to_string(),
                    practice: practice.to_string(),
                    provider: provider.map(str::to_string),
                    period: period.to_string(),
                    json,
                    rows: 1,
                });
            }
        }
    }

    pub(crate) fn is_full(&self) -> bool {
        self.rows >= BATCH_ROWS as u64
    }
}

pub const BATCH_ROWS: usize = 1024;

/// A running read of a source: batches arrive through a small bounded channel, so the reader
/// runs ahead of the consumer by at most a few batches. Dropping it stops the query.
pub struct RowStream {
    rx: mpsc::Receiver<Result<RowBatch, AppError>>,
    _task: tokio::task::JoinHandle<()>,
}

impl RowStream {
    pub async fn next_batch(&mut self) -> Option<Result<RowBatch, AppError>> {
        self.rx.recv().await
    }
}

/// Reads every row of `def` ordered by its grouping columns.
pub fn stream(def: &SourceDef, shape: &TableShape) -> RowStream {
    let (tx, rx) = mpsc::channel(4);
    let (def, shape) = (def.clone(), shape.clone());
    let task = tokio::spawn(async move {
        let result = match &def.db {
            Db::Postgres(pool) => postgres::stream_rows(pool, &def, &shape, &tx).await,
            Db::Sqlite(pool) => sqlite::stream_rows(pool, &def, &shape, &tx).await,
        };
        if let Err(e) = result {
            let _ = tx.send(Err(e)).await;
        }
    });
    RowStream { rx, _task: task }
}

/// Columns and types of the source's table.
pub async fn introspect(def: &SourceDef) -> Result<TableShape, AppError> {
    let shape = match &def.db {
        Db::Postgres(pool) => postgres::introspect(pool, def).await?,
        Db::Sqlite(pool) => sqlite::introspect(pool, def).await?,
    };
    if def.kind == SourceKind::MeasureBased {
        shape.check_grouping(def)?;
    }
    Ok(shape)
}

/// Rows in the source's table (the progress total of a warm).
pub async fn count(def: &SourceDef) -> Result<u64, AppError> {
    match &def.db {
        Db::Postgres(pool) => postgres::count(pool, def).await,
        Db::Sqlite(pool) => sqlite::count(pool, def).await,
    }
}

/// `SELECT <the grouping values as text>, <every column> FROM s.t AS src ORDER BY <grouping>`:
/// the one statement both backends read with. The ORDER BY is qualified so it means the table's
/// columns, not the same-named outputs.
pub(crate) fn select_statement(def: &SourceDef, as_text: impl Fn(&str) -> String, columns: Vec<String>) -> String {
    let group: Vec<String> = def.columns.all().iter().map(|c| as_text(&quote(c))).collect();
    let order: Vec<String> = def.columns.all().iter().map(|c| format!("src.{}", quote(c))).collect();
    format!(
        "SELECT {}, {} FROM {}.{} AS src ORDER BY {}",
        group.join(", "),
        columns.join(", "),
        quote(&def.schema),
        quote(&def.table),
        order.join(", ")
    )
}

pub(crate) fn count_statement(def: &SourceDef) -> String {
    format!("SELECT count(*) FROM {}.{}", quote(&def.schema), quote(&def.table))
}

/// Gathers fetched rows into batches for the consumer; stops quietly when the consumer went away
/// (cancel, failure). `cell(row, i)` reads column `i` as text.
pub(crate) async fn pump<R, S>(
    mut rows: S,
    def: &SourceDef,
    shape: &TableShape,
    tx: &mpsc::Sender<Result<RowBatch, AppError>>,
    cell: impl for<'r> Fn(&'r R, usize) -> Option<&'r str>,
) -> Result<(), AppError>
where
    S: futures::Stream<Item = Result<R, sqlx::Error>> + Unpin,
{
    use futures::TryStreamExt;
    let width = 4 + shape.columns.len();
    let mut batch = RowBatch::default();
    while let Some(row) = rows.try_next().await.map_err(|e| sql_error(def, "reading rows", e))? {
        batch.push(shape, (0..width).map(|i| cell(&row, i)));
        if batch.is_full() && tx.send(Ok(std::mem::take(&mut batch))).await.is_err() {
            return Ok(());
        }
    }
    if batch.rows > 0 || batch.skipped > 0 {
        let _ = tx.send(Ok(batch)).await;
    }
    Ok(())
}

/// A database error as the admin should read it: which source, what went wrong.
pub(crate) fn sql_error(def: &SourceDef, doing: &str, e: sqlx::Error) -> AppError {
    use sqlx::Error as E;
    let label = def.label();
    match &e {
        E::PoolTimedOut | E::Io(_) | E::Tls(_) | E::PoolClosed => {
            tracing::warn!(error = %e, "{label}: database unreachable while {doing}");
            AppError::source_unavailable(format!(
                "{label}: the database is unreachable or closed the connection ({doing}); try again once it answers"
            ))
        }
        E::Database(db) => {
            tracing::warn!(error = %e, "{label}: database error while {doing}");
            let code = db.code().map(|c| c.to_string()).unwrap_or_default();
            let what = match code.as_str() {
                "42P01" => format!("table {}.{} does not exist", def.schema, def.table),
                "42703" => "a column does not exist".to_string(),
                "3F000" => format!("schema {} does not exist", def.schema),
                "28000" | "28P01" => "the database refused the credentials".to_string(),
                "3D000" => "the database does not exist".to_string(),
                "57P01" | "57P02" | "57P03" => {
                    "the database closed the connection (terminated by an administrator, or shutting down); warm again"
                        .to_string()
                }
                "57014" => "the query was cancelled (a statement timeout, or an administrator)".to_string(),
                c if c.starts_with("08") => "the connection to the database failed".to_string(),
                _ => format!("the database reported an error (SQLSTATE {code})"),
            };
            AppError::source_unavailable(format!("{label}: {what} ({doing})"))
        }
        _ => {
            tracing::error!(error = %e, "{label}: SQL failure while {doing}");
            AppError::source_unavailable(format!("{label}: reading the source failed ({doing})"))
        }
    }
}
