//! Discovery from the command center's own registry: active rows of `chart_data_sources`, the
//! period column being the one flagged `is_time_period` in `chart_data_source_columns`.
//! Every name read here is validated before it reaches SQL; a bad row becomes an error entry.

use sqlx::PgPool;

use super::catalog::{DefEntry, SourceHeader};
use super::{Db, GroupColumns, SourceDef, SourceKind};
use crate::error::AppError;
use crate::sql_ident::quote;

#[derive(sqlx::FromRow)]
struct RegistryRow {
    id: i64,
    name: String,
    description: Option<String>,
    table_name: Option<String>,
    schema_name: Option<String>,
    source_type: Option<String>,
    database_type: Option<String>,
    period_column: Option<String>,
}

/// Reads the active sources; `rows_db` is where their tables live.
pub async fn discover(
    registry: &PgPool,
    registry_schema: &str,
    rows_db: &PgPool,
    allowed_schemas: &[String],
) -> Result<Vec<DefEntry>, AppError> {
    let rs = quote(registry_schema);
    let sql = format!(
        "SELECT s.data_source_id::bigint AS id, s.data_source_name::text AS name, \
                s.data_source_description::text AS description, s.table_name::text AS table_name, \
                s.schema_name::text AS schema_name, s.data_source_type::text AS source_type, \
                s.database_type::text AS database_type, \
                (SELECT c.column_name::text FROM {rs}.chart_data_source_columns c \
                  WHERE c.data_source_id = s.data_source_id AND c.is_time_period \
                  ORDER BY c.sort_order NULLS LAST, c.column_name LIMIT 1) AS period_column \
           FROM {rs}.chart_data_sources s WHERE s.is_active ORDER BY s.data_source_id"
    );
    let rows: Vec<RegistryRow> = sqlx::query_as(&sql).fetch_all(registry).await.map_err(|e| {
        tracing::warn!(error = %e, "reading the source registry failed");
        AppError::source_unavailable(format!(
            "the source registry ({registry_schema}.chart_data_sources) cannot be read: {}",
            match &e {
                sqlx::Error::Database(d) if d.code().as_deref() == Some("42P01") =>
                    "the table does not exist".to_string(),
                sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => "the database is unreachable".to_string(),
                _ => "query failed".to_string(),
            }
        ))
    })?;
    Ok(rows.into_iter().map(|row| entry(row, rows_db, allowed_schemas)).collect())
}

fn entry(row: RegistryRow, rows_db: &PgPool, allowed_schemas: &[String]) -> DefEntry {
    let kind = row.source_type.as_deref().and_then(SourceKind::parse);
    let header = SourceHeader {
        id: row.id,
        name: row.name.clone(),
        description: row.description.clone(),
        kind,
        backend: "postgresql".into(),
        schema: row.schema_name.clone().unwrap_or_default(),
        table: row.table_name.clone().unwrap_or_default(),
        period_column: row.period_column.clone().unwrap_or_default(),
    };
    let label = format!("source {} ({})", row.id, row.name);
    let build = || -> Result<SourceDef, AppError> {
        let kind = kind.ok_or_else(|| {
            AppError::validation(format!(
                "{label}: unknown data_source_type `{}`",
                row.source_type.clone().unwrap_or_default()
            ))
        })?;
        let db_type = row.database_type.as_deref().map(str::to_ascii_lowercase);
        if !matches!(db_type.as_deref(), None | Some("postgresql" | "postgres")) {
            return Err(AppError::validation(format!(
                "{label}: database_type `{}` is not supported (PostgreSQL only)",
                row.database_type.clone().unwrap_or_default()
            )));
        }
        let period = match (&row.period_column, kind) {
            (Some(p), _) => p.clone(),
            // Table-based sources are listed, not warmed: they need no period column.
            (None, SourceKind::TableBased) => "_".into(),
            (None, SourceKind::MeasureBased) => {
                return Err(AppError::validation(format!("{label}: no column is flagged is_time_period")));
            }
        };
        let def = SourceDef {
            id: row.id,
            name: row.name.clone(),
            description: row.description.clone(),
            kind,
            schema: header.schema.clone(),
            table: header.table.clone(),
            columns: GroupColumns::with_period(&period),
            db: Db::Postgres(rows_db.clone()),
        };
        def.validate(allowed_schemas)?;
        Ok(def)
    };
    match build() {
        Ok(def) => DefEntry::Ok(def),
        Err(error) => DefEntry::Failed { header, error },
    }
}
