//! The history of finished jobs: filtered by source, status and time, and "More" pages past the
//! newest 50 to the end of the kept history.

use leptos::either::EitherOf3;
use leptos::prelude::*;

use crate::error::AppError;
use crate::format;
use crate::model::jobs::{Job, JobHistoryPage, JobHistoryQuery, WarmingSummary};
use crate::model::source::SourceInfo;
use crate::rpc::jobs::list_job_history;
use crate::ui::common::error_box::ErrorBox;
use crate::ui::common::markup::Markup;
use crate::ui::common::mutation::{Data, use_stale};
use crate::ui::common::widgets::status_badge;

/// Sets `signal` from a filter field's new value.
fn on(signal: RwSignal<String>) -> impl Fn(leptos::ev::Event) + Clone + 'static {
    move |ev| signal.set(event_target_value(&ev))
}

fn set(v: String) -> Option<String> {
    Some(v.trim().to_string()).filter(|v| !v.is_empty())
}

#[component]
pub fn JobHistory(
    sources: Resource<Result<Vec<SourceInfo>, AppError>>,
    summary: Signal<Option<WarmingSummary>>,
    /// The newest finished job the live status knows: a new one reloads the first page.
    newest: Signal<Option<String>>,
) -> impl IntoView {
    let stale = use_stale();
    let (source, status, from, to) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let query = move || JobHistoryQuery {
        source: set(source.get()),
        status: set(status.get()),
        from: set(from.get()),
        to: set(to.get()),
        cursor: None,
        limit: None,
    };
    let first =
        Resource::new(move || (query(), stale.track(Data::Jobs), newest.get()), |(q, _, _)| list_job_history(q));
    // Pages fetched with "More", after the first; dropped whenever the first page reloads.
    let more = RwSignal::new(Vec::<Job>::new());
    let more_cursor = RwSignal::new(None::<Option<String>>);
    let more_error = RwSignal::new(None::<AppError>);
    let loading_more = RwSignal::new(false);
    Effect::new(move |_| {
        first.track();
        more.set(Vec::new());
        more_cursor.set(None);
        more_error.set(None);
    });
    let next_cursor = move || match more_cursor.get() {
        Some(c) => c,
        None => first.get().and_then(|r| r.ok()).and_then(|p| p.next_cursor),
    };
    let load_more = move |_| {
        let Some(cursor) = next_cursor() else { return };
        let q = JobHistoryQuery { cursor: Some(cursor), ..query() };
        loading_more.set(true);
        leptos::task::spawn_local(async move {
            match list_job_history(q).await {
                Ok(JobHistoryPage { jobs, next_cursor }) => {
                    more.update(|m| m.extend(jobs));
                    more_cursor.set(Some(next_cursor));
                }
                Err(e) => more_error.set(Some(e)),
            }
            loading_more.set(false);
        });
    };
    view! {
        <section class="card" aria-labelledby="recent-title" data-testid="recent-jobs">
            <div class="card-head">
                <h2 id="recent-title">"History"</h2>
                <span class="small muted">
                    <Transition fallback=|| ()>
                    {move || summary.get().map(|s| format!(
                        "{:.0} % succeeded · average {}",
                        s.success_rate,
                        // Under 10 s in tenths: a 0.8 s average is not "0s".
                        if s.avg_duration < 10_000.0 {
                            format!("{:.1} s", s.avg_duration / 1000.0)
                        } else {
                            format::duration_secs((s.avg_duration / 1000.0) as u64)
                        }
                    ))}
                    </Transition>
                </span>
            </div>
            <div class="form-row history-filters" role="group" aria-label="Filter the history">
                <label>"Source "
                    <select data-testid="history-source" on:change=on(source)>
                        <option value="">"all"</option>
                        <Transition fallback=|| ()>
                            {move || sources.get().and_then(|r| r.ok()).map(|list| list.into_iter().map(|s| view! {
                                <option value=s.id.to_string()>{s.name.clone()}</option>
                            }).collect_view())}
                        </Transition>
                    </select>
                </label>
                <label>"Status "
                    <select data-testid="history-status" on:change=on(status)>
                        <option value="">"all"</option>
                        <option value="completed">"completed"</option>
                        <option value="failed">"failed"</option>
                        <option value="cancelled">"cancelled"</option>
                    </select>
                </label>
                <label>"From (UTC) " <input type="date" data-testid="history-from" on:change=on(from)/></label>
                <label>"To (UTC) " <input type="date" data-testid="history-to" on:change=on(to)/></label>
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || first.get().map(|r| match r {
                    Ok(page) if page.jobs.is_empty() => EitherOf3::A(view! { <p class="muted" data-testid="history-empty">"No finished job matches."</p> }),
                    Ok(page) => EitherOf3::B(view! {
                        <div class="table-wrap">
                            <table>
                                <thead>
                                    <tr>
                                        <th scope="col">"Source"</th>
                                        <th scope="col">"Status"</th>
                                        <th scope="col">"Finished (UTC)"</th>
                                        <th scope="col" class="num">"Took"</th>
                                        <th scope="col" class="num">"Rows"</th>
                                        <th scope="col" class="num">"Entries"</th>
                                        <th scope="col">"By"</th>
                                        <th scope="col">"Note"</th>
                                    </tr>
                                </thead>
                                <tbody inner_html=move || rows_markup(page.jobs.iter().chain(more.read().iter()))></tbody>
                            </table>
                        </div>
                    }),
                    Err(e) => EitherOf3::C(view! { <ErrorBox error=e/> }),
                })}
            </Transition>
            {move || more_error.get().map(|e| view! { <ErrorBox error=e/> })}
            // Inside a Transition: the cursor comes from the first page's resource, which must be
            // read where hydration waits for it.
            <Transition fallback=|| ()>
                <Show when=move || next_cursor().is_some()>
                    <button data-testid="history-more" disabled=loading_more on:click=load_more>"More"</button>
                </Show>
            </Transition>
        </section>
    }
}

/// The history's rows as text: nothing in them is clicked, and a new page or filter draws
/// them anew.
fn rows_markup<'a>(jobs: impl Iterator<Item = &'a Job>) -> String {
    let mut m = Markup::new();
    for j in jobs {
        m.wrap("tr", &[("data-testid", "recent-job")], |m| {
            m.el("td", &[], &j.datasource_name);
            m.wrap("td", &[], |m| {
                status_badge(m, j.status);
            });
            m.el("td", &[("class", "small")], &j.completed_at.as_deref().map(format::utc_time).unwrap_or_default());
            let took = j.duration.map(|d| format!("{:.1} s", d as f64 / 1000.0)).unwrap_or_default();
            m.el("td", &[("class", "num")], &took);
            m.el("td", &[("class", "num")], &format::thousands(j.rows_processed));
            m.el("td", &[("class", "num")], &format::thousands(j.entries_cached));
            m.el("td", &[("class", "small")], &format!("{} ({})", j.requested_by, j.trigger));
            m.wrap("td", &[("class", "small")], |m| {
                m.text(j.error.as_deref().or(j.reason.as_deref()).unwrap_or_default());
                if let Some(kind) = &j.warm_kind {
                    m.text(" ").el("span", &[("class", "muted"), ("data-testid", "job-warm-kind")], kind);
                }
                if let Some(ms) = j.cutover_ms {
                    m.text(" ").el(
                        "span",
                        &[("class", "muted"), ("data-testid", "job-cutover")],
                        &format!("cutover {ms:.1} ms"),
                    );
                }
            });
        });
    }
    m.finish()
}
