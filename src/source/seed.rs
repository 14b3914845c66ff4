//! `hearth seed-postgres`: real-size PostgreSQL data for benchmarks and tests, in the shape of
//! the command center's `ih.agg_app_measures`, with its registry rows. Set-based (one
//! INSERT … SELECT over generate_series): per practice 8 providers (one NULL), 8 measures,
//! 24 monthly + 12 weekly + 8 quarterly dates = 2,816 rows and 192 groups.

use std::time::Instant;

use sqlx::postgres::PgPoolOptions;
use sqlx::{Executor, PgPool};

use crate::error::AppError;
use crate::sql_ident::{is_identifier, quote};

pub const ROWS_PER_PRACTICE: u64 = 2816;
pub const GROUPS_PER_PRACTICE: u64 = 192;

#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub url: String,
    pub practices: u32,
    pub source_id: i64,
    pub schema: String,
    pub table: String,
    pub registry_schema: String,
    pub name: String,
}

impl SeedOptions {
    pub fn new(url: &str, practices: u32, source_id: i64) -> Self {
        SeedOptions {
            url: url.to_string(),
            practices,
            source_id,
            schema: "ih".into(),
            table: "agg_app_measures".into(),
            registry_schema: "public".into(),
            name: format!("App Measures ({practices} practices)"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SeedReport {
    pub rows: u64,
    pub groups: u64,
    pub millis: u128,
}

fn db_err(doing: &str) -> impl Fn(sqlx::Error) -> AppError + '_ {
    move |e| AppError::source_unavailable(format!("seed-postgres: {doing} failed: {e}"))
}

/// Creates (or replaces) the table and its registry rows.
pub async fn seed_postgres(o: &SeedOptions) -> Result<SeedReport, AppError> {
    for (what, v) in [("--schema", &o.schema), ("--table", &o.table), ("--registry-schema", &o.registry_schema)] {
        if !is_identifier(v) {
            return Err(AppError::validation(format!("seed-postgres: {what} `{v}` is not a plain SQL identifier")));
        }
    }
    if o.practices == 0 || o.practices > 100_000 {
        return Err(AppError::validation("seed-postgres: --practices must be between 1 and 100000"));
    }
    if o.source_id <= 0 {
        return Err(AppError::validation("seed-postgres: --source-id must be a positive integer"));
    }
    let started = Instant::now();
    let pool = PgPoolOptions::new().max_connections(1).connect(&o.url).await.map_err(db_err("connecting"))?;
    create_registry(&pool, &o.registry_schema).await?;
    let (s, t) = (quote(&o.schema), quote(&o.table));
    let mut tx = pool.begin().await.map_err(db_err("starting a transaction"))?;
    for sql in [
        format!("CREATE SCHEMA IF NOT EXISTS {s}"),
        format!("DROP TABLE IF EXISTS {s}.{t}"),
        format!(
            "CREATE TABLE {s}.{t} (practice text, practice_primary text, practice_uid integer, provider_name text, \
             provider_uid integer, measure text, frequency text, date_index date, measure_value numeric(14,2), measure_type text)"
        ),
    ] {
        tx.execute(sql.as_str()).await.map_err(db_err("creating the table"))?;
    }
    let insert = format!(
        "INSERT INTO {s}.{t} SELECT \
           'Practice ' || p, 'Dr. Lead ' || p, 1000 + p, \
           CASE WHEN v = 0 THEN NULL ELSE 'Provider ' || p || '-' || v END, \
           CASE WHEN v = 0 THEN NULL ELSE (1000 + p) * 10 + v END, \
           m.name, f.freq, f.d, \
           round(((p::bigint * 7919 + v * 104729 + m.idx * 15485863 + (f.d - date '2020-01-01') * 31) % 10000000) / 100.0, 2), \
           m.mtype \
         FROM generate_series(1, $1) AS p \
         CROSS JOIN generate_series(0, 7) AS v \
         CROSS JOIN (VALUES (1, 'Charges', 'currency'), (2, 'Payments', 'currency'), (3, 'Visits', 'count'), \
                            (4, 'Cancellations', 'count'), (5, 'Cash Transfer', 'currency'), \
                            (6, 'New Infusion Patients', 'count'), (7, 'Charges by Provider', 'currency'), \
                            (8, 'Adjustments: Write-offs', 'currency')) AS m(idx, name, mtype) \
         CROSS JOIN ( \
             SELECT 'Monthly', (date '2023-10-01' + make_interval(months => i))::date - 1 FROM generate_series(1, 24) AS i \
             UNION ALL SELECT 'Weekly', date '2025-07-06' + 7 * i FROM generate_series(0, 11) AS i \
             UNION ALL SELECT 'Quarterly', (date '2023-10-01' + make_interval(months => 3 * i))::date - 1 FROM generate_series(1, 8) AS i \
         ) AS f(freq, d)"
    );
    let rows = sqlx::query(&insert)
        .bind(o.practices as i32)
        .execute(&mut *tx)
        .await
        .map_err(db_err("inserting rows"))?
        .rows_affected();
    let index = format!("CREATE INDEX ON {s}.{t} (measure, practice_uid, provider_uid, frequency)");
    tx.execute(index.as_str()).await.map_err(db_err("creating the index"))?;
    register(&mut tx, o).await?;
    tx.commit().await.map_err(db_err("committing"))?;
    pool.execute(format!("ANALYZE {s}.{t}").as_str()).await.map_err(db_err("analyzing"))?;
    Ok(SeedReport { rows, groups: o.practices as u64 * GROUPS_PER_PRACTICE, millis: started.elapsed().as_millis() })
}

/// The command center's registry tables, created if absent (columns as the command center has them).
pub async fn create_registry(pool: &PgPool, registry_schema: &str) -> Result<(), AppError> {
    let r = quote(registry_schema);
    for sql in [
        format!("CREATE SCHEMA IF NOT EXISTS {r}"),
        format!(
            "CREATE TABLE IF NOT EXISTS {r}.chart_data_sources (data_source_id integer PRIMARY KEY, \
             data_source_name text NOT NULL, data_source_description text, table_name text NOT NULL, \
             schema_name text NOT NULL, data_source_type text NOT NULL DEFAULT 'measure-based', \
             database_type text NOT NULL DEFAULT 'postgresql', connection_config jsonb, \
             is_active boolean NOT NULL DEFAULT true, created_at timestamptz NOT NULL DEFAULT now(), \
             updated_at timestamptz NOT NULL DEFAULT now())"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {r}.chart_data_source_columns (column_id serial PRIMARY KEY, \
             data_source_id integer NOT NULL REFERENCES {r}.chart_data_sources(data_source_id) ON DELETE CASCADE, \
             column_name text NOT NULL, display_name text, data_type text, is_filterable boolean DEFAULT false, \
             is_groupable boolean DEFAULT false, is_measure boolean DEFAULT false, is_dimension boolean DEFAULT false, \
             is_date_field boolean DEFAULT false, is_measure_type boolean DEFAULT false, \
             is_time_period boolean DEFAULT false, sort_order integer DEFAULT 0)"
        ),
    ] {
        pool.execute(sql.as_str()).await.map_err(db_err("creating the registry tables"))?;
    }
    Ok(())
}

async fn register(tx: &mut sqlx::PgConnection, o: &SeedOptions) -> Result<(), AppError> {
    let r = quote(&o.registry_schema);
    sqlx::query(&format!(
        "INSERT INTO {r}.chart_data_sources (data_source_id, data_source_name, data_source_description, table_name, \
         schema_name, data_source_type, database_type, is_active) VALUES ($1, $2, $3, $4, $5, 'measure-based', 'postgresql', true) \
         ON CONFLICT (data_source_id) DO UPDATE SET data_source_name = EXCLUDED.data_source_name, \
         table_name = EXCLUDED.table_name, schema_name = EXCLUDED.schema_name, is_active = true, updated_at = now()"
    ))
    .bind(o.source_id as i32)
    .bind(&o.name)
    .bind("Generated by hearth seed-postgres")
    .bind(&o.table)
    .bind(&o.schema)
    .execute(&mut *tx)
    .await
    .map_err(db_err("registering the source"))?;
    sqlx::query(&format!("DELETE FROM {r}.chart_data_source_columns WHERE data_source_id = $1"))
        .bind(o.source_id as i32)
        .execute(&mut *tx)
        .await
        .map_err(db_err("registering the columns"))?;
    let columns: [(&str, &str, &str, [bool; 7]); 10] = [
        // filterable, groupable, measure, dimension, date, measure_type, time_period
        ("practice", "Practice", "text", [true, true, false, true, false, false, false]),
        ("practice_primary", "Primary", "text", [true, true, false, true, false, false, false]),
        ("practice_uid", "Practice ID", "integer", [true, false, false, false, false, false, false]),
        ("provider_name", "Provider", "text", [true, true, false, true, false, false, false]),
        ("provider_uid", "Provider ID", "integer", [true, false, false, false, false, false, false]),
        ("measure", "Measure", "text", [true, true, false, false, false, false, false]),
        ("frequency", "Frequency", "text", [true, true, false, false, false, false, true]),
        ("date_index", "Date", "date", [true, false, false, false, true, false, false]),
        ("measure_value", "Value", "numeric", [false, false, true, false, false, false, false]),
        ("measure_type", "Measure type", "text", [false, false, false, false, false, true, false]),
    ];
    for (i, (name, display, ty, f)) in columns.iter().enumerate() {
        sqlx::query(&format!(
            "INSERT INTO {r}.chart_data_source_columns (data_source_id, column_name, display_name, data_type, \
             is_filterable, is_groupable, is_measure, is_dimension, is_date_field, is_measure_type, is_time_period, sort_order) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(o.source_id as i32)
        .bind(name)
        .bind(display)
        .bind(ty)
        .bind(f[0])
        .bind(f[1])
        .bind(f[2])
        .bind(f[3])
        .bind(f[4])
        .bind(f[5])
        .bind(f[6])
        .bind(i as i32)
        .execute(&mut *tx)
        .await
        .map_err(db_err("registering the columns"))?;
    }
    Ok(())
}
