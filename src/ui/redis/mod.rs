//! The Redis tab: a general Redis tool scoped to Hearth's key prefix: overview, key browser,
//! inspector, purge and TTL by pattern.

mod browser;
mod cache_section;
mod inspector;
mod overview;
mod purge;
mod ttl;

use leptos::prelude::*;

pub use overview::RedisOverviewCard;

/// A TTL as an admin reads it.
pub fn human_ttl(ttl: i64) -> String {
    match ttl {
        -1 => "no expiry".into(),
        t if t < 0 => "gone".into(),
        t => crate::format::duration_secs(t as u64),
    }
}

#[component]
pub fn RedisPage() -> impl IntoView {
    let selected = RwSignal::new(None::<String>);
    view! {
        <div class="page" data-testid="redis-page">
            <RedisOverviewCard/>
            <cache_section::CacheSection/>
            <div class="split">
                <browser::KeyBrowser selected/>
                <inspector::Inspector selected/>
            </div>
            <purge::PurgePanel/>
            <ttl::TtlPanel/>
        </div>
    }
}
