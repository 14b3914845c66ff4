//! Toasts: short notes about what an action did, announced to screen readers, gone after a
//! few seconds. Any component pushes one through [`use_toasts`].

use leptos::prelude::*;

use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastKind {
    Success,
    Error,
    Info,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Toast {
    pub id: u64,
    pub kind: ToastKind,
    pub message: String,
}

#[derive(Clone, Copy)]
pub struct Toasts {
    items: RwSignal<Vec<Toast>>,
    next: StoredValue<u64>,
}

impl Toasts {
    pub fn push(&self, kind: ToastKind, message: impl Into<String>) {
        let id = self.next.get_value();
        self.next.set_value(id + 1);
        self.items.update(|v| v.push(Toast { id, kind, message: message.into() }));
        let items = self.items;
        set_timeout(
            move || items.update(|v| v.retain(|t| t.id != id)),
            std::time::Duration::from_secs(if kind == ToastKind::Error { 9 } else { 5 }),
        );
    }

    pub fn ok(&self, message: impl Into<String>) {
        self.push(ToastKind::Success, message)
    }

    pub fn error(&self, e: &AppError) {
        self.push(ToastKind::Error, e.message.clone())
    }

    /// An error toast unless the same message is already showing: a form posted before
    /// hydration brings its error back to every action of that server function on the page.
    pub fn error_once(&self, e: &AppError) {
        if !self.items.with_untracked(|v| v.iter().any(|t| t.kind == ToastKind::Error && t.message == e.message)) {
            self.error(e)
        }
    }
}

pub fn provide_toasts() {
    provide_context(Toasts { items: RwSignal::new(Vec::new()), next: StoredValue::new(0) });
}

pub fn use_toasts() -> Toasts {
    expect_context::<Toasts>()
}

#[component]
pub fn ToastHost() -> impl IntoView {
    let toasts = use_toasts();
    view! {
        <div class="toasts" role="status" aria-live="polite" data-testid="toasts">
            <For each=move || toasts.items.get() key=|t| t.id let:t>
                <div
                    class="toast"
                    class:error=t.kind == ToastKind::Error
                    class:success=t.kind == ToastKind::Success
                    data-testid="toast"
                >
                    {t.message.clone()}
                    <button
                        class="close"
                        aria-label="Dismiss"
                        on:click=move |_| toasts.items.update(|v| v.retain(|x| x.id != t.id))
                    >
                        "×"
                    </button>
                </div>
            </For>
        </div>
    }
}
