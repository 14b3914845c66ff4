//! The live overview card: INFO numbers, refreshed by the polling hook. The figures are drawn
//! as text (`ui/common/markup`): nothing in them is clicked, and each refresh draws them anew.

use leptos::either::Either;
use leptos::prelude::*;

use crate::format;
use crate::model::redis::RedisOverview;
use crate::rpc::redis::get_redis_overview;
use crate::ui::common::error_box::ErrorBox;
use crate::ui::common::markup::Markup;
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
                    Ok(o) => Either::Left(view! { <div inner_html=overview_markup(&o)></div> }),
                    Err(e) => Either::Right(view! { <ErrorBox error=e/> }),
                })}
            </Transition>
        </section>
    }
}

fn overview_markup(o: &RedisOverview) -> String {
    let mut m = Markup::new();
    let mem_pct = o.memory_percent();
    let max =
        if o.max_memory == 0 { " (no limit)".to_string() } else { format!(" of {}", format::bytes(o.max_memory)) };
    m.wrap("dl", &[("class", "stats"), ("data-testid", "overview-stats"), ("data-sampled-at", &o.sampled_at)], |m| {
        m.wrap("div", &[], |m| {
            m.el("dt", &[], "Version");
            m.wrap("dd", &[("data-testid", "overview-version")], |m| {
                m.text(&o.version).text(" ").el("span", &[("class", "muted")], &o.mode);
            });
        });
        m.stat("Uptime", "overview-uptime", &format::uptime(o.uptime_secs), None);
        m.wrap("div", &[], |m| {
            m.el("dt", &[], "Memory");
            m.el("dd", &[("data-testid", "overview-memory")], &format!("{}{max}", format::bytes(o.used_memory)));
            if let Some(p) = mem_pct {
                let level = if p >= 90.0 {
                    "bar danger"
                } else if p >= 75.0 {
                    "bar warn"
                } else {
                    "bar"
                };
                m.meter(level, "Memory used", p);
            }
        });
        m.stat("Clients", "overview-clients", &o.connected_clients.to_string(), None);
        m.stat("Ops/sec", "overview-ops", &format::thousands(o.ops_per_sec), None);
        m.stat(
            "Keyspace hit rate",
            "overview-hit-rate",
            &format::percent(o.hit_rate),
            Some(&format!(
                "{} hits · {} misses",
                format::thousands(o.keyspace_hits),
                format::thousands(o.keyspace_misses)
            )),
        );
        m.stat("Keys", "overview-keys", &format::thousands(o.total_keys), None);
        m.stat(
            "Peak · fragmentation",
            "",
            &format::bytes(o.used_memory_peak),
            Some(&format!("fragmentation {:.2} · policy {}", o.fragmentation_ratio, o.max_memory_policy)),
        );
        m.stat(
            "Evicted · expired",
            "",
            &format::thousands(o.evicted_keys),
            Some(&format!("{} expired", format::thousands(o.expired_keys))),
        );
    });
    if !o.nodes.is_empty() {
        m.wrap("div", &[("class", "table-wrap")], |m| {
            m.wrap("table", &[("class", "small"), ("data-testid", "overview-nodes")], |m| {
                m.el(
                    "caption",
                    &[],
                    &format!("Cluster primaries ({}); the figures above are their totals", o.nodes.len()),
                );
                m.wrap("thead", &[], |m| {
                    m.wrap("tr", &[], |m| {
                        m.el("th", &[("scope", "col")], "Node");
                        for h in ["Keys", "Memory", "Clients", "Ops/sec", "Hit rate", "Uptime"] {
                            m.el("th", &[("scope", "col"), ("class", "num")], h);
                        }
                    });
                });
                m.wrap("tbody", &[], |m| {
                    for n in &o.nodes {
                        let memory = match n.max_memory {
                            0 => format::bytes(n.used_memory),
                            max => format!("{} of {}", format::bytes(n.used_memory), format::bytes(max)),
                        };
                        m.row(&[
                            ("mono", &n.address),
                            ("num", &format::thousands(n.total_keys)),
                            ("num", &memory),
                            ("num", &n.connected_clients.to_string()),
                            ("num", &format::thousands(n.ops_per_sec)),
                            ("num", &format::percent(n.hit_rate)),
                            ("num", &format::uptime(n.uptime_secs)),
                        ]);
                    }
                });
            });
        });
    }
    m.wrap("div", &[("class", "overview-lists")], |m| {
        m.wrap("div", &[], |m| {
            let rows = o.namespaces.iter().map(|n| {
                vec![("mono", n.namespace.clone()), ("num", format!("≈ {}", format::thousands(n.estimated_keys)))]
            });
            small_list(m, "Keys by namespace", "overview-namespaces", "No keys.", rows.collect());
            if !o.namespaces.is_empty() {
                m.el("p", &[("class", "muted small")], &format!("estimated from {} random keys", o.namespace_sample));
            }
        });
        m.wrap("div", &[], |m| {
            let rows = o.top_commands.iter().map(|c| {
                vec![
                    ("mono", c.command.clone()),
                    ("num", format::thousands(c.calls)),
                    ("num muted", format!("{:.1} µs", c.usec_per_call)),
                ]
            });
            small_list(m, "Top commands", "overview-commands", "None yet.", rows.collect());
        });
        m.wrap("div", &[], |m| {
            let rows = o
                .slowlog
                .iter()
                .map(|e| vec![("mono", e.command.clone()), ("num", format!("{} µs", format::thousands(e.micros)))]);
            small_list(m, "Slow log", "overview-slowlog", "Empty.", rows.collect());
        });
    });
    m.finish()
}

/// One of the overview's lists under its heading: a table of `rows` (each cell its class and
/// text), or `empty` when there is none.
fn small_list(m: &mut Markup, heading: &str, testid: &str, empty: &str, rows: Vec<Vec<(&'static str, String)>>) {
    m.el("h3", &[], heading);
    if rows.is_empty() {
        m.el("p", &[("class", "muted small")], empty);
        return;
    }
    m.wrap("table", &[("class", "small"), ("data-testid", testid)], |m| {
        m.wrap("tbody", &[], |m| {
            for row in &rows {
                let cells: Vec<(&'static str, &str)> =
                    row.iter().map(|(class, text)| (*class, text.as_str())).collect();
                m.row(&cells);
            }
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::redis::{CommandStat, NamespaceCount};

    #[test]
    fn the_lists_show_their_rows_escaped_or_say_they_are_empty() {
        let o = RedisOverview {
            namespaces: vec![NamespaceCount { namespace: "cache:".into(), estimated_keys: 12_345 }],
            namespace_sample: 200,
            top_commands: vec![CommandStat { command: "<get>".into(), calls: 7, usec_per_call: 1.25 }],
            ..Default::default()
        };
        let html = overview_markup(&o);
        assert!(html.contains(r#"<table class="small" data-testid="overview-namespaces"><tbody><tr><td class="mono">cache:</td><td class="num">≈ 12,345</td></tr></tbody></table><p class="muted small">estimated from 200 random keys</p>"#), "{html}");
        assert!(
            html.contains(
                r#"<tr><td class="mono">&lt;get&gt;</td><td class="num">7</td><td class="num muted">1.2 µs</td></tr>"#
            ),
            "{html}"
        );
        assert!(html.contains(r#"<h3>Slow log</h3><p class="muted small">Empty.</p>"#), "{html}");
        let empty = overview_markup(&RedisOverview::default());
        assert!(empty.contains(r#"<h3>Keys by namespace</h3><p class="muted small">No keys.</p>"#), "{empty}");
        assert!(!empty.contains("estimated from"), "{empty}");
    }
}
