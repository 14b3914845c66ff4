//! PostgreSQL row sources: the table's columns from `information_schema`, every value formatted
//! to text by the server (dates with `to_char` in UTC), rows streamed as they arrive, never
//! collected. Identifiers are validated before and quoted in every statement.

use futures::TryStreamExt;
use sqlx::{PgPool, Row, ValueRef};
use tokio::sync::mpsc;

use super::encode::{Column, ColumnKind};
use super::{RowBatch, SourceDef, TableShape, sql_error};
use crate::error::AppError;
use crate::sql_ident::quote;

/// The select expression and JSON kind of a column of PostgreSQL type `udt`, if supported.
pub fn column_expr(name: &str, udt: &str) -> Option<(String, ColumnKind)> {
    let q = quote(name);
    const ISO_MS: &str = "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'";
    Some(match udt {
        "text" | "varchar" | "bpchar" => (q, ColumnKind::String),
        "name" | "citext" | "uuid" | "int8" | "numeric" => (format!("{q}::text"), ColumnKind::String),
        "int2" | "int4" => (format!("{q}::text"), ColumnKind::Integer),
        "float4" | "float8" => (format!("{q}::text"), ColumnKind::Float),
        "bool" => (format!("{q}::text"), ColumnKind::Bool),
        "json" | "jsonb" => (format!("{q}::text"), ColumnKind::Json),
        "date" => (format!("to_char({q}, 'YYYY-MM-DD\"T00:00:00.000Z\"')"), ColumnKind::String),
        "timestamp" => (format!("to_char({q}, {ISO_MS})"), ColumnKind::String),
        "timestamptz" => (format!("to_char({q} AT TIME ZONE 'UTC', {ISO_MS})"), ColumnKind::String),
        _ => return None,
    })
}

pub async fn introspect(pool: &PgPool, def: &SourceDef) -> Result<TableShape, AppError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT column_name::text, udt_name::text FROM information_schema.columns \
         WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
    )
    .bind(&def.schema)
    .bind(&def.table)
    .fetch_all(pool)
    .await
    .map_err(|e| sql_error(def, "reading the table's columns", e))?;
    if rows.is_empty() {
        return Err(AppError::source_unavailable(format!(
            "{}: table {}.{} does not exist (or the database user cannot see it)",
            def.label(),
            def.schema,
            def.table
        )));
    }
    let mut columns = Vec::with_capacity(rows.len());
    for (name, udt) in rows {
        if !crate::sql_ident::is_identifier(&name) {
            return Err(AppError::validation(format!(
                "{}: column `{name}` is not a plain SQL identifier",
                def.label()
            )));
        }
        let Some((_, kind)) = column_expr(&name, &udt) else {
            return Err(AppError::validation(format!(
                "{}: column `{name}` has type `{udt}`, which Hearth cannot cache (supported: text, varchar, char, \
                 smallint, integer, bigint, numeric, real, double precision, boolean, date, timestamp, timestamptz, \
                 json, jsonb, uuid)",
                def.label()
            )));
        };
        columns.push(Column::new(&name, &udt, kind));
    }
    Ok(TableShape { columns })
}

/// `SELECT <4 grouping values as text>, <every column formatted> … ORDER BY <grouping columns>`.
pub fn select_sql(def: &SourceDef, shape: &TableShape) -> String {
    let group: Vec<String> = def.columns.all().iter().map(|c| format!("{}::text", quote(c))).collect();
    let cols: Vec<String> = shape
        .columns
        .iter()
        .map(|c| column_expr(&c.name, &c.sql_type).expect("introspect accepted only supported types").0)
        .collect();
    // Qualified, so ORDER BY means the table's columns, not the same-named outputs.
    let order: Vec<String> = def.columns.all().iter().map(|c| format!("src.{}", quote(c))).collect();
    format!(
        "SELECT {}, {} FROM {}.{} AS src ORDER BY {}",
        group.join(", "),
        cols.join(", "),
        quote(&def.schema),
        quote(&def.table),
        order.join(", ")
    )
}

pub async fn count(pool: &PgPool, def: &SourceDef) -> Result<u64, AppError> {
    let sql = format!("SELECT count(*) FROM {}.{}", quote(&def.schema), quote(&def.table));
    let n: i64 = sqlx::query_scalar(&sql).fetch_one(pool).await.map_err(|e| sql_error(def, "counting rows", e))?;
    Ok(n as u64)
}

pub(super) async fn stream_rows(
    pool: &PgPool,
    def: &SourceDef,
    shape: &TableShape,
    tx: &mpsc::Sender<Result<RowBatch, AppError>>,
) -> Result<(), AppError> {
    let sql = select_sql(def, shape);
    let width = 4 + shape.columns.len();
    let mut rows = sqlx::query(&sql).fetch(pool);
    let mut batch = RowBatch::default();
    while let Some(row) = rows.try_next().await.map_err(|e| sql_error(def, "reading rows", e))? {
        let cells = (0..width).map(|i| {
            let raw = row.try_get_raw(i).ok()?;
            if raw.is_null() { None } else { raw.as_str().ok() }
        });
        batch.push(shape, cells);
        if batch.is_full() {
            let full = std::mem::take(&mut batch);
            if tx.send(Ok(full)).await.is_err() {
                return Ok(()); // the consumer stopped (cancel, failure): stop reading
            }
        }
    }
    if batch.rows > 0 || batch.skipped > 0 {
        let _ = tx.send(Ok(batch)).await;
    }
    Ok(())
}
