//! Invalidating a source or a slice: choose the scope, see the dry run (keys, index sets,
//! memory), then confirm with a reason.

use leptos::prelude::*;

use crate::model::input::{DatasourceId, Reason};

use crate::format;
use crate::model::cache::{InvalidateRequest, InvalidateResult};
use crate::rpc::cache::InvalidateCache;
use crate::ui::common::confirm::{ConfirmRequest, use_confirm};
use crate::ui::common::mutation::use_mutation;

fn value(s: &RwSignal<String>) -> Option<String> {
    Some(s.get_untracked().trim().to_string()).filter(|v| !v.is_empty())
}

#[component]
pub fn InvalidatePanel(
    ds: i64,
    name: String,
    frequencies: Vec<String>,
    close: Callback<()>,
    /// The page's invalidation, which outlives this panel.
    invalidate: ServerAction<InvalidateCache>,
) -> impl IntoView {
    let confirm = use_confirm();
    let (measure, practice, frequency) =
        (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()));
    let preview = RwSignal::new(None::<InvalidateResult>);
    // The dry run changes nothing; its answer is the preview.
    let dry_run = use_mutation::<InvalidateCache>(&[], move |r| {
        preview.set(Some(r));
        None
    });
    let request = move |dry: bool, reason: Option<String>| InvalidateRequest {
        datasource_id: DatasourceId::try_from(ds).ok(),
        measure: value(&measure),
        practice: value(&practice),
        frequency: value(&frequency),
        reason: reason.as_deref().and_then(Reason::from_text),
        dry_run: Some(dry),
    };
    let run_preview = move |_| {
        dry_run.dispatch(InvalidateCache { request: request(true, None) });
    };
    let name_for_confirm = name.clone();
    let go = Callback::new(move |_: ()| {
        let Some(p) = preview.get_untracked() else { return };
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
                invalidate.dispatch(InvalidateCache { request: request(false, Some(reason)) });
                close.run(());
            }),
        });
    });
    view! {
        <div class="invalidate" data-testid="invalidate-panel">
            <h3>"Invalidate " {name} " (whole source, or a slice)"</h3>
            <div class="form-row">
                <label>"Measure" <input data-testid="inv-measure" placeholder="all" prop:value=move || measure.get() on:input=move |ev| { measure.set(event_target_value(&ev)); preview.set(None) }/></label>
                <label>"Practice" <input data-testid="inv-practice" placeholder="all" prop:value=move || practice.get() on:input=move |ev| { practice.set(event_target_value(&ev)); preview.set(None) }/></label>
                <label>
                    "Frequency "
                    <select data-testid="inv-frequency" on:change=move |ev| { frequency.set(event_target_value(&ev)); preview.set(None) }>
                        <option value="">"all"</option>
                        {frequencies.into_iter().map(|f| view! { <option value=f.clone()>{f.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <button data-testid="inv-preview" disabled=move || dry_run.pending().get() on:click=run_preview>"Preview"</button>
                <button on:click=move |_| close.run(())>"Close"</button>
            </div>
            {move || preview.get().map(|p| view! {
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
