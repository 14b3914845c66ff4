//! The console's Audit view.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;
use crate::model::audit::{AuditPage, AuditQuery};
use crate::rpc::codec::Json;

/// One page of the audit trail, newest first, filtered; read permission; changes nothing.
///
/// `query` defaults: with no filter set, the query string holds none of its fields, and the
/// unfiltered view (the one the tab opens on) must still arrive as the empty query.
#[server(prefix = "/rpc", endpoint = "audit/list", input = GetUrl, output = Json)]
pub async fn list_audit(#[server(default)] query: AuditQuery) -> Result<AuditPage, AppError> {
    let (state, _who) = crate::auth::server_fn_caller(crate::model::Permission::Read)?;
    let filter = crate::auth::audit::store::Filter::parse(&query)?;
    crate::auth::audit::store::list(&state, &filter).await
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use leptos::server_fn::codec::{FromReq, GetUrl};

    use super::*;

    async fn arrives(uri: &str) -> AuditQuery {
        let request = http::Request::get(uri).body(axum::body::Body::empty()).unwrap();
        <ListAudit as FromReq<GetUrl, _, AppError>>::from_req(request).await.expect("decodes").query
    }

    #[tokio::test]
    async fn an_unfiltered_list_request_decodes_as_the_empty_query() {
        assert_eq!(arrives("/rpc/audit/list").await, AuditQuery::default());
        assert_eq!(
            arrives("/rpc/audit/list?query[action]=cache_warm_initiated&query[cursor]=5-0").await,
            AuditQuery {
                action: Some("cache_warm_initiated".into()),
                cursor: Some("5-0".into()),
                ..AuditQuery::default()
            }
        );
    }
}
