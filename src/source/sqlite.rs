//! SQLite row sources (the embedded demo, or a file source): column kinds from the declared
//! types, values read as text with dates normalised by `strftime`, rows streamed in order.

use sqlx::{Row, SqlitePool};
use tokio::sync::mpsc;

use super::encode::{Column, ColumnKind};
use super::{RowBatch, SourceDef, TableShape, count_statement, pump, select_statement, sql_error};
use crate::error::AppError;
use crate::sql_ident::quote;

/// The JSON kind of a declared SQLite type, following PostgreSQL's mapping by name
/// (BIGINT and NUMERIC/DECIMAL as strings, as the command center's reader produces them).
pub fn kind_of(declared: &str) -> Option<ColumnKind> {
    let t = declared.to_ascii_uppercase();
    Some(if t.is_empty() {
        // No declared type (an expression in a view): SQLite's values are read as text.
        ColumnKind::String
    } else if t.contains("BIGINT") || t.contains("NUMERIC") || t.contains("DECIMAL") {
        ColumnKind::String
    } else if t.contains("INT") {
        ColumnKind::Integer
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") || t == "UUID" {
        ColumnKind::String
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        ColumnKind::Float
    } else if t.contains("BOOL") {
        ColumnKind::Bool
    } else if t == "DATE" || t == "DATETIME" || t.starts_with("TIMESTAMP") {
        ColumnKind::String
    } else if t == "JSON" {
        ColumnKind::Json
    } else {
        return None;
    })
}

fn column_expr(c: &Column) -> String {
    let q = quote(&c.name);
    match c.sql_type.to_ascii_uppercase().as_str() {
        "DATE" => format!("strftime('%Y-%m-%dT00:00:00.000Z', {q})"),
        "DATETIME" | "TIMESTAMP" => format!("strftime('%Y-%m-%dT%H:%M:%fZ', {q})"),
        _ => format!("CAST({q} AS TEXT)"),
    }
}

pub async fn introspect(pool: &SqlitePool, def: &SourceDef) -> Result<TableShape, AppError> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT name, type FROM pragma_table_info(?1, ?2) ORDER BY cid")
        .bind(&def.table)
        .bind(&def.schema)
        .fetch_all(pool)
        .await
        .map_err(|e| sql_error(def, "reading the table's columns", e))?;
    if rows.is_empty() {
        return Err(AppError::source_unavailable(format!(
            "{}: table {}.{} does not exist",
            def.label(),
            def.schema,
            def.table
        )));
    }
    let mut columns = Vec::with_capacity(rows.len());
    for (name, declared) in rows {
        if !crate::sql_ident::is_identifier(&name) {
            return Err(AppError::validation(format!(
                "{}: column `{name}` is not a plain SQL identifier",
                def.label()
            )));
        }
        let kind = kind_of(&declared).ok_or_else(|| {
            AppError::validation(format!(
                "{}: column `{name}` has declared type `{declared}`, which Hearth cannot map to JSON",
                def.label()
            ))
        })?;
        columns.push(Column::new(&name, &declared, kind));
    }
    Ok(TableShape { columns })
}

pub fn select_sql(def: &SourceDef, shape: &TableShape) -> String {
    select_statement(def, |q| format!("CAST({q} AS TEXT)"), shape.columns.iter().map(column_expr).collect())
}

pub async fn count(pool: &SqlitePool, def: &SourceDef) -> Result<u64, AppError> {
    let n: i64 = sqlx::query_scalar(&count_statement(def))
        .fetch_one(pool)
        .await
        .map_err(|e| sql_error(def, "counting rows", e))?;
    Ok(n as u64)
}

pub(super) async fn stream_rows(
    pool: &SqlitePool,
    def: &SourceDef,
    shape: &TableShape,
    tx: &mpsc::Sender<Result<RowBatch, AppError>>,
) -> Result<(), AppError> {
    let sql = select_sql(def, shape);
    let rows = sqlx::query(&sql).fetch(pool);
    pump(rows, def, shape, tx, |row: &sqlx::sqlite::SqliteRow, i| row.try_get::<Option<&str>, _>(i).ok().flatten())
        .await
}
