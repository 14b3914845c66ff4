//! Server functions of the sessions panel: who is signed in, and ending a session.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;
use crate::model::auth::SessionSummary;
use crate::rpc::codec::Json;

/// Every live browser session; write permission; changes nothing.
#[server(prefix = "/rpc", endpoint = "auth/sessions", input = GetUrl, output = Json)]
pub async fn list_sessions() -> Result<Vec<SessionSummary>, AppError> {
    let (state, who) = crate::auth::server_fn_caller(crate::model::Permission::Write)?;
    crate::auth::session::list(&state, who.session.as_deref()).await
}

/// Ends one session by id (its holder must sign in again); write permission.
#[server(prefix = "/rpc", endpoint = "auth/sessions/revoke", output = Json)]
pub async fn revoke_session(id: String) -> Result<(), AppError> {
    let (state, who) = crate::auth::server_fn_caller(crate::model::Permission::Write)?;
    crate::auth::session::revoke_as(&state, &id, &who).await
}
