//! A source's page (`/sources/:id`): how it behaved over time (hit rate, average and p95 query
//! time, queries per minute, with a range switch; entries, memory, rows and duration per warm),
//! its recent jobs, coverage, the health score part by part, and the selective invalidation.

mod chart;

use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::format;
use crate::model::cache::{DatasourceCacheMetrics, SourceDetails, Trends};
use crate::model::input::DatasourceId;
use crate::model::jobs::{Job, JobStatus};
use crate::rpc::cache::{get_source_details, get_trends};
use crate::rpc::jobs::StartWarm;
use crate::ui::common::error_box::ErrorBox;
use crate::ui::common::form::RpcForm;
use crate::ui::common::markup::Markup;
use crate::ui::common::mutation::{Data, use_stale};
use crate::ui::common::session::use_session;
use crate::ui::common::warm::{warm_action, warm_input};
use crate::ui::common::widgets::status_badge;
use crate::ui::dashboard::health::SourceHealth;
use crate::ui::dashboard::invalidate::{InvalidateDraft, InvalidatePanel};
use crate::ui::dashboard::sources::LastWarmed;
use chart::{LineChart, Point};

#[component]
pub fn SourcePage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").and_then(|v| v.parse::<DatasourceId>().ok())));
    let stale = use_stale();
    let details = Resource::new(
        move || (id.get(), stale.track(Data::Cache), stale.track(Data::Jobs)),
        |(id, _, _)| async move {
            match id {
                Some(id) => get_source_details(id).await,
                None => {
                    Err(crate::error::AppError::validation("the source id in the address is not a positive number"))
                }
            }
        },
    );
    let home = crate::app::page_href(&crate::app::base_path(), "/");
    // Owned by the page, not by the part each reload redraws, so a change finishing after a
    // reload is still reported.
    let warm = warm_action();
    let draft = InvalidateDraft::new();
    view! {
        <div class="page source-page" data-testid="source-page">
            <p class="small"><a href=home data-testid="back-to-cache">"← Analytics cache"</a></p>
            <Transition fallback=|| view! { <section class="card"><p class="muted">"Loading the source…"</p></section> }>
                {move || details.get().map(|r| match r {
                    Ok(d) => Either::Left(view! { <Details d warm draft/> }),
                    Err(e) => Either::Right(view! { <section class="card"><ErrorBox error=e/></section> }),
                })}
            </Transition>
        </div>
    }
}

#[component]
fn Details(d: SourceDetails, warm: ServerAction<StartWarm>, draft: InvalidateDraft) -> impl IntoView {
    let m = d.metrics.clone();
    let ds = m.datasource_id;
    let session = use_session();
    let (name, frequencies) = (m.datasource_name.clone(), m.unique_frequencies.clone());
    view! {
        <section class="card" aria-labelledby="source-title" data-testid="source-head">
            <div class="card-head">
                <h2 id="source-title">{m.datasource_name.clone()}<span class="muted small">" #"{ds}</span></h2>
                <SourceHealth label=m.health score=m.health_score no_traffic=m.no_traffic_yet/>
            </div>
            <dl class="stats">
                <div><dt>"Last warmed"</dt><dd><LastWarmed s=m.clone()/></dd></div>
                <div><dt>"Entries"</dt><dd data-testid="detail-entries">{format::thousands(m.total_entries)}</dd></div>
                <div><dt>"Memory"</dt><dd data-testid="detail-memory">{format!("{:.2} MB", m.estimated_memory_mb)}</dd></div>
                <div><dt>"Hit rate"</dt><dd>{if m.total_queries == 0 { "not measured yet".to_string() } else { format!("{:.1} %", m.cache_hit_rate) }}</dd></div>
                <div><dt>"Queries since warm"</dt><dd>{format::thousands(m.total_queries)}</dd></div>
                <div><dt>"Query avg / p95"</dt><dd>{format!("{:.2} / {:.1} ms", m.avg_query_time_ms, m.p95_query_time_ms)}</dd></div>
            </dl>
            {m.source_error.clone().map(|e| view! { <p class="error-inline">"Source problem: "{e}</p> })}
            <Show when=move || session.can_write()>
                <div class="actions">
                    <RpcForm action=warm input=warm_input(Some(ds), true, "warm from the source page") class="inline">
                        <button type="submit" class="primary" data-testid="detail-warm" disabled=warm.pending()>"Warm now"</button>
                    </RpcForm>
                    <button class="danger-outline" data-testid="detail-invalidate" on:click=draft.opener(ds, name.clone(), frequencies.clone())>"Invalidate…"</button>
                </div>
            </Show>
            <InvalidatePanel draft/>
        </section>
        <div class="detail-grid">
            <HealthBreakdown m=m.clone()/>
            <Coverage m=m.clone()/>
        </div>
        <QueryCharts ds/>
        <WarmCharts jobs=d.jobs.clone()/>
        <JobList jobs=d.jobs/>
    }
}

#[component]
fn HealthBreakdown(m: DatasourceCacheMetrics) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="breakdown-title" data-testid="health-breakdown">
            <h2 id="breakdown-title">"Health score"</h2>
            <table class="breakdown" inner_html=breakdown_markup(&m)></table>
        </section>
    }
}

/// The score's parts, each with its warning beside its own recommendation, as text.
fn breakdown_markup(m: &DatasourceCacheMetrics) -> String {
    let total: u32 = m.health_parts.iter().map(|p| p.points).sum();
    let mut out = Markup::new();
    out.wrap("thead", &[], |t| {
        t.wrap("tr", &[], |t| {
            t.el("th", &[("scope", "col")], "Part");
            t.el("th", &[("scope", "col"), ("class", "num")], "Points");
            t.el("th", &[("scope", "col")], "Warning and recommendation");
        });
    });
    out.wrap("tbody", &[], |t| {
        for p in &m.health_parts {
            t.wrap("tr", &[("data-testid", &format!("part-{}", p.part))], |t| {
                t.wrap("th", &[("scope", "row")], |t| {
                    t.text(&p.label);
                    if !p.measured {
                        t.el("div", &[("class", "muted small"), ("data-testid", "unmeasured")], "not measured");
                    }
                });
                let points = p.points.to_string();
                t.el(
                    "td",
                    &[("class", "num"), ("data-testid", "part-points"), ("data-points", &points)],
                    &format!("{} / {}", p.points, p.max),
                );
                t.wrap("td", &[], |t| match &p.warning {
                    Some(w) => {
                        t.el("div", &[("class", "warning-text")], w);
                        if let Some(r) = &p.recommendation {
                            t.wrap("div", &[("class", "recommendation small")], |t| {
                                t.el("span", &[("class", "muted")], "Recommendation: ").text(r);
                            });
                        }
                    }
                    None => {
                        t.el("span", &[("class", "muted")], "full marks");
                    }
                });
            });
        }
    });
    out.wrap("tfoot", &[], |t| {
        t.wrap("tr", &[], |t| {
            t.el("th", &[("scope", "row")], "Score");
            t.el("td", &[("class", "num"), ("data-testid", "breakdown-total")], &format!("{total} / 100"));
            let label = format!("{}{}", m.health.as_str(), if m.no_traffic_yet { " (no traffic yet)" } else { "" });
            t.el("td", &[], &label);
        });
    });
    out.finish()
}

#[component]
fn Coverage(m: DatasourceCacheMetrics) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="coverage-title" data-testid="detail-coverage" inner_html=coverage_markup(&m)></section>
    }
}

fn coverage_markup(m: &DatasourceCacheMetrics) -> String {
    let mut out = Markup::new();
    out.el("h2", &[("id", "coverage-title")], "Coverage");
    out.wrap("dl", &[("class", "stats")], |d| {
        d.stat("Measures", "cov-measures", &m.unique_measures.to_string(), None);
        d.stat("Practices", "cov-practices", &format::thousands(m.unique_practices), None);
        d.stat("Providers", "cov-providers", &format::thousands(m.unique_providers), None);
        d.stat("Frequencies", "cov-frequencies", &m.unique_frequencies.len().to_string(), None);
    });
    let frequencies = if m.unique_frequencies.is_empty() {
        "No frequency cached.".to_string()
    } else {
        m.unique_frequencies.join(", ")
    };
    let figures =
        format!(" · {} rows · {} index sets", format::thousands(m.total_rows), format::thousands(m.index_count));
    out.el("p", &[("class", "small muted")], &format!("{frequencies}{figures}"));
    out.finish()
}

/// An x label for a bucket start: the time of day for the last hour or day, date and hour for
/// the week (UTC, as every time in the console).
fn bucket_label(t: &str, range: &str) -> String {
    let time = format::utc_time(t);
    match range {
        "7d" => time.get(5..13).map(|s| format!("{s}h")).unwrap_or(time),
        _ => time.get(11..16).map(str::to_string).unwrap_or(time),
    }
}

/// An x label for a warm: the date and minute it completed, so two warms within an hour read
/// apart.
fn warm_label(t: &str) -> String {
    let time = format::utc_time(t);
    time.get(5..16).map(str::to_string).unwrap_or(time)
}

fn query_series(t: &Trends) -> [Vec<Point>; 4] {
    let per_minute = if t.range == "1h" { 1.0 } else { 60.0 };
    let mut out: [Vec<Point>; 4] = Default::default();
    for p in &t.points {
        let x = bucket_label(&p.t, &t.range);
        let n = p.hits + p.misses;
        let measured = n > 0;
        out[0].push(Point { x: x.clone(), y: measured.then(|| p.hits as f64 * 100.0 / n as f64) });
        out[1].push(Point { x: x.clone(), y: measured.then_some(p.avg_ms) });
        out[2].push(Point { x: x.clone(), y: measured.then_some(p.p95_ms) });
        out[3].push(Point { x, y: Some(n as f64 / per_minute) });
    }
    out
}

#[component]
fn QueryCharts(ds: i64) -> impl IntoView {
    let range = RwSignal::new("1h".to_string());
    let stale = use_stale();
    let trends = Resource::new(
        move || (range.get(), stale.track(Data::Cache)),
        move |(r, _)| async move {
            match DatasourceId::try_from(ds) {
                Ok(id) => get_trends(id, r).await,
                Err(e) => Err(crate::error::AppError::validation(e)),
            }
        },
    );
    view! {
        <section class="card" aria-labelledby="queries-title" data-testid="query-charts">
            <div class="card-head">
                <h2 id="queries-title">"Queries (UTC)"</h2>
                <div class="range-switch" role="group" aria-label="Range">
                    {[("1h", "Last hour"), ("24h", "Last day"), ("7d", "Last week")].into_iter().map(|(v, label)| view! {
                        <button
                            type="button"
                            class:active=move || range.get() == v
                            aria-pressed=move || (range.get() == v).to_string()
                            data-testid=format!("range-{v}")
                            on:click=move |_| range.set(v.to_string())
                        >{label}</button>
                    }).collect_view()}
                </div>
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading the series…"</p> }>
                {move || trends.get().map(|r| match r {
                    Ok(t) => {
                        let [hit, avg, p95, qpm] = query_series(&t);
                        Either::Left(view! {
                            <div class="charts">
                                <LineChart title="Hit rate" unit="%" points=hit testid="chart-hit-rate"/>
                                <LineChart title="Average query time" unit="ms" points=avg testid="chart-avg"/>
                                <LineChart title="p95 query time" unit="ms" points=p95 testid="chart-p95"/>
                                <LineChart title="Queries per minute" unit="q/min" points=qpm testid="chart-qpm"/>
                            </div>
                        })
                    }
                    Err(e) => Either::Right(view! { <p class="error-inline">{e.message}</p> }),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn WarmCharts(jobs: Vec<Job>) -> impl IntoView {
    // Completed warms, oldest first.
    let mut warms: Vec<Job> = jobs.into_iter().filter(|j| j.status == JobStatus::Completed).collect();
    warms.reverse();
    let x = |j: &Job| j.completed_at.as_deref().map(warm_label).unwrap_or_default();
    let series = |f: &dyn Fn(&Job) -> f64| warms.iter().map(|j| Point { x: x(j), y: Some(f(j)) }).collect::<Vec<_>>();
    let entries = series(&|j| j.entries_cached as f64);
    let memory = series(&|j| j.bytes as f64 / 1_048_576.0);
    let rows = series(&|j| j.rows_processed as f64);
    let duration = series(&|j| j.duration.unwrap_or(0) as f64 / 1000.0);
    let count = warms.len();
    view! {
        <section class="card" aria-labelledby="warms-title" data-testid="warm-charts">
            <h2 id="warms-title">"Per warm"<span class="muted small">{format!(" (last {count} completed)")}</span></h2>
            {if count == 0 {
                Either::Left(view! { <p class="muted">"No completed warm in the job history yet."</p> })
            } else {
                Either::Right(view! {
                    <div class="charts">
                        <LineChart title="Entries" unit="entries" points=entries testid="chart-entries"/>
                        <LineChart title="Data written" unit="MB" points=memory testid="chart-memory"/>
                        <LineChart title="Rows read" unit="rows" points=rows testid="chart-rows"/>
                        <LineChart title="Duration" unit="s" points=duration testid="chart-duration"/>
                    </div>
                })
            }}
        </section>
    }
}

#[component]
fn JobList(jobs: Vec<Job>) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="jobs-title" data-testid="detail-jobs" inner_html=jobs_markup(&jobs)></section>
    }
}

/// The source's recent jobs as text: nothing in them is clicked.
fn jobs_markup(jobs: &[Job]) -> String {
    let mut m = Markup::new();
    m.el("h2", &[("id", "jobs-title")], "Recent jobs");
    if jobs.is_empty() {
        m.el("p", &[("class", "muted")], "No job of this source in the history.");
        return m.finish();
    }
    m.wrap("div", &[("class", "table-wrap")], |m| {
        m.wrap("table", &[], |m| {
            m.wrap("thead", &[], |m| {
                m.wrap("tr", &[], |m| {
                    for (class, head) in [
                        ("", "Status"),
                        ("", "Queued (UTC)"),
                        ("num", "Entries"),
                        ("num", "Rows"),
                        ("num", "Duration"),
                        ("", "By"),
                    ] {
                        m.el("th", &[("scope", "col"), (if class.is_empty() { "" } else { "class" }, class)], head);
                    }
                });
            });
            m.wrap("tbody", &[], |m| {
                for j in jobs.iter().take(20) {
                    m.wrap("tr", &[("data-testid", "detail-job")], |m| {
                        m.wrap("td", &[], |m| {
                            status_badge(m, j.status);
                            if let Some(e) = &j.error {
                                m.el("div", &[("class", "error-inline small")], e);
                            }
                        });
                        m.el("td", &[], &format::utc_time(&j.queued_at));
                        m.el("td", &[("class", "num")], &format::thousands(j.entries_cached));
                        m.el("td", &[("class", "num")], &format::thousands(j.rows_processed));
                        let took = j.duration.map(|ms| format::duration_secs(ms / 1000)).unwrap_or_else(|| "–".into());
                        m.el("td", &[("class", "num")], &took);
                        m.el("td", &[("class", "small")], &format!("{} · {}", j.requested_by, j.trigger));
                    });
                }
            });
        });
    });
    m.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_warms_in_one_hour_read_apart_and_buckets_read_by_their_range() {
        let (a, b) = (warm_label("2026-12-05T04:12:33.120Z"), warm_label("2026-12-05T04:47:02Z"));
        assert_eq!((a.as_str(), b.as_str()), ("12-05 04:12", "12-05 04:47"));
        assert_eq!(bucket_label("2026-12-05T04:00:00Z", "7d"), "12-05 04h");
        assert_eq!(bucket_label("2026-12-05T04:10:00Z", "1h"), "04:10");
        // Something that is not a time is shown as it came rather than cut.
        assert_eq!(warm_label("soon"), "soon");
    }

    fn metrics() -> DatasourceCacheMetrics {
        serde_json::from_value(serde_json::json!({
            "datasourceId": 3, "datasourceName": "Infusion <Ops>", "isWarm": true, "lastWarmed": null,
            "ageMinutes": 5.0, "totalEntries": 10, "indexCount": 7, "estimatedMemoryMB": 1.0, "uniqueMeasures": 2,
            "uniquePractices": 1200, "uniqueProviders": 3, "uniqueFrequencies": ["Monthly", "Weekly"],
            "avgQueryTimeMs": 0.0, "cacheHitRate": 0.0, "totalQueries": 0, "health": "excellent", "healthScore": 95,
            "warnings": [], "recommendations": [], "noTrafficYet": true, "invalidatedAt": null, "hits": 0, "misses": 0,
            "p95QueryTimeMs": 0.0, "totalRows": 2816, "lastDurationMs": null, "lastRunId": null, "lockedBy": null,
            "ttlLeftSecs": null, "sourceError": null,
            "healthParts": [
                {"part": "age", "label": "Cache age", "points": 40, "max": 40, "measured": true, "warning": null, "recommendation": null},
                {"part": "hitRate", "label": "Hit rate", "points": 30, "max": 30, "measured": false,
                 "warning": "No queries <yet>", "recommendation": "Query it"},
                {"part": "measures", "label": "Measures", "points": 15, "max": 20, "measured": true,
                 "warning": "Few measures", "recommendation": null},
                {"part": "practices", "label": "Practices", "points": 10, "max": 10, "measured": true, "warning": null, "recommendation": null}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn the_breakdown_puts_each_warning_beside_its_own_recommendation_and_sums_the_parts() {
        let html = breakdown_markup(&metrics());
        // The hit-rate part: unmeasured, its warning (escaped) with its recommendation.
        let hit_rate = html.split(r#"<tr data-testid="part-hitRate">"#).nth(1).unwrap().split("</tr>").next().unwrap();
        assert!(hit_rate.contains(r#"data-testid="unmeasured""#), "{hit_rate}");
        assert!(hit_rate.contains("No queries &lt;yet&gt;"), "{hit_rate}");
        assert!(hit_rate.contains("Recommendation: </span>Query it"), "{hit_rate}");
        // A warning with no recommendation stands alone; a part with none has full marks.
        let measures = html.split(r#"<tr data-testid="part-measures">"#).nth(1).unwrap().split("</tr>").next().unwrap();
        assert!(measures.contains("Few measures") && !measures.contains("Recommendation"), "{measures}");
        assert!(
            html.split(r#"<tr data-testid="part-age">"#)
                .nth(1)
                .unwrap()
                .starts_with("<th scope=\"row\">Cache age</th>")
        );
        assert_eq!(html.matches("full marks").count(), 2);
        assert!(
            html.contains(r#"data-testid="breakdown-total">95 / 100</td><td>excellent (no traffic yet)</td>"#),
            "{html}"
        );
    }

    #[test]
    fn coverage_and_jobs_read_as_text_with_every_value_escaped() {
        let html = coverage_markup(&metrics());
        assert!(html.contains(r#"<dd data-testid="cov-practices">1,200</dd>"#), "{html}");
        assert!(html.contains(r#"<dd data-testid="cov-frequencies">2</dd>"#), "{html}");
        assert!(html.contains("Monthly, Weekly · 2,816 rows · 7 index sets"), "{html}");
        assert!(jobs_markup(&[]).contains("No job of this source in the history."));
        let job: Job = serde_json::from_value(serde_json::json!({
            "jobId": "j1", "datasourceId": 3, "datasourceName": "Infusion", "status": "failed", "phase": "done",
            "queuedAt": "2026-12-05T04:12:33Z", "startedAt": null, "progress": 0.0, "rowsProcessed": 1500,
            "rowsTotal": 0, "entriesCached": 0, "bytes": 0, "etaSeconds": null, "completedAt": null,
            "duration": 61000, "success": false, "error": "relation <x> missing", "pausedReason": null,
            "requestedBy": "ada", "reason": null, "trigger": "manual", "worker": null
        }))
        .unwrap();
        let html = jobs_markup(&[job]);
        assert_eq!(html.matches(r#"<tr data-testid="detail-job">"#).count(), 1);
        assert!(html.contains(r#"data-testid="job-status">failed</span>"#), "{html}");
        assert!(html.contains("relation &lt;x&gt; missing"), "{html}");
        assert!(
            html.contains("<td class=\"num\">1,500</td>") && html.contains("<td class=\"small\">ada · manual</td>"),
            "{html}"
        );
    }
}
