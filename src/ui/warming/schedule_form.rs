//! The form that creates a schedule or edits one: source, timing (cron or every N hours), "only
//! if older than", enabled. The timing is read back in words with its next three runs before it
//! is saved, and a field the server refused is highlighted with its message beside it.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::jobs::{Schedule, ScheduleInput};
use crate::model::source::SourceInfo;
use crate::rpc::jobs::{SaveSchedule, preview_schedule};
use crate::ui::common::mutation::{Data, use_form_mutation};

/// The form field a refusal names (`details.field`), if any.
fn field_of(e: &AppError) -> Option<&str> {
    e.details.as_ref()?.get("field")?.as_str()
}

#[component]
pub fn ScheduleForm(
    sources: Resource<Result<Vec<SourceInfo>, AppError>>,
    /// The schedule being edited; `None` creates one.
    #[prop(optional)]
    existing: Option<Schedule>,
    /// Cancel: the editor closes without saving.
    #[prop(optional)]
    on_done: Option<Callback<()>>,
) -> impl IntoView {
    let editing = existing.is_some();
    // A refusal is shown beside its field; a toast and a reload of the list (which would close
    // an edited row's form) are for successes only.
    let save = use_form_mutation::<SaveSchedule>(&[Data::Schedules], move |s| {
        Some(if editing {
            format!("Schedule saved: {}", s.description)
        } else {
            format!("Scheduled: {}", s.description)
        })
    });
    let key = existing.as_ref().map(|s| s.id.clone()).unwrap_or_else(|| "new".into());
    let id = StoredValue::new(existing.as_ref().map(|s| s.id.clone()));
    let source = RwSignal::new(existing.as_ref().map(|s| s.datasource_id.to_string()).unwrap_or_default());
    let mode =
        RwSignal::new(if existing.as_ref().is_some_and(|s| s.cron.is_some()) { "cron" } else { "every" }.to_string());
    let cron = RwSignal::new(existing.as_ref().and_then(|s| s.cron.clone()).unwrap_or_else(|| "0 3 * * *".into()));
    let hours = RwSignal::new(existing.as_ref().and_then(|s| s.every_hours).unwrap_or(6).to_string());
    let older = RwSignal::new(
        existing.as_ref().and_then(|s| s.only_if_older_than_minutes).map(|m| m.to_string()).unwrap_or_default(),
    );
    let enabled = RwSignal::new(existing.as_ref().map(|s| s.enabled).unwrap_or(true));
    // Cleared as soon as the admin edits again, so an old refusal does not linger on a new value.
    let refused = RwSignal::new(None::<AppError>);
    // A saved edit closes by itself: the list reloads (the mutation marks it stale) and redraws
    // its rows. Closing here could drop the mutation's own effect before it toasts.
    Effect::new(move |_| match save.value().get() {
        Some(Err(e)) => refused.set(Some(e)),
        Some(Ok(_)) => refused.set(None),
        None => {}
    });
    let touched = move || refused.set(None);

    let preview = LocalResource::new(move || {
        let (cron, hours, mode) = (cron.get(), hours.get(), mode.get());
        async move {
            if mode == "cron" {
                preview_schedule(Some(cron), None).await
            } else {
                match hours.trim().parse::<u32>() {
                    Ok(h) => preview_schedule(None, Some(h)).await,
                    Err(_) => Err(AppError::validation("\"Every N hours\" takes a whole number of hours, e.g. 6.")
                        .with_details(serde_json::json!({ "field": "everyHours" }))),
                }
            }
        }
    });
    let preview_error = move || preview.get().and_then(|r| r.err());
    // The field a message belongs to: the last refusal first, else what the preview found.
    let error_for = move |field: &'static str| {
        refused
            .get()
            .filter(|e| field_of(e) == Some(field))
            .or_else(|| preview_error().filter(|e| field_of(e) == Some(field)))
            .map(|e| e.message)
    };
    let general_error = move || refused.get().filter(|e| field_of(e).is_none()).map(|e| e.message);

    let submit = move |_| {
        let timing_cron = (mode.get_untracked() == "cron").then(|| cron.get_untracked());
        let every_hours = if mode.get_untracked() == "every" {
            match hours.get_untracked().trim().parse() {
                Ok(h) => Some(h),
                Err(_) => {
                    refused.set(preview_error());
                    return;
                }
            }
        } else {
            None
        };
        let input = ScheduleInput {
            datasource_id: source.get_untracked().parse().ok(),
            cron: timing_cron,
            every_hours,
            // Blank clears the condition (0 means none).
            only_if_older_than_minutes: Some(older.get_untracked().trim().parse().unwrap_or(0)),
            enabled: Some(enabled.get_untracked()),
        };
        save.dispatch(SaveSchedule { id: id.get_value(), input });
    };

    let field_id = move |name: &str| format!("sched-{key}-{name}");
    let (source_id, cron_id, hours_id, older_id) =
        (field_id("source"), field_id("cron"), field_id("hours"), field_id("older"));
    let (source_err, cron_err, hours_err, older_err) =
        (field_id("source-error"), field_id("cron-error"), field_id("hours-error"), field_id("older-error"));
    view! {
        <div class="schedule-form" data-testid="schedule-form">
            <div class="field" class:invalid=move || error_for("datasourceId").is_some()>
                <label for=source_id.clone()>"Source"</label>
                <select
                    id=source_id
                    data-testid="schedule-source"
                    aria-invalid=move || error_for("datasourceId").is_some().to_string()
                    aria-describedby=source_err.clone()
                    on:change=move |ev| { touched(); source.set(event_target_value(&ev)) }
                >
                    <option value="">"Pick a source…"</option>
                    <Transition fallback=|| ()>
                        {move || sources.get().and_then(|r| r.ok()).map(|list| {
                            list.into_iter().filter(|s| s.warmable).map(|s| {
                                let value = s.id.to_string();
                                let selected = value == source.get_untracked();
                                view! { <option value=value selected=selected>{s.name.clone()}</option> }
                            }).collect_view()
                        })}
                    </Transition>
                </select>
                <span class="field-error" id=source_err role="alert">{move || error_for("datasourceId")}</span>
            </div>
            <div class="field">
                <label for=field_id("kind")>"Runs"</label>
                <select id=field_id("kind") data-testid="schedule-kind" on:change=move |ev| { touched(); mode.set(event_target_value(&ev)) }>
                    <option value="every" selected=move || mode.get() == "every">"every N hours"</option>
                    <option value="cron" selected=move || mode.get() == "cron">"on a cron schedule (UTC)"</option>
                </select>
            </div>
            <Show
                when=move || mode.get() == "cron"
                fallback={
                    let (hours_id, hours_err) = (hours_id.clone(), hours_err.clone());
                    move || view! {
                        <div class="field" class:invalid=move || error_for("everyHours").is_some()>
                            <label for=hours_id.clone()>"Every (hours)"</label>
                            <input
                                id=hours_id.clone()
                                class="short"
                                inputmode="numeric"
                                data-testid="schedule-hours"
                                aria-invalid=move || error_for("everyHours").is_some().to_string()
                                aria-describedby=hours_err.clone()
                                prop:value=move || hours.get()
                                on:input=move |ev| { touched(); hours.set(event_target_value(&ev)) }
                            />
                            <span class="field-error" id=hours_err.clone() role="alert">{move || error_for("everyHours")}</span>
                        </div>
                    }
                }
            >
                <div class="field" class:invalid=move || error_for("cron").is_some()>
                    <label for=cron_id.clone()>"Cron (minute hour day month weekday)"</label>
                    <input
                        id=cron_id.clone()
                        class="mono"
                        data-testid="schedule-cron"
                        aria-invalid=move || error_for("cron").is_some().to_string()
                        aria-describedby=cron_err.clone()
                        prop:value=move || cron.get()
                        on:input=move |ev| { touched(); cron.set(event_target_value(&ev)) }
                    />
                    <span class="field-error" id=cron_err.clone() role="alert" data-testid="schedule-cron-error">{move || error_for("cron")}</span>
                </div>
            </Show>
            <div class="field" class:invalid=move || error_for("onlyIfOlderThanMinutes").is_some()>
                <label for=older_id.clone()>"Only if older than (min)"</label>
                <input
                    id=older_id
                    class="short"
                    inputmode="numeric"
                    placeholder="–"
                    aria-describedby=older_err.clone()
                    prop:value=move || older.get()
                    on:input=move |ev| { touched(); older.set(event_target_value(&ev)) }
                />
                <span class="field-error" id=older_err role="alert">{move || error_for("onlyIfOlderThanMinutes")}</span>
            </div>
            <label class="check">
                <input type="checkbox" data-testid="schedule-enabled" prop:checked=enabled on:change=move |ev| enabled.set(event_target_checked(&ev))/>
                " Enabled"
            </label>
            <div class="schedule-preview" data-testid="schedule-preview" aria-live="polite">
                {move || preview.get().and_then(|r| r.ok()).map(|p| view! {
                    <span>{p.description}</span>
                    <span class="muted">" · next: "</span>
                    <ol class="next-runs">{p.next_runs.into_iter().map(|t| view! { <li data-testid="schedule-next-run">{crate::format::utc_time(&t)}</li> }).collect_view()}</ol>
                })}
            </div>
            <p class="field-error" role="alert">{general_error}</p>
            <div class="actions">
                <button class="primary" data-testid="schedule-save" disabled=save.pending() on:click=submit>
                    {if editing { "Save schedule" } else { "Add schedule" }}
                </button>
                {on_done.map(|done| view! { <button data-testid="schedule-cancel" on:click=move |_| done.run(())>"Cancel"</button> })}
            </div>
        </div>
    }
}
