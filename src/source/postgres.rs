//! PostgreSQL row sources: the table's columns from `information_schema`, every value formatted
//! to text by the server (dates with `to_char` in UTC), rows streamed as they arrive, never
//! collected. Identifiers are validated before and quoted in every statement.

use sqlx::{PgPool, Row, ValueRef};
use tokio::sync::mpsc;

use super::encode::{Column, ColumnKind};
use super::{RowBatch, SourceDef, TableShape, count_statement, pump, select_statement, sql_error};
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

/// The statement that reads the rows, every value formatted by PostgreSQL.
pub fn select_sql(def: &SourceDef, shape: &TableShape) -> String {
    let cols = shape
        .columns
        .iter()
        .map(|c| column_expr(&c.name, &c.sql_type).expect("introspect accepted only supported types").0)
        .collect();
    select_statement(def, |q| format!("{q}::text"), cols)
}

pub async fn count(pool: &PgPool, def: &SourceDef) -> Result<u64, AppError> {
    let n: i64 = sqlx::query_scalar(&count_statement(def))
        .fetch_one(pool)
        .await
        .map_err(|e| sql_error(def, "counting rows", e))?;
    Ok(n as u64)
}

pub(super) async fn stream_rows(
    pool: &PgPool,
    def: &SourceDef,
    shape: &TableShape,
    tx: &mpsc::Sender<Result<RowBatch, AppError>>,
) -> Result<(), AppError> {
    let sql = select_sql(def, shape);
    let rows = sqlx::query(&sql).fetch(pool);
    pump(rows, def, shape, tx, |row: &sqlx::postgres::PgRow, i| {
        let raw = row.try_get_raw(i).ok()?;
        if raw.is_null() { None } else { raw.as_str().ok() }
    })
    .await
}
