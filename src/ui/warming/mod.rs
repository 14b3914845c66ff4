//! The Warming tab, five pages: Jobs (start warms, watch them live with rows, percent and ETA,
//! pause, resume or cancel them), Sources (each source's state, Refresh, Invalidate), History,
//! Schedules, and the memory guard with the signed-in sessions. The job status is polled every
//! second while a job is active, every five seconds otherwise.

mod history;
mod jobs;
mod schedule_form;
mod schedules;
mod sessions;
mod settings;
mod source_status;

use leptos::either::Either;
use leptos::prelude::*;

use crate::model::input::{DatasourceId, Reason, RecentJobs};

use crate::error::AppError;
use crate::model::jobs::{WarmRequest, WarmingStatus};
use crate::model::limits::LimitClass;
use crate::rpc::jobs::{StartWarm, get_warming_status};
use crate::rpc::limits::get_limits;
use crate::rpc::sources::list_sources;
use crate::ui::common::error_box::ErrorBox;
use crate::ui::common::markup::Markup;
use crate::ui::common::mutation::{Data, use_stale};
use crate::ui::common::polling::use_polling_while;
use crate::ui::common::session::use_session;
use crate::ui::common::toast::use_toasts;
use crate::ui::common::warm::warm_action;
use crate::ui::common::widgets::{SubPages, status_badge};
use history::JobHistory;
use jobs::{ActiveJobs, JobControls};
use schedules::Schedules;
use sessions::SessionsPanel;
use settings::GuardSettings;

/// The Warming tab's pages: each its own lazily loaded route, so none downloads the code of
/// the others (the tab's tools together are more than one page's budget).
const PAGES: &[(&str, &str, &str)] = &[
    ("/warming", "Jobs", "warming-jobs"),
    ("/warming/sources", "Sources", "warming-sources"),
    ("/warming/history", "History", "warming-history"),
    ("/warming/schedules", "Schedules", "warming-schedules"),
    ("/warming/settings", "Memory guard & sessions", "warming-settings"),
];

/// The job status, polled every second while a warm runs and every five seconds otherwise.
/// The newest finished job is all a page needs of the history, which pages on its own.
fn polled_status() -> Resource<Result<WarmingStatus, AppError>> {
    let stale = use_stale();
    let status = Resource::new(move || stale.track(Data::Jobs), |_| get_warming_status(Some(RecentJobs::at_most(1))));
    let busy = move || status.with(|r| matches!(r, Some(Ok(s)) if !s.active_jobs.is_empty()));
    use_polling_while(busy, 1000, 5000, move || status.refetch());
    status
}

/// Jobs: start a warm, the running and queued jobs live, the last one finished.
#[component]
pub fn WarmingPage() -> impl IntoView {
    let status = polled_status();
    let sources = Resource::new(|| (), |_| list_sources());
    // Owned by the page: every poll redraws the job cards.
    let controls = JobControls::new();
    view! {
        <div class="page" data-testid="warming-page">
            <SubPages label="Warming pages" pages=PAGES current="/warming"/>
            <StartWarm sources/>
            <Transition fallback=|| view! { <section class="card"><p class="muted">"Loading jobs…"</p></section> }>
                {move || status.get().map(|r| match r {
                    Ok(s) => Either::Left(view! {
                        <ActiveJobs jobs=s.active_jobs.clone() controls now=s.timestamp.clone()/>
                        <p class="small muted" data-testid="last-finished" inner_html=last_finished(&s)></p>
                    }),
                    Err(e) => Either::Right(view! { <section class="card"><ErrorBox error=e/></section> }),
                })}
            </Transition>
        </div>
    }
}

/// One line on the newest finished job, with a link to the history.
fn last_finished(status: &WarmingStatus) -> String {
    let mut m = Markup::new();
    match status.recent_jobs.first() {
        Some(job) => {
            m.text("Last finished: ").text(&job.datasource_name).text(" ");
            status_badge(&mut m, job.status);
            if let Some(at) = job.completed_at.as_deref() {
                m.text(" at ").text(&crate::format::utc_time(at)).text(" UTC");
            }
            m.text(". ");
        }
        None => {
            m.text("No job has finished yet. ");
        }
    }
    let href = crate::app::page_href(&crate::app::base_path(), "/warming/history");
    m.el("a", &[("href", &href)], "All finished jobs");
    m.finish()
}

/// Sources: each source's entries, memory, age and TTL, with Refresh and Invalidate.
#[component]
pub fn WarmingSourcesPage() -> impl IntoView {
    view! {
        <div class="page" data-testid="warming-sources-page">
            <SubPages label="Warming pages" pages=PAGES current="/warming/sources"/>
            <source_status::SourceStatus/>
        </div>
    }
}

/// History: every finished job, filtered and paged.
#[component]
pub fn WarmingHistoryPage() -> impl IntoView {
    let status = polled_status();
    let sources = Resource::new(|| (), |_| list_sources());
    view! {
        <div class="page" data-testid="warming-history-page">
            <SubPages label="Warming pages" pages=PAGES current="/warming/history"/>
            // Its filters and "More" pages stay while jobs run: only a newly finished job reloads
            // the first page.
            <JobHistory
                sources
                summary=Signal::derive(move || status.get().and_then(|r| r.ok()).map(|s| s.summary))
                newest=Signal::derive(move || status.get().and_then(|r| r.ok()).and_then(|s| s.recent_jobs.first().map(|j| j.job_id.clone())))
            />
        </div>
    }
}

/// Schedules: cron warms, created, edited, enabled, run now or deleted.
#[component]
pub fn WarmingSchedulesPage() -> impl IntoView {
    let sources = Resource::new(|| (), |_| list_sources());
    view! {
        <div class="page" data-testid="warming-schedules-page">
            <SubPages label="Warming pages" pages=PAGES current="/warming/schedules"/>
            <Schedules sources/>
        </div>
    }
}

/// The memory guard's threshold and who is signed in.
#[component]
pub fn WarmingSettingsPage() -> impl IntoView {
    view! {
        <div class="page" data-testid="warming-settings-page">
            <SubPages label="Warming pages" pages=PAGES current="/warming/settings"/>
            <GuardSettings/>
            <SessionsPanel/>
        </div>
    }
}

#[component]
fn StartWarm(
    sources: Resource<Result<Vec<crate::model::source::SourceInfo>, crate::error::AppError>>,
) -> impl IntoView {
    let session = use_session();
    let toasts = use_toasts();
    let stale = use_stale();
    // The caller's own warm budget, read again after every warm (refused ones included).
    let budget = Resource::new(move || stale.track(Data::Jobs), |_| get_limits());
    // Not an ActionForm: "Warm all" sends the same fields without the source, and "Warm source"
    // asks for one first.
    // A refused warm (warmed moments ago, already warming) is a warning in words.
    let warm = warm_action();
    let selected = RwSignal::new(String::new());
    let force = RwSignal::new(false);
    let reason = RwSignal::new(String::new());
    let send = move |all: bool| {
        let ds = selected.get_untracked().parse::<DatasourceId>().ok();
        if !all && ds.is_none() {
            toasts.push(crate::ui::common::toast::ToastKind::Info, "Pick a source first.");
            return;
        }
        let request = WarmRequest {
            datasource_id: if all { None } else { ds },
            force: Some(force.get_untracked()),
            reason: Reason::from_text(&reason.get_untracked()),
            full: None,
        };
        warm.dispatch(StartWarm { request });
    };
    view! {
        <section class="card" aria-labelledby="start-title">
            <div class="card-head">
                <h2 id="start-title">"Warm"</h2>
                <Transition fallback=|| ()>
                    {move || {
                        budget
                            .get()
                            .and_then(|r| r.ok())
                            .filter(|_| session.can_write())
                            .and_then(|b| b.of(LimitClass::Warm).cloned())
                            .map(|b| view! { <span class="muted" data-testid="warm-budget">{b.summary()}</span> })
                    }}
                </Transition>
            </div>
            <Show
                when=move || session.can_write()
                fallback=|| view! { <p class="muted">"Warming needs the write permission."</p> }
            >
                <div class="form-row">
                    <label>
                        "Source "
                        <select data-testid="warm-source-select" on:change=move |ev| selected.set(event_target_value(&ev))>
                            <option value="">"Choose…"</option>
                            <Transition fallback=|| ()>
                                {move || sources.get().and_then(|r| r.ok()).map(|list| {
                                    list.into_iter()
                                        .filter(|s| s.warmable)
                                        .map(|s| view! { <option value=s.id.to_string()>{format!("{} (#{})", s.name, s.id)}</option> })
                                        .collect_view()
                                })}
                            </Transition>
                        </select>
                    </label>
                    <label class="check"><input type="checkbox" on:change=move |ev| force.set(event_target_checked(&ev))/>" even if warmed recently"</label>
                    <label>"Reason " <input data-testid="warm-reason" placeholder="optional" maxlength="500" prop:value=reason on:input=move |ev| reason.set(event_target_value(&ev))/></label>
                    <button class="primary" data-testid="warm-start" disabled=warm.pending() on:click=move |_| send(false)>"Warm source"</button>
                    <button data-testid="warm-all-sources" disabled=warm.pending() on:click=move |_| send(true)>"Warm all"</button>
                </div>
            </Show>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jobs_page_names_the_last_finished_job_and_links_the_history() {
        let status = |recent: serde_json::Value| -> WarmingStatus {
            serde_json::from_value(serde_json::json!({
                "activeJobs": [], "recentJobs": recent, "timestamp": "2026-12-05T05:00:00Z",
                "summary": {"activeCount": 0, "successRate": 100.0, "avgDuration": 800.0, "currentlyWarming": []}
            }))
            .unwrap()
        };
        let none = last_finished(&status(serde_json::json!([])));
        assert_eq!(none, r#"No job has finished yet. <a href="/warming/history">All finished jobs</a>"#);
        let one = last_finished(&status(serde_json::json!([{
            "jobId": "j1", "datasourceId": 3, "datasourceName": "Infusion <Ops>", "status": "completed", "phase": "done",
            "queuedAt": "2026-12-05T04:10:00Z", "startedAt": null, "progress": 100.0, "rowsProcessed": 1, "rowsTotal": 1,
            "entriesCached": 1, "bytes": 1, "etaSeconds": null, "completedAt": "2026-12-05T04:12:33Z", "duration": 1,
            "success": true, "error": null, "pausedReason": null, "requestedBy": "ada", "reason": null,
            "trigger": "manual", "worker": null
        }])));
        assert!(one.starts_with("Last finished: Infusion &lt;Ops&gt; <span class=\"badge status-completed\""), "{one}");
        assert!(one.contains(">completed</span> at 2026-12-05 04:12"), "{one}");
        assert!(one.ends_with(r#"<a href="/warming/history">All finished jobs</a>"#), "{one}");
    }
}
