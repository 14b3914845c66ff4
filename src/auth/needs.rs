//! What each route and server function needs of its caller: [`Needs`], and the server
//! functions' table (the REST routes' is [`crate::api::routes::ROUTES`]). The guard checks both
//! before a request is read.

use super::Principal;
use crate::error::AppError;
use crate::model::Permission;
use crate::model::audit::AuditAction;
use crate::model::limits::LimitClass;

/// What a route or server function needs beyond being signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Any signed-in caller.
    Login,
    Read,
    Write,
}

impl Needs {
    /// The name in the OpenAPI document (`x-permission`).
    pub fn as_str(self) -> &'static str {
        match self {
            Needs::Login => "login",
            Needs::Read => "read",
            Needs::Write => "write",
        }
    }

    /// Fails with 403 unless `who` may call what needs this.
    pub fn require(self, who: &Principal) -> Result<(), AppError> {
        match self {
            Needs::Login => Ok(()),
            Needs::Read => who.require(Permission::Read),
            Needs::Write => who.require(Permission::Write),
        }
    }
}

/// One server function: what it needs, the budget it may spend and what the audit trail records
/// it as (several when an argument chooses: `jobs/control`'s action, `schedules/act`'s).
#[derive(Debug, Clone, Copy)]
pub struct RpcSpec {
    pub path: &'static str,
    pub needs: Needs,
    pub limit: Option<LimitClass>,
    pub audit: &'static [AuditAction],
}

const fn rpc(path: &'static str, needs: Needs) -> RpcSpec {
    RpcSpec { path, needs, limit: None, audit: &[] }
}

impl RpcSpec {
    const fn limit(self, class: LimitClass) -> Self {
        RpcSpec { limit: Some(class), ..self }
    }
    const fn audit(self, actions: &'static [AuditAction]) -> Self {
        RpcSpec { audit: actions, ..self }
    }
}

/// Every server function; a path not listed here is refused before its arguments are read.
/// `tests/integration/security.rs` checks this against the registered ones. The REST routes'
/// table is [`crate::api::routes::ROUTES`].
pub const RPC_PERMISSIONS: &[RpcSpec] = {
    use AuditAction as A;
    use Needs::{Login, Read, Write};
    &[
        rpc("/rpc/session", Login),
        // Everyone may see their own rate-limit budget.
        rpc("/rpc/limits", Login),
        rpc("/rpc/audit/list", Read),
        rpc("/rpc/sources", Read),
        rpc("/rpc/redis/overview", Read),
        rpc("/rpc/redis/keys", Read),
        rpc("/rpc/redis/inspect", Read).audit(&[A::RedisKeyInspected]),
        rpc("/rpc/redis/key/ttl", Write).limit(LimitClass::Ttl).audit(&[A::RedisTtlUpdated]),
        rpc("/rpc/redis/key/delete", Write).limit(LimitClass::Purge).audit(&[A::RedisKeyDeleted]),
        rpc("/rpc/redis/purge", Write).limit(LimitClass::Purge).audit(&[A::RedisCachePurged]),
        rpc("/rpc/redis/purge/status", Read),
        rpc("/rpc/redis/purge/abort", Write).audit(&[A::RedisPurgeAborted]),
        rpc("/rpc/redis/ttl", Write).limit(LimitClass::Ttl).audit(&[A::RedisTtlUpdated]),
        rpc("/rpc/cache/stats", Read),
        rpc("/rpc/cache/trends", Read),
        rpc("/rpc/cache/source", Read),
        rpc("/rpc/cache/health", Read),
        rpc("/rpc/cache/invalidate", Write).limit(LimitClass::Invalidate).audit(&[A::CacheInvalidated]),
        rpc("/rpc/jobs/status", Read),
        rpc("/rpc/jobs/history", Read),
        rpc("/rpc/jobs/warm", Write).limit(LimitClass::Warm).audit(&[A::CacheWarmInitiated]),
        rpc("/rpc/jobs/control", Write).audit(&[A::CacheJobPaused, A::CacheJobResumed, A::CacheJobCancelled]),
        rpc("/rpc/schedules/list", Read),
        rpc("/rpc/schedules/preview", Read),
        rpc("/rpc/schedules/save", Write).audit(&[A::CacheScheduleCreated, A::CacheScheduleUpdated]),
        // `run` spends a warm; `delete` nothing.
        rpc("/rpc/schedules/act", Write).limit(LimitClass::Warm).audit(&[A::CacheScheduleRun, A::CacheScheduleDeleted]),
        rpc("/rpc/jobs/settings", Read),
        rpc("/rpc/jobs/settings/save", Write).audit(&[A::CacheSettingsUpdated]),
        // Other people's sessions are a writer's business.
        rpc("/rpc/auth/sessions", Write),
        rpc("/rpc/auth/sessions/revoke", Write).audit(&[A::SessionRevoked]),
    ]
};

/// The server function at `path`.
pub fn find_rpc(path: &str) -> Option<&'static RpcSpec> {
    RPC_PERMISSIONS.iter().find(|spec| spec.path == path)
}
