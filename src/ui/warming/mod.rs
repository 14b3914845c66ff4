//! The Warming tab.

use leptos::prelude::*;

#[component]
pub fn WarmingPage() -> impl IntoView {
    view! {
        <section class="card" data-testid="warming-page">
            <h2>"Warming"</h2>
            <p class="coming">
                "Not built yet: warm one or all sources, live progress with rows and ETA, pause, resume, cancel, history and schedules arrive with the jobs layer."
            </p>
        </section>
    }
}
