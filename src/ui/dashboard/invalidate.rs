//! Invalidating a source or a slice: choose the scope, see the dry run (keys, index sets,
//! memory), then confirm with a reason.

use leptos::html::Input;
use leptos::prelude::*;

use crate::error::AppError;
use crate::format;
use crate::model::cache::{InvalidateRequest, InvalidateResult};
use crate::model::input::{DatasourceId, Reason};
use crate::rpc::cache::InvalidateCache;
use crate::ui::common::confirm::{ConfirmRequest, use_confirm};
use crate::ui::common::mutation::{Data, use_form_mutation, use_mutation};

/// The source an invalidation is being prepared for.
#[derive(Debug, Clone, PartialEq)]
struct Target {
    ds: i64,
    name: String,
    frequencies: Vec<String>,
}

/// An invalidation being prepared: for which source, what was typed, and the dry run's answer.
/// Owned by the page, not by the part of it a poll or a reload redraws (the dashboard redraws
/// its table every 15 s, every 2 s while a warm runs), so the fields, the preview and a dry run
/// still on its way all outlive a redraw.
#[derive(Clone, Copy)]
pub struct InvalidateDraft {
    target: RwSignal<Option<Target>>,
    measure: RwSignal<String>,
    practice: RwSignal<String>,
    frequency: RwSignal<String>,
    /// Bumped by every change of scope: a dry run answers only the scope it was asked for
    /// (`asked_at`), not one typed or opened while it was on its way.
    edits: StoredValue<u64>,
    asked_at: StoredValue<u64>,
    /// Set by `open`: the panel takes focus when it appears, not when a page reload redraws it.
    focus: StoredValue<bool>,
    /// The preview: its answer, or why it was refused (a warm holds the source, a field is
    /// wrong), shown in the panel rather than in a toast gone before it is read. Cleared when the
    /// scope changes.
    dry_run: ServerAction<InvalidateCache>,
    /// The confirmed invalidation, which outlives the panel: its answer is reported after the
    /// panel has closed.
    invalidate: ServerAction<InvalidateCache>,
}

impl InvalidateDraft {
    /// Create it in the page, where it outlives the rows that open it.
    pub fn new() -> Self {
        Self {
            target: RwSignal::new(None),
            measure: RwSignal::new(String::new()),
            practice: RwSignal::new(String::new()),
            frequency: RwSignal::new(String::new()),
            edits: StoredValue::new(0),
            asked_at: StoredValue::new(0),
            focus: StoredValue::new(false),
            // The dry run changes nothing, and the panel shows its answer: no toast.
            dry_run: use_form_mutation::<InvalidateCache>(&[], |_| None),
            invalidate: use_mutation::<InvalidateCache>(&[Data::Cache, Data::Jobs], |r| Some(r.message)),
        }
    }

    /// Opens the panel on a source; what was typed is kept when it is the source already open.
    pub fn open(&self, ds: i64, name: String, frequencies: Vec<String>) {
        if self.target.with_untracked(|t| t.as_ref().map(|t| t.ds)) != Some(ds) {
            for field in [self.measure, self.practice, self.frequency] {
                field.set(String::new());
            }
            self.changed();
        }
        self.focus.set_value(true);
        self.target.set(Some(Target { ds, name, frequencies }));
    }

    /// A button's click handler that opens the panel on source `ds`.
    pub fn opener(self, ds: i64, name: String, frequencies: Vec<String>) -> impl Fn(leptos::ev::MouseEvent) + 'static {
        move |_| self.open(ds, name.clone(), frequencies.clone())
    }

    pub fn close(&self) {
        self.target.set(None);
        self.changed();
    }

    pub fn is_open(&self) -> bool {
        self.target.with(Option::is_some)
    }

    /// The scope changed: the preview no longer describes it.
    fn changed(&self) {
        self.edits.update_value(|n| *n += 1);
        self.dry_run.value().set(None);
    }

    /// The dry run's answer while it describes the scope as it is (not one typed or opened
    /// while it was on its way).
    fn preview(&self) -> Option<Result<InvalidateResult, AppError>> {
        self.dry_run.value().get().filter(|_| self.edits.get_value() == self.asked_at.get_value())
    }

    /// Asks for the dry run of the scope as it is now.
    fn ask_preview(&self, ds: i64) {
        self.asked_at.set_value(self.edits.get_value());
        self.dry_run.value().set(None);
        self.dry_run.dispatch(InvalidateCache { request: self.request(ds, true, None) });
    }

    fn request(&self, ds: i64, dry: bool, reason: Option<String>) -> InvalidateRequest {
        let value = |s: RwSignal<String>| Some(s.get_untracked().trim().to_string()).filter(|v| !v.is_empty());
        InvalidateRequest {
            datasource_id: DatasourceId::try_from(ds).ok(),
            measure: value(self.measure),
            practice: value(self.practice),
            frequency: value(self.frequency),
            reason: reason.as_deref().and_then(Reason::from_text),
            dry_run: Some(dry),
        }
    }
}

impl Default for InvalidateDraft {
    fn default() -> Self {
        Self::new()
    }
}

/// The panel of the draft's source, nothing while none is open. It takes focus when it opens,
/// so a keyboard user lands in its first field.
#[component]
pub fn InvalidatePanel(draft: InvalidateDraft) -> impl IntoView {
    move || draft.target.get().map(|t| view! { <Panel t draft/> })
}

#[component]
fn Panel(t: Target, draft: InvalidateDraft) -> impl IntoView {
    let confirm = use_confirm();
    let InvalidateDraft { measure, practice, frequency, dry_run, focus, invalidate, .. } = draft;
    let ds = t.ds;
    let first_field = NodeRef::<Input>::new();
    Effect::new(move |_| {
        if let Some(input) = first_field.get()
            && focus.get_value()
        {
            focus.set_value(false);
            let _ = input.focus();
        }
    });
    let edit = move |field: RwSignal<String>, value: String| {
        field.set(value);
        draft.changed();
    };
    let name_for_confirm = t.name.clone();
    let go = Callback::new(move |_: ()| {
        let Some(Ok(p)) = untrack(|| draft.preview()) else { return };
        confirm.ask(ConfirmRequest {
            title: format!("Invalidate {name_for_confirm}"),
            body: format!(
                "This deletes {} keys and {} index sets ({:.1} MB) now. Readers fall back to the database until the next warm.",
                p.keys_deleted, p.indexes_deleted, p.memory_freed_mb
            ),
            action_label: "Invalidate".into(),
            require_text: None,
            reason_required: true,
            on_confirm: Callback::new(move |reason: String| {
                invalidate.dispatch(InvalidateCache { request: draft.request(ds, false, Some(reason)) });
                draft.close();
            }),
        });
    });
    view! {
        <div class="invalidate" data-testid="invalidate-panel">
            <h3>"Invalidate " {t.name} " (whole source, or a slice)"</h3>
            <div class="form-row">
                <label>"Measure" <input node_ref=first_field data-testid="inv-measure" placeholder="all" prop:value=measure on:input=move |ev| edit(measure, event_target_value(&ev))/></label>
                <label>"Practice" <input data-testid="inv-practice" placeholder="all" prop:value=practice on:input=move |ev| edit(practice, event_target_value(&ev))/></label>
                <label>
                    "Frequency "
                    <select data-testid="inv-frequency" on:change=move |ev| edit(frequency, event_target_value(&ev))>
                        <option value="" selected=move || frequency.get().is_empty()>"all"</option>
                        {t.frequencies.into_iter().map(|f| {
                            let (value, label) = (f.clone(), f.clone());
                            view! { <option value=f selected=move || frequency.get() == value>{label}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <button data-testid="inv-preview" disabled=dry_run.pending() on:click=move |_| draft.ask_preview(ds)>"Preview"</button>
                <button data-testid="inv-close" on:click=move |_| draft.close()>"Close"</button>
            </div>
            <p class="field-error" role="alert" data-testid="inv-refused">{move || draft.preview().and_then(Result::err).map(|e| e.message)}</p>
            {move || draft.preview().and_then(Result::ok).map(|p| view! {
                <div class="preview" data-testid="inv-result">
                    <p>
                        {format!("Would delete {} keys and {} index sets", format::thousands(p.keys_deleted), format::thousands(p.indexes_deleted))}
                        {(p.indexes_updated > 0).then(|| format!(", trim {} index sets", p.indexes_updated))}
                        {format!(", freeing about {:.2} MB.", p.memory_freed_mb)}
                    </p>
                    {(!p.keys.is_empty()).then(|| view! {
                        <details><summary>"First keys"</summary><ul class="mono small">{p.keys.iter().take(20).map(|k| view! { <li>{k.clone()}</li> }).collect_view()}</ul></details>
                    })}
                    <button
                        class="danger"
                        data-testid="inv-confirm"
                        disabled=move || (p.keys_deleted == 0 && p.indexes_deleted == 0) || invalidate.pending().get()
                        on:click=move |_| go.run(())
                    >
                        "Invalidate…"
                    </button>
                </div>
            })}
        </div>
    }
}
