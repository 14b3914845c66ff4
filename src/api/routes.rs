//! The REST surface as one table: each route's method, path, permission, rate-limit class, audit
//! action, documentation and handler. The router, the guard's permission check, the audit's
//! action names and the OpenAPI document are all read from it, so a route cannot exist without them.

use axum::Router;
use axum::routing::{MethodFilter, MethodRouter};

use super::{audit, cache, jobs, limits, openapi, redis, sessions, sources};
use crate::auth::needs::Needs;
use crate::error::AppError;
use crate::model::audit::AuditAction;
use crate::model::limits::LimitClass;
use crate::state::AppState;

/// The HTTP methods the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
    Put,
    Delete,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Put => "PUT",
            Verb::Delete => "DELETE",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
            Verb::Put => MethodFilter::PUT,
            Verb::Delete => MethodFilter::DELETE,
        }
    }

    /// Whether a request with `method` is this verb (axum answers HEAD with the GET route).
    pub fn accepts(self, method: &http::Method) -> bool {
        match self {
            Verb::Get => method == http::Method::GET || method == http::Method::HEAD,
            _ => method.as_str() == self.as_str(),
        }
    }
}

/// What a parameter or body field holds, as the handler reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Text,
    /// A data source id: a positive integer.
    SourceId,
    /// A non-negative integer.
    Count,
    /// 0–100.
    Percent,
    Bool,
    /// Seconds from 1 to 10 years, or -1 to persist: a JSON number or its text.
    Ttl,
    /// A confirm dialog's reason: at most 500 characters.
    Reason,
    /// A SCAN glob, at most 256 characters.
    Pattern,
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// Any JSON value (documented in the field's description).
    Any,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Path,
    Query,
}

/// A path or query parameter.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub place: Place,
    pub ty: Ty,
    pub required: bool,
    pub about: &'static str,
}

/// A field of a JSON object body.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
    pub about: &'static str,
}

/// Mounts the route's handler for one method.
pub type Mount = fn(MethodFilter) -> MethodRouter<AppState>;

/// One REST route.
#[derive(Clone, Copy)]
pub struct RouteSpec {
    pub verb: Verb,
    /// Under `/api`, in axum's syntax: `/admin/analytics/cache/jobs/{id}`.
    pub path: &'static str,
    /// Checked by the guard before the request is read (the handler's extractor checks again).
    pub needs: Needs,
    /// The budget a successful call spends.
    pub limit: Option<LimitClass>,
    /// What the audit trail records it as; `None` for reads that are not recorded.
    pub audit: Option<AuditAction>,
    pub summary: &'static str,
    pub params: &'static [Param],
    /// A JSON object body with these fields (all may be optional, the object is still required).
    pub body: Option<&'static [Field]>,
    /// The answer is the SPEC §3 envelope (`false`: a document of its own, as the OpenAPI one).
    pub envelope: bool,
    pub mount: Mount,
}

impl std::fmt::Debug for RouteSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.verb.as_str(), self.path)
    }
}

const fn route(verb: Verb, path: &'static str, needs: Needs, summary: &'static str, mount: Mount) -> RouteSpec {
    RouteSpec { verb, path, needs, limit: None, audit: None, summary, params: &[], body: None, envelope: true, mount }
}

impl RouteSpec {
    const fn limit(self, class: LimitClass) -> Self {
        RouteSpec { limit: Some(class), ..self }
    }
    const fn audit(self, action: AuditAction) -> Self {
        RouteSpec { audit: Some(action), ..self }
    }
    const fn params(self, params: &'static [Param]) -> Self {
        RouteSpec { params, ..self }
    }
    const fn body(self, fields: &'static [Field]) -> Self {
        RouteSpec { body: Some(fields), ..self }
    }
    const fn raw(self) -> Self {
        RouteSpec { envelope: false, ..self }
    }
}

const fn query(name: &'static str, ty: Ty, required: bool, about: &'static str) -> Param {
    Param { name, place: Place::Query, ty, required, about }
}

const fn field(name: &'static str, ty: Ty, about: &'static str) -> Field {
    Field { name, ty, required: false, about }
}

const fn required(name: &'static str, ty: Ty, about: &'static str) -> Field {
    Field { name, ty, required: true, about }
}

const JOB_ID: &[Param] = &[Param { name: "id", place: Place::Path, ty: Ty::Text, required: true, about: "job id" }];
/// An optional body: `{"reason"}` (none at all is fine).
const REASON_ONLY: &[Field] =
    &[field("reason", Ty::Reason, "why, as typed into the confirm dialog; recorded in the audit trail")];
const AUDIT_FILTERS: &[Param] = &[
    query("user", Ty::Text, false, "exact user id"),
    query("action", Ty::Text, false, "an audit action name (cache_warm_initiated, …)"),
    query("source", Ty::SourceId, false, "a source id"),
    query("outcome", Ty::OneOf(&["ok", "refused", "rejected", "failed"]), false, "how it ended"),
    query("from", Ty::Text, false, "at or after: ISO 8601, YYYY-MM-DD, YYYY-MM-DDTHH:MM (UTC) or epoch ms"),
    query("to", Ty::Text, false, "at or before (same forms; a bare date is the end of that day)"),
    query("cursor", Ty::Text, false, "the nextCursor of the previous page"),
    query("limit", Ty::Count, false, "entries per page, 1–500 (default 50)"),
];
const AUDIT_EXPORT: &[Param] = &[
    query("format", Ty::OneOf(&["ndjson", "csv"]), false, "file format (default ndjson)"),
    query("user", Ty::Text, false, "exact user id"),
    query("action", Ty::Text, false, "an audit action name"),
    query("source", Ty::SourceId, false, "a source id"),
    query("outcome", Ty::OneOf(&["ok", "refused", "rejected", "failed"]), false, "how it ended"),
    query("from", Ty::Text, false, "at or after (as for the list)"),
    query("to", Ty::Text, false, "at or before (as for the list)"),
];
const JOB_HISTORY_FILTERS: &[Param] = &[
    query("source", Ty::SourceId, false, "a source id"),
    query("status", Ty::OneOf(&["completed", "failed", "cancelled"]), false, "how it ended"),
    query("from", Ty::Text, false, "finished at or after: ISO 8601, YYYY-MM-DD, YYYY-MM-DDTHH:MM (UTC) or epoch ms"),
    query("to", Ty::Text, false, "finished at or before (same forms; a bare date is the end of that day)"),
    query("cursor", Ty::Text, false, "the nextCursor of the previous page"),
    query("limit", Ty::Count, false, "jobs per page, 1–200 (default 50)"),
];
const SCHEDULE_ID: &[Param] =
    &[Param { name: "id", place: Place::Path, ty: Ty::Text, required: true, about: "schedule id" }];
const PURGE_ID: &[Param] =
    &[Param { name: "id", place: Place::Path, ty: Ty::Text, required: true, about: "background purge id" }];
const SESSION_ID: &[Param] = &[Param {
    name: "id",
    place: Place::Path,
    ty: Ty::Text,
    required: true,
    about: "session id (64 lowercase hex characters)",
}];

const REASON: Field = field("reason", Ty::Reason, "why, as typed into the confirm dialog");
const SCHEDULE: &[Field] = &[
    field("datasourceId", Ty::SourceId, "the source to warm (required when creating)"),
    field("cron", Ty::Text, "a cron expression in UTC (or everyHours)"),
    field("everyHours", Ty::Count, "warm every N hours (or cron)"),
    field("onlyIfOlderThanMinutes", Ty::Count, "skip a run while the cache is younger than this"),
    field("enabled", Ty::Bool, "enable or disable the schedule"),
];

/// `|m| on(m, handler)`: a handler mounted for the row's method.
macro_rules! to {
    ($handler:path) => {
        |m| axum::routing::on(m, $handler)
    };
}

use Needs::{Login, Read, Write};
use Verb::{Delete, Get, Post, Put};

/// Every REST route. Adding a route means adding a row here.
pub static ROUTES: &[RouteSpec] = &[
    route(Get, "/openapi.json", Login, "This API as an OpenAPI 3.1 document", to!(openapi::document)).raw(),
    route(Get, "/admin/redis/stats", Read, "Redis overview parsed from INFO", to!(redis::stats)),
    route(Get, "/admin/redis/keys", Read, "One page of keys under the prefix (SCAN with a cap)", to!(redis::keys))
        .params(&[
            query("pattern", Ty::Pattern, false, "glob under the prefix (default *)"),
            query("cursor", Ty::Text, false, "the cursor a previous page returned (default 0)"),
            query("limit", Ty::Count, false, "keys per page, 1–500 (default 50)"),
            query("type", Ty::OneOf(&["string", "hash", "list", "set", "zset", "stream"]), false, "only this type"),
        ]),
    route(Get, "/admin/redis/inspect", Read, "One exact key, type-aware and paged", to!(redis::inspect))
        .audit(AuditAction::RedisKeyInspected)
        .params(&[
            query("key", Ty::Text, true, "the key, without the prefix"),
            query("start", Ty::Text, false, "SCAN cursor (hash, set), index (list, zset) or stream id"),
            query("count", Ty::Count, false, "elements per page, 1–500 (default 100)"),
        ]),
    route(Post, "/admin/redis/purge", Write, "Preview, or delete keys by pattern", to!(redis::purge))
        .limit(LimitClass::Purge)
        .audit(AuditAction::RedisCachePurged)
        .body(&[
            required("pattern", Ty::Pattern, "glob under the prefix"),
            field("preview", Ty::Bool, "only count and list matching keys"),
            field("confirm", Ty::Any, "true; the text `purge all` for the pattern *"),
            REASON,
            field("async", Ty::Bool, "answer at once with a purge id and purge in the background"),
        ]),
    route(Get, "/admin/redis/purge/{id}", Read, "Progress of a background purge", to!(redis::purge_status))
        .params(PURGE_ID),
    route(Post, "/admin/redis/purge/{id}/abort", Write, "Stop a background purge", to!(redis::purge_abort))
        .audit(AuditAction::RedisPurgeAborted)
        .params(PURGE_ID),
    route(Post, "/admin/redis/ttl", Write, "Preview, or set or remove TTLs by pattern", to!(redis::ttl))
        .limit(LimitClass::Ttl)
        .audit(AuditAction::RedisTtlUpdated)
        .body(&[
            required("pattern", Ty::Pattern, "glob under the prefix"),
            required("ttl", Ty::Ttl, "seconds, or -1 to remove the expiry"),
            field("preview", Ty::Bool, "only count matching keys by TTL"),
            REASON,
        ]),
    route(Post, "/admin/redis/key/ttl", Write, "Set or remove one key's TTL", to!(redis::key_ttl))
        .limit(LimitClass::Ttl)
        .audit(AuditAction::RedisTtlUpdated)
        .body(&[
            required("key", Ty::Text, "the key, without the prefix"),
            required("ttl", Ty::Ttl, "seconds, or -1 to remove the expiry"),
        ]),
    route(Post, "/admin/redis/key/delete", Write, "Delete one exact key", to!(redis::key_delete))
        .limit(LimitClass::Purge)
        .audit(AuditAction::RedisKeyDeleted)
        .body(&[required("key", Ty::Text, "the key, without the prefix"), REASON]),
    route(Get, "/admin/analytics/sources", Read, "The data sources Hearth knows", to!(sources::list)),
    route(Get, "/admin/analytics/cache/stats", Read, "Cache summary and per-source metrics", to!(cache::stats)),
    route(Get, "/admin/analytics/cache/health", Read, "Overall health, issues, recommendations", to!(cache::health)),
    route(Get, "/admin/analytics/cache/trends", Read, "Query series of one source", to!(cache::trends)).params(&[
        query("datasourceId", Ty::SourceId, true, "the source"),
        query("range", Ty::OneOf(&["1h", "24h", "7d"]), false, "the period (default 1h)"),
    ]),
    route(Get, "/admin/analytics/cache/source", Read, "One source's metrics and its jobs", to!(cache::source))
        .params(&[query("datasourceId", Ty::SourceId, true, "the source")]),
    route(Post, "/admin/analytics/cache/invalidate", Write, "Invalidate a source or a slice", to!(cache::invalidate))
        .limit(LimitClass::Invalidate)
        .audit(AuditAction::CacheInvalidated)
        .body(&[
            field("datasourceId", Ty::SourceId, "the source (every source when absent)"),
            field("measure", Ty::Text, "only this measure"),
            field("practice", Ty::Text, "only this practice"),
            field("frequency", Ty::Text, "only this frequency"),
            REASON,
            field("dryRun", Ty::Bool, "count what would be deleted, delete nothing"),
        ]),
    route(Get, "/analytics/cache/query", Read, "Cached rows of one measure and frequency", to!(cache::cached_query))
        .params(&[
            query("datasourceId", Ty::SourceId, true, "the source"),
            query("measure", Ty::Text, true, "the measure, exactly"),
            query("frequency", Ty::Text, true, "the frequency, exactly"),
            query("practice", Ty::Text, false, "practices (repeat or comma-separate)"),
            query("provider", Ty::Text, false, "providers (repeat or comma-separate; * is the NULL provider)"),
        ]),
    route(Post, "/admin/analytics/cache/warm", Write, "Queue a warm of one source or all", to!(jobs::warm))
        .limit(LimitClass::Warm)
        .audit(AuditAction::CacheWarmInitiated)
        .body(&[
            field("datasourceId", Ty::SourceId, "the source (every source when absent)"),
            field("force", Ty::Bool, "warm even if warmed recently"),
            field("full", Ty::Bool, "rewrite every entry (a full warm), not only what changed"),
            REASON,
        ]),
    route(Get, "/admin/analytics/cache/warming/status", Read, "Active and recent jobs", to!(jobs::status)),
    route(
        Get,
        "/admin/analytics/cache/warming/settings",
        Read,
        "The memory guard's thresholds",
        to!(jobs::get_settings),
    ),
    route(Put, "/admin/analytics/cache/warming/settings", Write, "Change the memory guard", to!(jobs::update_settings))
        .audit(AuditAction::CacheSettingsUpdated)
        .body(&[
            field("memoryCeilingBytes", Ty::Count, "the ceiling in bytes; 0 clears it"),
            field("memoryPausePercent", Ty::Percent, "pause warms above this share of the ceiling"),
            field("memoryResumePercent", Ty::Percent, "resume them below this share"),
        ]),
    route(Get, "/admin/analytics/cache/jobs", Read, "Finished jobs, filtered, a page at a time", to!(jobs::history))
        .params(JOB_HISTORY_FILTERS),
    route(Get, "/admin/analytics/cache/jobs/{id}", Read, "One job", to!(jobs::job)).params(JOB_ID),
    route(Post, "/admin/analytics/cache/jobs/{id}/pause", Write, "Pause a warm at its next batch", to!(jobs::pause))
        .audit(AuditAction::CacheJobPaused)
        .params(JOB_ID),
    route(Post, "/admin/analytics/cache/jobs/{id}/resume", Write, "Resume a paused warm", to!(jobs::resume))
        .audit(AuditAction::CacheJobResumed)
        .params(JOB_ID),
    route(Post, "/admin/analytics/cache/jobs/{id}/cancel", Write, "Dequeue or stop a warm", to!(jobs::cancel))
        .audit(AuditAction::CacheJobCancelled)
        .params(JOB_ID)
        .body(REASON_ONLY),
    route(Get, "/admin/analytics/cache/schedules", Read, "Every schedule", to!(jobs::list_schedules)),
    route(Post, "/admin/analytics/cache/schedules", Write, "Create a schedule", to!(jobs::create_schedule))
        .audit(AuditAction::CacheScheduleCreated)
        .body(SCHEDULE),
    route(Put, "/admin/analytics/cache/schedules/{id}", Write, "Change a schedule", to!(jobs::update_schedule))
        .audit(AuditAction::CacheScheduleUpdated)
        .params(SCHEDULE_ID)
        .body(SCHEDULE),
    route(Delete, "/admin/analytics/cache/schedules/{id}", Write, "Delete a schedule", to!(jobs::delete_schedule))
        .audit(AuditAction::CacheScheduleDeleted)
        .params(SCHEDULE_ID)
        .body(REASON_ONLY),
    route(
        Post,
        "/admin/analytics/cache/schedules/{id}/run",
        Write,
        "Queue a schedule's warm now",
        to!(jobs::run_schedule),
    )
    .limit(LimitClass::Warm)
    .audit(AuditAction::CacheScheduleRun)
    .params(SCHEDULE_ID),
    route(Get, "/admin/analytics/cache/limits", Login, "The caller's own rate-limit budget", to!(limits::budgets)),
    route(Get, "/admin/analytics/cache/audit", Read, "One page of the audit trail, newest first", to!(audit::list))
        .params(AUDIT_FILTERS),
    route(
        Get,
        "/admin/analytics/cache/audit/export",
        Read,
        "The audit trail as a download (NDJSON or CSV), streamed",
        to!(audit::export),
    )
    .audit(AuditAction::AuditExported)
    .params(AUDIT_EXPORT)
    .raw(),
    route(Get, "/admin/analytics/cache/sessions", Write, "Every live browser session", to!(sessions::list)),
    route(Delete, "/admin/analytics/cache/sessions/{id}", Write, "End one browser session", to!(sessions::revoke))
        .audit(AuditAction::SessionRevoked)
        .params(SESSION_ID),
];

/// The message of a request for a route the table does not have.
pub const NO_SUCH_ROUTE: &str = "no such API route";

/// The router of everything under `/api`, built from [`ROUTES`] alone.
pub fn router() -> Router<AppState> {
    ROUTES
        .iter()
        .fold(Router::new(), |router, spec| router.route(spec.path, (spec.mount)(spec.verb.filter())))
        .fallback(|| async { AppError::not_found(NO_SUCH_ROUTE) })
}

/// The route serving `method` at `path`, the request's path as the guard sees it (`/api/…`,
/// the base path already taken off, no query); `None` outside `/api` or for a route not in the
/// table.
pub fn find(method: &http::Method, path: &str) -> Option<&'static RouteSpec> {
    let rest = path.strip_prefix("/api")?;
    ROUTES.iter().find(|spec| spec.verb.accepts(method) && matches(spec.path, rest))
}

/// Whether the concrete `path` fits `pattern`: segment by segment, `{name}` matching any one
/// non-empty segment (as axum's router does; a trailing slash is a segment of its own).
pub fn matches(pattern: &str, path: &str) -> bool {
    let mut want = pattern.split('/');
    let mut have = path.split('/');
    loop {
        match (want.next(), have.next()) {
            (None, None) => return true,
            (Some(w), Some(h)) if w.starts_with('{') && w.ends_with('}') => {
                if h.is_empty() {
                    return false;
                }
            }
            (Some(w), Some(h)) if w == h => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    #[test]
    fn concrete_paths_find_their_pattern() {
        let spec = find(&Method::POST, "/api/admin/analytics/cache/jobs/j-1/pause").unwrap();
        assert_eq!(spec.path, "/admin/analytics/cache/jobs/{id}/pause");
        assert_eq!(spec.audit, Some(AuditAction::CacheJobPaused));
        assert_eq!(find(&Method::GET, "/api/admin/analytics/cache/jobs/%00").unwrap().needs, Needs::Read);
        assert_eq!(find(&Method::HEAD, "/api/admin/redis/stats").unwrap().path, "/admin/redis/stats");
        let put = find(&Method::PUT, "/api/admin/analytics/cache/schedules/s1").unwrap();
        assert_eq!(put.audit, Some(AuditAction::CacheScheduleUpdated));
        let delete = find(&Method::DELETE, "/api/admin/analytics/cache/schedules/s1").unwrap();
        assert_eq!(delete.audit, Some(AuditAction::CacheScheduleDeleted));
    }

    #[test]
    fn other_methods_paths_and_empty_segments_find_nothing() {
        assert!(find(&Method::GET, "/api/admin/redis/purge").is_none(), "purge is a POST");
        assert!(find(&Method::POST, "/api/admin/analytics/cache/jobs//pause").is_none());
        assert!(find(&Method::GET, "/api/admin/redis/stats/").is_none());
        assert!(find(&Method::GET, "/admin/redis/stats").is_none(), "outside /api");
        assert!(find(&Method::GET, "/api/admin/analytics/cache/jobs/a/b").is_none());
        assert!(find(&Method::GET, "/api").is_none());
    }

    #[test]
    fn every_route_is_unique_and_mutations_need_write_and_name_an_audit_action() {
        for (i, a) in ROUTES.iter().enumerate() {
            assert!(a.path.starts_with('/') && !a.path.ends_with('/'), "{a:?}");
            for b in &ROUTES[i + 1..] {
                assert!(!(a.verb == b.verb && a.path == b.path), "{a:?} twice");
            }
            if a.verb != Verb::Get {
                assert_eq!(a.needs, Needs::Write, "{a:?}");
                assert!(a.audit.is_some(), "{a:?} changes something and must be audited");
            } else {
                assert!(a.limit.is_none(), "{a:?}: reads are not metered");
            }
            // Every `{param}` of the path is documented, and nothing else is a path parameter.
            let in_path: Vec<&str> = a.path.split('/').filter(|s| s.starts_with('{')).collect();
            let documented: Vec<String> =
                a.params.iter().filter(|p| p.place == Place::Path).map(|p| format!("{{{}}}", p.name)).collect();
            assert_eq!(in_path, documented, "{a:?}");
        }
    }

    #[test]
    fn the_spec_actions_name_their_routes() {
        let action = |verb, path| ROUTES.iter().find(|r| r.verb == verb && r.path == path).unwrap().audit;
        assert_eq!(action(Post, "/admin/analytics/cache/warm"), Some(AuditAction::CacheWarmInitiated));
        assert_eq!(action(Post, "/admin/analytics/cache/invalidate"), Some(AuditAction::CacheInvalidated));
        assert_eq!(action(Get, "/admin/redis/inspect"), Some(AuditAction::RedisKeyInspected));
        assert_eq!(action(Post, "/admin/redis/purge"), Some(AuditAction::RedisCachePurged));
        assert_eq!(action(Post, "/admin/redis/ttl"), Some(AuditAction::RedisTtlUpdated));
        assert_eq!(action(Get, "/admin/analytics/cache/stats"), None);
    }
}
