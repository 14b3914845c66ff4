//! Live jobs with progress, rows, ETA and controls (the history of finished ones: `history.rs`).

use leptos::either::Either;
use leptos::prelude::*;

use crate::model::input::{JobAction, Reason};

use crate::format;
use crate::model::jobs::{Job, JobStatus};
use crate::rpc::jobs::ControlJob;
use crate::ui::common::confirm::{ConfirmRequest, use_confirm};
use crate::ui::common::form::RpcForm;
use crate::ui::common::mutation::{Data, any_pending, use_mutation};
use crate::ui::common::session::use_session;
use crate::ui::common::widgets::{ProgressBar, StatusBadge};

/// Pause, resume and cancel, one action each so each toast names what was asked.
#[derive(Clone, Copy)]
pub struct JobControls {
    pause: ServerAction<ControlJob>,
    resume: ServerAction<ControlJob>,
    cancel: ServerAction<ControlJob>,
    /// While any control is on its way, none is offered again.
    busy: Signal<bool>,
}

impl JobControls {
    /// Call in the page, which outlives the job cards its polls redraw.
    pub fn new() -> Self {
        let control = |action: JobAction| {
            use_mutation::<ControlJob>(&[Data::Jobs], move |j| {
                Some(format!("{}: job {} is {}", action.as_str(), j.job_id, j.status.as_str()))
            })
        };
        let (pause, resume, cancel) =
            (control(JobAction::Pause), control(JobAction::Resume), control(JobAction::Cancel));
        let busy = any_pending([pause.pending(), resume.pending(), cancel.pending()]);
        JobControls { pause, resume, cancel, busy }
    }
}

/// Milliseconds since the epoch of a time Hearth wrote (`2026-12-03T14:05:09.123Z`), without a
/// date library in the browser bundle.
fn iso_ms(iso: &str) -> Option<i64> {
    let num = |r: std::ops::Range<usize>| iso.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let ms =
        iso.get(19..).and_then(|rest| rest.strip_prefix('.')).and_then(|r| r.get(0..3)).and_then(|r| r.parse().ok());
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + hh) * 60 + mm) * 60_000 + ss * 1000 + ms.unwrap_or(0))
}

/// "started 4m 09s ago" from the job's start and the server's time of the same answer.
fn started_ago(started_at: Option<&str>, now: &str) -> Option<String> {
    let secs = (iso_ms(now)? - iso_ms(started_at?)?).max(0) / 1000;
    Some(if secs < 5 {
        "started just now".into()
    } else {
        format!("started {} ago", format::duration_secs(secs as u64))
    })
}

/// The ETA as words: "about 2m 10s left", or why there is none yet.
fn eta_words(job: &Job) -> String {
    match (job.status, job.eta_seconds) {
        (JobStatus::Queued, _) => "waiting for a free warm slot".into(),
        (JobStatus::Paused, _) => "on hold while paused".into(),
        (JobStatus::Swapping, _) => "switching the new data live".into(),
        (_, Some(0)) => "finishing".into(),
        (_, Some(s)) => format!("about {} left", format::duration_secs(s)),
        (_, None) => "estimating time left…".into(),
    }
}

#[component]
pub fn ActiveJobs(jobs: Vec<Job>, controls: JobControls, #[prop(into)] now: String) -> impl IntoView {
    // Built again on every poll and drawn over the previous cards: this runs once they are.
    Effect::new(|_| follow::after_redraw());
    view! {
        <section
            class="card"
            aria-labelledby="active-title"
            data-testid="active-jobs"
            on:focusin=|ev| follow::focus_in(&ev)
            on:focusout=|ev| follow::focus_out(&ev)
        >
            // Focusable by script only: where focus goes when the job it was on has ended.
            <div class="card-head"><h2 id="active-title" tabindex="-1">"Running and queued"</h2></div>
            {if jobs.is_empty() {
                Either::Left(view! { <p class="muted" data-testid="no-active-jobs">"No warm is running."</p> })
            } else {
                Either::Right(view! { <div class="jobs">{jobs.into_iter().map(|j| view! { <JobProgress job=j controls now=now.clone()/> }).collect_view()}</div> })
            }}
        </section>
    }
}

#[component]
fn JobProgress(job: Job, controls: JobControls, now: String) -> impl IntoView {
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
                <span class="muted small" data-testid="job-started">{started_ago(job.started_at.as_deref(), &now).unwrap_or_else(|| "not started yet".into())}</span>
            </header>
            <ProgressBar percent=percent label=format!("warm of {}", job.datasource_name)/>
            <p class="small" data-testid="job-numbers">
                <span data-testid="job-percent">{format!("{percent:.1} %")}</span>
                {format!(" · {} / {} rows · {} entries · {}", format::thousands(job.rows_processed), format::thousands(job.rows_total), format::thousands(job.entries_cached), format::bytes(job.bytes))}
                " · "
                <span data-testid="job-eta">{eta_words(&job)}</span>
            </p>
            {job.paused_reason.clone().map(|r| if guard_pause {
                Either::Left(view! {
                    <div class="paused-reason small" role="status" data-testid="paused-reason">
                        <p><strong>"Waiting for Redis memory. "</strong>{r}</p>
                        <p data-testid="paused-resumes-when">
                            "It resumes by itself once Redis memory falls below the resume threshold, or at once if you raise the ceiling or the pause threshold under "
                            <a href="#memory-guard">"Memory guard"</a>"."
                        </p>
                    </div>
                })
            } else {
                Either::Right(view! { <p class="paused-reason small" data-testid="paused-reason">{r}</p> })
            })}
            <Show when=move || session.can_write()>
                <div class="actions">
                    // Plain forms: pause and resume work before hydration too.
                    <Show when=move || status == JobStatus::Warming>
                        <RpcForm action=controls.pause input=ControlJob { job_id: job_id.get_value(), action: JobAction::Pause, reason: None } class="inline">
                            <button type="submit" data-testid="job-pause" disabled=controls.busy>"Pause"</button>
                        </RpcForm>
                    </Show>
                    <Show when=move || status == JobStatus::Paused && !guard_pause>
                        <RpcForm action=controls.resume input=ControlJob { job_id: job_id.get_value(), action: JobAction::Resume, reason: None } class="inline">
                            <button type="submit" data-testid="job-resume" disabled=controls.busy>"Resume"</button>
                        </RpcForm>
                    </Show>
                    <button class="danger-outline" data-testid="job-cancel" disabled=controls.busy on:click=cancel.clone()>"Cancel"</button>
                </div>
            </Show>
        </article>
    }
}

/// Keyboard focus through the job cards' redraws. The cards are drawn by position on every
/// poll, so when a job ends, or one is queued before it, the focused button may now belong to
/// another job (Enter would act on that one) or be gone (focus falls to the page). After each
/// redraw focus goes back to the same control of the same job, or, when that job has left the
/// list, to the list's heading. Focus the admin moved elsewhere is never taken back.
#[cfg(feature = "hydrate")]
mod follow {
    use std::cell::RefCell;

    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{Element, FocusEvent, HtmlElement};

    use crate::ui::common::identity::Remembered;

    thread_local! {
        /// The focused control of the list.
        static FOCUSED: RefCell<Option<Remembered>> = const { RefCell::new(None) };
    }

    pub fn focus_in(ev: &FocusEvent) {
        let focused = ev.target().and_then(|t| t.dyn_into::<HtmlElement>().ok()).map(Remembered::new);
        FOCUSED.with(|f| *f.borrow_mut() = focused);
    }

    /// Focus leaving for another element outside the list ends the following. A control removed
    /// from the page, or a click on no control, loses focus to nothing: kept until the redraw.
    pub fn focus_out(ev: &FocusEvent) {
        let next = ev.related_target().and_then(|t| t.dyn_into::<Element>().ok());
        let outside = next.is_some_and(|n| n.closest(r#"[data-testid="active-jobs"]"#).ok().flatten().is_none());
        if outside {
            FOCUSED.with(|f| *f.borrow_mut() = None);
        }
    }

    pub fn after_redraw() {
        let Some(focused) = FOCUSED.with(|f| f.borrow_mut().take()) else { return };
        if focused.is_itself() {
            // Still the same control of the same job: go on following it.
            FOCUSED.with(|f| *f.borrow_mut() = Some(focused));
            return;
        }
        // Moved only focus that went with the control: to the page body, or still on the element
        // now drawn for another job. Focus anywhere else was put there by the admin.
        let active = document().active_element();
        let element: &Element = &focused.element;
        let lost = active.as_ref().is_none_or(|a| Some(a) == document().body().as_deref() || a == element);
        if !lost {
            return;
        }
        let same = focused.find();
        let target = same.clone().or_else(|| document().get_element_by_id("active-title")?.dyn_into().ok());
        if let Some(target) = target {
            let _ = target.focus();
        }
        if let Some(element) = same {
            FOCUSED.with(|f| *f.borrow_mut() = Some(Remembered::new(element)));
        }
    }
}

#[cfg(not(feature = "hydrate"))]
mod follow {
    use leptos::ev::FocusEvent;

    pub fn focus_in(_ev: &FocusEvent) {}
    pub fn focus_out(_ev: &FocusEvent) {}
    pub fn after_redraw() {}
}

#[cfg(test)]
mod tests {
    use super::{iso_ms, started_ago};

    #[test]
    fn times_read_back_as_the_server_wrote_them() {
        assert_eq!(iso_ms("1970-01-01T00:00:01.250Z"), Some(1250));
        assert_eq!(iso_ms("2026-12-03T14:05:09.123Z"), Some(1_796_306_709_123));
        assert_eq!(iso_ms("2024-02-29T00:00:00Z"), Some(1_709_164_800_000));
        assert_eq!(
            started_ago(Some("2026-12-03T14:00:00.000Z"), "2026-12-03T14:04:09.000Z").unwrap(),
            "started 4m 09s ago"
        );
        assert_eq!(started_ago(None, "2026-12-03T14:04:09.000Z"), None);
    }
}
