//! The per-source table: health, numbers and coverage, each name a link to the source's page;
//! warm and invalidate buttons.

use leptos::prelude::*;

use super::health::{SourceHealth, source_href};
use super::invalidate::InvalidateDraft;
use crate::error::AppError;
use crate::format;
use crate::model::cache::{CacheStats, DatasourceCacheMetrics};
use crate::model::jobs::WarmingStatus;
use crate::rpc::jobs::StartWarm;
use crate::ui::common::form::RpcForm;
use crate::ui::common::session::use_session;
use crate::ui::common::warm::warm_input;
use crate::ui::common::widgets::ProgressBar;

#[component]
pub fn SourceTable(
    stats: CacheStats,
    jobs: Resource<Result<WarmingStatus, AppError>>,
    warm: ServerAction<StartWarm>,
    draft: InvalidateDraft,
) -> impl IntoView {
    let session = use_session();
    view! {
        <section class="card" aria-labelledby="sources-title">
            <div class="card-head">
                <h2 id="sources-title">"Data sources"</h2>
                <Show when=move || session.can_write()>
                    // A plain form: it works before hydration too.
                    <RpcForm action=warm input=warm_input(None, true, "warm all from the console") class="inline">
                        <button type="submit" class="primary" data-testid="warm-all" disabled=warm.pending()>"Warm all"</button>
                    </RpcForm>
                </Show>
            </div>
            <div class="table-wrap">
                <table class="sources" data-testid="sources-table">
                    <thead>
                        <tr>
                            <th scope="col">"Source"</th>
                            <th scope="col">"Health"</th>
                            <th scope="col" class="num">"Entries"</th>
                            <th scope="col" class="num">"Memory"</th>
                            <th scope="col" class="num">"Hit rate"</th>
                            <th scope="col" class="num">"Query avg / p95"</th>
                            <th scope="col">"Warmed"</th>
                            <th scope="col">"Coverage"</th>
                            <th scope="col"><span class="sr-only">"Actions"</span></th>
                        </tr>
                    </thead>
                    <tbody>
                        {stats.datasources.into_iter().map(|s| view! { <SourceRow s jobs warm draft/> }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn SourceRow(
    s: DatasourceCacheMetrics,
    jobs: Resource<Result<WarmingStatus, AppError>>,
    warm: ServerAction<StartWarm>,
    draft: InvalidateDraft,
) -> impl IntoView {
    let session = use_session();
    let ds = s.datasource_id;
    let job = move || {
        jobs.get().and_then(|r| r.ok()).and_then(|st| st.active_jobs.into_iter().find(|j| j.datasource_id == ds))
    };
    let name = s.datasource_name.clone();
    let frequencies = s.unique_frequencies.clone();
    view! {
        <tr data-testid=format!("source-{ds}") class:cold=!s.is_warm>
            <th scope="row">
                <a href=source_href(ds) data-testid="source-link">{s.datasource_name.clone()}</a>
                <span class="muted small">" #"{ds}</span>
                {s.source_error.clone().map(|e| {
                    let title = e.clone();
                    view! { <div class="error-inline small" title=title>"source problem: "{e}</div> }
                })}
            </th>
            <td><SourceHealth label=s.health score=s.health_score no_traffic=s.no_traffic_yet/></td>
            <td class="num" data-testid="entries">{format::thousands(s.total_entries)}</td>
            <td class="num">{format!("{:.1} MB", s.estimated_memory_mb)}</td>
            <td class="num" data-testid="hit-rate">
                {if s.total_queries == 0 { "–".to_string() } else { format!("{:.1} %", s.cache_hit_rate) }}
                <span class="muted small">{format!(" ({} q)", format::thousands(s.total_queries))}</span>
            </td>
            <td class="num">{format!("{:.2} / {:.1} ms", s.avg_query_time_ms, s.p95_query_time_ms)}</td>
            <td>
                <LastWarmed s=s.clone()/>
                {move || job().map(|j| view! {
                    <div class="inline-job" data-testid="row-job">
                        <span class="small">{j.status.as_str()}</span>
                        <ProgressBar percent=Signal::derive(move || j.progress) label=format!("warming {}", j.datasource_name)/>
                    </div>
                })}
            </td>
            <td class="small" data-testid="coverage">
                {if s.is_warm {
                    format!("{} measures · {} practices · {} providers · {}", s.unique_measures, s.unique_practices, s.unique_providers, s.unique_frequencies.join("/"))
                } else {
                    "–".to_string()
                }}
            </td>
            <td class="actions">
                <Show when=move || session.can_write()>
                    <RpcForm action=warm input=warm_input(Some(ds), true, "warm from the console") class="inline">
                        <button type="submit" data-testid="warm-source" disabled=move || job().is_some() || warm.pending().get()>"Warm"</button>
                    </RpcForm>
                    <button class="danger-outline" data-testid="invalidate-source" on:click=draft.opener(ds, name.clone(), frequencies.clone())>"Invalidate"</button>
                </Show>
            </td>
        </tr>
    }
}

/// When the source was last warmed, true after a whole-source invalidation too ("cold since
/// …, last warmed …"), never "never" for a source that was warm.
#[component]
pub fn LastWarmed(s: DatasourceCacheMetrics) -> impl IntoView {
    let text = match (s.age_minutes, &s.last_warmed, &s.invalidated_at) {
        (Some(age), _, _) => format::ago_minutes(age),
        (None, Some(at), Some(inv)) => {
            format!("invalidated {} UTC; last warmed {} UTC", format::utc_time(inv), format::utc_time(at))
        }
        (None, Some(at), None) => format!("last warmed {} UTC", format::utc_time(at)),
        (None, None, _) => "never".into(),
    };
    view! { <span data-testid="last-warmed">{text}</span> }
}
