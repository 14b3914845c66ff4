//! Server functions of the Redis tab.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;
use crate::model::redis::RedisOverview;

/// The INFO overview card; read permission; changes nothing.
#[server(prefix = "/rpc", endpoint = "redis/overview", input = GetUrl)]
pub async fn get_redis_overview() -> Result<RedisOverview, AppError> {
    let (state, _who) = crate::auth::server_fn_caller(crate::model::Permission::Read)?;
    crate::redis_admin::overview::overview(&state).await
}
