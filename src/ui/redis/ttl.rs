//! TTL by pattern, with a purge's rules: preview how many keys and their current TTLs, then
//! confirm with a reason (typing `change all` for `*`, `persist` for -1) and apply.

use leptos::prelude::*;

use crate::model::input::{Reason, Ttl};

use crate::error::AppError;
use crate::format;
use crate::model::redis::{CONFIRM_TTL_ALL as CONFIRM_ALL, TtlRequest, TtlResult};
use crate::rpc::redis::ChangeTtl;
use crate::ui::common::confirm::{ConfirmRequest, use_confirm};
use crate::ui::common::markup::Markup;
use crate::ui::common::mutation::{Data, use_mutation};
use crate::ui::common::session::use_session;
use crate::ui::common::toast::use_toasts;

/// What the admin types to persist keys by pattern (the server wants `confirmPersist: true`).
const CONFIRM_PERSIST: &str = "persist";

fn everything(p: &str) -> bool {
    !p.is_empty() && p.chars().all(|c| c == '*')
}

/// What a TTL change's preview found, as text.
fn preview_markup(p: &TtlResult) -> String {
    let mut m = Markup::new();
    m.wrap("p", &[], |m| {
        m.text(if p.truncated { "At least " } else { "" });
        m.el("strong", &[("data-testid", "ttlp-matched")], &format::thousands(p.matched));
        m.text(" keys match. Their TTLs now:");
    });
    m.wrap("ul", &[("class", "small")], |m| {
        for b in &p.distribution {
            m.el("li", &[], &format!("{}: {}", b.label, format::thousands(b.keys)));
        }
    });
    super::purge::left_alone(&mut m, p.skipped_protected, p.skipped_outside, p.truncated, p.examined);
    m.finish()
}

#[component]
pub fn TtlPanel() -> impl IntoView {
    let session = use_session();
    let confirm = use_confirm();
    let toasts = use_toasts();
    let pattern = RwSignal::new(String::new());
    let ttl = RwSignal::new("3600".to_string());
    let preview = RwSignal::new(None::<TtlResult>);
    // The TTL typed in the box is read by the same rule the server applies. A change repeats
    // the previewed pattern and TTL, confirmed as the dialog asked.
    let request = move |preview: bool, reason: Option<String>| -> Result<TtlRequest, AppError> {
        let (pattern, ttl) =
            (pattern.get_untracked(), ttl.get_untracked().parse::<Ttl>().map_err(AppError::validation)?);
        let confirm = (!preview)
            .then(|| if everything(&pattern) { serde_json::json!(CONFIRM_ALL) } else { serde_json::json!(true) });
        Ok(TtlRequest {
            confirm_persist: (!preview && ttl.is_persist()).then_some(true),
            pattern,
            ttl,
            preview: Some(preview),
            confirm,
            reason: reason.as_deref().and_then(Reason::from_text),
        })
    };
    let dry_run = use_mutation::<ChangeTtl>(&[], move |r| {
        preview.set(Some(r));
        None
    });
    let change = use_mutation::<ChangeTtl>(&[Data::Keys], move |r| {
        preview.set(None);
        Some(format!("{} of {} keys updated", r.updated, r.matched))
    });
    let run_preview = move |_| match request(true, None) {
        Ok(request) => {
            dry_run.dispatch(ChangeTtl { request });
        }
        Err(e) => toasts.error(&e),
    };
    let apply = move |_| {
        let Some(p) = preview.get_untracked() else { return };
        let (all, persist) = (everything(&p.pattern), p.ttl == -1);
        confirm.ask(ConfirmRequest {
            title: format!("Change the TTL of `{}`", p.pattern),
            body: format!(
                "{}{} keys get {}. Hearth's own keys and warm locks are kept.",
                if p.truncated { "At least " } else { "" },
                format::thousands(p.matched),
                if persist {
                    "no expiry: they stay until someone deletes them".to_string()
                } else {
                    format!("a TTL of {}", format::duration_secs(p.ttl as u64))
                }
            ),
            action_label: "Apply".into(),
            // The widest change, and removing expiries, are typed out.
            require_text: if all {
                Some(CONFIRM_ALL.to_string())
            } else if persist {
                Some(CONFIRM_PERSIST.to_string())
            } else {
                None
            },
            reason_required: true,
            on_confirm: Callback::new(move |reason: String| match request(false, Some(reason)) {
                Ok(request) => {
                    change.dispatch(ChangeTtl { request });
                }
                Err(e) => toasts.error(&e),
            }),
        });
    };
    view! {
        <section class="card" aria-labelledby="ttl-title" data-testid="ttl-panel">
            <div class="card-head"><h2 id="ttl-title">"TTL by pattern"</h2></div>
            <Show when=move || session.can_write() fallback=|| view! { <p class="muted">"Changing TTLs needs the write permission."</p> }>
                <div class="form-row">
                    <label class="grow">"Pattern " <input class="mono" data-testid="ttlp-pattern" prop:value=pattern on:input=move |ev| { pattern.set(event_target_value(&ev)); preview.set(None) }/></label>
                    <label>"TTL (s, -1 = none) " <input class="short" data-testid="ttlp-ttl" prop:value=ttl on:input=move |ev| { ttl.set(event_target_value(&ev)); preview.set(None) }/></label>
                    <button data-testid="ttlp-preview" disabled=dry_run.pending() on:click=run_preview>"Preview"</button>
                </div>
                {move || preview.get().map(|p| view! {
                    <div class="preview" data-testid="ttlp-result">
                        <div inner_html=preview_markup(&p)></div>
                        <button class="danger" data-testid="ttlp-apply" disabled=move || p.matched == 0 || change.pending().get() on:click=apply>"Apply…"</button>
                    </div>
                })}
            </Show>
        </section>
    }
}
