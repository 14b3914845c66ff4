//! `AppState`: everything a REST handler or a server function needs, cloned per request.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::config::Config;
use crate::error::AppError;
use crate::redis_conn::RedisConn;
use crate::source::catalog::Catalog;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub redis: RedisConn,
    pub catalog: Arc<Catalog>,
    pub leptos_options: LeptosOptions,
}

impl AppState {
    /// Builds the state without touching the network: Redis and SQL connect lazily.
    pub fn new(config: Config, leptos_options: LeptosOptions) -> Result<Self, AppError> {
        let redis = RedisConn::new(&config.redis)?;
        let config = Arc::new(config);
        let catalog = Arc::new(Catalog::new(config.clone()));
        Ok(AppState { config, redis, catalog, leptos_options })
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
