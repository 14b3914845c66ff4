//! Server functions about data sources.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;
use crate::model::source::SourceInfo;
use crate::rpc::codec::Json;

/// Every data source with its row count and problems; read permission; changes nothing.
#[server(prefix = "/rpc", endpoint = "sources", input = GetUrl, output = Json)]
pub async fn list_sources() -> Result<Vec<SourceInfo>, AppError> {
    let (state, _who) = crate::auth::server_fn_caller(crate::model::Permission::Read)?;
    state.catalog.list().await
}
