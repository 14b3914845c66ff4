//! A line chart in SVG with labelled axes and units, a hover value on every point (its
//! `<title>`), and a table of the same numbers behind a toggle, the chart's text alternative.

use leptos::prelude::*;

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

fn number(v: f64) -> String {
    if v == 0.0 || v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A tick label short enough for the axis (the unit is in the caption): 12k, 3.5M.
fn compact(v: f64) -> String {
    match v.abs() {
        a if a >= 1e6 => format!("{:.1}M", v / 1e6),
        a if a >= 1e4 => format!("{:.0}k", v / 1e3),
        _ => number(v),
    }
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
    let max = nice_max(points.iter().filter_map(|p| p.y).fold(0.0, f64::max));
    let n = points.len().max(1);
    let step = if n > 1 { (W - LEFT - RIGHT) / (n - 1) as f64 } else { 0.0 };
    let x_of = move |i: usize| LEFT + if n > 1 { i as f64 * step } else { (W - LEFT - RIGHT) / 2.0 };
    let y_of = move |v: f64| TOP + (H - TOP - BOTTOM) * (1.0 - v / max);
    // Lines join consecutive measured points; a gap (nothing measured) breaks the line.
    let mut segments: Vec<Vec<String>> = vec![Vec::new()];
    for (i, p) in points.iter().enumerate() {
        match p.y {
            Some(v) => segments.last_mut().unwrap().push(format!("{:.1},{:.1}", x_of(i), y_of(v))),
            None if !segments.last().unwrap().is_empty() => segments.push(Vec::new()),
            None => {}
        }
    }
    let measured = points.iter().filter(|p| p.y.is_some()).count();
    let ticks = [0.0, max / 2.0, max];
    let x_labels: Vec<(usize, String)> = if points.is_empty() {
        Vec::new()
    } else {
        let mut idx = vec![0, (points.len() - 1) / 2, points.len() - 1];
        idx.dedup();
        idx.into_iter().map(|i| (i, points[i].x.clone())).collect()
    };
    let rows = points.clone();
    let unit_rows = unit.clone();
    let label = format!("{title} ({unit}): {measured} measured points");
    view! {
        <figure class="chart" data-testid=testid>
            <figcaption>
                <span class="chart-title">{title.clone()}</span>
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
            <Show
                when=move || table.get()
                fallback=move || {
                    let segments = segments.clone();
                    let x_labels = x_labels.clone();
                    let dots = points.clone();
                    let unit = unit.clone();
                    view! {
                        <svg class="chart-svg" viewBox=format!("0 0 {W} {H}") role="img" aria-label=label.clone() preserveAspectRatio="xMidYMid meet">
                            {ticks.iter().map(|t| {
                                let y = y_of(*t);
                                view! {
                                    <line class="grid" x1=LEFT x2=W - RIGHT y1=y y2=y></line>
                                    <text class="axis" x=LEFT - 6.0 y=y + 4.0 text-anchor="end">{compact(*t)}</text>
                                }
                            }).collect_view()}
                            <line class="axis-line" x1=LEFT x2=LEFT y1=TOP y2=H - BOTTOM></line>
                            <line class="axis-line" x1=LEFT x2=W - RIGHT y1=H - BOTTOM y2=H - BOTTOM></line>
                            {x_labels.into_iter().map(|(i, text)| {
                                let anchor = if i == 0 { "start" } else if x_of(i) >= W - RIGHT - 1.0 { "end" } else { "middle" };
                                view! { <text class="axis" x=x_of(i) y=H - 8.0 text-anchor=anchor>{text}</text> }
                            }).collect_view()}
                            {segments.into_iter().filter(|s| s.len() > 1).map(|s| view! {
                                <polyline class="line" points=s.join(" ") fill="none"></polyline>
                            }).collect_view()}
                            {dots.into_iter().enumerate().filter_map(|(i, p)| p.y.map(|v| (i, p.x, v))).map(|(i, x, v)| {
                                let unit = unit.clone();
                                view! {
                                    <circle class="dot" data-testid="chart-point" cx=x_of(i) cy=y_of(v) r="3.5" tabindex="0">
                                        <title>{format!("{x}: {} {unit}", number(v))}</title>
                                    </circle>
                                }
                            }).collect_view()}
                        </svg>
                        {(measured == 0).then(|| view! { <p class="muted small">"Nothing measured in this range yet."</p> })}
                    }
                }
            >
                <table class="chart-table small" data-testid="chart-table">
                    <thead><tr><th scope="col">"When"</th><th scope="col" class="num">{unit_rows.clone()}</th></tr></thead>
                    <tbody>
                        {rows.iter().map(|p| view! {
                            <tr><td>{p.x.clone()}</td><td class="num">{p.y.map(number).unwrap_or_else(|| "–".into())}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </Show>
        </figure>
    }
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
}
