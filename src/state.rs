//! `AppState`: everything a REST handler or a server function needs, shared behind one `Arc` so
//! that cloning it per request copies a pointer.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::cache::counters::QueryRecorder;
use crate::cache::keys::Keys;
use crate::config::Config;
use crate::error::AppError;
use crate::redis_conn::RedisConn;
use crate::source::catalog::Catalog;

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What every clone of [`AppState`] shares; reached through `Deref` (`state.keys`, …).
pub struct Shared {
    pub config: Arc<Config>,
    pub redis: RedisConn,
    /// The configured prefix, applied by `Keys` and nowhere else.
    pub keys: Keys,
    pub catalog: Arc<Catalog>,
    pub query_stats: Arc<QueryRecorder>,
    /// Set once Redis refused `SORT … GET` (ACL): cached queries then use the Lua script.
    pub query_by_script: Arc<std::sync::atomic::AtomicBool>,
    /// Answers of hot queries, valid only for the generation they were read from.
    pub query_results: Arc<crate::cache::results::ResultCache>,
    /// Audit entries this process could not write (each one is also logged).
    pub audit_failures: std::sync::atomic::AtomicU64,
    /// Audit entries on their way to Redis; shutdown waits for them.
    pub audit_writes: Arc<crate::auth::audit::InFlight>,
    /// Names this process in lock tokens and job records: `host-pid-random`.
    pub instance_id: String,
    pub leptos_options: LeptosOptions,
}

impl AppState {
    /// Builds the state without touching the network: Redis and SQL connect lazily.
    pub fn new(config: Config, leptos_options: LeptosOptions) -> Result<Self, AppError> {
        let redis = RedisConn::new(&config.redis)?;
        if config.metrics.enabled() {
            crate::metrics::install();
        }
        let config = Arc::new(config);
        let catalog = Arc::new(Catalog::new(config.clone()));
        let query_results = Arc::new(crate::cache::results::ResultCache::new(config.query_cache_bytes));
        let host =
            std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "host".into());
        Ok(AppState(Arc::new(Shared {
            keys: Keys::new(&config.key_prefix),
            config,
            redis,
            catalog,
            query_stats: Arc::new(QueryRecorder::default()),
            query_by_script: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            query_results,
            audit_failures: std::sync::atomic::AtomicU64::new(0),
            audit_writes: Arc::default(),
            instance_id: format!("{host}-{}-{:04x}", std::process::id(), rand::random::<u16>()),
            leptos_options,
        })))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
