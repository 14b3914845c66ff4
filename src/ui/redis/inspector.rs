//! The inspector of one key: type-aware value view with paging, TTL editing, delete.

use leptos::either::{EitherOf3, EitherOf7};
use leptos::prelude::*;

use super::human_ttl;
use crate::format;
use crate::model::input::{Reason, Ttl};
use crate::model::redis::{KeyDetail, KeyValue};
use crate::rpc::redis::{DeleteKey, SetKeyTtl, inspect_key};
use crate::ui::common::confirm::{ConfirmRequest, use_confirm};
use crate::ui::common::error_box::ErrorBox;
use crate::ui::common::mutation::{Data, any_pending, use_mutation, use_stale};
use crate::ui::common::session::use_session;
use crate::ui::common::toast::use_toasts;

const COUNT: u64 = 100;

/// The inspector's changes, owned by it: the key view is redrawn whenever the key reloads.
#[derive(Clone, Copy)]
struct KeyActions {
    set_ttl: ServerAction<SetKeyTtl>,
    delete: ServerAction<DeleteKey>,
    /// The key being deleted, named in the toast and unselected once it is gone.
    deleting: StoredValue<String>,
}

#[component]
pub fn Inspector(selected: RwSignal<Option<String>>) -> impl IntoView {
    let stale = use_stale();
    let start = RwSignal::new(String::new());
    Effect::new(move |_| {
        selected.track();
        start.set(String::new());
    });
    let detail = Resource::new(
        move || (selected.get(), start.get(), stale.track(Data::Keys)),
        |(key, start, _)| async move {
            match key {
                Some(k) => Some(inspect_key(k, start, COUNT).await),
                None => None,
            }
        },
    );
    let deleting = StoredValue::new(String::new());
    let actions = KeyActions {
        set_ttl: use_mutation::<SetKeyTtl>(&[Data::Keys], |now| Some(format!("TTL is now {}", human_ttl(now)))),
        delete: use_mutation::<DeleteKey>(&[Data::Keys], move |()| {
            let key = deleting.get_value();
            if selected.get_untracked().as_deref() == Some(key.as_str()) {
                selected.set(None);
            }
            Some(format!("Deleted {key}"))
        }),
        deleting,
    };
    view! {
        <section class="card inspector" aria-labelledby="inspector-title" data-testid="inspector">
            <div class="card-head"><h2 id="inspector-title">"Inspector"</h2></div>
            <Transition fallback=|| view! { <p class="muted">"…"</p> }>
                {move || match detail.get().flatten() {
                    None => EitherOf3::A(view! { <p class="muted">"Pick a key on the left."</p> }),
                    Some(Err(e)) => EitherOf3::B(view! { <ErrorBox error=e/> }),
                    Some(Ok(d)) => EitherOf3::C(view! { <KeyView d start actions/> }),
                }}
            </Transition>
        </section>
    }
}

#[component]
fn KeyView(d: KeyDetail, start: RwSignal<String>, actions: KeyActions) -> impl IntoView {
    let session = use_session();
    let toasts = use_toasts();
    let confirm = use_confirm();
    let ttl_input = RwSignal::new(if d.ttl > 0 { d.ttl.to_string() } else { String::new() });
    let key = StoredValue::new(d.key.clone());
    let apply_ttl = move |ttl: i64| match Ttl::try_from(ttl) {
        Ok(ttl) => {
            actions.set_ttl.dispatch(SetKeyTtl { key: key.get_value(), ttl });
        }
        Err(e) => toasts.push(crate::ui::common::toast::ToastKind::Error, e),
    };
    let set_ttl = move |_| match ttl_input.get_untracked().trim().parse::<i64>() {
        Ok(t) => apply_ttl(t),
        Err(_) => {
            toasts.push(crate::ui::common::toast::ToastKind::Error, "TTL must be a whole number of seconds, or -1.")
        }
    };
    let delete = move |_| {
        let key = key.get_value();
        confirm.ask(ConfirmRequest {
            title: format!("Delete {key}"),
            body: format!("This deletes exactly the key `{key}` (the name is not a pattern)."),
            action_label: "Delete key".into(),
            require_text: None,
            reason_required: true,
            on_confirm: Callback::new(move |reason: String| {
                actions.deleting.set_value(key.clone());
                actions.delete.dispatch(DeleteKey { key: key.clone(), reason: Reason::from_text(&reason) });
            }),
        })
    };
    let busy = any_pending([actions.set_ttl.pending(), actions.delete.pending()]);
    let next: Option<String> = match &d.value {
        KeyValue::Hash { cursor, .. } | KeyValue::Set { cursor, .. } => (cursor != "0").then(|| cursor.clone()),
        KeyValue::List { start, .. } | KeyValue::Zset { start, .. } => {
            (start + COUNT < d.length).then(|| (start + COUNT).to_string())
        }
        KeyValue::Stream { next, .. } => next.clone(),
        _ => None,
    };
    view! {
        <div data-testid="key-detail" data-key=d.key.clone() data-type=d.kind.clone()>
            <p class="mono key-name">{d.key.clone()}</p>
            <dl class="facts small">
                <div><dt>"Type"</dt><dd data-testid="inspector-type">{d.kind.clone()}</dd></div>
                <div><dt>"TTL"</dt><dd data-testid="inspector-ttl">{human_ttl(d.ttl)}</dd></div>
                <div><dt>"Memory"</dt><dd>{d.size.map(format::bytes).unwrap_or_default()}</dd></div>
                <div><dt>"Encoding"</dt><dd>{d.encoding.clone()}</dd></div>
                <div><dt>{if d.kind == "string" { "Bytes" } else { "Length" }}</dt><dd>{format::thousands(d.length)}</dd></div>
            </dl>
            <Value value=d.value.clone()/>
            {next.map(|n| view! { <button data-testid="inspector-next" on:click=move |_| start.set(n.clone())>"Next page"</button> })}
            <Show when=move || session.can_write()>
                <div class="form-row ttl-edit">
                    <label>"TTL (s) " <input class="short" data-testid="ttl-input" prop:value=ttl_input on:input=move |ev| ttl_input.set(event_target_value(&ev))/></label>
                    <button data-testid="ttl-set" disabled=busy on:click=set_ttl>"Set TTL"</button>
                    <button data-testid="ttl-persist" disabled=busy on:click=move |_| apply_ttl(-1)>"Remove expiry"</button>
                    <button class="danger-outline" data-testid="key-delete" disabled=busy on:click=delete>"Delete key"</button>
                </div>
            </Show>
        </div>
    }
}

#[component]
fn Value(value: KeyValue) -> impl IntoView {
    match value {
        KeyValue::String { text, json, truncated, total_bytes } => EitherOf7::A(view! {
            <div>
                {json.then(|| view! { <span class="badge">"JSON"</span> })}
                {truncated.then(|| view! { <span class="badge warn">{format!("first {} of {}", format::bytes(text.len() as u64), format::bytes(total_bytes))}</span> })}
                <pre class="value" data-testid="inspector-value">{text}</pre>
            </div>
        }),
        KeyValue::Hash { fields, .. } => EitherOf7::B(view! {
            <table class="value" data-testid="inspector-value">
                <thead><tr><th scope="col">"Field"</th><th scope="col">"Value"</th></tr></thead>
                <tbody>{fields.into_iter().map(|(f, v)| view! { <tr><td class="mono">{f}</td><td class="mono">{v}</td></tr> }).collect_view()}</tbody>
            </table>
        }),
        KeyValue::List { items, start } => EitherOf7::C(view! {
            <ol class="value mono" start=start + 1 data-testid="inspector-value">{items.into_iter().map(|i| view! { <li>{i}</li> }).collect_view()}</ol>
        }),
        KeyValue::Set { members, .. } => EitherOf7::D(view! {
            <ul class="value mono" data-testid="inspector-value">{members.into_iter().map(|m| view! { <li>{m}</li> }).collect_view()}</ul>
        }),
        KeyValue::Zset { members, .. } => EitherOf7::E(view! {
            <table class="value" data-testid="inspector-value">
                <thead><tr><th scope="col">"Member"</th><th scope="col" class="num">"Score"</th></tr></thead>
                <tbody>{members.into_iter().map(|(m, s)| view! { <tr><td class="mono">{m}</td><td class="num">{s}</td></tr> }).collect_view()}</tbody>
            </table>
        }),
        KeyValue::Stream { entries, .. } => EitherOf7::F(view! {
            <table class="value" data-testid="inspector-value">
                <thead><tr><th scope="col">"Id"</th><th scope="col">"Fields"</th></tr></thead>
                <tbody>
                    {entries.into_iter().map(|e| view! {
                        <tr><td class="mono">{e.id}</td><td class="mono">{e.fields.iter().map(|(f, v)| format!("{f}={v}")).collect::<Vec<_>>().join(" ")}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        }),
        KeyValue::Other => EitherOf7::G(view! { <p class="muted">"This type is not shown."</p> }),
    }
}
