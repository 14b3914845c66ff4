//! The key browser: a debounced pattern, a type filter, a page at a time by SCAN cursor; keys
//! outside the Redis tab's namespaces are counted, not shown.

use leptos::prelude::*;

use super::human_ttl;
use crate::format;
use crate::model::redis::KeyRow;
use crate::rpc::redis::browse_keys;
use crate::ui::common::markup::Markup;
use crate::ui::common::mutation::{Data, use_stale};

const PAGE: usize = 50;

#[component]
pub fn KeyBrowser(selected: RwSignal<Option<String>>) -> impl IntoView {
    let stale = use_stale();
    let draft = RwSignal::new("*".to_string());
    let pattern = RwSignal::new("*".to_string());
    let kind = RwSignal::new(String::new());
    let rows = RwSignal::new(Vec::<KeyRow>::new());
    let cursor = RwSignal::new("0".to_string());
    let has_more = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let examined = RwSignal::new(0u64);
    let hidden = RwSignal::new(0u64);
    // A read paged by the caller, so neither a resource nor an action: answers can arrive out of
    // order (a "More" page still on its way when the pattern changes), and only the answer to the
    // latest request lands, so a page for an old pattern or cursor never mixes into a new list.
    let loading = RwSignal::new(false);
    let latest = StoredValue::new(0u64);
    let load = move |first: bool| {
        let request = latest.get_value() + 1;
        latest.set_value(request);
        let (p, k) = (pattern.get_untracked(), kind.get_untracked());
        let from = if first { "0".to_string() } else { cursor.get_untracked() };
        loading.set(true);
        leptos::task::spawn_local(async move {
            let answer = browse_keys(p, from, PAGE, Some(k)).await;
            if latest.get_value() != request {
                return;
            }
            loading.set(false);
            match answer {
                Ok(page) => {
                    error.set(None);
                    if first {
                        rows.set(page.keys);
                        examined.set(page.examined);
                        hidden.set(page.hidden);
                    } else {
                        // A later SCAN page may repeat a key already shown.
                        rows.update(|r| {
                            for k in page.keys {
                                if !r.iter().any(|x| x.key == k.key) {
                                    r.push(k);
                                }
                            }
                        });
                        examined.update(|e| *e += page.examined);
                        hidden.update(|h| *h += page.hidden);
                    }
                    cursor.set(page.cursor);
                    has_more.set(page.has_more);
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    // First page after hydration, and again whenever pattern, type or a change to keys asks.
    Effect::new(move |_| {
        pattern.track();
        kind.track();
        stale.track(Data::Keys);
        load(true);
    });
    // Typing waits 300 ms of quiet before it scans.
    let timer: StoredValue<Option<TimeoutHandle>> = StoredValue::new(None);
    let on_input = move |ev| {
        draft.set(event_target_value(&ev));
        if let Some(t) = timer.get_value() {
            t.clear();
        }
        let handle =
            set_timeout_with_handle(move || pattern.set(draft.get_untracked()), std::time::Duration::from_millis(300))
                .ok();
        timer.set_value(handle);
    };
    // The rows are text; the selected one is marked on the page once it is drawn (the list is
    // not redrawn for a selection, so the focused row keeps its focus).
    let list = NodeRef::<leptos::html::Ul>::new();
    Effect::new(move |_| {
        let chosen = selected.get();
        rows.track();
        request_animation_frame(move || {
            if let Some(list) = list.get_untracked() {
                dom::mark(&list, chosen.as_deref());
            }
        });
    });
    view! {
        <section class="card browser" aria-labelledby="browser-title">
            <div class="card-head">
                <h2 id="browser-title">"Keys"</h2>
                <span class="muted small">{move || format!("{} shown · {} examined", rows.get().len(), format::thousands(examined.get()))}</span>
                <Show when=move || { hidden.get() > 0 }>
                    <span class="muted small" data-testid="browse-hidden" title="Keys outside the Redis tab's namespaces (HEARTH_REDIS_TAB_NAMESPACES)">
                        {move || format!("· {} outside the tab's namespaces", format::thousands(hidden.get()))}
                    </span>
                </Show>
            </div>
            <div class="form-row">
                <label class="grow">
                    "Pattern "
                    <input data-testid="browse-pattern" class="mono" prop:value=draft on:input=on_input/>
                </label>
                <label>
                    "Type "
                    <select data-testid="browse-type" on:change=move |ev| kind.set(event_target_value(&ev))>
                        <option value="">"any"</option>
                        {["string", "hash", "list", "set", "zset", "stream"].map(|t| view! { <option value=t>{t}</option> }).collect_view()}
                    </select>
                </label>
            </div>
            {move || error.get().map(|e| view! { <p class="error-inline" role="alert" data-testid="browse-error">{e}</p> })}
            <ul class="keys" data-testid="key-list" node_ref=list inner_html=move || rows_markup(&rows.read()) on:click=move |ev| {
                if let Some(key) = dom::picked(&ev) {
                    selected.set(Some(key));
                }
            }></ul>
            <Show when=move || has_more.get()>
                <button data-testid="browse-more" disabled=loading on:click=move |_| load(false)>"More"</button>
            </Show>
            // A SCAN page examines a bounded number of keys: on a large keyspace the first may
            // match nothing although later ones do.
            <Show when=move || !loading.get() && rows.read().is_empty() && error.read().is_none()>
                <p class="muted" data-testid="browse-empty">
                    {move || if has_more.get() { "No match among the keys examined so far: More looks further." } else { "No key matches." }}
                </p>
            </Show>
        </section>
    }
}

/// The list's rows as text: each a button that names its key in `data-key`, which the list's
/// one click handler reads.
fn rows_markup(rows: &[KeyRow]) -> String {
    let mut m = Markup::new();
    for r in rows {
        let kind_class = format!("type type-{}", r.kind);
        m.wrap("li", &[], |m| {
            m.wrap(
                "button",
                &[("type", "button"), ("class", "key"), ("data-testid", "key-row"), ("data-key", &r.key)],
                |m| {
                    m.el("span", &[("class", "mono")], &r.key);
                    m.el("span", &[("class", &kind_class)], &r.kind);
                    m.el("span", &[("class", "small muted")], &human_ttl(r.ttl));
                    m.el("span", &[("class", "small muted")], &r.size.map(format::bytes).unwrap_or_default());
                },
            );
        });
    }
    m.finish()
}

#[cfg(feature = "hydrate")]
mod dom {
    use wasm_bindgen::JsCast;
    use web_sys::{Element, MouseEvent};

    /// The key of the row a click landed in.
    pub fn picked(ev: &MouseEvent) -> Option<String> {
        let target = ev.target()?.dyn_into::<Element>().ok()?;
        target.closest("button[data-key]").ok()??.get_attribute("data-key")
    }

    /// Marks the selected row (its item's class, the button's `aria-current`), unmarks the rest.
    pub fn mark(list: &Element, key: Option<&str>) {
        let Ok(buttons) = list.query_selector_all("button[data-key]") else { return };
        for button in (0..buttons.length()).filter_map(|i| buttons.item(i)?.dyn_into::<Element>().ok()) {
            let on = key.is_some() && button.get_attribute("data-key").as_deref() == key;
            if let Some(item) = button.parent_element() {
                item.set_class_name(if on { "selected" } else { "" });
            }
            let _ =
                if on { button.set_attribute("aria-current", "true") } else { button.remove_attribute("aria-current") };
        }
    }
}

/// On the server nothing is clicked and nothing is drawn yet.
#[cfg(not(feature = "hydrate"))]
mod dom {
    pub fn picked(_: &leptos::ev::MouseEvent) -> Option<String> {
        None
    }

    pub fn mark(_: &leptos::tachys::renderer::types::Element, _: Option<&str>) {}
}
