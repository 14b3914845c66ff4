//! The Audit view's filters: read from the page's URL (so a filtered view can be linked and
//! reloaded), edited in a form that writes them back to the URL, and spelled the REST API's way
//! for the export links.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::use_navigate;
use leptos_router::params::ParamsMap;

use crate::app::page_href;
use crate::error::AppError;
use crate::model::audit::{AuditAction, AuditOutcome, AuditQuery};
use crate::model::source::SourceInfo;

/// The filters a URL names. Blank values are no filter; a cursor or limit in the URL is ignored
/// (a link names a view of the trail, not one page of it).
pub fn from_params(params: &ParamsMap) -> AuditQuery {
    let get = |name: &str| params.get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    AuditQuery { cursor: None, limit: None, ..AuditQuery::from_fn(get) }
}

/// `user=…&action=…` for the filters that are set, in the REST API's names, percent-encoded the
/// same way on the server and in the browser (the links are drawn by both).
pub fn query_string(q: &AuditQuery) -> String {
    q.filters()
        .into_iter()
        .filter_map(|(name, value)| value.filter(|v| !v.is_empty()).map(|v| format!("{name}={}", encode(v))))
        .collect::<Vec<_>>()
        .join("&")
}

/// Every byte but RFC 3986's unreserved characters as `%XX`.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The Audit view showing `q`.
pub fn audit_href(base: &str, q: &AuditQuery) -> String {
    let page = page_href(base, "/audit");
    match query_string(q) {
        qs if qs.is_empty() => page,
        qs => format!("{page}?{qs}"),
    }
}

/// The download of every entry matching `q` as `format` (`ndjson` or `csv`).
pub fn export_href(base: &str, format: &str, q: &AuditQuery) -> String {
    let qs = query_string(q);
    let sep = if qs.is_empty() { "" } else { "&" };
    format!("{base}/api/admin/analytics/cache/audit/export?format={format}{sep}{qs}")
}

fn text(value: String) -> Option<String> {
    Some(value.trim().to_string()).filter(|v| !v.is_empty())
}

/// The filter form. A plain GET form to the view, so it works before hydration; once hydrated
/// it navigates to the view's URL with only the filters that are set. Drawn again whenever the
/// URL's filters change (back, forward, a user link in the table), so it always shows them.
#[component]
pub fn AuditFilters(
    applied: Memo<AuditQuery>,
    sources: Resource<Result<Vec<SourceInfo>, AppError>>,
    /// Loads the view again: applying the filters already shown is a refresh.
    reload: Callback<()>,
) -> impl IntoView {
    let base = StoredValue::new(crate::app::base_path());
    let navigate = use_navigate();
    move || {
        let shown = applied.get();
        // What the form holds; starts as the URL's filters, so one the inputs cannot show (a
        // `from` in epoch milliseconds) is kept unless the admin changes it.
        let draft = RwSignal::new(shown.clone());
        let navigate = navigate.clone();
        let on_submit = move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let wanted = draft.get_untracked();
            if wanted == applied.get_untracked() {
                reload.run(());
            } else {
                // The href already starts with the base: resolving would add it a second time.
                let options = NavigateOptions { resolve: false, ..Default::default() };
                navigate(&base.with_value(|b| audit_href(b, &wanted)), options);
            }
        };
        let value = |v: &Option<String>| v.clone().unwrap_or_default();
        let action = shown.action.clone();
        let outcome = shown.outcome.clone();
        let source = shown.source.clone();
        view! {
            <form
                class="audit-filters"
                method="get"
                action=base.with_value(|b| page_href(b, "/audit"))
                role="search"
                aria-label="Filter the audit trail"
                on:submit=on_submit
            >
                <label>
                    "User id"
                    <input
                        type="text"
                        name="user"
                        data-testid="audit-filter-user"
                        placeholder="any"
                        maxlength="256"
                        autocomplete="off"
                        value=value(&shown.user)
                        on:input=move |ev| draft.update(|d| d.user = text(event_target_value(&ev)))
                    />
                </label>
                <label>
                    "Action"
                    <select name="action" data-testid="audit-filter-action" on:change=move |ev| draft.update(|d| d.action = text(event_target_value(&ev)))>
                        <option value="">"any"</option>
                        {AuditAction::ALL
                            .into_iter()
                            .map(|a| view! { <option value=a.as_str() selected=action.as_deref() == Some(a.as_str())>{a.label()}</option> })
                            .collect_view()}
                    </select>
                </label>
                <label>
                    "Source"
                    <select name="source" data-testid="audit-filter-source" on:change=move |ev| draft.update(|d| d.source = text(event_target_value(&ev)))>
                        <option value="">"any"</option>
                        <Transition fallback=|| ()>
                            {
                                let source = source.clone();
                                move || sources.get().map(|r| source_options(r.unwrap_or_default(), source.clone()))
                            }
                        </Transition>
                    </select>
                </label>
                <label>
                    "Outcome"
                    <select name="outcome" data-testid="audit-filter-outcome" on:change=move |ev| draft.update(|d| d.outcome = text(event_target_value(&ev)))>
                        <option value="">"any"</option>
                        {AuditOutcome::ALL
                            .into_iter()
                            .map(|o| view! { <option value=o.as_str() selected=outcome.as_deref() == Some(o.as_str())>{o.as_str()}</option> })
                            .collect_view()}
                    </select>
                </label>
                <label>
                    "From (UTC)"
                    <input
                        type="datetime-local"
                        name="from"
                        data-testid="audit-filter-from"
                        value=value(&shown.from)
                        on:input=move |ev| draft.update(|d| d.from = text(event_target_value(&ev)))
                    />
                </label>
                <label>
                    "To (UTC)"
                    <input
                        type="datetime-local"
                        name="to"
                        data-testid="audit-filter-to"
                        value=value(&shown.to)
                        on:input=move |ev| draft.update(|d| d.to = text(event_target_value(&ev)))
                    />
                </label>
                <div class="buttons">
                    <button type="submit" class="primary" data-testid="audit-apply">"Apply"</button>
                    <a href=base.with_value(|b| page_href(b, "/audit")) data-testid="audit-clear">"Clear"</a>
                </div>
            </form>
        }
    }
}

/// One option per source, and one for the filtered source when it is no longer listed (its
/// entries stay in the trail).
fn source_options(list: Vec<SourceInfo>, current: Option<String>) -> impl IntoView {
    let listed = current.as_ref().is_some_and(|c| list.iter().any(|s| s.id.to_string() == *c));
    let unlisted = current.clone().filter(|_| !listed).map(|c| {
        view! { <option value=c.clone() selected=true>{format!("#{c}")}</option> }
    });
    view! {
        {list
            .into_iter()
            .map(|s| {
                let id = s.id.to_string();
                let selected = current.as_deref() == Some(id.as_str());
                view! { <option value=id selected=selected>{format!("{} (#{})", s.name, s.id)}</option> }
            })
            .collect_view()}
        {unlisted}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_set_filters_reach_the_url_encoded() {
        let q = AuditQuery {
            user: Some("ada lovelace".into()),
            action: Some("cache_warm_initiated".into()),
            source: Some(String::new()),
            from: Some("2026-12-03T17:00".into()),
            cursor: Some("1-0".into()),
            ..AuditQuery::default()
        };
        assert_eq!(query_string(&q), "user=ada%20lovelace&action=cache_warm_initiated&from=2026-12-03T17%3A00");
        assert_eq!(audit_href("", &AuditQuery::default()), "/audit");
        assert_eq!(audit_href("/hearth", &q), format!("/hearth/audit?{}", query_string(&q)));
        assert_eq!(
            export_href("/hearth", "csv", &AuditQuery { outcome: Some("failed".into()), ..AuditQuery::default() }),
            "/hearth/api/admin/analytics/cache/audit/export?format=csv&outcome=failed"
        );
        assert_eq!(
            export_href("", "ndjson", &AuditQuery::default()),
            "/api/admin/analytics/cache/audit/export?format=ndjson"
        );
    }

    #[test]
    fn the_url_names_a_view_not_a_page() {
        let params: ParamsMap =
            [("action", "cache_invalidated"), ("user", "  "), ("cursor", "5-0"), ("limit", "9")].into_iter().collect();
        assert_eq!(
            from_params(&params),
            AuditQuery { action: Some("cache_invalidated".into()), ..AuditQuery::default() }
        );
    }
}
