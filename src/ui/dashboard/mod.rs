//! The Analytics Cache tab.

use leptos::prelude::*;

#[component]
pub fn DashboardPage() -> impl IntoView {
    view! {
        <section class="card" data-testid="cache-page">
            <h2>"Analytics Cache"</h2>
            <p class="coming">
                "Not built yet: per-source health, coverage, memory, entries, hit rate and query time arrive with the cache engine."
            </p>
        </section>
    }
}
