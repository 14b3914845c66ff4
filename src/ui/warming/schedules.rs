//! Schedules: list with next and last run, create (cron or every N hours, only if older than),
//! enable/disable, run now, delete.

use leptos::prelude::*;

use crate::model::input::{Reason, ScheduleAction};

use crate::error::AppError;
use crate::model::jobs::{Schedule, ScheduleInput};
use crate::model::source::SourceInfo;
use crate::rpc::jobs::{ActOnSchedule, SaveSchedule, list_schedules};
use crate::ui::common::confirm::{ConfirmRequest, use_confirm};
use crate::ui::common::error_box::ErrorBox;
use crate::ui::common::form::RpcForm;
use crate::ui::common::mutation::{Data, use_mutation, use_stale};
use crate::ui::common::session::use_session;

/// What a schedule row offers; owned by the card, which outlives the rows a refetch redraws.
#[derive(Clone, Copy)]
struct RowActions {
    run: ServerAction<ActOnSchedule>,
    toggle: ServerAction<SaveSchedule>,
    delete: ServerAction<ActOnSchedule>,
}

impl RowActions {
    fn pending(&self) -> bool {
        self.run.pending().get() || self.toggle.pending().get() || self.delete.pending().get()
    }
}

#[component]
pub fn Schedules(sources: Resource<Result<Vec<SourceInfo>, AppError>>) -> impl IntoView {
    let session = use_session();
    let stale = use_stale();
    let list = Resource::new(move || stale.track(Data::Schedules), |_| list_schedules());
    let actions = RowActions {
        run: use_mutation::<ActOnSchedule>(&[Data::Schedules, Data::Jobs], |r| r.map(|r| r.message)),
        toggle: use_mutation::<SaveSchedule>(&[Data::Schedules], |s| {
            Some(format!("Schedule {}", if s.enabled { "enabled" } else { "disabled" }))
        }),
        delete: use_mutation::<ActOnSchedule>(&[Data::Schedules], |_| Some("Schedule deleted.".into())),
    };
    view! {
        <section class="card" aria-labelledby="schedules-title" data-testid="schedules">
            <div class="card-head"><h2 id="schedules-title">"Schedules"</h2></div>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || list.get().map(|r| match r {
                    Ok(items) if items.is_empty() => view! { <p class="muted">"No schedule yet."</p> }.into_any(),
                    Ok(items) => view! {
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
                                <tbody>{items.into_iter().map(|s| view! { <ScheduleRow s actions/> }).collect_view()}</tbody>
                            </table>
                        </div>
                    }.into_any(),
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                })}
            </Transition>
            <Show when=move || session.can_write()>
                <NewSchedule sources/>
            </Show>
        </section>
    }
}

#[component]
fn ScheduleRow(s: Schedule, actions: RowActions) -> impl IntoView {
    let session = use_session();
    let confirm = use_confirm();
    let id = StoredValue::new(s.id.clone());
    let enabled = s.enabled;
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
            <td>"#"{s.datasource_id}</td>
            <td>{s.description.clone()}{(!s.enabled).then(|| view! { <span class="badge muted">" disabled"</span> })}</td>
            <td class="small">{s.next_run_at.clone().unwrap_or_else(|| "–".into())}</td>
            <td class="small">{s.last_run_at.clone().unwrap_or_else(|| "never".into())}" "<span class="muted">{s.last_result.clone().unwrap_or_default()}</span></td>
            <td class="actions">
                <Show when=move || session.can_write()>
                    // Plain forms: run now and enable/disable work before hydration too.
                    <RpcForm action=actions.run class="inline">
                        <input type="hidden" name="id" value=id.get_value()/>
                        <button type="submit" name="action" value="run" disabled=move || actions.pending()>"Run now"</button>
                    </RpcForm>
                    <RpcForm action=actions.toggle class="inline">
                        <input type="hidden" name="id" value=id.get_value()/>
                        <input type="hidden" name="input[enabled]" value=(!enabled).to_string()/>
                        <button type="submit" disabled=move || actions.pending()>{if enabled { "Disable" } else { "Enable" }}</button>
                    </RpcForm>
                    <button class="danger-outline" disabled=move || actions.pending() on:click=delete>"Delete"</button>
                </Show>
            </td>
        </tr>
    }
}

#[component]
fn NewSchedule(sources: Resource<Result<Vec<SourceInfo>, AppError>>) -> impl IntoView {
    // Not an ActionForm: the fields shown depend on the kind, and blank ones mean "not set".
    let create = use_mutation::<SaveSchedule>(&[Data::Schedules], |s| Some(format!("Scheduled: {}", s.description)));
    let source = RwSignal::new(String::new());
    let mode = RwSignal::new("every".to_string());
    let cron = RwSignal::new("0 3 * * *".to_string());
    let hours = RwSignal::new("6".to_string());
    let older = RwSignal::new(String::new());
    let add = move |_| {
        let input = ScheduleInput {
            datasource_id: source.get_untracked().parse().ok(),
            cron: (mode.get_untracked() == "cron").then(|| cron.get_untracked()),
            every_hours: if mode.get_untracked() == "every" { hours.get_untracked().parse().ok() } else { None },
            only_if_older_than_minutes: older.get_untracked().trim().parse().ok(),
            enabled: Some(true),
        };
        create.dispatch(SaveSchedule { id: None, input });
    };
    view! {
        <div class="form-row new-schedule">
            <select aria-label="Source" on:change=move |ev| source.set(event_target_value(&ev))>
                <option value="">"Source…"</option>
                <Transition fallback=|| ()>
                    {move || sources.get().and_then(|r| r.ok()).map(|list| {
                        list.into_iter().filter(|s| s.warmable).map(|s| view! { <option value=s.id.to_string()>{s.name.clone()}</option> }).collect_view()
                    })}
                </Transition>
            </select>
            <select aria-label="Kind" on:change=move |ev| mode.set(event_target_value(&ev))>
                <option value="every">"every N hours"</option>
                <option value="cron">"cron (UTC)"</option>
            </select>
            <Show
                when=move || mode.get() == "cron"
                fallback=move || view! { <label>"Every " <input class="short" prop:value=move || hours.get() on:input=move |ev| hours.set(event_target_value(&ev))/>" h"</label> }
            >
                <input aria-label="Cron expression" prop:value=move || cron.get() on:input=move |ev| cron.set(event_target_value(&ev))/>
            </Show>
            <label>"only if older than " <input class="short" placeholder="–" prop:value=move || older.get() on:input=move |ev| older.set(event_target_value(&ev))/>" min"</label>
            <button class="primary" disabled=move || create.pending().get() on:click=add>"Add schedule"</button>
        </div>
    }
}
