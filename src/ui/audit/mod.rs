//! The Audit tab: the audit trail (who did what, to what, why, and how it ended), filtered by
//! the URL's query so a view can be linked, a page at a time with "More", and exported.

mod filters;
mod table;

use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::error::AppError;
use crate::format;
use crate::model::audit::{AuditEntry, AuditPage, AuditQuery};
use crate::rpc::audit::list_audit;
use crate::rpc::sources::list_sources;
use crate::ui::common::error_box::ErrorBox;
use crate::ui::common::session::use_session;
use filters::{AuditFilters, export_href};
use table::AuditTable;

#[component]
pub fn AuditPage() -> impl IntoView {
    let session = use_session();
    view! {
        <div class="page audit" data-testid="audit-page">
            <Show
                when=move || session.can_read()
                fallback=|| view! {
                    <section class="card"><p class="muted" data-testid="audit-no-access">"Reading the audit trail needs the read permission."</p></section>
                }
            >
                <AuditTrail/>
            </Show>
        </div>
    }
}

/// Pages older than the first, loaded by "More". The first page is a resource (drawn on the
/// server, loaded again when the filters change); these are a read paged by the caller, so, as
/// in the key browser, only the answer to the latest request lands: a page asked for under old
/// filters never mixes into the list for new ones.
#[derive(Clone, Copy)]
struct OlderPages {
    entries: RwSignal<Vec<AuditEntry>>,
    /// Where the next page starts once one older page is in (`Some(None)`: the trail's end);
    /// `None` until then, when the first page's cursor applies.
    cursor: RwSignal<Option<Option<String>>>,
    loading: RwSignal<bool>,
    error: RwSignal<Option<AppError>>,
    latest: StoredValue<u64>,
}

impl OlderPages {
    fn new() -> Self {
        OlderPages {
            entries: RwSignal::new(Vec::new()),
            cursor: RwSignal::new(None),
            loading: RwSignal::new(false),
            error: RwSignal::new(None),
            latest: StoredValue::new(0),
        }
    }

    /// Forgets them (and any answer on its way): the first page is being loaded again.
    fn reset(&self) {
        self.latest.update_value(|n| *n += 1);
        self.entries.set(Vec::new());
        self.cursor.set(None);
        self.loading.set(false);
        self.error.set(None);
    }

    /// The cursor of the next page after `first` and the older pages, if there is one; tracked,
    /// for the view.
    fn next(&self, first: &AuditPage) -> Option<String> {
        self.cursor.get().unwrap_or_else(|| first.next_cursor.clone())
    }

    fn next_untracked(&self, first: &AuditPage) -> Option<String> {
        self.cursor.get_untracked().unwrap_or_else(|| first.next_cursor.clone())
    }

    fn load(&self, filters: AuditQuery, cursor: String) {
        let this = *self;
        let request = this.latest.get_value() + 1;
        this.latest.set_value(request);
        this.loading.set(true);
        leptos::task::spawn_local(async move {
            let answer = list_audit(AuditQuery { cursor: Some(cursor), ..filters }).await;
            if this.latest.get_value() != request {
                return;
            }
            this.loading.set(false);
            match answer {
                Ok(page) => {
                    this.error.set(None);
                    this.entries.update(|list| list.extend(page.entries));
                    this.cursor.set(Some(page.next_cursor));
                }
                Err(e) => this.error.set(Some(e)),
            }
        });
    }
}

#[component]
fn AuditTrail() -> impl IntoView {
    let params = use_query_map();
    let applied = Memo::new(move |_| params.with(filters::from_params));
    // Refresh, and applying the filters already shown, load the first page again.
    let reload = RwSignal::new(0u64);
    let first = Resource::new(move || (applied.get(), reload.get()), |(q, _)| list_audit(q));
    let sources = Resource::new(|| (), |_| list_sources());
    let older = OlderPages::new();
    Effect::new(move |ran: Option<()>| {
        applied.track();
        reload.track();
        if ran.is_some() {
            older.reset();
        }
    });
    let refresh = Callback::new(move |_: ()| reload.update(|n| *n += 1));
    let busy = RwSignal::new(false);
    let base = StoredValue::new(crate::app::base_path());
    let more = move |first: AuditPage| {
        move |_| {
            if let Some(cursor) = older.next_untracked(&first) {
                older.load(applied.get_untracked(), cursor);
            }
        }
    };
    view! {
        <section class="card" aria-labelledby="audit-title">
            <div class="card-head">
                <h2 id="audit-title">"Audit trail"</h2>
                <div class="audit-links">
                    <button type="button" data-testid="audit-refresh" disabled=busy on:click=move |_| refresh.run(())>"Refresh"</button>
                    <a class="button" download="" data-testid="audit-export-ndjson" href=move || base.with_value(|b| export_href(b, "ndjson", &applied.get()))>"Export NDJSON"</a>
                    <a class="button" download="" data-testid="audit-export-csv" href=move || base.with_value(|b| export_href(b, "csv", &applied.get()))>"Export CSV"</a>
                </div>
            </div>
            <AuditFilters applied sources reload=refresh/>
        </section>
        <section class="card" aria-labelledby="audit-entries-title">
            <Transition
                fallback=|| view! { <p class="muted">"Loading the audit trail…"</p> }
                set_pending=busy.write_only()
            >
                {move || {
                    // Read together so the server waits for both before it sends the page.
                    let names = sources.get().and_then(|r| r.ok()).unwrap_or_default();
                    first.get().map(|r| match r {
                        Ok(page) => {
                            let names = StoredValue::new(names.iter().map(|s| (s.id, s.name.clone())).collect());
                            let empty = page.entries.is_empty();
                            let first_shown = page.entries.len();
                            let on_more = more(page.clone());
                            let has_more = {
                                let page = page.clone();
                                move || older.next(&page).is_some()
                            };
                            Either::Left(view! {
                                <div class="card-head">
                                    <h2 id="audit-entries-title">"Entries"</h2>
                                    <TrailStatus page=page.clone() shown=Signal::derive(move || first_shown + older.entries.with(Vec::len))/>
                                </div>
                                <WriteFailures count=page.write_failures/>
                                {if empty {
                                    Either::Left(view! { <p class="muted" data-testid="audit-empty">"No entry matches these filters."</p> })
                                } else {
                                    Either::Right(view! { <AuditTable first=page.entries.clone() older=older.entries names busy/> })
                                }}
                                {move || older.error.get().map(|e| view! { <ErrorBox error=e/> })}
                                <Show when=has_more.clone()>
                                    <button type="button" class="more" data-testid="audit-more" disabled=move || older.loading.get() on:click=on_more.clone()>"More"</button>
                                </Show>
                            })
                        }
                        Err(e) => Either::Right(view! { <ErrorBox error=e/> }),
                    })
                }}
            </Transition>
        </section>
    }
}

/// How much is shown, how much the trail holds, and its cap.
#[component]
fn TrailStatus(page: AuditPage, #[prop(into)] shown: Signal<usize>) -> impl IntoView {
    view! {
        <span class="muted small" data-testid="audit-stored">
            {move || format!("{} shown · ", format::thousands(shown.get() as u64))}
            {format!(
                "the trail holds {} entries, capped at {} (the oldest go first)",
                format::thousands(page.stored),
                format::thousands(page.capacity)
            )}
        </span>
    }
}

/// Entries this instance could not store: the trail has gaps, and the log has them.
#[component]
fn WriteFailures(count: u64) -> impl IntoView {
    (count > 0).then(|| {
        view! {
            <p class="warning" role="alert" data-testid="audit-write-failures">
                <strong>{format!("{} audit {} could not be stored in Redis", format::thousands(count), if count == 1 { "entry" } else { "entries" })}</strong>
                " since this instance started, so the trail below has gaps. Each one is in the server's log (target hearth::audit)."
            </p>
        }
    })
}
