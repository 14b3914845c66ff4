//! The caller's rate-limit budget, for the console's "8 of 10 warms left this hour".

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;
use crate::model::limits::Budgets;
use crate::rpc::codec::Json;

/// The caller's own budget in every limited class; any signed-in caller; changes nothing.
#[server(prefix = "/rpc", endpoint = "limits", input = GetUrl, output = Json)]
pub async fn get_limits() -> Result<Budgets, AppError> {
    let (state, who) = crate::auth::server_fn_principal()?;
    crate::auth::limits::budgets(&state, &who).await
}
