//! Health as the admin reads it: the badge with "no traffic yet" beside it when the hit rate is
//! not measured (SPEC §4), and the report panel (overall health, each issue with its own
//! recommendation, linked to its source; a cold source's issue offers to warm it).

use leptos::either::Either;
use leptos::prelude::*;

use crate::app::{base_path, page_href};
use crate::error::AppError;
use crate::model::cache::{HealthLabel, HealthReport, OverallHealth, Severity};
use crate::rpc::jobs::StartWarm;
use crate::ui::common::form::RpcForm;
use crate::ui::common::session::use_session;
use crate::ui::common::warm::warm_input;
use crate::ui::common::widgets::HealthBadge;

/// The health badge, with "no traffic yet" beside it while the score's hit-rate part is the
/// SPEC's default rather than a measurement.
#[component]
pub fn SourceHealth(label: HealthLabel, score: u32, no_traffic: bool) -> impl IntoView {
    view! {
        <span class="source-health">
            <HealthBadge label score/>
            {no_traffic.then(|| view! {
                <span class="no-traffic small" data-testid="no-traffic" title="no queries since the last warm: the hit rate is not measured yet">
                    "no traffic yet"
                </span>
            })}
        </span>
    }
}

/// The link to a source's page.
pub fn source_href(ds: i64) -> String {
    page_href(&base_path(), &format!("/sources/{ds}"))
}

fn overall_class(o: OverallHealth) -> (&'static str, &'static str) {
    match o {
        OverallHealth::Excellent => ("health-excellent", "excellent"),
        OverallHealth::Good => ("health-good", "good"),
        OverallHealth::Degraded => ("health-degraded", "degraded"),
        OverallHealth::Critical => ("health-cold", "critical"),
    }
}

#[component]
pub fn HealthPanel(
    report: Resource<Result<HealthReport, AppError>>,
    /// The page's warm action: a cold source's issue warms it from here.
    warm: ServerAction<StartWarm>,
) -> impl IntoView {
    let session = use_session();
    view! {
        <section class="card" aria-labelledby="health-title" data-testid="health-report">
            <Transition fallback=|| view! { <p class="muted">"Checking health…"</p> }>
                {move || report.get().map(|r| match r {
                    Err(e) => Either::Left(view! { <h2 id="health-title">"Health report"</h2><p class="error-inline">{e.message}</p> }),
                    Ok(h) => {
                        let (class, word) = overall_class(h.overall);
                        let count = h.issues.len();
                        Either::Right(view! {
                            <div class="card-head">
                                <h2 id="health-title">"Health report"</h2>
                                <span class=format!("badge {class}") data-testid="health-overall">"overall: "{word}</span>
                            </div>
                            {if count == 0 {
                                Either::Left(view! { <p class="muted" data-testid="health-none">"No issues: every source is warm, fresh and queried."</p> })
                            } else {
                                Either::Right(view! {
                                    <ul class="issues" data-testid="health-issues">
                                        {h.issues.into_iter().map(|i| {
                                            let ds = i.datasource_id;
                                            let cold = i.warm_fixes;
                                            let sev = match i.severity { Severity::Error => "error", Severity::Warning => "warning" };
                                            view! {
                                                <li class=format!("issue issue-{sev}") data-testid=format!("health-issue-{ds}")>
                                                    <span class=format!("sev sev-{sev}")>{sev}</span>
                                                    <a href=source_href(ds) data-testid="issue-source">{i.datasource_name.clone()}</a>
                                                    ": "
                                                    <span class="issue-text">{i.issue.clone()}</span>
                                                    <div class="recommendation small">
                                                        <span class="muted">"Recommendation: "</span>
                                                        <span data-testid="issue-recommendation">{i.recommendation.clone()}</span>
                                                        {(cold).then(|| view! {
                                                            <Show when=move || session.can_write()>
                                                                <RpcForm action=warm input=warm_input(Some(ds), false, "warm from the health report") class="inline">
                                                                    <button type="submit" class="link" data-testid="issue-warm" disabled=warm.pending()>
                                                                        "Warm it now"
                                                                    </button>
                                                                </RpcForm>
                                                            </Show>
                                                        })}
                                                    </div>
                                                </li>
                                            }
                                        }).collect_view()}
                                    </ul>
                                })
                            }}
                        })
                    }
                })}
            </Transition>
        </section>
    }
}
