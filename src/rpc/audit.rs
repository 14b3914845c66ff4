//! The console's Audit view.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;
use crate::model::audit::{AuditPage, AuditQuery};

/// One page of the audit trail, newest first, filtered; read permission; changes nothing.
#[server(prefix = "/rpc", endpoint = "audit/list", input = GetUrl)]
pub async fn list_audit(query: AuditQuery) -> Result<AuditPage, AppError> {
    let (state, _who) = crate::auth::server_fn_caller(crate::model::Permission::Read)?;
    let filter = crate::auth::audit::store::Filter::parse(&query)?;
    crate::auth::audit::store::list(&state, &filter).await
}
