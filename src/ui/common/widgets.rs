//! Small pieces several tabs show: progress bars, health and status badges, a sparkline.

use leptos::prelude::*;

use crate::model::cache::HealthLabel;
use crate::model::jobs::JobStatus;
use crate::ui::common::markup::Markup;

#[component]
pub fn ProgressBar(#[prop(into)] percent: Signal<f64>, #[prop(into)] label: String) -> impl IntoView {
    view! {
        <div
            class="bar progress"
            role="progressbar"
            aria-label=label
            aria-valuemin="0"
            aria-valuemax="100"
            aria-valuenow=move || format!("{:.0}", percent.get())
        >
            <span style=move || format!("width: {:.1}%", percent.get().clamp(0.0, 100.0))></span>
        </div>
    }
}

#[component]
pub fn HealthBadge(label: HealthLabel, score: u32) -> impl IntoView {
    view! {
        <span class=format!("badge health-{}", label.as_str()) data-testid="health-badge" title=format!("health score {score}/100")>
            {label.as_str()}
            <span class="score">{score}</span>
        </span>
    }
}

#[component]
pub fn StatusBadge(status: JobStatus) -> impl IntoView {
    view! { <span class=format!("badge status-{}", status.as_str()) data-testid="job-status">{status.as_str()}</span> }
}

/// [`StatusBadge`] in a section written as text.
pub fn status_badge(m: &mut Markup, status: JobStatus) {
    m.el(
        "span",
        &[("class", &format!("badge status-{}", status.as_str())), ("data-testid", "job-status")],
        status.as_str(),
    );
}

/// A polyline of `values` scaled to the box; empty input draws nothing.
#[component]
pub fn Sparkline(values: Vec<f64>, #[prop(into)] label: String) -> impl IntoView {
    let (w, h) = (160.0, 32.0);
    let max = values.iter().cloned().fold(0.0f64, f64::max).max(1e-9);
    let step = if values.len() > 1 { w / (values.len() - 1) as f64 } else { w };
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{:.1},{:.1}", i as f64 * step, h - (v / max) * (h - 2.0) - 1.0))
        .collect();
    view! {
        <svg class="sparkline" viewBox=format!("0 0 {w} {h}") width=w height=h role="img" aria-label=label>
            <polyline points=points.join(" ") fill="none" stroke="currentColor" stroke-width="1.5"></polyline>
        </svg>
    }
}

/// The pages of a tab that holds more tools than one page should load: a row of links under the
/// tab bar, the current page marked. Plain links: the router follows them without a reload.
#[component]
pub fn SubPages(
    /// What the pages are, for screen readers ("Warming pages").
    label: &'static str,
    /// Route, label and test id of each page.
    pages: &'static [(&'static str, &'static str, &'static str)],
    /// The route of the page showing.
    current: &'static str,
) -> impl IntoView {
    let base = crate::app::base_path();
    view! {
        <nav class="subpages" aria-label=label>
            {pages
                .iter()
                .map(|&(route, text, testid)| {
                    let here = route == current;
                    view! {
                        <a
                            href=crate::app::page_href(&base, route)
                            data-testid=testid
                            class:active=here
                            aria-current=here.then_some("page")
                        >
                            {text}
                        </a>
                    }
                })
                .collect_view()}
        </nav>
    }
}
