//! The Analytics Cache tab: the summary, and per source its health, coverage, memory, entries,
//! hit rate and query time, with warm and invalidate actions. Polls fast while a warm runs.

pub mod health;
pub mod invalidate;
pub mod sources;

use leptos::either::Either;
use leptos::prelude::*;

use crate::format;
use crate::model::cache::CacheStats;
use crate::model::input::RecentJobs;
use crate::rpc::cache::{get_cache_stats, get_health_report};
use crate::rpc::jobs::get_warming_status;
use crate::ui::common::error_box::ErrorBox;
use crate::ui::common::mutation::{Data, use_stale};
use crate::ui::common::polling::use_polling;
use crate::ui::common::warm::warm_action;
use health::HealthPanel;
use invalidate::{InvalidateDraft, InvalidatePanel};
use sources::SourceTable;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let stale = use_stale();
    let stats = Resource::new(move || stale.track(Data::Cache), |_| get_cache_stats());
    // Only the active jobs are shown here (progress in their rows), none of the history.
    let jobs = Resource::new(move || stale.track(Data::Jobs), |_| get_warming_status(Some(RecentJobs::at_most(0))));
    let report = Resource::new(move || stale.track(Data::Cache), |_| get_health_report());
    let busy =
        Signal::derive(move || jobs.get().and_then(|r| r.ok()).map(|s| !s.active_jobs.is_empty()).unwrap_or(false));
    use_polling(Signal::derive(move || Some(if busy.get() { 2000 } else { 15_000 })), move || {
        stats.refetch();
        jobs.refetch();
        report.refetch();
    });
    // Owned here, not by the rows: every poll redraws the table, and a change finishing after
    // that must still be reported. So is the invalidation being prepared (with its action): its
    // panel sits under the table, inside the Transition (which keeps its children) but outside
    // the closure each poll re-runs. (Beside the Transition it would cost this page 14 kB gzip
    // more of WASM.)
    let warm = warm_action();
    let draft = InvalidateDraft::new();
    view! {
        <div class="page" data-testid="cache-page">
            <Transition fallback=|| view! { <section class="card"><p class="muted">"Loading the cache…"</p></section> }>
                {move || stats.get().map(|r| match r {
                    Ok(s) => Either::Left(view! {
                        <Summary stats=s.clone()/>
                        <HealthPanel report warm/>
                        <SourceTable stats=s jobs=jobs warm draft/>
                    }),
                    Err(e) => Either::Right(view! { <section class="card"><ErrorBox error=e/></section> }),
                })}
                <Show when=move || draft.is_open()>
                    <section class="card" aria-label="Invalidate">
                        <InvalidatePanel draft/>
                    </section>
                </Show>
            </Transition>
        </div>
    }
}

#[component]
fn Summary(stats: CacheStats) -> impl IntoView {
    let s = stats.summary;
    let d = s.health_distribution.clone();
    view! {
        <section class="card" aria-labelledby="summary-title" data-testid="cache-summary">
            <div class="card-head">
                <h2 id="summary-title">"Analytics cache"</h2>
                <span class="muted small">"as of " {format::utc_time(&stats.timestamp)}" UTC"</span>
            </div>
            <dl class="stats">
                <div><dt>"Sources warm"</dt><dd data-testid="summary-warm">{s.warm_datasources}" / "{s.total_datasources}</dd></div>
                <div><dt>"Entries"</dt><dd data-testid="summary-entries">{format::thousands(s.total_cache_entries)}</dd></div>
                <div><dt>"Index sets"</dt><dd>{format::thousands(s.total_indexes)}</dd></div>
                <div><dt>"Memory"</dt><dd>{format!("{:.1} MB", s.total_memory_mb)}</dd></div>
                <div><dt>"Hit rate"</dt><dd data-testid="summary-hit-rate">{format!("{:.1} %", s.overall_cache_hit_rate)}</dd></div>
                <div>
                    <dt>"Average age"</dt>
                    <dd>{s.avg_cache_age.map(|m| format::duration_secs((m * 60.0) as u64)).unwrap_or_else(|| "–".into())}</dd>
                    <dd class="muted small">{s.oldest_cache.as_deref().map(|t| format!("oldest from {} UTC", format::utc_time(t))).unwrap_or_default()}</dd>
                </div>
                <div>
                    <dt>"Health"</dt>
                    <dd class="small distribution" data-testid="summary-health">
                        <span class="badge health-excellent" title="excellent">{d.excellent}" excellent"</span>
                        <span class="badge health-good" title="good">{d.good}" good"</span>
                        <span class="badge health-degraded" title="degraded">{d.degraded}" degraded"</span>
                        <span class="badge health-stale" title="stale">{d.stale}" stale"</span>
                        <span class="badge health-cold" title="cold">{d.cold}" cold"</span>
                    </dd>
                </div>
            </dl>
        </section>
    }
}
