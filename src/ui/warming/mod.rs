//! The Warming tab: start warms, watch them live (rows, percent, ETA), pause, resume or cancel
//! them, read the history, and manage schedules and the memory guard. Polls every second while
//! a job is active, every five seconds otherwise.

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

use crate::model::jobs::WarmRequest;
use crate::model::limits::LimitClass;
use crate::rpc::jobs::{StartWarm, get_warming_status};
use crate::rpc::limits::get_limits;
use crate::rpc::sources::list_sources;
use crate::ui::common::error_box::ErrorBox;
use crate::ui::common::mutation::{Data, use_stale};
use crate::ui::common::polling::use_polling;
use crate::ui::common::session::use_session;
use crate::ui::common::toast::use_toasts;
use crate::ui::common::warm::warm_action;
use history::JobHistory;
use jobs::{ActiveJobs, JobControls};
use schedules::Schedules;
use sessions::SessionsPanel;
use settings::GuardSettings;

#[component]
pub fn WarmingPage() -> impl IntoView {
    let stale = use_stale();
    // Polled every second during a warm: the newest finished job is all it needs of the
    // history, which pages on its own.
    let status = Resource::new(move || stale.track(Data::Jobs), |_| get_warming_status(Some(RecentJobs::at_most(1))));
    let sources = Resource::new(|| (), |_| list_sources());
    let busy =
        Signal::derive(move || status.get().and_then(|r| r.ok()).map(|s| !s.active_jobs.is_empty()).unwrap_or(false));
    use_polling(Signal::derive(move || Some(if busy.get() { 1000 } else { 5000 })), move || status.refetch());
    // Owned by the page: every poll redraws the job cards.
    let controls = JobControls::new();
    view! {
        <div class="page" data-testid="warming-page">
            <StartWarm sources/>
            <source_status::SourceStatus/>
            <Transition fallback=|| view! { <section class="card"><p class="muted">"Loading jobs…"</p></section> }>
                {move || status.get().map(|r| match r {
                    Ok(s) => Either::Left(view! {
                        <ActiveJobs jobs=s.active_jobs.clone() controls now=s.timestamp.clone()/>
                    }),
                    Err(e) => Either::Right(view! { <section class="card"><ErrorBox error=e/></section> }),
                })}
            </Transition>
            // Outside the poll's redraw: its filters and "More" pages stay while jobs run.
            <JobHistory
                sources
                summary=Signal::derive(move || status.get().and_then(|r| r.ok()).map(|s| s.summary))
                newest=Signal::derive(move || status.get().and_then(|r| r.ok()).and_then(|s| s.recent_jobs.first().map(|j| j.job_id.clone())))
            />
            <Schedules sources/>
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
