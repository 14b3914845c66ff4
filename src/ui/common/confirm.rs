//! The one confirm dialog of the console: every action that destroys data opens it; it says
//! what will happen, asks for a reason (sent with the action) and, for the widest actions, for a
//! typed confirmation.

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
    let close = move || {
        confirm.0.set(None);
        reason.set(String::new());
        typed.set(String::new());
    };
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
                        on:click=|ev| ev.stop_propagation()
                        on:keydown=move |ev| if ev.key() == "Escape" { close() }
                    >
                        <h2 id="confirm-title">{req.title.clone()}</h2>
                        <p class="what">{req.body.clone()}</p>
                        <label class="field">
                            {if reason_required { "Reason (recorded with the action)" } else { "Reason (optional)" }}
                            <textarea
                                data-testid="confirm-reason"
                                maxlength="500"
                                autofocus=true
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
