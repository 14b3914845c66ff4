//! A line chart in SVG with labelled axes and units, a hover value on every point (its
//! `<title>`), and a table of the same numbers behind a toggle, the chart's text alternative.
//!
//! The drawing is built as SVG text and placed as the figure's inner HTML: it never changes
//! after it is drawn (a new range draws a new chart), and a tree of typed view nodes for every
//! line, label and point cost the source page about 24 kB of WASM (gzip) for nothing the admin
//! could interact with. Every inserted text is escaped.

use leptos::prelude::*;

use crate::format::html_escape;

/// One point: its x label (a time, a warm) and its value, `None` where nothing was measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub x: String,
    pub y: Option<f64>,
}

const W: f64 = 520.0;
const H: f64 = 170.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// A round upper bound for the y axis (1, 2 or 5 times a power of ten).
fn nice_max(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let power = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * power).find(|v| *v >= max).unwrap_or(10.0 * power)
}

/// A measured value as the hover text and the table give it: whole above 100, then one or two
/// decimals, and two significant digits below 0.1 (one query in an hour is 0.017 q/min, not
/// 0.02).
fn number(v: f64) -> String {
    let a = v.abs();
    let decimals = if v == 0.0 || a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else if a >= 0.1 {
        2
    } else {
        ((-a.log10()).ceil() as usize + 1).min(12)
    };
    format!("{v:.decimals$}")
}

/// A tick label short enough for the axis (the unit is in the caption) and exact for the round
/// values the axis uses: 0.025, 2.5, 50, 12k, 2.5M.
fn compact(v: f64) -> String {
    let (scaled, suffix) = match v.abs() {
        a if a >= 1e6 => (v / 1e6, "M"),
        a if a >= 1e4 => (v / 1e3, "k"),
        _ => (v, ""),
    };
    // Three significant digits below 1 (0.00005 stays itself), three decimals above.
    let decimals =
        if scaled == 0.0 || scaled.abs() >= 1.0 { 3 } else { ((-scaled.abs().log10()).ceil() as usize + 2).min(12) };
    let text = format!("{scaled:.decimals$}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{suffix}")
}

#[component]
pub fn LineChart(
    #[prop(into)] title: String,
    /// Shown on the y axis and in every value, e.g. "ms", "%", "MB".
    #[prop(into)]
    unit: String,
    points: Vec<Point>,
    #[prop(into)] testid: String,
) -> impl IntoView {
    let table = RwSignal::new(false);
    let drawing = drawing(&title, &unit, &points);
    view! {
        <figure class="chart" data-testid=testid>
            <figcaption>
                <span class="chart-title">{title}</span>
                <span class="muted small">{format!(" ({unit})")}</span>
                <button
                    type="button"
                    class="link small"
                    aria-pressed=move || table.get().to_string()
                    on:click=move |_| table.update(|t| *t = !*t)
                    data-testid="chart-table-toggle"
                >
                    {move || if table.get() { "Show chart" } else { "Show table" }}
                </button>
            </figcaption>
            <div class="chart-drawing" hidden=table inner_html=drawing></div>
            <table class="chart-table small" data-testid="chart-table" hidden=move || !table.get()>
                <thead><tr><th scope="col">"When"</th><th scope="col" class="num">{unit}</th></tr></thead>
                <tbody>
                    {points.into_iter().map(|p| view! {
                        <tr><td>{p.x}</td><td class="num">{p.y.map(number).unwrap_or_else(|| "–".into())}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        </figure>
    }
}

/// The chart as SVG markup: grid and y ticks, the axes, three x labels (first, middle, last),
/// lines joining consecutive measured points (a gap breaks the line), and a focusable dot per
/// measured point whose `<title>` is its hover value; a line of text below when nothing was
/// measured.
fn drawing(title: &str, unit: &str, points: &[Point]) -> String {
    use std::fmt::Write;

    let max = nice_max(points.iter().filter_map(|p| p.y).fold(0.0, f64::max));
    let n = points.len().max(1);
    let step = if n > 1 { (W - LEFT - RIGHT) / (n - 1) as f64 } else { 0.0 };
    let x_of = |i: usize| LEFT + if n > 1 { i as f64 * step } else { (W - LEFT - RIGHT) / 2.0 };
    let y_of = |v: f64| TOP + (H - TOP - BOTTOM) * (1.0 - v / max);
    let measured = points.iter().filter(|p| p.y.is_some()).count();
    let label = html_escape(&format!("{title} ({unit}): {measured} measured points"));
    let unit = html_escape(unit);

    let mut svg = format!(
        r#"<svg class="chart-svg" viewBox="0 0 {W} {H}" role="img" aria-label="{label}" preserveAspectRatio="xMidYMid meet">"#,
    );
    for t in [0.0, max / 2.0, max] {
        let y = y_of(t);
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"></line><text class="axis" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            compact(t),
        );
    }
    let _ = write!(
        svg,
        r#"<line class="axis-line" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{bottom}"></line><line class="axis-line" x1="{LEFT}" x2="{right}" y1="{bottom}" y2="{bottom}"></line>"#,
        bottom = H - BOTTOM,
        right = W - RIGHT,
    );
    if !points.is_empty() {
        let mut labelled = vec![0, (points.len() - 1) / 2, points.len() - 1];
        labelled.dedup();
        for i in labelled {
            let anchor = if i == 0 {
                "start"
            } else if x_of(i) >= W - RIGHT - 1.0 {
                "end"
            } else {
                "middle"
            };
            let _ = write!(
                svg,
                r#"<text class="axis" x="{:.1}" y="{}" text-anchor="{anchor}">{}</text>"#,
                x_of(i),
                H - 8.0,
                html_escape(&points[i].x),
            );
        }
    }
    for run in points.iter().enumerate().collect::<Vec<_>>().split(|(_, p)| p.y.is_none()) {
        if run.len() > 1 {
            let coords: Vec<String> =
                run.iter().filter_map(|(i, p)| p.y.map(|v| format!("{:.1},{:.1}", x_of(*i), y_of(v)))).collect();
            let _ = write!(svg, r#"<polyline class="line" points="{}" fill="none"></polyline>"#, coords.join(" "));
        }
    }
    for (i, p) in points.iter().enumerate() {
        if let Some(v) = p.y {
            let _ = write!(
                svg,
                r#"<circle class="dot" data-testid="chart-point" cx="{:.1}" cy="{:.1}" r="3.5" tabindex="0"><title>{}: {} {unit}</title></circle>"#,
                x_of(i),
                y_of(v),
                html_escape(&p.x),
                number(v),
            );
        }
    }
    svg.push_str("</svg>");
    if measured == 0 {
        svg.push_str(r#"<p class="muted small">Nothing measured in this range yet.</p>"#);
    }
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(0.7), 1.0);
        assert_eq!(nice_max(3.2), 5.0);
        assert_eq!(nice_max(100.0), 100.0);
        assert_eq!(nice_max(101.0), 200.0);
    }

    #[test]
    fn measured_values_keep_two_significant_digits_when_small() {
        let read =
            [(0.0, "0"), (250.4, "250"), (12.34, "12.3"), (0.5, "0.50"), (1.0 / 60.0, "0.017"), (0.004, "0.0040")];
        for (v, text) in read {
            assert_eq!(number(v), text, "{v}");
        }
    }

    #[test]
    fn tick_labels_are_short_and_exact() {
        let ticks: Vec<String> =
            [0.0, 0.00005, 0.025, 0.05, 2.5, 50.0, 5000.0, 25_000.0, 2_500_000.0].map(compact).to_vec();
        assert_eq!(ticks, ["0", "0.00005", "0.025", "0.05", "2.5", "50", "5000", "25k", "2.5M"]);
    }

    fn point(x: &str, y: Option<f64>) -> Point {
        Point { x: x.into(), y }
    }

    #[test]
    fn a_gap_breaks_the_line_and_every_measured_point_has_its_hover_value() {
        let points = [
            point("10:00", Some(1.0)),
            point("10:01", Some(2.0)),
            point("10:02", None),
            point("10:03", Some(4.0)),
            point("10:04", Some(3.0)),
        ];
        let svg = drawing("Hit rate", "%", &points);
        assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
        assert_eq!(svg.matches(r#"data-testid="chart-point""#).count(), 4);
        assert!(svg.contains("<title>10:03: 4.00 %</title>"), "{svg}");
        assert!(svg.contains(r#"aria-label="Hit rate (%): 4 measured points""#), "{svg}");
        assert!(!svg.contains("Nothing measured"));
    }

    #[test]
    fn labels_are_escaped_and_an_empty_range_says_so() {
        let points = [point("<b>&", None), point("x\"y", None)];
        let svg = drawing("Memory <MB>", "<u>", &points);
        assert!(!svg.contains("<b>") && !svg.contains("<u>") && !svg.contains("x\"y"), "{svg}");
        assert!(svg.contains("&lt;b&gt;&amp;") && svg.contains("x&quot;y"), "{svg}");
        assert!(svg.contains(r#"aria-label="Memory &lt;MB&gt; (&lt;u&gt;): 0 measured points""#), "{svg}");
        assert_eq!(svg.matches("<polyline").count(), 0);
        assert!(svg.ends_with("<p class=\"muted small\">Nothing measured in this range yet.</p>"), "{svg}");
    }
}
