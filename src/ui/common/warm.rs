//! A warm asked for from the console: the Analytics Cache tab, a source's page, the health report
//! and the Warming tab all start one the same way.

use leptos::prelude::*;

use crate::model::input::{DatasourceId, Reason};
use crate::model::jobs::WarmRequest;
use crate::rpc::jobs::StartWarm;
use crate::ui::common::mutation::{Data, use_mutation};
use crate::ui::common::toast::{ToastKind, use_toasts};

/// The warm action of a page: a warm that queued nothing (already warming, warmed moments ago)
/// is a warning that says why in words, not a success.
pub fn warm_action() -> ServerAction<StartWarm> {
    let toasts = use_toasts();
    use_mutation::<StartWarm>(&[Data::Jobs, Data::Cache], move |r| {
        if r.datasources_queued.is_empty() {
            toasts.push(ToastKind::Error, r.message);
            None
        } else {
            Some(r.message)
        }
    })
}

/// A warm the console asks for: one source (`None`: all), `force` past the re-warm interval,
/// with the reason the audit log records.
pub fn warm_input(datasource_id: Option<i64>, force: bool, reason: &str) -> StartWarm {
    StartWarm {
        request: WarmRequest {
            datasource_id: datasource_id.and_then(|ds| DatasourceId::try_from(ds).ok()),
            force: force.then_some(true),
            reason: Reason::from_text(reason),
            full: None,
        },
    }
}
