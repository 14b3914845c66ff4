//! Live jobs with progress, rows, ETA and controls; the history of finished ones.

use leptos::prelude::*;

use crate::model::input::{JobAction, Reason};

use crate::format;
use crate::model::jobs::{Job, JobStatus, WarmingSummary};
use crate::rpc::jobs::ControlJob;
use crate::ui::common::confirm::{ConfirmRequest, use_confirm};
use crate::ui::common::form::RpcForm;
use crate::ui::common::mutation::{Data, use_mutation};
use crate::ui::common::session::use_session;
use crate::ui::common::widgets::{ProgressBar, StatusBadge};

/// Pause, resume and cancel, one action each so each toast names what was asked.
#[derive(Clone, Copy)]
pub struct JobControls {
    pause: ServerAction<ControlJob>,
    resume: ServerAction<ControlJob>,
    cancel: ServerAction<ControlJob>,
}

impl JobControls {
    /// Call in the page, which outlives the job cards its polls redraw.
    pub fn new() -> Self {
        let control = |action: JobAction| {
            use_mutation::<ControlJob>(&[Data::Jobs], move |j| {
                Some(format!("{}: job {} is {}", action.as_str(), j.job_id, j.status.as_str()))
            })
        };
        JobControls {
            pause: control(JobAction::Pause),
            resume: control(JobAction::Resume),
            cancel: control(JobAction::Cancel),
        }
    }

    /// While any control is on its way, none is offered again.
    fn pending(&self) -> bool {
        self.pause.pending().get() || self.resume.pending().get() || self.cancel.pending().get()
    }
}

#[component]
pub fn ActiveJobs(jobs: Vec<Job>, controls: JobControls) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="active-title" data-testid="active-jobs">
            <div class="card-head"><h2 id="active-title">"Running and queued"</h2></div>
            {if jobs.is_empty() {
                view! { <p class="muted" data-testid="no-active-jobs">"No warm is running."</p> }.into_any()
            } else {
                view! { <div class="jobs">{jobs.into_iter().map(|j| view! { <JobProgress job=j controls/> }).collect_view()}</div> }.into_any()
            }}
        </section>
    }
}

#[component]
fn JobProgress(job: Job, controls: JobControls) -> impl IntoView {
    let session = use_session();
    let confirm = use_confirm();
    let id = job.job_id.clone();
    let name = job.datasource_name.clone();
    let cancel = move |_| {
        let id = id.clone();
        confirm.ask(ConfirmRequest {
            title: format!("Cancel the warm of {name}"),
            body: "The warm stops at its next batch and its shadow copy is discarded. The live cache stays exactly as it is.".into(),
            action_label: "Cancel the warm".into(),
            require_text: None,
            reason_required: false,
            on_confirm: Callback::new(move |reason: String| {
                controls.cancel.dispatch(ControlJob {
                    job_id: id.clone(),
                    action: JobAction::Cancel,
                    reason: Reason::from_text(&reason),
                });
            }),
        })
    };
    let status = job.status;
    // Only an administrator's pause can be resumed by hand; the memory guard's lifts by itself.
    let guard_pause = job.paused_reason.as_deref().is_some_and(|r| r.starts_with("memory guard"));
    let percent = job.progress;
    let job_id = StoredValue::new(job.job_id.clone());
    view! {
        <article class="job" data-testid="job" data-job-id=job.job_id.clone()>
            <header>
                <strong>{job.datasource_name.clone()}</strong>
                <StatusBadge status=status/>
                <span class="muted small">{format!("{} · {}", job.job_id, job.phase)}</span>
            </header>
            <ProgressBar percent=Signal::derive(move || percent) label=format!("warm of {}", job.datasource_name)/>
            <p class="small" data-testid="job-numbers">
                <span data-testid="job-percent">{format!("{percent:.1} %")}</span>
                {format!(" · {} / {} rows · {} entries · {}", format::thousands(job.rows_processed), format::thousands(job.rows_total), format::thousands(job.entries_cached), format::bytes(job.bytes))}
                " · ETA "
                <span data-testid="job-eta">{job.eta_seconds.map(format::duration_secs).unwrap_or_else(|| "estimating…".into())}</span>
            </p>
            {job.paused_reason.clone().map(|r| if guard_pause {
                view! {
                    <div class="paused-reason small" role="status" data-testid="paused-reason">
                        <p><strong>"Waiting for Redis memory. "</strong>{r}</p>
                        <p data-testid="paused-resumes-when">
                            "It resumes by itself once Redis memory falls below the resume threshold, or at once if you raise the ceiling or the pause threshold under "
                            <a href="#memory-guard">"Memory guard"</a>"."
                        </p>
                    </div>
                }.into_any()
            } else {
                view! { <p class="paused-reason small" data-testid="paused-reason">{r}</p> }.into_any()
            })}
            <Show when=move || session.can_write()>
                <div class="actions">
                    // Plain forms: pause and resume work before hydration too.
                    <Show when=move || status == JobStatus::Warming>
                        <RpcForm action=controls.pause class="inline">
                            <input type="hidden" name="job_id" value=job_id.get_value()/>
                            <button type="submit" name="action" value="pause" data-testid="job-pause" disabled=move || controls.pending()>"Pause"</button>
                        </RpcForm>
                    </Show>
                    <Show when=move || status == JobStatus::Paused && !guard_pause>
                        <RpcForm action=controls.resume class="inline">
                            <input type="hidden" name="job_id" value=job_id.get_value()/>
                            <button type="submit" name="action" value="resume" data-testid="job-resume" disabled=move || controls.pending()>"Resume"</button>
                        </RpcForm>
                    </Show>
                    <button class="danger-outline" data-testid="job-cancel" disabled=move || controls.pending() on:click=cancel.clone()>"Cancel"</button>
                </div>
            </Show>
        </article>
    }
}

#[component]
pub fn RecentJobs(jobs: Vec<Job>, summary: WarmingSummary) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="recent-title" data-testid="recent-jobs">
            <div class="card-head">
                <h2 id="recent-title">"History"</h2>
                <span class="small muted">
                    {format!("{:.0} % succeeded · average {}", summary.success_rate, format::duration_secs((summary.avg_duration / 1000.0) as u64))}
                </span>
            </div>
            <div class="table-wrap">
                <table>
                    <thead>
                        <tr>
                            <th scope="col">"Source"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Finished"</th>
                            <th scope="col" class="num">"Took"</th>
                            <th scope="col" class="num">"Rows"</th>
                            <th scope="col" class="num">"Entries"</th>
                            <th scope="col">"By"</th>
                            <th scope="col">"Note"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {jobs.into_iter().map(|j| view! {
                            <tr data-testid="recent-job">
                                <td>{j.datasource_name.clone()}</td>
                                <td><StatusBadge status=j.status/></td>
                                <td class="small">{j.completed_at.clone().unwrap_or_default()}</td>
                                <td class="num">{j.duration.map(|d| format!("{:.1} s", d as f64 / 1000.0)).unwrap_or_default()}</td>
                                <td class="num">{format::thousands(j.rows_processed)}</td>
                                <td class="num">{format::thousands(j.entries_cached)}</td>
                                <td class="small">{format!("{} ({})", j.requested_by, j.trigger)}</td>
                                <td class="small">{j.error.clone().or(j.reason.clone()).unwrap_or_default()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}
