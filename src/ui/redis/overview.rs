//! The live overview card: INFO numbers, refreshed by the polling hook.

use leptos::either::Either;
use leptos::prelude::*;

use crate::format;
use crate::model::redis::RedisOverview;
use crate::rpc::redis::get_redis_overview;
use crate::ui::common::error_box::ErrorBox;
use crate::ui::common::polling::{IntervalPicker, use_polling};

#[component]
pub fn RedisOverviewCard() -> impl IntoView {
    let (interval, set_interval) = signal(Some(5000u32));
    let overview = Resource::new(|| (), |_| get_redis_overview());
    use_polling(interval.into(), move || overview.refetch());
    view! {
        <section class="card" data-testid="redis-overview" aria-labelledby="overview-title">
            <div class="card-head">
                <h2 id="overview-title">"Overview"</h2>
                <IntervalPicker value=interval set_value=set_interval testid="overview-interval"/>
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || overview.get().map(|r| match r {
                    Ok(o) => Either::Left(view! { <OverviewStats o/> }),
                    Err(e) => Either::Right(view! { <ErrorBox error=e/> }),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn OverviewStats(o: RedisOverview) -> impl IntoView {
    let mem_pct = o.memory_percent();
    let max =
        if o.max_memory == 0 { " (no limit)".to_string() } else { format!(" of {}", format::bytes(o.max_memory)) };
    let level = match mem_pct {
        Some(p) if p >= 90.0 => "bar danger",
        Some(p) if p >= 75.0 => "bar warn",
        _ => "bar",
    };
    view! {
        <dl class="stats" data-testid="overview-stats" data-sampled-at=o.sampled_at.clone()>
            <div><dt>"Version"</dt><dd data-testid="overview-version">{o.version.clone()}" "<span class="muted">{o.mode.clone()}</span></dd></div>
            <div><dt>"Uptime"</dt><dd data-testid="overview-uptime">{format::uptime(o.uptime_secs)}</dd></div>
            <div>
                <dt>"Memory"</dt>
                <dd data-testid="overview-memory">{format::bytes(o.used_memory)}{max}</dd>
                {mem_pct.map(|p| view! {
                    <div class=level role="progressbar" aria-label="Memory used" aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{p:.0}")>
                        <span style=format!("width: {:.1}%", p.min(100.0))></span>
                    </div>
                })}
            </div>
            <div><dt>"Clients"</dt><dd data-testid="overview-clients">{o.connected_clients}</dd></div>
            <div><dt>"Ops/sec"</dt><dd data-testid="overview-ops">{format::thousands(o.ops_per_sec)}</dd></div>
            <div>
                <dt>"Keyspace hit rate"</dt>
                <dd data-testid="overview-hit-rate">{format::percent(o.hit_rate)}</dd>
                <dd class="muted small">{format!("{} hits · {} misses", format::thousands(o.keyspace_hits), format::thousands(o.keyspace_misses))}</dd>
            </div>
            <div><dt>"Keys"</dt><dd data-testid="overview-keys">{format::thousands(o.total_keys)}</dd></div>
            <div>
                <dt>"Peak · fragmentation"</dt>
                <dd>{format::bytes(o.used_memory_peak)}</dd>
                <dd class="muted small">{format!("fragmentation {:.2} · policy {}", o.fragmentation_ratio, o.max_memory_policy)}</dd>
            </div>
            <div>
                <dt>"Evicted · expired"</dt>
                <dd>{format::thousands(o.evicted_keys)}</dd>
                <dd class="muted small">{format!("{} expired", format::thousands(o.expired_keys))}</dd>
            </div>
        </dl>
        {(!o.nodes.is_empty()).then(|| view! {
            <div class="table-wrap">
                <table class="small" data-testid="overview-nodes">
                    <caption>{format!("Cluster primaries ({}); the figures above are their totals", o.nodes.len())}</caption>
                    <thead>
                        <tr><th scope="col">"Node"</th><th scope="col" class="num">"Keys"</th><th scope="col" class="num">"Memory"</th><th scope="col" class="num">"Clients"</th><th scope="col" class="num">"Ops/sec"</th><th scope="col" class="num">"Hit rate"</th><th scope="col" class="num">"Uptime"</th></tr>
                    </thead>
                    <tbody>
                        {o.nodes.iter().map(|n| view! {
                            <tr>
                                <td class="mono">{n.address.clone()}</td>
                                <td class="num">{format::thousands(n.total_keys)}</td>
                                <td class="num">{format::bytes(n.used_memory)}{(n.max_memory > 0).then(|| format!(" of {}", format::bytes(n.max_memory)))}</td>
                                <td class="num">{n.connected_clients}</td>
                                <td class="num">{format::thousands(n.ops_per_sec)}</td>
                                <td class="num">{format::percent(n.hit_rate)}</td>
                                <td class="num">{format::uptime(n.uptime_secs)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        })}
        <div class="overview-lists">
            <div>
                <h3>"Keys by namespace"</h3>
                {if o.namespaces.is_empty() {
                    Either::Left(view! { <p class="muted small">"No keys."</p> })
                } else {
                    Either::Right(view! {
                        <table class="small" data-testid="overview-namespaces">
                            <tbody>
                                {o.namespaces.iter().map(|n| view! { <tr><td class="mono">{n.namespace.clone()}</td><td class="num">{format!("≈ {}", format::thousands(n.estimated_keys))}</td></tr> }).collect_view()}
                            </tbody>
                        </table>
                        <p class="muted small">{format!("estimated from {} random keys", o.namespace_sample)}</p>
                    })
                }}
            </div>
            <div>
                <h3>"Top commands"</h3>
                <table class="small" data-testid="overview-commands">
                    <tbody>
                        {o.top_commands.iter().map(|c| view! { <tr><td class="mono">{c.command.clone()}</td><td class="num">{format::thousands(c.calls)}</td><td class="num muted">{format!("{:.1} µs", c.usec_per_call)}</td></tr> }).collect_view()}
                    </tbody>
                </table>
            </div>
            <div>
                <h3>"Slow log"</h3>
                {if o.slowlog.is_empty() {
                    Either::Left(view! { <p class="muted small">"Empty."</p> })
                } else {
                    Either::Right(view! {
                        <table class="small" data-testid="overview-slowlog">
                            <tbody>
                                {o.slowlog.iter().map(|e| view! { <tr><td class="mono">{e.command.clone()}</td><td class="num">{format!("{} µs", format::thousands(e.micros))}</td></tr> }).collect_view()}
                            </tbody>
                        </table>
                    })
                }}
            </div>
        </div>
    }
}
