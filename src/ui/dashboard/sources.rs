//! The per-source table: health, numbers, warnings and trends; warm and invalidate buttons.

use leptos::prelude::*;

use crate::model::input::DatasourceId;

use super::invalidate::InvalidatePanel;
use crate::error::AppError;
use crate::format;
use crate::model::cache::{CacheStats, DatasourceCacheMetrics};
use crate::model::jobs::WarmingStatus;
use crate::rpc::cache::{InvalidateCache, get_trends};
use crate::rpc::jobs::StartWarm;
use crate::ui::common::form::RpcForm;
use crate::ui::common::session::use_session;
use crate::ui::common::widgets::{HealthBadge, ProgressBar, Sparkline};

#[component]
pub fn SourceTable(
    stats: CacheStats,
    jobs: Resource<Result<WarmingStatus, AppError>>,
    warm: ServerAction<StartWarm>,
    invalidate: ServerAction<InvalidateCache>,
) -> impl IntoView {
    let session = use_session();
    view! {
        <section class="card" aria-labelledby="sources-title">
            <div class="card-head">
                <h2 id="sources-title">"Data sources"</h2>
                <Show when=move || session.can_write()>
                    // A plain form: it works before hydration too.
                    <RpcForm action=warm class="inline">
                        <input type="hidden" name="request[force]" value="true"/>
                        <input type="hidden" name="request[reason]" value="warm all from the console"/>
                        <button type="submit" class="primary" data-testid="warm-all" disabled=move || warm.pending().get()>"Warm all"</button>
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
                        {stats.datasources.into_iter().map(|s| view! { <SourceRow s jobs warm invalidate/> }).collect_view()}
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
    invalidate: ServerAction<InvalidateCache>,
) -> impl IntoView {
    let session = use_session();
    let open = RwSignal::new(false);
    let invalidating = RwSignal::new(false);
    let ds = s.datasource_id;
    let job = move || {
        jobs.get().and_then(|r| r.ok()).and_then(|st| st.active_jobs.into_iter().find(|j| j.datasource_id == ds))
    };
    let name = s.datasource_name.clone();
    let frequencies = s.unique_frequencies.clone();
    let detail = s.clone();
    view! {
        <tr data-testid=format!("source-{ds}") class:cold=!s.is_warm>
            <th scope="row">
                <button class="link" aria-expanded=move || open.get().to_string() on:click=move |_| open.update(|o| *o = !*o)>
                    {s.datasource_name.clone()}
                </button>
                <span class="muted small">" #"{ds}</span>
                {s.source_error.clone().map(|e| {
                    let title = e.clone();
                    view! { <div class="error-inline small" title=title>"source problem: "{e}</div> }
                })}
            </th>
            <td><HealthBadge label=s.health score=s.health_score/></td>
            <td class="num" data-testid="entries">{format::thousands(s.total_entries)}</td>
            <td class="num">{format!("{:.1} MB", s.estimated_memory_mb)}</td>
            <td class="num" data-testid="hit-rate">
                {if s.total_queries == 0 { "–".to_string() } else { format!("{:.1} %", s.cache_hit_rate) }}
                <span class="muted small">{format!(" ({} q)", format::thousands(s.total_queries))}</span>
            </td>
            <td class="num">{format!("{:.2} / {:.1} ms", s.avg_query_time_ms, s.p95_query_time_ms)}</td>
            <td>
                {s.age_minutes.map(format::ago_minutes).unwrap_or_else(|| "never".into())}
                {move || job().map(|j| view! {
                    <div class="inline-job" data-testid="row-job">
                        <span class="small">{j.status.as_str()}</span>
                        <ProgressBar percent=Signal::derive(move || j.progress) label=format!("warming {}", j.datasource_name)/>
                    </div>
                })}
            </td>
            <td class="small">
                {if s.is_warm {
                    format!("{} measures · {} practices · {} providers · {}", s.unique_measures, s.unique_practices, s.unique_providers, s.unique_frequencies.join("/"))
                } else {
                    "–".to_string()
                }}
            </td>
            <td class="actions">
                <Show when=move || session.can_write()>
                    <RpcForm action=warm class="inline">
                        <input type="hidden" name="request[datasourceId]" value=ds/>
                        <input type="hidden" name="request[force]" value="true"/>
                        <input type="hidden" name="request[reason]" value="warm from the console"/>
                        <button type="submit" data-testid="warm-source" disabled=move || job().is_some() || warm.pending().get()>"Warm"</button>
                    </RpcForm>
                    <button class="danger-outline" data-testid="invalidate-source" on:click=move |_| invalidating.set(true)>"Invalidate"</button>
                </Show>
            </td>
        </tr>
        <Show when=move || invalidating.get()>
            <tr class="detail">
                <td colspan="9">
                    <InvalidatePanel ds=ds name=name.clone() frequencies=frequencies.clone() close=Callback::new(move |_| invalidating.set(false)) invalidate/>
                </td>
            </tr>
        </Show>
        <Show when=move || open.get()>
            <tr class="detail">
                <td colspan="9"><SourceDetail s=detail.clone()/></td>
            </tr>
        </Show>
    }
}

#[component]
fn SourceDetail(s: DatasourceCacheMetrics) -> impl IntoView {
    let range = RwSignal::new("1h".to_string());
    let ds = s.datasource_id;
    let trends = Resource::new(
        move || range.get(),
        move |r| async move {
            match DatasourceId::try_from(ds) {
                Ok(id) => get_trends(id, r).await,
                Err(e) => Err(crate::error::AppError::validation(e)),
            }
        },
    );
    view! {
        <div class="source-detail" data-testid="source-detail">
            <div>
                <h3>"Warnings"</h3>
                {if s.warnings.is_empty() {
                    view! { <p class="muted">"None."</p> }.into_any()
                } else {
                    view! { <ul>{s.warnings.iter().map(|w| view! { <li>{w.clone()}</li> }).collect_view()}</ul> }.into_any()
                }}
                {(!s.recommendations.is_empty()).then(|| view! {
                    <h3>"Recommendations"</h3>
                    <ul>{s.recommendations.iter().map(|w| view! { <li>{w.clone()}</li> }).collect_view()}</ul>
                })}
                <p class="small muted">
                    {format!("{} rows · {} index sets", format::thousands(s.total_rows), format::thousands(s.index_count))}
                    {s.last_duration_ms.map(|ms| format!(" · last warm took {}", format::duration_secs(ms / 1000)))}
                    {s.locked_by.clone().map(|l| format!(" · locked by {l}"))}
                </p>
            </div>
            <div>
                <h3>
                    "Queries "
                    <select aria-label="Trend range" on:change=move |ev| range.set(event_target_value(&ev))>
                        <option value="1h">"last hour"</option>
                        <option value="24h">"last day"</option>
                        <option value="7d">"last week"</option>
                    </select>
                </h3>
                <Suspense fallback=|| view! { <p class="muted">"…"</p> }>
                    {move || trends.get().map(|r| match r {
                        Ok(t) => {
                            let volume: Vec<f64> = t.points.iter().map(|p| (p.hits + p.misses) as f64).collect();
                            let p95: Vec<f64> = t.points.iter().map(|p| p.p95_ms).collect();
                            let (hits, misses) = t.points.iter().fold((0, 0), |(h, m), p| (h + p.hits, m + p.misses));
                            view! {
                                <div class="trend"><span class="small">"queries"</span><Sparkline values=volume label="queries over time"/></div>
                                <div class="trend"><span class="small">"p95 ms"</span><Sparkline values=p95 label="p95 query time over time"/></div>
                                <p class="small muted">{format!("{hits} hits, {misses} misses in this range")}</p>
                            }.into_any()
                        }
                        Err(e) => view! { <p class="error-inline">{e.message}</p> }.into_any(),
                    })}
                </Suspense>
            </div>
        </div>
    }
}
