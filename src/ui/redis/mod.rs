//! The Redis tab: a general Redis tool scoped to Hearth's key prefix.

mod overview;

use leptos::prelude::*;

pub use overview::RedisOverviewCard;

#[component]
pub fn RedisPage() -> impl IntoView {
    view! {
        <div class="page" data-testid="redis-page">
            <RedisOverviewCard/>
        </div>
    }
}
