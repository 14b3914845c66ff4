//! Purge by pattern: preview (count, first keys, memory), then confirm with a reason, watch
//! the deletion progress, abort if needed, read the summary.

use leptos::prelude::*;

use crate::model::input::Reason;

use crate::format;
use crate::model::redis::{PurgeRequest, PurgeResult};
use crate::rpc::redis::{abort_purge, purge_keys, purge_status};
use crate::ui::common::confirm::{ConfirmRequest, use_confirm};
use crate::ui::common::session::use_session;
use crate::ui::common::toast::use_toasts;

fn everything(p: &str) -> bool {
    !p.is_empty() && p.chars().all(|c| c == '*')
}

#[component]
pub fn PurgePanel(reload_keys: RwSignal<u32>) -> impl IntoView {
    let session = use_session();
    let toasts = use_toasts();
    let confirm = use_confirm();
    let pattern = RwSignal::new(String::new());
    let preview = RwSignal::new(None::<PurgeResult>);
    let running = RwSignal::new(None::<PurgeResult>);

    let run_preview = move |_| {
        let p = pattern.get_untracked();
        leptos::task::spawn_local(async move {
            match purge_keys(PurgeRequest { pattern: p, preview: Some(true), ..Default::default() }).await {
                Ok(r) => preview.set(Some(r)),
                Err(e) => toasts.error(&e),
            }
        });
    };
    let follow = move |id: String| {
        leptos::task::spawn_local(async move {
            loop {
                gloo_sleep(500).await;
                match purge_status(id.clone()).await {
                    Ok(s) => {
                        let done = s.done;
                        running.set(Some(s.clone()));
                        if done {
                            toasts.ok(format!(
                                "{}: {} keys deleted, {} failed, in {}",
                                if s.aborted { "Purge aborted" } else { "Purge finished" },
                                format::thousands(s.keys_deleted),
                                s.failed,
                                format::duration_secs(s.duration_ms / 1000)
                            ));
                            reload_keys.update(|v| *v += 1);
                            return;
                        }
                    }
                    Err(e) => {
                        toasts.error(&e);
                        return;
                    }
                }
            }
        });
    };
    let start = move |_| {
        let Some(p) = preview.get_untracked() else { return };
        let all = everything(&p.pattern);
        confirm.ask(ConfirmRequest {
            title: format!("Purge `{}`", p.pattern),
            body: format!(
                "This deletes {} keys (about {}) under the prefix, a page at a time. Warm locks are kept.",
                format::thousands(p.matched),
                format::bytes(p.estimated_bytes.unwrap_or(0))
            ),
            action_label: "Purge".into(),
            require_text: all.then(|| "purge all".to_string()),
            reason_required: true,
            on_confirm: Callback::new(move |reason: String| {
                let pat = p.pattern.clone();
                let confirm_value = if all { serde_json::json!("purge all") } else { serde_json::json!(true) };
                leptos::task::spawn_local(async move {
                    let request = PurgeRequest {
                        pattern: pat,
                        preview: Some(false),
                        confirm: Some(confirm_value),
                        reason: Reason::from_text(&reason),
                        run_async: Some(true),
                    };
                    match purge_keys(request).await {
                        Ok(r) => {
                            preview.set(None);
                            running.set(Some(r.clone()));
                            if let Some(id) = r.purge_id {
                                follow(id);
                            }
                        }
                        Err(e) => toasts.error(&e),
                    }
                });
            }),
        });
    };
    let abort = move |_| {
        if let Some(id) = running.get_untracked().and_then(|r| r.purge_id) {
            leptos::task::spawn_local(async move {
                if let Err(e) = abort_purge(id).await {
                    toasts.error(&e);
                }
            });
        }
    };
    view! {
        <section class="card" aria-labelledby="purge-title" data-testid="purge-panel">
            <div class="card-head"><h2 id="purge-title">"Purge by pattern"</h2></div>
            <Show when=move || session.can_write() fallback=|| view! { <p class="muted">"Purging needs the write permission."</p> }>
                <div class="form-row">
                    <label class="grow">"Pattern " <input class="mono" data-testid="purge-pattern" placeholder="cache:{ds:3}:*" prop:value=move || pattern.get() on:input=move |ev| { pattern.set(event_target_value(&ev)); preview.set(None) }/></label>
                    <button data-testid="purge-preview" on:click=run_preview>"Preview"</button>
                </div>
                {move || preview.get().map(|p| view! {
                    <div class="preview" data-testid="purge-preview-result">
                        <p>
                            <strong data-testid="purge-matched">{format::thousands(p.matched)}</strong>
                            {format!(" keys match (about {}); {} protected keys would be kept.", format::bytes(p.estimated_bytes.unwrap_or(0)), p.skipped_protected)}
                        </p>
                        {(!p.keys.is_empty()).then(|| view! {
                            <details><summary>"First keys"</summary><ul class="mono small">{p.keys.iter().map(|k| view! { <li>{k.clone()}</li> }).collect_view()}</ul></details>
                        })}
                        <button class="danger" data-testid="purge-start" disabled=p.matched == 0 on:click=start>"Purge…"</button>
                    </div>
                })}
                {move || running.get().map(|r| view! {
                    <div class="preview" data-testid="purge-progress">
                        <p data-testid="purge-summary">
                            {format!(
                                "{} {} keys deleted{}{}",
                                if r.done { if r.aborted { "Aborted:" } else { "Done:" } } else { "Purging:" },
                                format::thousands(r.keys_deleted),
                                if r.failed > 0 { format!(", {} failed", r.failed) } else { String::new() },
                                if r.done { format!(" in {} ms", r.duration_ms) } else { String::new() }
                            )}
                        </p>
                        {(!r.done).then(|| view! { <button data-testid="purge-abort" on:click=abort>"Abort"</button> })}
                    </div>
                })}
            </Show>
        </section>
    }
}

async fn gloo_sleep(ms: u32) {
    #[cfg(feature = "hydrate")]
    gloo_timers::future::TimeoutFuture::new(ms).await;
    #[cfg(not(feature = "hydrate"))]
    let _ = ms;
}
