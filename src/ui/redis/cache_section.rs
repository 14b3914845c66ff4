//! The Redis tab's "Analytics Cache" section, as the seed draws it: how much of this Redis the
//! analytics cache is (sources, entries, index sets, average age, memory share) and what to do
//! about it. Read from the cache stats and the overview the console already polls; drawn as
//! text (`ui/common/markup`), as nothing in it is clicked.

use leptos::either::EitherOf3;
use leptos::prelude::*;

use crate::format;
use crate::model::cache::{CacheStats, HealthLabel};
use crate::model::redis::RedisOverview;
use crate::rpc::cache::get_cache_stats;
use crate::rpc::redis::get_redis_overview;
use crate::ui::common::error_box::ErrorBox;
use crate::ui::common::markup::Markup;
use crate::ui::common::polling::use_polling;

/// Recommended actions, most urgent first, each naming its source.
fn recommendations(stats: &CacheStats, share_of_limit: Option<f64>) -> Vec<String> {
    let mut out = Vec::new();
    for s in &stats.datasources {
        match s.health {
            HealthLabel::Cold => {
                out.push(format!("Warm {}: it is not cached, so every query goes to the database.", s.datasource_name))
            }
            HealthLabel::Stale | HealthLabel::Degraded => out.push(format!(
                "Re-warm {} ({}): {}.",
                s.datasource_name,
                s.health.as_str(),
                s.warnings.first().cloned().unwrap_or_else(|| "its cache is ageing".into())
            )),
            _ => {}
        }
    }
    if let Some(p) = share_of_limit
        && p >= 50.0
    {
        out.push(format!(
            "The cache takes {p:.0} % of Redis's memory limit: raise maxmemory or invalidate sources nobody queries before the next warm."
        ));
    }
    out
}

#[component]
pub fn CacheSection() -> impl IntoView {
    let stats = Resource::new(|| (), |_| get_cache_stats());
    let overview = Resource::new(|| (), |_| get_redis_overview());
    use_polling(Signal::derive(|| Some(10_000)), move || {
        stats.refetch();
        overview.refetch();
    });
    view! {
        <section class="card" data-testid="redis-cache-section" aria-labelledby="redis-cache-title">
            <div class="card-head"><h2 id="redis-cache-title">"Analytics Cache"</h2></div>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || match (stats.get(), overview.get()) {
                    (Some(Ok(s)), Some(Ok(o))) => EitherOf3::A(view! { <div inner_html=cache_markup(&s, &o)></div> }),
                    (Some(Err(e)), _) | (_, Some(Err(e))) => EitherOf3::B(view! { <ErrorBox error=e/> }),
                    _ => EitherOf3::C(view! { <p class="muted">"Loading…"</p> }),
                }}
            </Transition>
        </section>
    }
}

/// The cache's figures and recommended actions, as text.
fn cache_markup(s: &CacheStats, o: &RedisOverview) -> String {
    let sum = &s.summary;
    let cache_bytes = (sum.total_memory_mb * 1_048_576.0) as u64;
    // Of what Redis uses now, and of its limit when it has one.
    let share = (o.used_memory > 0).then(|| (cache_bytes as f64 * 100.0 / o.used_memory as f64).min(100.0));
    let share_of_limit = (o.max_memory > 0).then(|| cache_bytes as f64 * 100.0 / o.max_memory as f64);
    let actions = recommendations(s, share_of_limit);
    let mut m = Markup::new();
    m.wrap("dl", &[("class", "stats"), ("data-testid", "redis-cache-stats")], |m| {
        m.stat(
            "Sources cached",
            "redis-cache-sources",
            &format!("{} of {}", sum.warm_datasources, sum.total_datasources),
            Some(&format!("{} cold", sum.cold_datasources)),
        );
        m.stat("Entries", "redis-cache-entries", &format::thousands(sum.total_cache_entries), None);
        m.stat("Index sets", "redis-cache-indexes", &format::thousands(sum.total_indexes), None);
        let age = sum.avg_cache_age.map(format::ago_minutes).unwrap_or_else(|| "nothing cached".into());
        m.stat("Average cache age", "redis-cache-age", &age, None);
        m.wrap("div", &[], |m| {
            m.el("dt", &[], "Memory share");
            let mut memory = format!("{} of {}", format::bytes(cache_bytes), format::bytes(o.used_memory));
            if let Some(p) = share {
                memory.push_str(&format!(" ({p:.0} %)"));
            }
            m.el("dd", &[("data-testid", "redis-cache-memory")], &memory);
            if let Some(p) = share {
                m.meter("bar", "Analytics cache share of Redis memory", p);
            }
            let limit = share_of_limit
                .map(|p| format!("{p:.0} % of the {} limit", format::bytes(o.max_memory)))
                .unwrap_or_else(|| "Redis has no memory limit".into());
            m.el("dd", &[("class", "muted small")], &limit);
        });
    });
    m.el("h3", &[("class", "small-head")], "Recommended actions");
    if actions.is_empty() {
        m.el(
            "p",
            &[("class", "muted small"), ("data-testid", "redis-cache-actions")],
            "None: every source is cached and fresh.",
        );
    } else {
        m.wrap("ul", &[("class", "small"), ("data-testid", "redis-cache-actions")], |m| {
            for a in &actions {
                m.el("li", &[], a);
            }
        });
    }
    m.finish()
}
