//! The data sources of this Hearth, from the demo, a file or the command center's registry:
//! definitions (re-read at most every 30 s, so new registry rows appear), connection pools shared
//! per URL, and a listing with row counts checked at most once a minute. A source that fails is
//! listed with its error; it never hides the others.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use tokio::sync::OnceCell;

use super::{Db, SourceDef, SourceKind};
use crate::config::{Config, SourcesSpec};
use crate::error::AppError;
use crate::model::source::SourceInfo;

/// A warm streams a whole table in one statement, so seconds are normal: sqlx's slow-statement
/// warnings would fire on every warm. They stay available at debug level.
pub(crate) const SLOW_STATEMENT_LOG: log::LevelFilter = log::LevelFilter::Debug;
pub(crate) const SLOW_STATEMENT: Duration = Duration::from_secs(1);

const DEFINITIONS_TTL: Duration = Duration::from_secs(30);
const INFO_TTL: Duration = Duration::from_secs(60);
const CHECK_TIMEOUT: Duration = Duration::from_secs(20);

/// What is known about a source even when its definition is unusable.
#[derive(Debug, Clone)]
pub struct SourceHeader {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub kind: Option<SourceKind>,
    pub backend: String,
    pub schema: String,
    pub table: String,
    pub period_column: String,
}

#[derive(Debug, Clone)]
pub enum DefEntry {
    Ok(SourceDef),
    Failed { header: SourceHeader, error: AppError },
}

impl DefEntry {
    pub fn id(&self) -> i64 {
        match self {
            DefEntry::Ok(d) => d.id,
            DefEntry::Failed { header, .. } => header.id,
        }
    }
}

impl SourceDef {
    pub fn header(&self) -> SourceHeader {
        SourceHeader {
            id: self.id,
            name: self.name.clone(),
            description: self.description.clone(),
            kind: Some(self.kind),
            backend: self.db.backend().to_string(),
            schema: self.schema.clone(),
            table: self.table.clone(),
            period_column: self.columns.period.clone(),
        }
    }
}

type Cached<T> = Option<(Instant, T)>;

pub struct Catalog {
    config: Arc<Config>,
    pools: Mutex<HashMap<String, Db>>,
    demo: OnceCell<sqlx::SqlitePool>,
    definitions: tokio::sync::Mutex<Cached<Arc<Vec<DefEntry>>>>,
    infos: Mutex<HashMap<i64, (Instant, SourceInfo)>>,
}

impl Catalog {
    pub fn new(config: Arc<Config>) -> Self {
        Catalog {
            config,
            pools: Mutex::new(HashMap::new()),
            demo: OnceCell::new(),
            definitions: tokio::sync::Mutex::new(None),
            infos: Mutex::new(HashMap::new()),
        }
    }

    /// A pool for `url`, created lazily (no connection until first use) and shared.
    pub fn connect(&self, url: &str) -> Result<Db, AppError> {
        let mut pools = self.pools.lock().expect("pool map lock");
        if let Some(db) = pools.get(url) {
            return Ok(db.clone());
        }
        let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)
                .map_err(|_| AppError::validation("the URL is not a valid PostgreSQL URL"))?
                .log_slow_statements(SLOW_STATEMENT_LOG, SLOW_STATEMENT);
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(self.config.sql_connect_timeout)
                .connect_lazy_with(options);
            Db::Postgres(pool)
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            let options = SqliteConnectOptions::new()
                .filename(path)
                .read_only(true)
                .log_slow_statements(SLOW_STATEMENT_LOG, SLOW_STATEMENT);
            Db::Sqlite(SqlitePoolOptions::new().max_connections(4).connect_lazy_with(options))
        } else {
            return Err(AppError::validation("the URL must start with postgres:// or sqlite://"));
        };
        pools.insert(url.to_string(), db.clone());
        Ok(db)
    }

    fn pg(&self, url: &str) -> Result<sqlx::PgPool, AppError> {
        match self.connect(url)? {
            Db::Postgres(p) => Ok(p),
            Db::Sqlite(_) => Err(AppError::validation("a PostgreSQL URL is needed here")),
        }
    }

    async fn load(&self) -> Result<Vec<DefEntry>, AppError> {
        let config = &self.config;
        match &config.sources {
            SourcesSpec::Demo => {
                let pool = self.demo.get_or_try_init(|| super::demo::open(&config.data_dir)).await?;
                Ok(super::demo::definitions(pool).into_iter().map(DefEntry::Ok).collect())
            }
            SourcesSpec::File { path } => {
                super::file::load(path, &config.allowed_schemas, &mut |url| self.connect(url))
            }
            SourcesSpec::Registry { url } => {
                let registry =
                    self.pg(url).map_err(|e| AppError::validation(format!("HEARTH_SOURCES: {}", e.message)))?;
                let rows_url = config.analytics_database_url.as_deref().unwrap_or(url);
                let rows = self
                    .pg(rows_url)
                    .map_err(|e| AppError::validation(format!("HEARTH_ANALYTICS_DATABASE_URL: {}", e.message)))?;
                super::registry::discover(&registry, &config.registry_schema, &rows, &config.allowed_schemas).await
            }
        }
    }

    /// Every source definition, usable or not.
    pub async fn entries(&self) -> Result<Arc<Vec<DefEntry>>, AppError> {
        let mut cached = self.definitions.lock().await;
        if let Some((at, entries)) = cached.as_ref()
            && at.elapsed() < DEFINITIONS_TTL
        {
            return Ok(entries.clone());
        }
        let entries = Arc::new(self.load().await?);
        *cached = Some((Instant::now(), entries.clone()));
        Ok(entries)
    }

    /// Forget cached definitions and checks (after the registry changed).
    pub async fn refresh(&self) {
        *self.definitions.lock().await = None;
        self.infos.lock().expect("info lock").clear();
    }

    /// The usable definition of source `id`: 404 when unknown, the source's error when broken.
    pub async fn get(&self, id: i64) -> Result<SourceDef, AppError> {
        let entries = self.entries().await?;
        match entries.iter().find(|e| e.id() == id) {
            Some(DefEntry::Ok(def)) => Ok(def.clone()),
            Some(DefEntry::Failed { error, .. }) => Err(error.clone()),
            None => Err(AppError::not_found(format!("no data source with id {id}"))),
        }
    }

    /// Every source with its row count and health of definition; failures are listed, not raised.
    pub async fn list(&self) -> Result<Vec<SourceInfo>, AppError> {
        let entries = self.entries().await?;
        let checks = entries.iter().map(|entry| self.info(entry));
        Ok(futures::future::join_all(checks).await)
    }

    async fn info(&self, entry: &DefEntry) -> SourceInfo {
        let (header, def) = match entry {
            DefEntry::Ok(def) => (def.header(), def),
            DefEntry::Failed { header, error } => return info_of(header, None, Some(error.message.clone())),
        };
        if let Some((at, info)) = self.infos.lock().expect("info lock").get(&def.id)
            && at.elapsed() < INFO_TTL
        {
            return info.clone();
        }
        let check = async {
            if def.kind == SourceKind::MeasureBased {
                super::introspect(def).await?;
            }
            super::count(def).await
        };
        let info = match tokio::time::timeout(CHECK_TIMEOUT, check).await {
            Ok(Ok(rows)) => info_of(&header, Some(rows), None),
            Ok(Err(e)) => info_of(&header, None, Some(e.message)),
            Err(_) => info_of(
                &header,
                None,
                Some(format!("{}: the database did not answer within {} s", def.label(), CHECK_TIMEOUT.as_secs())),
            ),
        };
        self.infos.lock().expect("info lock").insert(def.id, (Instant::now(), info.clone()));
        info
    }
}

fn info_of(h: &SourceHeader, rows: Option<u64>, error: Option<String>) -> SourceInfo {
    SourceInfo {
        id: h.id,
        name: h.name.clone(),
        description: h.description.clone(),
        kind: h.kind,
        backend: h.backend.clone(),
        schema: h.schema.clone(),
        table: h.table.clone(),
        period_column: h.period_column.clone(),
        row_count: rows,
        counted_at: rows.map(|_| crate::time::now_iso()),
        warmable: error.is_none() && h.kind == Some(SourceKind::MeasureBased),
        error,
    }
}
