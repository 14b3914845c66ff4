//! The audit trail as the REST API, the export and the console's Audit view show it (SPEC §5):
//! one entry per mutation, key inspection, refusal and failure, the filters that narrow it, and
//! the action and outcome names.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What an admin did (or tried to). The first five are SPEC §5's names; the command center reads
/// them, so they never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    CacheWarmInitiated,
    CacheInvalidated,
    RedisKeyInspected,
    RedisCachePurged,
    RedisTtlUpdated,
    RedisKeyDeleted,
    RedisPurgeAborted,
    CacheJobPaused,
    CacheJobResumed,
    CacheJobCancelled,
    CacheScheduleCreated,
    CacheScheduleUpdated,
    CacheScheduleDeleted,
    /// A schedule's "Run now" (counted as a warm).
    CacheScheduleRun,
    CacheSettingsUpdated,
    SessionSignedIn,
    SessionSignedOut,
    SessionRevoked,
    AuditExported,
    /// A request refused before it reached an action (401/403 on a read, an unknown route).
    AccessRefused,
}

impl AuditAction {
    pub const ALL: [AuditAction; 20] = [
        AuditAction::CacheWarmInitiated,
        AuditAction::CacheInvalidated,
        AuditAction::RedisKeyInspected,
        AuditAction::RedisCachePurged,
        AuditAction::RedisTtlUpdated,
        AuditAction::RedisKeyDeleted,
        AuditAction::RedisPurgeAborted,
        AuditAction::CacheJobPaused,
        AuditAction::CacheJobResumed,
        AuditAction::CacheJobCancelled,
        AuditAction::CacheScheduleCreated,
        AuditAction::CacheScheduleUpdated,
        AuditAction::CacheScheduleDeleted,
        AuditAction::CacheScheduleRun,
        AuditAction::CacheSettingsUpdated,
        AuditAction::SessionSignedIn,
        AuditAction::SessionSignedOut,
        AuditAction::SessionRevoked,
        AuditAction::AuditExported,
        AuditAction::AccessRefused,
    ];

    /// The name in JSON, the stream, the log and filters.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::CacheWarmInitiated => "cache_warm_initiated",
            AuditAction::CacheInvalidated => "cache_invalidated",
            AuditAction::RedisKeyInspected => "redis_key_inspected",
            AuditAction::RedisCachePurged => "redis_cache_purged",
            AuditAction::RedisTtlUpdated => "redis_ttl_updated",
            AuditAction::RedisKeyDeleted => "redis_key_deleted",
            AuditAction::RedisPurgeAborted => "redis_purge_aborted",
            AuditAction::CacheJobPaused => "cache_job_paused",
            AuditAction::CacheJobResumed => "cache_job_resumed",
            AuditAction::CacheJobCancelled => "cache_job_cancelled",
            AuditAction::CacheScheduleCreated => "cache_schedule_created",
            AuditAction::CacheScheduleUpdated => "cache_schedule_updated",
            AuditAction::CacheScheduleDeleted => "cache_schedule_deleted",
            AuditAction::CacheScheduleRun => "cache_schedule_run",
            AuditAction::CacheSettingsUpdated => "cache_settings_updated",
            AuditAction::SessionSignedIn => "session_signed_in",
            AuditAction::SessionSignedOut => "session_signed_out",
            AuditAction::SessionRevoked => "session_revoked",
            AuditAction::AuditExported => "audit_exported",
            AuditAction::AccessRefused => "access_refused",
        }
    }

    pub fn parse(name: &str) -> Option<AuditAction> {
        AuditAction::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// What the console's Audit view shows.
    pub fn label(self) -> &'static str {
        match self {
            AuditAction::CacheWarmInitiated => "Warm",
            AuditAction::CacheInvalidated => "Invalidate",
            AuditAction::RedisKeyInspected => "Inspect key",
            AuditAction::RedisCachePurged => "Purge",
            AuditAction::RedisTtlUpdated => "Change TTL",
            AuditAction::RedisKeyDeleted => "Delete key",
            AuditAction::RedisPurgeAborted => "Abort purge",
            AuditAction::CacheJobPaused => "Pause job",
            AuditAction::CacheJobResumed => "Resume job",
            AuditAction::CacheJobCancelled => "Cancel job",
            AuditAction::CacheScheduleCreated => "Create schedule",
            AuditAction::CacheScheduleUpdated => "Change schedule",
            AuditAction::CacheScheduleDeleted => "Delete schedule",
            AuditAction::CacheScheduleRun => "Run schedule",
            AuditAction::CacheSettingsUpdated => "Change settings",
            AuditAction::SessionSignedIn => "Sign in",
            AuditAction::SessionSignedOut => "Sign out",
            AuditAction::SessionRevoked => "Revoke session",
            AuditAction::AuditExported => "Export audit",
            AuditAction::AccessRefused => "Refused request",
        }
    }
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// Done (a dry run or preview included).
    Ok,
    /// Not allowed: signed out (401), missing permission or cross-origin (403), over budget (429).
    Refused,
    /// Not done because of the request: bad input (400), nothing there (404), conflict (409).
    Rejected,
    /// Not done because something broke (5xx: Redis or SQL down, a timeout).
    Failed,
}

impl AuditOutcome {
    pub const ALL: [AuditOutcome; 4] =
        [AuditOutcome::Ok, AuditOutcome::Refused, AuditOutcome::Rejected, AuditOutcome::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Ok => "ok",
            AuditOutcome::Refused => "refused",
            AuditOutcome::Rejected => "rejected",
            AuditOutcome::Failed => "failed",
        }
    }

    pub fn parse(name: &str) -> Option<AuditOutcome> {
        AuditOutcome::ALL.into_iter().find(|o| o.as_str() == name)
    }

    /// The outcome an HTTP status stands for.
    pub fn of_status(status: u16) -> AuditOutcome {
        match status {
            200..=399 => AuditOutcome::Ok,
            401 | 403 | 429 => AuditOutcome::Refused,
            400..=499 => AuditOutcome::Rejected,
            _ => AuditOutcome::Failed,
        }
    }
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// The entry's stream id (`<ms>-<n>`): unique, ordered, what a cursor names.
    pub id: String,
    /// When it happened (ISO 8601, UTC, milliseconds).
    pub at: String,
    /// The caller's id (`sub`); empty for a caller who never signed in.
    pub user_id: String,
    pub user_name: Option<String>,
    pub action: AuditAction,
    /// What it acted on, as a person reads it: `source 3`, `key cache:{ds:1}:…`, `pattern idx:*`,
    /// `job <id>`, `schedule <id>`, `all sources`, or the request's path for a refusal.
    pub target: String,
    /// The source it concerned, when there is one (what the source filter matches).
    pub source_id: Option<i64>,
    /// What the admin typed into the confirm dialog.
    pub reason: Option<String>,
    pub outcome: AuditOutcome,
    /// The HTTP status it answered with.
    pub status: u16,
    /// The error or refusal message; what was done otherwise (`"dry run"`, `"queued job …"`).
    pub detail: Option<String>,
    /// Counts the action produced: keys matched, deleted, updated, entries, jobs queued.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub counts: BTreeMap<String, u64>,
    /// The request's id (`x-request-id`, echoed in the response) for matching with the log.
    pub request_id: String,
    /// The client's address (the proxy's `X-Forwarded-For` when Hearth trusts one).
    pub client: String,
}

/// The Audit view's and `GET …/audit`'s filters; all optional and combined with AND.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditQuery {
    /// Exact user id.
    pub user: Option<String>,
    /// An [`AuditAction`] name.
    pub action: Option<String>,
    /// A source id.
    pub source: Option<String>,
    /// An [`AuditOutcome`] name.
    pub outcome: Option<String>,
    /// Entries at or after this time (ISO 8601 or epoch milliseconds).
    pub from: Option<String>,
    /// Entries at or before this time (ISO 8601 or epoch milliseconds).
    pub to: Option<String>,
    /// Continue after this entry id (the previous page's `nextCursor`).
    pub cursor: Option<String>,
    /// Entries per page (1–500, default 50).
    pub limit: Option<String>,
}

impl AuditQuery {
    /// The query whose every field `get` looks up by its REST name.
    pub fn from_fn(get: impl Fn(&str) -> Option<String>) -> AuditQuery {
        AuditQuery {
            user: get("user"),
            action: get("action"),
            source: get("source"),
            outcome: get("outcome"),
            from: get("from"),
            to: get("to"),
            cursor: get("cursor"),
            limit: get("limit"),
        }
    }

    /// The filters (not the cursor or page size) by their REST names, in order.
    pub fn filters(&self) -> [(&'static str, Option<&str>); 6] {
        [
            ("user", self.user.as_deref()),
            ("action", self.action.as_deref()),
            ("source", self.source.as_deref()),
            ("outcome", self.outcome.as_deref()),
            ("from", self.from.as_deref()),
            ("to", self.to.as_deref()),
        ]
    }
}

/// One page of entries, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `cursor` for the next (older) page; `None` at the end.
    pub next_cursor: Option<String>,
    /// Audit writes this instance could not make since it started (logged each time).
    pub write_failures: u64,
    /// How many entries the stream holds in all, and its cap.
    pub stored: u64,
    pub capacity: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_and_outcome_names_round_trip_and_keep_the_spec_names() {
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()), Some(a));
            assert_eq!(serde_json::to_value(a).unwrap(), serde_json::json!(a.as_str()));
        }
        for o in AuditOutcome::ALL {
            assert_eq!(AuditOutcome::parse(o.as_str()), Some(o));
            assert_eq!(serde_json::to_value(o).unwrap(), serde_json::json!(o.as_str()));
        }
        for spec in [
            "cache_warm_initiated",
            "cache_invalidated",
            "redis_key_inspected",
            "redis_cache_purged",
            "redis_ttl_updated",
        ] {
            assert!(AuditAction::parse(spec).is_some(), "{spec}");
        }
    }

    #[test]
    fn statuses_map_to_outcomes() {
        assert_eq!(AuditOutcome::of_status(200), AuditOutcome::Ok);
        assert_eq!(AuditOutcome::of_status(202), AuditOutcome::Ok);
        for s in [401, 403, 429] {
            assert_eq!(AuditOutcome::of_status(s), AuditOutcome::Refused);
        }
        for s in [400, 404, 409, 413] {
            assert_eq!(AuditOutcome::of_status(s), AuditOutcome::Rejected);
        }
        assert_eq!(AuditOutcome::of_status(503), AuditOutcome::Failed);
    }
}
