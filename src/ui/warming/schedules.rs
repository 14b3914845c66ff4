//! Schedules: list with next and last run, create (cron or every N hours, only if older than),
//! enable/disable, run now, delete.

use leptos::prelude::*;

use crate::model::input::ScheduleAction;

use crate::error::AppError;
use crate::model::jobs::{Schedule, ScheduleInput};
use crate::model::source::SourceInfo;
use crate::rpc::jobs::{act_on_schedule, list_schedules, save_schedule};
use crate::ui::common::confirm::{ConfirmRequest, use_confirm};
use crate::ui::common::error_box::ErrorBox;
use crate::ui::common::session::use_session;
use crate::ui::common::toast::use_toasts;

#[component]
pub fn Schedules(sources: Resource<Result<Vec<SourceInfo>, AppError>>) -> impl IntoView {
    let session = use_session();
    let list = Resource::new(|| (), |_| list_schedules());
    let refresh = Callback::new(move |_: ()| list.refetch());
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
                                <tbody>{items.into_iter().map(|s| view! { <ScheduleRow s refresh/> }).collect_view()}</tbody>
                            </table>
                        </div>
                    }.into_any(),
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                })}
            </Transition>
            <Show when=move || session.can_write()>
                <NewSchedule sources refresh/>
            </Show>
        </section>
    }
}

#[component]
fn ScheduleRow(s: Schedule, refresh: Callback<()>) -> impl IntoView {
    let session = use_session();
    let toasts = use_toasts();
    let confirm = use_confirm();
    let id = s.id.clone();
    let act = Callback::new(move |action: ScheduleAction| {
        let id = id.clone();
        leptos::task::spawn_local(async move {
            match act_on_schedule(id, action).await {
                Ok(Some(r)) => toasts.ok(r.message),
                Ok(None) => toasts.ok("Schedule deleted."),
                Err(e) => toasts.error(&e),
            }
            refresh.run(());
        });
    });
    let toggle_id = s.id.clone();
    let enabled = s.enabled;
    let toggle = move |_| {
        let id = toggle_id.clone();
        leptos::task::spawn_local(async move {
            let input = ScheduleInput { enabled: Some(!enabled), ..Default::default() };
            match save_schedule(Some(id), input).await {
                Ok(s) => toasts.ok(format!("Schedule {}", if s.enabled { "enabled" } else { "disabled" })),
                Err(e) => toasts.error(&e),
            }
            refresh.run(());
        });
    };
    let delete = move |_| {
        confirm.ask(ConfirmRequest {
            title: "Delete this schedule".into(),
            body: "The schedule stops firing; warms already queued are not affected.".into(),
            action_label: "Delete".into(),
            require_text: None,
            reason_required: false,
            on_confirm: Callback::new(move |_| act.run(ScheduleAction::Delete)),
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
                    <button on:click=move |_| act.run(ScheduleAction::Run)>"Run now"</button>
                    <button on:click=toggle.clone()>{if enabled { "Disable" } else { "Enable" }}</button>
                    <button class="danger-outline" on:click=delete>"Delete"</button>
                </Show>
            </td>
        </tr>
    }
}

#[component]
fn NewSchedule(sources: Resource<Result<Vec<SourceInfo>, AppError>>, refresh: Callback<()>) -> impl IntoView {
    let toasts = use_toasts();
    let source = RwSignal::new(String::new());
    let mode = RwSignal::new("every".to_string());
    let cron = RwSignal::new("0 3 * * *".to_string());
    let hours = RwSignal::new("6".to_string());
    let older = RwSignal::new(String::new());
    let create = move |_| {
        let input = ScheduleInput {
            datasource_id: source.get_untracked().parse().ok(),
            cron: (mode.get_untracked() == "cron").then(|| cron.get_untracked()),
            every_hours: if mode.get_untracked() == "every" { hours.get_untracked().parse().ok() } else { None },
            only_if_older_than_minutes: older.get_untracked().trim().parse().ok(),
            enabled: Some(true),
        };
        leptos::task::spawn_local(async move {
            match save_schedule(None, input).await {
                Ok(s) => toasts.ok(format!("Scheduled: {}", s.description)),
                Err(e) => toasts.error(&e),
            }
            refresh.run(());
        });
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
            <button class="primary" on:click=create>"Add schedule"</button>
        </div>
    }
}
