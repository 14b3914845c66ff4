//! The embedded demo: a SQLite database under the data directory with three measure-based
//! sources shaped like the command center's (about 250k rows), generated deterministically so
//! every install shows the same numbers. Built once into a temporary file, then renamed in place.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{Datelike, Duration, NaiveDate};
use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Connection, SqliteConnection, SqlitePool};

use super::{Db, GroupColumns, SourceDef, SourceKind};
use crate::error::AppError;

/// Bump when the generated data changes, so old demo files are rebuilt.
const VERSION: i64 = 1;
pub const FILE_NAME: &str = "hearth-demo.sqlite";

struct DemoSource {
    id: i64,
    name: &'static str,
    description: &'static str,
    table: &'static str,
    period_column: &'static str,
    value_column: &'static str,
    date_column: &'static str,
    practices: u32,
    providers: u32,
    measures: &'static [(&'static str, &'static str)],
}

const SOURCES: [DemoSource; 3] = [
    DemoSource {
        id: 1,
        name: "App Measures",
        description: "Practice and provider measures by month, week and quarter",
        table: "agg_app_measures",
        period_column: "frequency",
        value_column: "measure_value",
        date_column: "date_index",
        practices: 30,
        providers: 6,
        measures: &[
            ("Charges", "currency"),
            ("Payments", "currency"),
            ("Visits", "count"),
            ("Cancellations", "count"),
            ("Cash Transfer", "currency"),
            ("New Infusion Patients", "count"),
        ],
    },
    DemoSource {
        id: 2,
        name: "Chart Data",
        description: "Chart series by provider",
        table: "agg_chart_data",
        period_column: "time_period",
        value_column: "numeric_value",
        date_column: "date_value",
        practices: 50,
        providers: 7,
        measures: &[
            ("Charges by Provider", "currency"),
            ("Payments by Provider", "currency"),
            ("Visits by Provider", "count"),
            ("Cancellations: Same Day", "count"),
            ("New Patients", "count"),
            ("Collection Rate", "percentage"),
        ],
    },
    DemoSource {
        id: 3,
        name: "Infusion Operations",
        description: "Infusion center activity",
        table: "agg_infusion_ops",
        period_column: "frequency",
        value_column: "measure_value",
        date_column: "date_index",
        practices: 60,
        providers: 5,
        measures: &[
            ("Infusion Visits", "count"),
            ("New Infusion Patients", "count"),
            ("Chair Hours", "count"),
            ("Drug Charges", "currency"),
            ("Drug Payments", "currency"),
            ("Cash Transfer", "currency"),
            ("No Shows", "count"),
            ("Prior Authorizations", "count"),
        ],
    },
];

/// The periods every demo source covers: 24 month ends, 12 weeks, 8 quarter ends.
pub fn periods() -> Vec<(&'static str, NaiveDate)> {
    let month_end = |y: i32, m: u32| {
        let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        NaiveDate::from_ymd_opt(ny, nm, 1).expect("valid date") - Duration::days(1)
    };
    let mut out = Vec::with_capacity(44);
    for i in 0..24 {
        let m0 = 2023 * 12 + 9 + i; // October 2023 onwards, zero-based months
        out.push(("Monthly", month_end(m0 / 12, (m0 % 12 + 1) as u32)));
    }
    let last_sunday = NaiveDate::from_ymd_opt(2025, 9, 28).expect("valid date");
    for i in (0..12).rev() {
        out.push(("Weekly", last_sunday - Duration::weeks(i)));
    }
    for i in 0..8 {
        let q0 = 2023 * 12 + 11 + 3 * i; // quarter ends from December 2023
        out.push(("Quarterly", month_end(q0 / 12, (q0 % 12 + 1) as u32)));
    }
    out
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

pub fn database_path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

/// Opens the demo database, creating it first if it is missing or from an older version.
pub async fn open(data_dir: &Path) -> Result<SqlitePool, AppError> {
    let path = database_path(data_dir);
    if current_version(&path).await != Some(VERSION) {
        create(data_dir, &path).await?;
    }
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .read_only(true)
        .log_slow_statements(super::catalog::SLOW_STATEMENT_LOG, super::catalog::SLOW_STATEMENT);
    Ok(SqlitePoolOptions::new().max_connections(4).connect_lazy_with(options))
}

async fn current_version(path: &Path) -> Option<i64> {
    if !path.exists() {
        return None;
    }
    let options = SqliteConnectOptions::new().filename(path).read_only(true);
    let mut conn = SqliteConnection::connect_with(&options).await.ok()?;
    sqlx::query_scalar("SELECT version FROM hearth_demo").fetch_one(&mut conn).await.ok()
}

async fn create(data_dir: &Path, path: &Path) -> Result<(), AppError> {
    let io =
        |e: std::io::Error| AppError::internal(format!("HEARTH_DATA_DIR: cannot write {}: {e}", data_dir.display()));
    std::fs::create_dir_all(data_dir).map_err(io)?;
    let started = std::time::Instant::now();
    let tmp = data_dir.join(format!("{FILE_NAME}.tmp-{}-{:x}", std::process::id(), rand::random::<u32>()));
    let sql = |e: sqlx::Error| AppError::internal(format!("building the demo database failed: {e}"));
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", tmp.display()))
        .map_err(sql)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Off)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Off);
    let mut conn = SqliteConnection::connect_with(&options).await.map_err(sql)?;
    let mut total = 0u64;
    for source in &SOURCES {
        total += fill(&mut conn, source).await.map_err(sql)?;
    }
    sqlx::query("CREATE TABLE hearth_demo (version INTEGER NOT NULL)").execute(&mut conn).await.map_err(sql)?;
    sqlx::query("INSERT INTO hearth_demo VALUES (?1)").bind(VERSION).execute(&mut conn).await.map_err(sql)?;
    conn.close().await.map_err(sql)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    tracing::info!(rows = total, ms = started.elapsed().as_millis() as u64, path = %path.display(), "created the demo database");
    Ok(())
}

/// `NUMERIC_TEXT`: a numeric column with TEXT affinity, so SQLite keeps its exact digits
/// (`12.50`, not `12.5`) the way PostgreSQL's NUMERIC does.
async fn fill(conn: &mut SqliteConnection, s: &DemoSource) -> Result<u64, sqlx::Error> {
    sqlx::query(&format!(
        "CREATE TABLE {t} (practice TEXT, practice_primary TEXT, practice_uid INTEGER, provider_name TEXT, \
         provider_uid INTEGER, measure TEXT, {p} TEXT, {d} DATE, {v} NUMERIC_TEXT, measure_type TEXT)",
        t = s.table,
        p = s.period_column,
        d = s.date_column,
        v = s.value_column
    ))
    .execute(&mut *conn)
    .await?;
    let insert_head = format!(
        "INSERT INTO {} (practice, practice_primary, practice_uid, provider_name, provider_uid, measure, {}, {}, {}, measure_type) VALUES ",
        s.table, s.period_column, s.date_column, s.value_column
    );
    let periods = periods();
    let mut tx = conn.begin().await?;
    let mut rows: Vec<[Option<String>; 10]> = Vec::new();
    let mut total = 0u64;
    for p in 1..=s.practices {
        let practice_uid = 1000 + 100 * s.id as u32 + p;
        for v in 0..s.providers {
            for (mi, (measure, mtype)) in s.measures.iter().enumerate() {
                for (pi, (period, date)) in periods.iter().enumerate() {
                    let seed = ((s.id as u64) << 48)
                        ^ ((p as u64) << 32)
                        ^ ((v as u64) << 24)
                        ^ ((mi as u64) << 16)
                        ^ pi as u64;
                    let h = splitmix(seed);
                    let value = match *mtype {
                        "count" => format!("{}.00", h % 500),
                        "percentage" => format!("{}.{:02}", 50 + h % 50, (h >> 8) % 100),
                        _ => format!("{}.{:02}", h % 250_000, (h >> 20) % 100),
                    };
                    rows.push([
                        Some(format!("Practice {practice_uid}")),
                        Some(format!("Dr. Lead {practice_uid}")),
                        Some(practice_uid.to_string()),
                        (v > 0).then(|| format!("Provider {practice_uid}-{v}")),
                        (v > 0).then(|| (practice_uid * 10 + v).to_string()),
                        Some((*measure).to_string()),
                        Some((*period).to_string()),
                        Some(format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())),
                        Some(value),
                        Some((*mtype).to_string()),
                    ]);
                    if rows.len() == 500 {
                        total += insert(&mut tx, &insert_head, &rows).await?;
                        rows.clear();
                    }
                }
            }
        }
    }
    // A few rows the command center would skip: missing measure, practice or period.
    if s.id == 3 {
        for (m, p, per) in [
            (None, Some("1301"), Some("Monthly")),
            (Some("No Shows"), None, Some("Weekly")),
            (Some("No Shows"), Some("1302"), None),
        ] {
            rows.push([
                Some("Incomplete".into()),
                None,
                p.map(String::from),
                None,
                None,
                m.map(String::from),
                per.map(String::from),
                Some("2025-09-30".into()),
                Some("1.00".into()),
                Some("count".into()),
            ]);
        }
    }
    total += insert(&mut tx, &insert_head, &rows).await?;
    tx.commit().await?;
    Ok(total)
}

async fn insert(conn: &mut SqliteConnection, head: &str, rows: &[[Option<String>; 10]]) -> Result<u64, sqlx::Error> {
    if rows.is_empty() {
        return Ok(0);
    }
    let mut sql = String::with_capacity(head.len() + rows.len() * 24);
    sql.push_str(head);
    for (i, _) in rows.iter().enumerate() {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str("(?,?,?,?,?,?,?,?,?,?)");
    }
    let mut q = sqlx::query(&sql);
    for row in rows {
        for cell in row {
            q = q.bind(cell.clone());
        }
    }
    Ok(q.execute(conn).await?.rows_affected())
}

/// The three demo sources on the demo database.
pub fn definitions(pool: &SqlitePool) -> Vec<SourceDef> {
    SOURCES
        .iter()
        .map(|s| SourceDef {
            id: s.id,
            name: s.name.to_string(),
            description: Some(s.description.to_string()),
            kind: SourceKind::MeasureBased,
            schema: "main".to_string(),
            table: s.table.to_string(),
            columns: GroupColumns::with_period(s.period_column),
            db: Db::Sqlite(pool.clone()),
        })
        .collect()
}

/// FNV-1a over every row of every demo table, in rowid order: equal across installs.
pub async fn checksum(pool: &SqlitePool) -> Result<u64, sqlx::Error> {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for s in &SOURCES {
        let rows: Vec<(String,)> = sqlx::query_as(&format!(
            "SELECT concat_ws('|', practice, practice_primary, practice_uid, provider_name, provider_uid, measure, {}, {}, {}, measure_type) FROM {} ORDER BY rowid",
            s.period_column, s.date_column, s.value_column, s.table
        ))
        .fetch_all(pool)
        .await?;
        for (line,) in rows {
            for b in line.bytes().chain(std::iter::once(b'\n')) {
                hash = (hash ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
    }
    Ok(hash)
}
