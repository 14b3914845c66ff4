//! The one confirm dialog of the console: every action that destroys data opens it; it says
//! what will happen, asks for a reason (sent with the action) and, for the widest actions, for a
//! typed confirmation. It is modal for the keyboard too: it takes focus when it opens, keeps
//! Tab inside, closes on Escape wherever focus is, and gives focus back to the control that
//! opened it.

use leptos::prelude::*;

#[derive(Clone)]
pub struct ConfirmRequest {
    pub title: String,
    /// What will happen, in plain words.
    pub body: String,
    pub action_label: String,
    /// Text the admin must type before the action is enabled.
    pub require_text: Option<String>,
    pub reason_required: bool,
    pub on_confirm: Callback<String>,
}

#[derive(Clone, Copy)]
pub struct Confirm(RwSignal<Option<ConfirmRequest>>);

impl Confirm {
    pub fn ask(&self, request: ConfirmRequest) {
        focus::remember_opener();
        self.0.set(Some(request));
    }
}

pub fn provide_confirm() {
    provide_context(Confirm(RwSignal::new(None)));
}

pub fn use_confirm() -> Confirm {
    expect_context::<Confirm>()
}

#[component]
pub fn ConfirmHost() -> impl IntoView {
    let confirm = use_confirm();
    let reason = RwSignal::new(String::new());
    let typed = RwSignal::new(String::new());
    let dialog_ref = NodeRef::<leptos::html::Div>::new();
    let close = move || {
        confirm.0.set(None);
        reason.set(String::new());
        typed.set(String::new());
        focus::return_to_opener();
    };
    focus::keep_inside(dialog_ref, move || confirm.0.with_untracked(Option::is_some), close);
    Effect::new(move |_| {
        if confirm.0.with(Option::is_some) {
            focus::enter(dialog_ref);
        }
    });
    view! {
        {move || confirm.0.get().map(|req| {
            let required_text = req.require_text.clone();
            let reason_required = req.reason_required;
            let ready = move || {
                let text_ok = required_text.as_ref().map(|t| typed.get().trim().eq_ignore_ascii_case(t)).unwrap_or(true);
                text_ok && (!reason_required || !reason.get().trim().is_empty())
            };
            let on_confirm = req.on_confirm;
            let require = req.require_text.clone();
            view! {
                <div class="overlay" on:click=move |_| close()>
                    <div
                        class="dialog"
                        role="dialog"
                        aria-modal="true"
                        aria-labelledby="confirm-title"
                        data-testid="confirm-dialog"
                        node_ref=dialog_ref
                        on:click=|ev| ev.stop_propagation()
                    >
                        <h2 id="confirm-title">{req.title.clone()}</h2>
                        <p class="what">{req.body.clone()}</p>
                        <label class="field">
                            {if reason_required { "Reason (recorded with the action)" } else { "Reason (optional)" }}
                            <textarea
                                data-testid="confirm-reason"
                                maxlength="500"
                                rows="2"
                                prop:value=move || reason.get()
                                on:input=move |ev| reason.set(event_target_value(&ev))
                            ></textarea>
                        </label>
                        {require.map(|text| view! {
                            <label class="field">
                                "Type " <code>{text.clone()}</code> " to confirm"
                                <input
                                    data-testid="confirm-text"
                                    prop:value=move || typed.get()
                                    on:input=move |ev| typed.set(event_target_value(&ev))
                                />
                            </label>
                        })}
                        <div class="actions">
                            <button data-testid="confirm-cancel" on:click=move |_| close()>"Cancel"</button>
                            <button
                                class="danger"
                                data-testid="confirm-ok"
                                disabled=move || !ready()
                                on:click=move |_| {
                                    let r = reason.get_untracked();
                                    close();
                                    on_confirm.run(r);
                                }
                            >
                                {req.action_label.clone()}
                            </button>
                        </div>
                    </div>
                </div>
            }
        })}
    }
}

/// Focus handling happens in the browser; the server only ever renders the dialog closed.
#[cfg(feature = "hydrate")]
mod focus {
    use std::cell::RefCell;

    use leptos::html::Div;
    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{Element, HtmlElement};

    use crate::ui::common::identity::Remembered;

    thread_local! {
        /// The control that opened the dialog.
        static OPENER: RefCell<Option<Remembered>> = const { RefCell::new(None) };
    }

    const FOCUSABLE: &str = "button:not([disabled]), textarea:not([disabled]), input:not([disabled]), \
        select:not([disabled]), a[href], [tabindex]:not([tabindex='-1'])";

    pub fn remember_opener() {
        let opener = document().active_element().and_then(|e| e.dyn_into::<HtmlElement>().ok()).map(Remembered::new);
        OPENER.with(|o| *o.borrow_mut() = opener);
    }

    /// Focus goes back to the opener, or to the control that took its place when a refresh
    /// moved it while the dialog was open (`identity`).
    pub fn return_to_opener() {
        if let Some(target) = OPENER.with(|o| o.borrow_mut().take()).and_then(|opener| opener.find()) {
            let _ = target.focus();
        }
    }

    /// Focus the dialog's first control once it is drawn, unless focus is already inside it:
    /// a control chosen (by click, keyboard or script) before the next frame keeps focus.
    pub fn enter(dialog: NodeRef<Div>) {
        request_animation_frame(move || {
            let Some(d) = dialog.get_untracked() else { return };
            let inside = document().active_element().is_some_and(|a| d.contains(Some(&a)));
            if !inside && let Some(first) = focusables(&d).first() {
                let _ = first.focus();
            }
        });
    }

    /// While the dialog is open: Escape closes it and Tab cycles through its controls only, even
    /// when focus had escaped to the page behind (a click on the backdrop's edge, the address bar).
    pub fn keep_inside(dialog: NodeRef<Div>, is_open: impl Fn() -> bool + 'static, close: impl Fn() + 'static) {
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            if !is_open() {
                return;
            }
            match ev.key().as_str() {
                "Escape" => {
                    ev.prevent_default();
                    close();
                }
                "Tab" => {
                    if let Some(d) = dialog.get_untracked() {
                        cycle(&d, &ev);
                    }
                }
                _ => {}
            }
        });
        on_cleanup(move || handle.remove());
    }

    fn focusables(dialog: &Element) -> Vec<HtmlElement> {
        let Ok(list) = dialog.query_selector_all(FOCUSABLE) else { return Vec::new() };
        (0..list.length()).filter_map(|i| list.item(i)).filter_map(|n| n.dyn_into::<HtmlElement>().ok()).collect()
    }

    /// Tab on the last control goes to the first, Shift+Tab on the first to the last, and either
    /// from outside the dialog comes back into it.
    fn cycle(dialog: &Element, ev: &web_sys::KeyboardEvent) {
        let items = focusables(dialog);
        let (Some(first), Some(last)) = (items.first(), items.last()) else {
            ev.prevent_default();
            return;
        };
        let active = document().active_element();
        let inside = active.as_ref().is_some_and(|a| dialog.contains(Some(a)));
        let is = |el: &HtmlElement| active.as_ref().is_some_and(|a| a == el.unchecked_ref::<Element>());
        let target = match (ev.shift_key(), inside) {
            (true, false) => Some(last),
            (false, false) => Some(first),
            (true, true) if is(first) => Some(last),
            (false, true) if is(last) => Some(first),
            _ => None,
        };
        if let Some(target) = target {
            ev.prevent_default();
            let _ = target.focus();
        }
    }
}

#[cfg(not(feature = "hydrate"))]
mod focus {
    use leptos::html::Div;
    use leptos::prelude::NodeRef;

    pub fn remember_opener() {}
    pub fn return_to_opener() {}
    pub fn enter(_dialog: NodeRef<Div>) {}
    pub fn keep_inside(_dialog: NodeRef<Div>, _is_open: impl Fn() -> bool + 'static, _close: impl Fn() + 'static) {}
}
