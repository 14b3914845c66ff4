//! The audit trail (SPEC §5): every mutation, key inspection, refusal and failure becomes one
//! entry, written to the structured log at once and appended to a capped Redis stream in the
//! background, so recording never delays or fails the operation it records.
//!
//! Operations record themselves through [`audited`]; the guard records what never reached one
//! (a refused or malformed request), and the request's `recorded` flag keeps it to one entry.

pub mod export;
pub mod store;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{Principal, RequestMeta};
use crate::error::AppError;
use crate::model::audit::{AuditAction, AuditEntry, AuditOutcome};
use crate::state::AppState;

/// How long a background stream write may take before it counts as failed.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Audit writes still on their way to Redis. Shutdown waits for them ([`InFlight::drain`]), so
/// an operation answered just before SIGTERM is not missing from the trail.
#[derive(Debug, Default)]
pub struct InFlight {
    writes: std::sync::atomic::AtomicUsize,
    idle: tokio::sync::Notify,
}

/// One write in flight; dropping it (done, failed or timed out) counts it off.
struct Writing(std::sync::Arc<InFlight>);

impl InFlight {
    fn start(self: &std::sync::Arc<Self>) -> Writing {
        self.writes.fetch_add(1, Ordering::SeqCst);
        Writing(self.clone())
    }

    /// Writes not finished yet.
    pub fn pending(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }

    /// Waits until every write started so far has finished, or `limit` has passed; returns how
    /// many were still pending then.
    pub async fn drain(&self, limit: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            // Registered before the check, so a write ending in between still wakes this.
            let idle = self.idle.notified();
            let left = self.pending();
            if left == 0 {
                return 0;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                return self.pending();
            }
        }
    }
}

impl Drop for Writing {
    fn drop(&mut self) {
        if self.0.writes.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// What is being done, to what, and why.
#[derive(Debug, Clone)]
pub struct Act {
    action: AuditAction,
    target: String,
    source_id: Option<i64>,
    reason: Option<String>,
}

impl Act {
    pub fn new(action: AuditAction, target: impl Into<String>) -> Self {
        Act { action, target: target.into(), source_id: None, reason: None }
    }

    /// An act on one data source: the target reads `source N`.
    pub fn on_source(action: AuditAction, id: i64) -> Self {
        Act::new(action, format!("source {id}")).source(Some(id))
    }

    pub fn source(mut self, id: Option<i64>) -> Self {
        self.source_id = id;
        self
    }

    /// The confirm dialog's reason; an empty one counts as none.
    pub fn reason(mut self, reason: Option<&str>) -> Self {
        self.reason = reason.map(str::trim).filter(|r| !r.is_empty()).map(str::to_string);
        self
    }
}

/// What a successful operation produced, for its entry.
#[derive(Debug, Clone, Default)]
pub struct Done {
    detail: Option<String>,
    counts: BTreeMap<String, u64>,
    /// The source, when only the result names it (a job's).
    source_id: Option<i64>,
}

impl Done {
    pub fn detail(text: impl Into<String>) -> Self {
        Done { detail: Some(text.into()), ..Done::default() }
    }

    pub fn source(mut self, id: i64) -> Self {
        self.source_id = Some(id);
        self
    }

    pub fn count(mut self, name: &str, n: u64) -> Self {
        self.counts.insert(name.to_string(), n);
        self
    }
}

/// Runs `op` for `who` and records one entry with its outcome: what `done` says of a success,
/// the error's status and message of a failure or refusal.
pub async fn audited<T, F>(
    state: &AppState,
    who: &Principal,
    act: Act,
    op: F,
    done: impl FnOnce(&T) -> Done,
) -> Result<T, AppError>
where
    F: Future<Output = Result<T, AppError>>,
{
    let out = op.await;
    let (status, finished) = match &out {
        Ok(value) => (200, done(value)),
        Err(e) => (e.status(), Done::detail(e.message.clone())),
    };
    record(state, Some(who), &who.request, act, status, finished);
    out
}

/// Records one entry now: to the log at once, to the stream in the background. `who` is `None`
/// for a caller who never signed in.
pub fn record(state: &AppState, who: Option<&Principal>, request: &RequestMeta, act: Act, status: u16, done: Done) {
    request.recorded.store(true, Ordering::Relaxed);
    let entry = AuditEntry {
        id: String::new(),
        at: crate::time::now_iso(),
        user_id: who.map(|w| w.id.clone()).unwrap_or_default(),
        user_name: who.and_then(|w| w.name.clone()),
        action: act.action,
        target: act.target,
        source_id: done.source_id.or(act.source_id),
        reason: act.reason,
        outcome: AuditOutcome::of_status(status),
        status,
        detail: done.detail,
        counts: done.counts,
        request_id: request.id.clone(),
        client: request.client.clone(),
    };
    tracing::info!(
        target: "hearth::audit",
        action = entry.action.as_str(),
        user = %entry.user_id,
        target_ = %entry.target,
        source = entry.source_id,
        reason = entry.reason.as_deref().unwrap_or(""),
        outcome = entry.outcome.as_str(),
        status,
        detail = entry.detail.as_deref().unwrap_or(""),
        request_id = %entry.request_id,
        client = %entry.client,
        "audit"
    );
    let state = state.clone();
    let writing = state.audit_writes.start();
    tokio::spawn(async move {
        let _writing = writing;
        let failure = match tokio::time::timeout(WRITE_TIMEOUT, store::append(&state, &entry)).await {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e.message,
            Err(_) => format!("no answer from Redis within {} s", WRITE_TIMEOUT.as_secs()),
        };
        let failures = state.audit_failures.fetch_add(1, Ordering::Relaxed) + 1;
        crate::metrics::audit_write_failed();
        tracing::error!(
            action = entry.action.as_str(),
            user = %entry.user_id,
            request_id = %entry.request_id,
            failures,
            error = %failure,
            "an audit entry could not be stored in Redis (it is in this log line)"
        );
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn draining_waits_for_writes_in_flight_and_no_longer() {
        let writes = std::sync::Arc::new(InFlight::default());
        assert_eq!(writes.drain(Duration::from_secs(5)).await, 0, "nothing in flight: at once");
        let first = writes.start();
        let second = writes.start();
        assert_eq!(writes.drain(Duration::from_millis(20)).await, 2, "gives up after its limit");
        let waiter = {
            let writes = writes.clone();
            tokio::spawn(async move { writes.drain(Duration::from_secs(5)).await })
        };
        drop(first);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "one write is still in flight");
        drop(second);
        assert_eq!(waiter.await.unwrap(), 0, "woken when the last write ends");
    }
}
