//! Schedules: list with next and last run by source name, create and edit (the form in
//! `schedule_form.rs`), enable/disable, run now, delete.

use leptos::prelude::*;

use crate::model::input::{Reason, ScheduleAction};

use crate::error::AppError;
use crate::model::jobs::{Schedule, ScheduleInput};
use crate::model::source::SourceInfo;
use crate::rpc::jobs::{ActOnSchedule, SaveSchedule, list_schedules};
use crate::ui::common::confirm::{ConfirmRequest, use_confirm};
use crate::ui::common::error_box::ErrorBox;
use crate::ui::common::form::RpcForm;
use crate::ui::common::mutation::{Data, any_pending, use_mutation, use_stale};
use crate::ui::common::session::use_session;
use crate::ui::warming::schedule_form::ScheduleForm;

/// What a schedule row offers; owned by the card, which outlives the rows a refetch redraws.
#[derive(Clone, Copy)]
struct RowActions {
    run: ServerAction<ActOnSchedule>,
    toggle: ServerAction<SaveSchedule>,
    delete: ServerAction<ActOnSchedule>,
    /// While any of them is on its way, none is offered again.
    busy: Signal<bool>,
}

impl RowActions {
    fn new(
        run: ServerAction<ActOnSchedule>,
        toggle: ServerAction<SaveSchedule>,
        delete: ServerAction<ActOnSchedule>,
    ) -> Self {
        let busy = any_pending([run.pending(), toggle.pending(), delete.pending()]);
        RowActions { run, toggle, delete, busy }
    }
}

#[component]
pub fn Schedules(sources: Resource<Result<Vec<SourceInfo>, AppError>>) -> impl IntoView {
    let session = use_session();
    let stale = use_stale();
    let list = Resource::new(move || stale.track(Data::Schedules), |_| list_schedules());
    let run = use_mutation::<ActOnSchedule>(&[Data::Schedules, Data::Jobs], |r| r.map(|r| r.message));
    let toggle = use_mutation::<SaveSchedule>(&[Data::Schedules], |s| {
        Some(format!("Schedule {}", if s.enabled { "enabled" } else { "disabled" }))
    });
    let delete = use_mutation::<ActOnSchedule>(&[Data::Schedules], |_| Some("Schedule deleted.".into()));
    let actions = RowActions::new(run, toggle, delete);
    view! {
        <section class="card" aria-labelledby="schedules-title" data-testid="schedules">
            <div class="card-head"><h2 id="schedules-title">"Schedules"</h2></div>
            // Rows are keyed by what they show: an action on one row (or a run) redraws that row
            // alone, so an editor open on another keeps what is being typed in it.
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || list.get().and_then(|r| r.err()).map(|e| view! { <ErrorBox error=e/> })}
                {move || list.get().and_then(|r| r.ok()).filter(|l| l.is_empty()).map(|_| view! { <p class="muted">"No schedule yet."</p> })}
                <Show when=move || list.get().and_then(|r| r.ok()).is_some_and(|l| !l.is_empty())>
                    <div class="table-wrap">
                        <table>
                            <thead>
                                <tr>
                                    <th scope="col">"Source"</th>
                                    <th scope="col">"When"</th>
                                    <th scope="col">"Next run"</th>
                                    <th scope="col">"Last run"</th>
                                    <th scope="col"><span class="sr-only">"Actions"</span></th>
                                </tr>
                            </thead>
                            <tbody>
                                <For
                                    each=move || list.get().and_then(|r| r.ok()).unwrap_or_default()
                                    key=|s| (s.id.clone(), s.updated_at.clone(), s.next_run_at.clone(), s.last_run_at.clone(), s.last_result.clone())
                                    let:s
                                >
                                    <ScheduleRow s sources actions/>
                                </For>
                            </tbody>
                        </table>
                    </div>
                </Show>
            </Transition>
            <Show when=move || session.can_write()>
                <h3 class="small-head">"New schedule"</h3>
                <ScheduleForm sources/>
            </Show>
        </section>
    }
}

/// The name of source `id`, for rows that would otherwise show `#id` (`source #id` while the
/// sources load or for a source the catalog no longer has).
fn source_name(sources: Resource<Result<Vec<SourceInfo>, AppError>>, id: i64) -> String {
    sources
        .get()
        .and_then(|r| r.ok())
        .and_then(|l| l.into_iter().find(|s| s.id == id).map(|s| s.name))
        .unwrap_or_else(|| format!("source #{id}"))
}

#[component]
fn ScheduleRow(
    s: Schedule,
    sources: Resource<Result<Vec<SourceInfo>, AppError>>,
    actions: RowActions,
) -> impl IntoView {
    let session = use_session();
    let editing = RwSignal::new(false);
    let schedule = StoredValue::new(s.clone());
    let confirm = use_confirm();
    let id = StoredValue::new(s.id.clone());
    let enabled = s.enabled;
    let ds = s.datasource_id;
    let delete = move |_| {
        confirm.ask(ConfirmRequest {
            title: "Delete this schedule".into(),
            body: "The schedule stops firing; warms already queued are not affected.".into(),
            action_label: "Delete".into(),
            require_text: None,
            reason_required: false,
            on_confirm: Callback::new(move |reason: String| {
                actions.delete.dispatch(ActOnSchedule {
                    id: id.get_value(),
                    action: ScheduleAction::Delete,
                    reason: Reason::from_text(&reason),
                });
            }),
        })
    };
    view! {
        <tr data-testid="schedule">
            <td data-testid="schedule-source-name">{move || source_name(sources, ds)}</td>
            <td data-testid="schedule-when">{s.description.clone()}{(!s.enabled).then(|| view! { <span class="badge muted">" disabled"</span> })}</td>
            <td class="small">{s.next_run_at.as_deref().map(crate::format::utc_time).unwrap_or_else(|| "–".into())}</td>
            <td class="small" data-testid="schedule-last-run">{s.last_run_at.as_deref().map(crate::format::utc_time).unwrap_or_else(|| "never".into())}" "<span class="muted">{s.last_result.clone().unwrap_or_default()}</span></td>
            <td class="actions">
                <Show when=move || session.can_write()>
                    // Plain forms: run now and enable/disable work before hydration too.
                    <RpcForm action=actions.run input=ActOnSchedule { id: id.get_value(), action: ScheduleAction::Run, reason: None } class="inline">
                        <button type="submit" disabled=actions.busy>"Run now"</button>
                    </RpcForm>
                    <RpcForm
                        action=actions.toggle
                        input=SaveSchedule { id: Some(id.get_value()), input: ScheduleInput { enabled: Some(!enabled), ..Default::default() } }
                        class="inline"
                    >
                        <button type="submit" disabled=actions.busy>{if enabled { "Disable" } else { "Enable" }}</button>
                    </RpcForm>
                    <button
                        data-testid="schedule-edit"
                        aria-expanded=move || editing.get().to_string()
                        on:click=move |_| editing.update(|e| *e = !*e)
                    >"Edit"</button>
                    <button class="danger-outline" disabled=actions.busy on:click=delete>"Delete"</button>
                </Show>
            </td>
        </tr>
        <Show when=move || editing.get()>
            <tr class="schedule-editor">
                <td colspan="5">
                    <ScheduleForm sources existing=schedule.get_value() on_done=Callback::new(move |()| editing.set(false))/>
                </td>
            </tr>
        </Show>
    }
}
