//! Small, exact datasets for cache tests: SQLite sources whose rows carry a generation marker,
//! a per-test random source id, and snapshots of a source's live keys (DUMP bytes).

use std::collections::{BTreeMap, BTreeSet};

use hearth::source::{Db, GroupColumns, SourceDef, SourceKind};
use hearth::state::AppState;

/// One source row: measure, practice, provider, frequency, date, value, generation.
#[derive(Debug, Clone)]
pub struct Row {
    pub measure: String,
    pub practice: i64,
    pub provider: Option<i64>,
    pub frequency: String,
    pub date: String,
    pub value: String,
    pub generation: String,
}

pub fn grid(
    generation: &str,
    measures: &[&str],
    practices: &[i64],
    providers: &[Option<i64>],
    frequencies: &[&str],
    dates: usize,
) -> Vec<Row> {
    let mut out = Vec::new();
    for m in measures {
        for p in practices {
            for v in providers {
                for f in frequencies {
                    for d in 0..dates {
                        out.push(Row {
                            measure: m.to_string(),
                            practice: *p,
                            provider: *v,
                            frequency: f.to_string(),
                            date: format!("2025-{:02}-28", d % 12 + 1),
                            value: format!("{}.{:02}", p * 7 + d as i64, d % 100),
                            generation: generation.to_string(),
                        });
                    }
                }
            }
        }
    }
    out
}

/// The JSON of a row exactly as the source layer produces it for the fixture table.
pub fn row_json(r: &Row) -> String {
    format!(
        r#"{{"measure":"{}","practice_uid":{},"provider_uid":{},"frequency":"{}","date_index":"{}T00:00:00.000Z","measure_value":"{}","generation":"{}"}}"#,
        r.measure,
        r.practice,
        r.provider.map(|p| p.to_string()).unwrap_or_else(|| "null".into()),
        r.frequency,
        r.date,
        r.value,
        r.generation
    )
}

/// A random source id, so tests sharing an (even empty) prefix never meet.
pub fn random_ds() -> i64 {
    1_000_000 + (rand::random::<u32>() % 1_000_000_000) as i64
}

/// A SQLite database in `dir` with one table per dataset, all indexed by the grouping columns.
pub async fn sqlite_pool(dir: &std::path::Path) -> sqlx::SqlitePool {
    let path = dir.join("fixtures.sqlite");
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(&path).create_if_missing(true))
        .await
        .unwrap()
}

pub async fn create_table(pool: &sqlx::SqlitePool, table: &str, rows: &[Row]) {
    sqlx::raw_sql(&format!(
        "CREATE TABLE {table} (measure TEXT, practice_uid INTEGER, provider_uid INTEGER, frequency TEXT, date_index DATE,
           measure_value NUMERIC_TEXT, generation TEXT);
         CREATE INDEX {table}_g ON {table} (measure, practice_uid, provider_uid, frequency);"
    ))
    .execute(pool)
    .await
    .unwrap();
    let mut tx = pool.begin().await.unwrap();
    for r in rows {
        sqlx::query(&format!("INSERT INTO {table} VALUES (?, ?, ?, ?, ?, ?, ?)"))
            .bind(&r.measure)
            .bind(r.practice)
            .bind(r.provider)
            .bind(&r.frequency)
            .bind(&r.date)
            .bind(&r.value)
            .bind(&r.generation)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}

pub fn sqlite_def(pool: &sqlx::SqlitePool, ds: i64, table: &str) -> SourceDef {
    SourceDef {
        id: ds,
        name: format!("Fixture {table}"),
        description: None,
        kind: SourceKind::MeasureBased,
        schema: "main".into(),
        table: table.into(),
        columns: GroupColumns::with_period("frequency"),
        db: Db::Sqlite(pool.clone()),
    }
}

/// Rows grouped the way the cache groups them, with the expected JSON value of each entry.
pub fn expected_entries(rows: &[Row]) -> BTreeMap<(String, i64, Option<i64>, String), String> {
    // Inside a group the cache keeps the source's order: the fixture table's insertion order.
    let mut out: BTreeMap<(String, i64, Option<i64>, String), Vec<String>> = BTreeMap::new();
    for r in rows {
        out.entry((r.measure.clone(), r.practice, r.provider, r.frequency.clone())).or_default().push(row_json(r));
    }
    out.into_iter().map(|(k, v)| (k, format!("[{}]", v.join(",")))).collect()
}

/// Every key of source `ds` under the state's prefix, with its DUMP bytes.
pub async fn snapshot(state: &AppState, ds: i64, live_only: bool) -> BTreeMap<String, Vec<u8>> {
    let mut conn = state.redis.bulk().await.unwrap();
    let prefix = state.keys.prefix().to_string();
    let patterns: Vec<String> = if live_only {
        vec![
            format!("{prefix}cache:{{ds:{ds}}}:*"),
            format!("{prefix}idx:{{ds:{ds}}}:*"),
            format!("{prefix}cache:meta:{{ds:{ds}}}:*"),
        ]
    } else {
        vec![format!("{prefix}*{{ds:{ds}}}*")]
    };
    let mut out = BTreeMap::new();
    for pattern in patterns {
        let walk = hearth::cache::scan::Walk::new(state.redis.bulk().await.unwrap(), pattern);
        let mut walk = walk.across(&state.redis).await.unwrap();
        while let Some(keys) = walk.next_page().await.unwrap() {
            for k in keys {
                let dump: Option<Vec<u8>> = redis::cmd("DUMP").arg(&k).query_async(&mut conn).await.unwrap();
                if let Some(d) = dump {
                    out.insert(k, d);
                }
            }
        }
    }
    out
}

/// The keys of a run's shadow copy or scan sets among `keys` (a warm that ended, however it
/// ended, must leave none).
pub fn shadow_keys<V>(keys: &BTreeMap<String, V>) -> Vec<&String> {
    keys.keys().filter(|k| k.contains(":run:") || k.contains(":scan:")).collect()
}

pub async fn smembers(key: &str) -> BTreeSet<String> {
    let mut conn = super::raw_redis().await;
    redis::cmd("SMEMBERS").arg(key).query_async(&mut conn).await.unwrap()
}

/// The generation markers in a query's rows.
pub fn generations(rows_json: &str) -> BTreeSet<String> {
    let rows: Vec<serde_json::Value> = serde_json::from_str(rows_json).unwrap();
    rows.iter().map(|r| r["generation"].as_str().unwrap_or("?").to_string()).collect()
}

/// Deletes a test's keys when dropped, so a failing test leaves nothing behind either.
pub struct Cleanup {
    prefix: String,
    sources: Vec<i64>,
    audit: Option<std::sync::Arc<hearth::auth::audit::InFlight>>,
}

/// Deletes every key starting with `prefix` (a test's own `t:` prefix) when dropped.
pub fn cleanup_prefix_on_drop(prefix: &str) -> Cleanup {
    assert!(prefix.starts_with("t:"), "only test prefixes are cleaned whole");
    Cleanup { prefix: prefix.to_string(), sources: Vec::new(), audit: None }
}

pub fn cleanup_on_drop(state: &AppState, sources: &[i64]) -> Cleanup {
    Cleanup {
        prefix: state.keys.prefix().to_string(),
        sources: sources.to_vec(),
        audit: Some(state.audit_writes.clone()),
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let (prefix, sources, audit) = (self.prefix.clone(), self.sources.clone(), self.audit.take());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                // A test's own prefix goes whole (jobs, schedules…); a shared one only per source.
                let patterns: Vec<String> = if prefix.starts_with("t:") {
                    vec![format!("{prefix}*")]
                } else {
                    sources.iter().map(|ds| format!("{prefix}*{{ds:{ds}}}*")).collect()
                };
                for pattern in patterns {
                    super::unlink_matching(&pattern).await;
                }
                // Audit entries are written in the background, a moment after the answer that
                // caused them: one may land after the sweep and recreate the trail. With the
                // state, wait until they have landed (at most as long as without it: a
                // single-threaded test's runtime cannot run them now, and drops them unwritten).
                let grace = std::time::Duration::from_millis(300);
                match audit {
                    Some(writes) => {
                        writes.drain(grace).await;
                    }
                    None => tokio::time::sleep(grace).await,
                }
                let trail = hearth::cache::keys::Keys::new(&prefix).audit_log();
                let _: Result<(), _> = redis::cmd("UNLINK").arg(trail).query_async(&mut super::raw_redis().await).await;
            });
        })
        .join()
        .ok();
    }
}

/// A sources file over fixture tables of one SQLite database.
pub fn sources_file(dir: &super::TempDir, sources: &[(i64, &str)]) -> String {
    let db = dir.0.join("fixtures.sqlite");
    let mut text = String::new();
    for (id, table) in sources {
        text.push_str(&format!(
            "[[source]]\nid = {id}\nname = \"Source {id}\"\nurl = \"sqlite://{}\"\nschema = \"main\"\ntable = \"{table}\"\nperiod_column = \"frequency\"\n\n",
            db.display()
        ));
    }
    let file = dir.0.join("sources.toml");
    std::fs::write(&file, text).unwrap();
    format!("file:{}", file.display())
}
