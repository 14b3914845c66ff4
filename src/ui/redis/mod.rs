//! The Redis tab: a general Redis tool scoped to Hearth's key prefix, two pages: the overview
//! (with the analytics cache's section), and keys (browser, inspector, purge and TTL by pattern).

mod browser;
mod cache_section;
mod inspector;
mod overview;
mod purge;
mod ttl;

use leptos::prelude::*;

use crate::ui::common::widgets::SubPages;

pub use overview::RedisOverviewCard;

/// A TTL as an admin reads it.
pub fn human_ttl(ttl: i64) -> String {
    match ttl {
        -1 => "no expiry".into(),
        t if t < 0 => "gone".into(),
        t => crate::format::duration_secs(t as u64),
    }
}

/// The Redis tab's pages: each its own lazily loaded route (together they are more than one
/// page's budget of code).
const PAGES: &[(&str, &str, &str)] =
    &[("/redis", "Overview", "redis-page-overview"), ("/redis/keys", "Keys, purge & TTL", "redis-page-keys")];

/// Overview: the server's figures and the analytics cache's share of it.
#[component]
pub fn RedisPage() -> impl IntoView {
    view! {
        <div class="page" data-testid="redis-page">
            <SubPages label="Redis pages" pages=PAGES current="/redis"/>
            <RedisOverviewCard/>
            <cache_section::CacheSection/>
        </div>
    }
}

/// Keys: browse, inspect, set a TTL or delete; purge and set TTLs by pattern.
#[component]
pub fn RedisKeysPage() -> impl IntoView {
    let selected = RwSignal::new(None::<String>);
    view! {
        <div class="page" data-testid="redis-keys-page">
            <SubPages label="Redis pages" pages=PAGES current="/redis/keys"/>
            <div class="split">
                <browser::KeyBrowser selected/>
                <inspector::Inspector selected/>
            </div>
            <purge::PurgePanel/>
            <ttl::TtlPanel/>
        </div>
    }
}
