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
use crate::ui::common::markup::Markup;
use crate::ui::common::mutation::{Data, use_stale};
use crate::ui::common::polling::use_polling_while;
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
    let busy = move || jobs.with(|r| matches!(r, Some(Ok(s)) if !s.active_jobs.is_empty()));
    use_polling_while(busy, 2000, 15_000, move || {
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
    view! {
        <section class="card" aria-labelledby="summary-title" data-testid="cache-summary">
            <div class="card-head">
                <h2 id="summary-title">"Analytics cache"</h2>
                <span class="muted small">"as of " {format::utc_time(&stats.timestamp)}" UTC"</span>
            </div>
            <dl class="stats" inner_html=summary_markup(&stats)></dl>
        </section>
    }
}

/// The summary's figures as text (read, never clicked; a refresh draws them anew).
fn summary_markup(stats: &CacheStats) -> String {
    let s = &stats.summary;
    let d = &s.health_distribution;
    let mut m = Markup::new();
    m.stat("Sources warm", "summary-warm", &format!("{} / {}", s.warm_datasources, s.total_datasources), None);
    m.stat("Entries", "summary-entries", &format::thousands(s.total_cache_entries), None);
    m.stat("Index sets", "", &format::thousands(s.total_indexes), None);
    m.stat("Memory", "", &format!("{:.1} MB", s.total_memory_mb), None);
    m.stat("Hit rate", "summary-hit-rate", &format!("{:.1} %", s.overall_cache_hit_rate), None);
    let age = s.avg_cache_age.map(|m| format::duration_secs((m * 60.0) as u64)).unwrap_or_else(|| "–".into());
    let oldest = s.oldest_cache.as_deref().map(|t| format!("oldest from {} UTC", format::utc_time(t)));
    m.stat("Average age", "", &age, oldest.as_deref());
    m.wrap("div", &[], |m| {
        m.el("dt", &[], "Health");
        m.wrap("dd", &[("class", "small distribution"), ("data-testid", "summary-health")], |m| {
            for (label, n) in [
                ("excellent", d.excellent),
                ("good", d.good),
                ("degraded", d.degraded),
                ("stale", d.stale),
                ("cold", d.cold),
            ] {
                m.el("span", &[("class", &format!("badge health-{label}")), ("title", label)], &format!("{n} {label}"));
            }
        });
    });
    m.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_reads_every_figure_and_each_health_label_in_words() {
        let stats: CacheStats = serde_json::from_value(serde_json::json!({
            "summary": {
                "totalDatasources": 3, "warmDatasources": 2, "coldDatasources": 1, "totalCacheEntries": 12345, "totalIndexes": 40,
                "totalMemoryMB": 1.25, "overallCacheHitRate": 87.5, "avgCacheAge": 90.0,
                "oldestCache": "2026-12-05T04:12:33Z",
                "healthDistribution": {"excellent": 1, "good": 1, "degraded": 0, "stale": 0, "cold": 1}
            },
            "datasources": [],
            "timestamp": "2026-12-05T05:00:00Z"
        }))
        .unwrap();
        let html = summary_markup(&stats);
        assert!(html.contains(r#"<dd data-testid="summary-warm">2 / 3</dd>"#), "{html}");
        assert!(html.contains(r#"<dd data-testid="summary-entries">12,345</dd>"#), "{html}");
        assert!(html.contains(r#"<dd data-testid="summary-hit-rate">87.5 %</dd>"#), "{html}");
        assert!(html.contains("<dd>1h 30m</dd>") && html.contains("oldest from 2026-12-05 04:12"), "{html}");
        assert!(html.contains(r#"<span class="badge health-cold" title="cold">1 cold</span>"#), "{html}");
    }
}
