//! The audit entries as a table, newest first: when, who, what, to what, why, and how it ended.

use std::collections::BTreeMap;

use leptos::either::Either;
use leptos::prelude::*;

use super::filters::audit_href;
use crate::format;
use crate::model::audit::{AuditEntry, AuditOutcome, AuditQuery};

/// Source names by id, for the Source column.
pub type SourceNames = StoredValue<BTreeMap<i64, String>>;

#[component]
pub fn AuditTable(
    /// The first page (drawn on the server).
    first: Vec<AuditEntry>,
    /// Older entries "More" loaded since.
    older: RwSignal<Vec<AuditEntry>>,
    names: SourceNames,
    /// True while the first page is loading again (new filters, Refresh).
    #[prop(into)]
    busy: Signal<bool>,
) -> impl IntoView {
    view! {
        <div class="table-wrap" aria-busy=move || busy.get().to_string()>
            <table class="audit-table" data-testid="audit-table">
                <caption class="sr-only">"Audit entries, newest first"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Time (UTC)"</th>
                        <th scope="col">"User"</th>
                        <th scope="col">"Action"</th>
                        <th scope="col">"Target"</th>
                        <th scope="col">"Source"</th>
                        <th scope="col">"Reason"</th>
                        <th scope="col">"Outcome"</th>
                        <th scope="col">"Detail"</th>
                    </tr>
                </thead>
                <tbody>
                    {first.into_iter().map(|entry| view! { <AuditRow entry names/> }).collect_view()}
                    <For each=move || older.get() key=|e| e.id.clone() let:entry>
                        <AuditRow entry names/>
                    </For>
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn AuditRow(entry: AuditEntry, names: SourceNames) -> impl IntoView {
    let e = entry;
    let source = e.source_id.map(|id| {
        names.with_value(|n| n.get(&id).map(|name| format!("{name} (#{id})")).unwrap_or_else(|| format!("#{id}")))
    });
    let counts = (!e.counts.is_empty()).then(|| {
        e.counts.iter().map(|(k, v)| format!("{k} {}", format::thousands(*v))).collect::<Vec<_>>().join(" · ")
    });
    let trace = format!("request {} from {}", e.request_id, if e.client.is_empty() { "?" } else { &e.client });
    view! {
        <tr data-testid="audit-row" data-action=e.action.as_str() data-outcome=e.outcome.as_str() data-id=e.id.clone()>
            <td class="when"><time datetime=e.at.clone() title=e.at.clone()>{format::utc_time(&e.at)}</time></td>
            <td class="who"><Who id=e.user_id.clone() name=e.user_name.clone()/></td>
            <td title=e.action.as_str()>{e.action.label()}</td>
            <td class="target mono">{e.target.clone()}</td>
            <td class="source">{source}</td>
            <td class="reason" data-testid="audit-reason">{e.reason.clone()}</td>
            <td><OutcomeBadge outcome=e.outcome status=e.status/></td>
            <td class="detail" title=trace>
                {e.detail.clone()}
                {counts.map(|c| view! { <div class="muted small" data-testid="audit-counts">{c}</div> })}
            </td>
        </tr>
    }
}

/// The caller's name (or id), a link to their entries alone.
#[component]
fn Who(id: String, name: Option<String>) -> impl IntoView {
    if id.is_empty() {
        return Either::Left(view! { <span class="muted">"not signed in"</span> });
    }
    let href = crate::app::base_path();
    let href = audit_href(&href, &AuditQuery { user: Some(id.clone()), ..AuditQuery::default() });
    let title = format!("{id}: show only this user's entries");
    Either::Right(view! { <a href=href title=title>{name.unwrap_or(id)}</a> })
}

#[component]
pub fn OutcomeBadge(outcome: AuditOutcome, status: u16) -> impl IntoView {
    view! {
        <span class=format!("badge outcome-{}", outcome.as_str()) data-testid="audit-outcome" title=format!("HTTP {status}")>
            {outcome.as_str()}
        </span>
    }
}
