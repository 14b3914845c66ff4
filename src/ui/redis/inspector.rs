//! The inspector of one key: type-aware value view with paging, TTL editing, delete. The key's
//! facts and value are drawn as text (`ui/common/markup`); its controls stay views.

use leptos::either::EitherOf3;
use leptos::prelude::*;

use super::human_ttl;
use crate::format;
use crate::model::input::{Reason, Ttl};
use crate::model::redis::{KeyDetail, KeyValue};
use crate::rpc::redis::{DeleteKey, SetKeyTtl, inspect_key};
use crate::ui::common::confirm::{ConfirmRequest, use_confirm};
use crate::ui::common::error_box::ErrorBox;
use crate::ui::common::markup::Markup;
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
            <div inner_html=detail_markup(&d)></div>
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

/// The key's facts and the page of its value shown, as text: nothing in them is clicked.
fn detail_markup(d: &KeyDetail) -> String {
    let mut m = Markup::new();
    m.el("p", &[("class", "mono key-name")], &d.key);
    m.wrap("dl", &[("class", "facts small")], |m| {
        m.stat("Type", "inspector-type", &d.kind, None);
        m.stat("TTL", "inspector-ttl", &human_ttl(d.ttl), None);
        m.stat("Memory", "", &d.size.map(format::bytes).unwrap_or_default(), None);
        m.stat("Encoding", "", &d.encoding, None);
        m.stat(if d.kind == "string" { "Bytes" } else { "Length" }, "", &format::thousands(d.length), None);
    });
    let value = ("data-testid", "inspector-value");
    match &d.value {
        KeyValue::String { text, json, truncated, total_bytes } => {
            m.wrap("div", &[], |m| {
                if *json {
                    m.el("span", &[("class", "badge")], "JSON");
                }
                if *truncated {
                    let shown =
                        format!("first {} of {}", format::bytes(text.len() as u64), format::bytes(*total_bytes));
                    m.el("span", &[("class", "badge warn")], &shown);
                }
                m.el("pre", &[("class", "value"), value], text);
            });
        }
        KeyValue::Hash { fields, .. } => {
            value_table(&mut m, ["Field", "Value"], false, fields.iter().map(|(f, v)| (f.as_str(), v.clone())))
        }
        KeyValue::List { items, start } => {
            let first = (start + 1).to_string();
            m.wrap("ol", &[("class", "value mono"), ("start", &first), value], |m| {
                for i in items {
                    m.el("li", &[], i);
                }
            });
        }
        KeyValue::Set { members, .. } => {
            m.wrap("ul", &[("class", "value mono"), value], |m| {
                for i in members {
                    m.el("li", &[], i);
                }
            });
        }
        KeyValue::Zset { members, .. } => value_table(
            &mut m,
            ["Member", "Score"],
            true,
            members.iter().map(|(member, score)| (member.as_str(), score.to_string())),
        ),
        KeyValue::Stream { entries, .. } => value_table(
            &mut m,
            ["Id", "Fields"],
            false,
            entries.iter().map(|e| {
                (e.id.as_str(), e.fields.iter().map(|(f, v)| format!("{f}={v}")).collect::<Vec<_>>().join(" "))
            }),
        ),
        KeyValue::Other => {
            m.el("p", &[("class", "muted")], "This type is not shown.");
        }
    }
    m.finish()
}

/// A value as a two-column table: hash fields, sorted set members with their (`numeric`)
/// scores, stream entries.
fn value_table<'a>(m: &mut Markup, head: [&str; 2], numeric: bool, rows: impl Iterator<Item = (&'a str, String)>) {
    let second = if numeric { "num" } else { "mono" };
    m.wrap("table", &[("class", "value"), ("data-testid", "inspector-value")], |m| {
        m.wrap("thead", &[], |m| {
            m.wrap("tr", &[], |m| {
                m.el("th", &[("scope", "col")], head[0]);
                m.el("th", &[("scope", "col"), (if numeric { "class" } else { "" }, "num")], head[1]);
            });
        });
        m.wrap("tbody", &[], |m| {
            for (first, value) in rows {
                m.row(&[("mono", first), (second, &value)]);
            }
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(kind: &str, value: KeyValue) -> KeyDetail {
        KeyDetail {
            key: "cache:<x>".into(),
            kind: kind.into(),
            ttl: -1,
            size: Some(2048),
            encoding: "listpack".into(),
            length: 2,
            value,
        }
    }

    #[test]
    fn a_value_is_drawn_by_its_kind_with_every_text_escaped() {
        let zset = detail_markup(&detail("zset", KeyValue::Zset { members: vec![("<m>".into(), 2.5)], start: 0 }));
        assert!(zset.starts_with(r#"<p class="mono key-name">cache:&lt;x&gt;</p>"#), "{zset}");
        assert!(zset.contains(r#"<dd data-testid="inspector-ttl">no expiry</dd>"#), "{zset}");
        assert!(zset.contains(r#"<th scope="col" class="num">Score</th>"#), "{zset}");
        assert!(zset.contains(r#"<tr><td class="mono">&lt;m&gt;</td><td class="num">2.5</td></tr>"#), "{zset}");

        let hash = detail_markup(&detail(
            "hash",
            KeyValue::Hash { fields: vec![("user".into(), "ada".into())], cursor: "0".into() },
        ));
        assert!(hash.contains(r#"<th scope="col">Value</th>"#), "{hash}");
        assert!(hash.contains(r#"<tr><td class="mono">user</td><td class="mono">ada</td></tr>"#), "{hash}");

        let list = detail_markup(&detail("list", KeyValue::List { items: vec!["a".into()], start: 100 }));
        assert!(
            list.contains(r#"<ol class="value mono" start="101" data-testid="inspector-value"><li>a</li></ol>"#),
            "{list}"
        );
    }
}
