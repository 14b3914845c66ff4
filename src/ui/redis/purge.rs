//! Purge by pattern: preview (count, first keys, memory), then confirm with a reason, watch
//! the deletion progress, abort if needed, read the summary.

use leptos::prelude::*;

use crate::model::input::Reason;

use crate::format;
use crate::model::redis::{CONFIRM_PURGE_ALL, PurgeRequest, PurgeResult};
use crate::rpc::redis::{AbortPurge, PurgeKeys, PurgeStatus};
use crate::ui::common::confirm::{ConfirmRequest, use_confirm};
use crate::ui::common::markup::Markup;
use crate::ui::common::mutation::{Data, use_mutation, use_stale};
use crate::ui::common::polling::use_polling;
use crate::ui::common::session::use_session;
use crate::ui::common::toast::use_toasts;

fn everything(p: &str) -> bool {
    !p.is_empty() && p.chars().all(|c| c == '*')
}

/// What a preview leaves alone, and whether it looked at the whole keyspace.
pub fn left_alone(m: &mut Markup, protected: u64, outside: u64, truncated: bool, examined: u64) {
    let mut text = format!(
        "{} protected or read-only keys (Hearth's own state, warm locks) are kept; {} outside the Redis tab's namespaces are left alone.",
        format::thousands(protected),
        format::thousands(outside)
    );
    if truncated {
        text.push_str(&format!(
            " Counted over the first {} keys examined: more may match, and the change itself goes through all of them.",
            format::thousands(examined)
        ));
    }
    m.el("p", &[("class", "small muted"), ("data-testid", "left-alone")], &text);
}

/// What a purge's preview found, as text.
fn preview_markup(p: &PurgeResult) -> String {
    let mut m = Markup::new();
    m.wrap("p", &[], |m| {
        m.text(if p.truncated { "At least " } else { "" });
        m.el("strong", &[("data-testid", "purge-matched")], &format::thousands(p.matched));
        m.text(&format!(" keys match (about {}).", format::bytes(p.estimated_bytes.unwrap_or(0))));
    });
    left_alone(&mut m, p.skipped_protected, p.skipped_outside, p.truncated, p.examined);
    if !p.keys.is_empty() {
        m.wrap("details", &[], |m| {
            m.el("summary", &[], "First keys");
            m.wrap("ul", &[("class", "mono small")], |m| {
                for k in &p.keys {
                    m.el("li", &[], k);
                }
            });
        });
    }
    m.finish()
}

#[component]
pub fn PurgePanel() -> impl IntoView {
    let session = use_session();
    let toasts = use_toasts();
    let confirm = use_confirm();
    let stale = use_stale();
    let pattern = RwSignal::new(String::new());
    let preview = RwSignal::new(None::<PurgeResult>);
    let running = RwSignal::new(None::<PurgeResult>);
    // Whether the running purge is still followed: until it is done, or its status fails.
    let following = RwSignal::new(false);

    let dry_run = use_mutation::<PurgeKeys>(&[], move |r| {
        preview.set(Some(r));
        None
    });
    let purge = use_mutation::<PurgeKeys>(&[], move |r| {
        preview.set(None);
        // Followed to the end even if already done: the end is what toasts and reloads the keys.
        following.set(r.purge_id.is_some());
        running.set(Some(r));
        None
    });
    let abort = use_mutation::<AbortPurge>(&[], |_| None);
    // Its progress is a read: errors stop following instead of toasting every half second.
    let status = ServerAction::<PurgeStatus>::new();
    Effect::new(move |_| match status.value().get() {
        Some(Ok(s)) => {
            running.set(Some(s.clone()));
            if s.done {
                following.set(false);
                toasts.ok(format!(
                    "{}: {} keys deleted, {} failed, in {}",
                    if s.aborted { "Purge aborted" } else { "Purge finished" },
                    format::thousands(s.keys_deleted),
                    s.failed,
                    format::duration_secs(s.duration_ms / 1000)
                ));
                stale.mark(Data::Keys);
            }
        }
        Some(Err(e)) => {
            following.set(false);
            toasts.error(&e);
        }
        None => {}
    });
    use_polling(Signal::derive(move || following.get().then_some(500)), move || {
        let id = running.get_untracked().and_then(|r| r.purge_id);
        if let Some(id) = id
            && !status.pending().get_untracked()
        {
            status.dispatch(PurgeStatus { id });
        }
    });

    let run_preview = move |_| {
        dry_run.dispatch(PurgeKeys {
            request: PurgeRequest { pattern: pattern.get_untracked(), preview: Some(true), ..Default::default() },
        });
    };
    let start = move |_| {
        let Some(p) = preview.get_untracked() else { return };
        let all = everything(&p.pattern);
        confirm.ask(ConfirmRequest {
            title: format!("Purge `{}`", p.pattern),
            body: format!(
                "This deletes {}{} keys (about {}) under the prefix, a page at a time. Hearth's own keys and warm locks are kept.",
                if p.truncated { "at least " } else { "" },
                format::thousands(p.matched),
                format::bytes(p.estimated_bytes.unwrap_or(0))
            ),
            action_label: "Purge".into(),
            require_text: all.then(|| CONFIRM_PURGE_ALL.to_string()),
            reason_required: true,
            on_confirm: Callback::new(move |reason: String| {
                let confirm_value = if all { serde_json::json!(CONFIRM_PURGE_ALL) } else { serde_json::json!(true) };
                purge.dispatch(PurgeKeys {
                    request: PurgeRequest {
                        pattern: p.pattern.clone(),
                        preview: Some(false),
                        confirm: Some(confirm_value),
                        reason: Reason::from_text(&reason),
                        run_async: Some(true),
                    },
                });
            }),
        });
    };
    let stop = move |_| {
        if let Some(id) = running.get_untracked().and_then(|r| r.purge_id) {
            abort.dispatch(AbortPurge { id });
        }
    };
    view! {
        <section class="card" aria-labelledby="purge-title" data-testid="purge-panel">
            <div class="card-head"><h2 id="purge-title">"Purge by pattern"</h2></div>
            <Show when=move || session.can_write() fallback=|| view! { <p class="muted">"Purging needs the write permission."</p> }>
                <div class="form-row">
                    <label class="grow">"Pattern " <input class="mono" data-testid="purge-pattern" placeholder="cache:{ds:3}:*" prop:value=pattern on:input=move |ev| { pattern.set(event_target_value(&ev)); preview.set(None) }/></label>
                    <button data-testid="purge-preview" disabled=dry_run.pending() on:click=run_preview>"Preview"</button>
                </div>
                {move || preview.get().map(|p| view! {
                    <div class="preview" data-testid="purge-preview-result">
                        <div inner_html=preview_markup(&p)></div>
                        <button class="danger" data-testid="purge-start" disabled=move || p.matched == 0 || purge.pending().get() on:click=start>"Purge…"</button>
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
                        {(!r.done).then(|| view! { <button data-testid="purge-abort" disabled=abort.pending() on:click=stop>"Abort"</button> })}
                    </div>
                })}
            </Show>
        </section>
    }
}
