//! The one polling hook of the console, built on gloo-timers: it calls `tick` every
//! `interval_ms` (None = off), skips ticks while the browser tab is hidden, ticks at once when it
//! becomes visible again, restarts when the interval changes and stops when the component unmounts.
//! On the server it does nothing: the first data comes from server rendering.

use leptos::prelude::*;

/// Choices offered by [`IntervalPicker`], in milliseconds (`None` = off).
pub const INTERVAL_CHOICES: [(Option<u32>, &str); 4] =
    [(None, "Off"), (Some(2000), "2 s"), (Some(5000), "5 s"), (Some(30_000), "30 s")];

pub fn use_polling(interval_ms: Signal<Option<u32>>, tick: impl Fn() + Send + Sync + 'static) {
    #[cfg(feature = "hydrate")]
    browser::start(interval_ms, tick);
    #[cfg(not(feature = "hydrate"))]
    let _ = (interval_ms, tick);
}

/// [`use_polling`] every `fast_ms` while `busy()` holds (a warm running) and every `slow_ms`
/// otherwise; the interval follows `busy` as the data it reads changes.
pub fn use_polling_while(
    busy: impl Fn() -> bool + Send + Sync + 'static,
    fast_ms: u32,
    slow_ms: u32,
    tick: impl Fn() + Send + Sync + 'static,
) {
    use_polling(Signal::derive(move || Some(if busy() { fast_ms } else { slow_ms })), tick);
}

/// A select for the refresh interval of a card.
#[component]
pub fn IntervalPicker(
    value: ReadSignal<Option<u32>>,
    set_value: WriteSignal<Option<u32>>,
    #[prop(into)] testid: String,
) -> impl IntoView {
    view! {
        <label class="interval-picker">
            "Refresh "
            <select
                data-testid=testid
                on:change=move |ev| {
                    let v = event_target_value(&ev);
                    set_value.set(v.parse::<u32>().ok());
                }
            >
                {INTERVAL_CHOICES
                    .iter()
                    .map(|(ms, label)| {
                        let ms = *ms;
                        view! {
                            <option value=ms.map(|m| m.to_string()).unwrap_or_else(|| "off".into()) selected=move || value.get() == ms>
                                {*label}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
        </label>
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::sync::Arc;

    use gloo_timers::callback::Interval;
    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;

    fn hidden() -> bool {
        web_sys::window().and_then(|w| w.document()).map(|d| d.hidden()).unwrap_or(false)
    }

    pub fn start(interval_ms: Signal<Option<u32>>, tick: impl Fn() + Send + Sync + 'static) {
        let tick = Arc::new(tick);
        // The timer lives as long as the component: dropping it (on change or unmount) stops it.
        let timer: StoredValue<Option<Interval>, LocalStorage> = StoredValue::new_local(None);
        let on_change = tick.clone();
        Effect::new(move |_| {
            let every = interval_ms.get();
            timer.set_value(None);
            if let Some(ms) = every {
                let tick = on_change.clone();
                timer.set_value(Some(Interval::new(ms, move || {
                    if !hidden() {
                        tick()
                    }
                })));
            }
        });

        let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
        let on_visible = tick.clone();
        let listener = Closure::<dyn Fn()>::new(move || {
            if !hidden() && interval_ms.get_untracked().is_some() {
                on_visible()
            }
        });
        let _ = document.add_event_listener_with_callback("visibilitychange", listener.as_ref().unchecked_ref());
        let listener: StoredValue<Option<Closure<dyn Fn()>>, LocalStorage> = StoredValue::new_local(Some(listener));
        on_cleanup(move || {
            timer.set_value(None);
            if let (Some(document), Some(l)) =
                (web_sys::window().and_then(|w| w.document()), listener.try_update_value(|l| l.take()).flatten())
            {
                let _ = document.remove_event_listener_with_callback("visibilitychange", l.as_ref().unchecked_ref());
            }
        });
    }
}
