//! Per-source status on the Warming tab, as the seed draws it: entries, memory, age of each
//! source's cache and the time left before it expires, with its own Refresh (re-warm now) and Invalidate (confirmed, with a reason).

use leptos::either::Either;
use leptos::prelude::*;

use crate::format;
use crate::model::cache::{DatasourceCacheMetrics, InvalidateRequest};
use crate::model::input::{DatasourceId, Reason};
use crate::rpc::cache::{InvalidateCache, get_cache_stats};
use crate::rpc::jobs::StartWarm;
use crate::ui::common::confirm::{ConfirmRequest, use_confirm};
use crate::ui::common::error_box::ErrorBox;
use crate::ui::common::mutation::{Data, any_pending, use_mutation, use_stale};
use crate::ui::common::polling::use_polling_while;
use crate::ui::common::session::use_session;
use crate::ui::common::warm::warm_input;
use crate::ui::common::widgets::HealthBadge;

#[derive(Clone, Copy)]
struct Actions {
    refresh: ServerAction<StartWarm>,
    invalidate: ServerAction<InvalidateCache>,
    /// While either is on its way, neither is offered again.
    busy: Signal<bool>,
}

#[component]
pub fn SourceStatus() -> impl IntoView {
    let stale = use_stale();
    let stats = Resource::new(move || (stale.track(Data::Cache), stale.track(Data::Jobs)), |_| get_cache_stats());
    // A page of its own: a warm that finishes (started here or anywhere) shows without a reload.
    // Every 2 s while a source is being warmed (its lock held), every 15 s otherwise, as the
    // dashboard does.
    let warming =
        move || stats.with(|r| matches!(r, Some(Ok(s)) if s.datasources.iter().any(|m| m.locked_by.is_some())));
    use_polling_while(warming, 2000, 15_000, move || stats.refetch());
    let refresh = use_mutation::<StartWarm>(&[Data::Jobs, Data::Cache], |r| Some(r.message));
    let invalidate = use_mutation::<InvalidateCache>(&[Data::Cache, Data::Jobs], |r| Some(r.message));
    let busy = any_pending([refresh.pending(), invalidate.pending()]);
    let actions = Actions { refresh, invalidate, busy };
    view! {
        <section class="card" aria-labelledby="source-status-title" data-testid="source-status">
            <div class="card-head"><h2 id="source-status-title">"Sources"</h2></div>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || stats.get().map(|r| match r {
                    Ok(s) => Either::Left(view! {
                        <div class="table-wrap">
                            <table>
                                <thead>
                                    <tr>
                                        <th scope="col">"Source"</th>
                                        <th scope="col">"Health"</th>
                                        <th scope="col" class="num">"Entries"</th>
                                        <th scope="col" class="num">"Memory"</th>
                                        <th scope="col">"Age"</th>
                                        <th scope="col">"TTL left"</th>
                                        <th scope="col"><span class="sr-only">"Actions"</span></th>
                                    </tr>
                                </thead>
                                <tbody>{s.datasources.into_iter().map(|m| view! { <StatusRow m actions/> }).collect_view()}</tbody>
                            </table>
                        </div>
                    }),
                    Err(e) => Either::Right(view! { <ErrorBox error=e/> }),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn StatusRow(m: DatasourceCacheMetrics, actions: Actions) -> impl IntoView {
    let session = use_session();
    let confirm = use_confirm();
    let ds = m.datasource_id;
    let name = m.datasource_name.clone();
    let refresh = move |_| {
        actions.refresh.dispatch(warm_input(Some(ds), true, "refresh from the Warming tab"));
    };
    let invalidate = {
        let name = name.clone();
        let entries = m.total_entries;
        move |_| {
            confirm.ask(ConfirmRequest {
                title: format!("Invalidate {name}"),
                body: format!(
                    "This deletes all {} cached entries of {name} and their index sets now. Readers fall back to the database until the next warm.",
                    format::thousands(entries)
                ),
                action_label: "Invalidate".into(),
                require_text: None,
                reason_required: true,
                on_confirm: Callback::new(move |reason: String| {
                    actions.invalidate.dispatch(InvalidateCache {
                        request: InvalidateRequest {
                            datasource_id: DatasourceId::try_from(ds).ok(),
                            reason: Reason::from_text(&reason),
                            dry_run: Some(false),
                            ..Default::default()
                        },
                    });
                }),
            })
        }
    };
    // Nothing to invalidate in a cold source.
    let invalidate_disabled = if m.is_warm { actions.busy } else { Signal::stored(true) };
    view! {
        <tr data-testid=format!("status-{ds}")>
            <td>{name.clone()}</td>
            <td><HealthBadge label=m.health score=m.health_score/></td>
            <td class="num" data-testid="status-entries">{format::thousands(m.total_entries)}</td>
            <td class="num">{format!("{:.1} MB", m.estimated_memory_mb)}</td>
            <td class="small" data-testid="status-age">
                {m.age_minutes.map(format::ago_minutes).unwrap_or_else(|| "not cached".into())}
            </td>
            <td class="small" data-testid="status-ttl">
                {match (m.is_warm, m.ttl_left_secs) {
                    (false, _) => "—".to_string(),
                    (true, Some(secs)) => format::duration_secs(secs),
                    (true, None) => "no expiry".to_string(),
                }}
            </td>
            <td class="actions">
                <Show when=move || session.can_write()>
                    <button data-testid="status-refresh" disabled=actions.busy on:click=refresh>"Refresh"</button>
                    <button class="danger-outline" data-testid="status-invalidate" disabled=invalidate_disabled on:click=invalidate.clone()>"Invalidate"</button>
                </Show>
            </td>
        </tr>
    }
}
