//! The job record: every field name of a job's hash, spelled once for the Rust code and for the
//! `{jobs}` Lua scripts (which get them from a prelude generated here), the control requests a
//! job's worker obeys, and the hash read back as a typed [`JobRecord`].

use std::collections::HashMap;
use std::fmt::Write as _;

use redis::Script;

use crate::model::cache::WarmPhase;
use crate::model::jobs::{Job, JobStatus};

macro_rules! job_fields {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// A field of the job hash. Lua scripts name it `F.<Variant>` (see [`script`]).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Field {
            $($(#[$doc])* $variant,)*
        }

        impl Field {
            pub const ALL: &[Field] = &[$(Field::$variant),*];

            /// The field's name in the hash.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Field::$variant => $name,)*
                }
            }

            /// Its name in the scripts' `F` table: the variant, so renaming a stored name
            /// does not touch the scripts.
            pub(crate) const fn lua_name(self) -> &'static str {
                match self {
                    $(Field::$variant => stringify!($variant),)*
                }
            }
        }
    };
}

job_fields! {
    Id = "id",
    DatasourceId = "datasourceId",
    DatasourceName = "datasourceName",
    /// A [`JobStatus`].
    Status = "status",
    /// A [`WarmPhase`].
    Phase = "phase",
    /// Milliseconds since the epoch, like every `…At` field.
    QueuedAt = "queuedAt",
    StartedAt = "startedAt",
    CompletedAt = "completedAt",
    UpdatedAt = "updatedAt",
    /// Written by the worker's control loop; a stale one means the worker was lost.
    HeartbeatAt = "heartbeatAt",
    Progress = "progress",
    RowsProcessed = "rowsProcessed",
    RowsTotal = "rowsTotal",
    EntriesCached = "entriesCached",
    Bytes = "bytes",
    /// Empty while unknown.
    EtaSeconds = "etaSeconds",
    Error = "error",
    PausedReason = "pausedReason",
    RequestedBy = "requestedBy",
    Reason = "reason",
    Trigger = "trigger",
    /// The instance running the job.
    Worker = "worker",
    /// A [`JobControl`] request for the worker; removed when the job finishes.
    Control = "control",
    LockToken = "lockToken",
    RunId = "runId",
    CutoverMs = "cutoverMs",
    /// Which kind of warm ran and why (incremental or full), written when it completes.
    WarmKind = "warmKind",
    /// "1" when the request asked for a full warm (`full: true`).
    Full = "full",
}

/// What an administrator asked the worker of a running job to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobControl {
    Pause,
    Cancel,
}

impl JobControl {
    pub fn as_str(self) -> &'static str {
        match self {
            JobControl::Pause => "pause",
            JobControl::Cancel => "cancel",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [JobControl::Pause, JobControl::Cancel].into_iter().find(|c| c.as_str() == s)
    }
}

/// A script on the job hash: `body` runs after a prelude that defines the field names
/// (`F.Status` is `'status'`), the statuses it needs (`QUEUED`, `WARMING`, the final ones as the
/// set `FINAL`) and the phase a claimed job starts in (`PREPARING`), all from the Rust types.
pub fn script(body: &str) -> Script {
    Script::new(&format!("{}{body}", lua_prelude()))
}

fn lua_prelude() -> String {
    let quoted = |s: &str| {
        debug_assert!(s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "`{s}` needs Lua escaping");
        format!("'{s}'")
    };
    let mut lua = String::from("local F = {");
    for f in Field::ALL {
        let _ = write!(lua, "{} = {}, ", f.lua_name(), quoted(f.name()));
    }
    lua.push_str("}\nlocal FINAL = {");
    for s in JobStatus::ALL.into_iter().filter(|s| s.is_terminal()) {
        let _ = write!(lua, "[{}] = true, ", quoted(s.as_str()));
    }
    let _ = writeln!(
        lua,
        "}}\nlocal QUEUED, WARMING, PREPARING = {}, {}, {}",
        quoted(JobStatus::Queued.as_str()),
        quoted(JobStatus::Warming.as_str()),
        quoted(WarmPhase::Preparing.as_str()),
    );
    lua
}

/// The fields of a job as it is queued.
pub struct NewJob<'a> {
    pub datasource_id: i64,
    pub datasource_name: &'a str,
    pub requested_by: &'a str,
    pub reason: Option<&'a str>,
    pub trigger: &'a str,
    /// Rewrite everything, not only what changed.
    pub full: bool,
}

impl NewJob<'_> {
    /// The hash of the new job `id`, queued at `now` (ms).
    pub fn fields(&self, id: &str, now: i64) -> Vec<(Field, String)> {
        let now = now.to_string();
        vec![
            (Field::Id, id.to_string()),
            (Field::DatasourceId, self.datasource_id.to_string()),
            (Field::DatasourceName, self.datasource_name.to_string()),
            (Field::Status, JobStatus::Queued.as_str().to_string()),
            (Field::Phase, WarmPhase::Queued.as_str().to_string()),
            (Field::QueuedAt, now.clone()),
            (Field::UpdatedAt, now),
            (Field::RequestedBy, self.requested_by.to_string()),
            (Field::Reason, self.reason.unwrap_or("").to_string()),
            (Field::Trigger, self.trigger.to_string()),
            (Field::Full, if self.full { "1" } else { "" }.to_string()),
        ]
    }
}

/// Everything stored about a job, including what only workers use.
#[derive(Debug, Clone)]
pub struct JobRecord {
    pub job: Job,
    pub control: Option<JobControl>,
    pub heartbeat_at: i64,
    pub lock_token: Option<String>,
    pub run_id: Option<String>,
    /// The request asked for a full warm.
    pub full: bool,
}

impl JobRecord {
    /// The record in a job hash (`HGETALL`); `None` when it is not one (expired, or missing its
    /// id, source or status).
    pub fn from_hash(map: &HashMap<String, String>) -> Option<JobRecord> {
        let get = |f: Field| map.get(f.name());
        let opt = |f: Field| get(f).filter(|v| !v.is_empty()).cloned();
        fn num<T: std::str::FromStr>(v: Option<&String>) -> Option<T> {
            v.and_then(|v| v.parse().ok())
        }
        let iso = |f: Field| num::<i64>(get(f)).map(crate::time::iso_from_ms);
        let status = JobStatus::parse(get(Field::Status)?)?;
        let started: Option<i64> = num(get(Field::StartedAt));
        let completed: Option<i64> = num(get(Field::CompletedAt));
        let job = Job {
            job_id: get(Field::Id)?.clone(),
            datasource_id: num(get(Field::DatasourceId))?,
            datasource_name: opt(Field::DatasourceName).unwrap_or_default(),
            status,
            phase: opt(Field::Phase).unwrap_or_else(|| WarmPhase::Queued.as_str().into()),
            queued_at: iso(Field::QueuedAt).unwrap_or_default(),
            started_at: started.map(crate::time::iso_from_ms),
            progress: num(get(Field::Progress)).unwrap_or(0.0),
            rows_processed: num(get(Field::RowsProcessed)).unwrap_or(0),
            rows_total: num(get(Field::RowsTotal)).unwrap_or(0),
            entries_cached: num(get(Field::EntriesCached)).unwrap_or(0),
            bytes: num(get(Field::Bytes)).unwrap_or(0),
            eta_seconds: num(get(Field::EtaSeconds)),
            completed_at: completed.map(crate::time::iso_from_ms),
            duration: match (started, completed) {
                (Some(s), Some(c)) => Some((c - s).max(0) as u64),
                _ => None,
            },
            success: status.is_terminal().then_some(status == JobStatus::Completed),
            error: opt(Field::Error),
            paused_reason: opt(Field::PausedReason),
            requested_by: opt(Field::RequestedBy).unwrap_or_default(),
            reason: opt(Field::Reason),
            trigger: opt(Field::Trigger).unwrap_or_else(|| "manual".into()),
            worker: opt(Field::Worker),
            warm_kind: opt(Field::WarmKind),
            cutover_ms: num(get(Field::CutoverMs)),
        };
        Some(JobRecord {
            job,
            control: opt(Field::Control).as_deref().and_then(JobControl::parse),
            heartbeat_at: num(get(Field::HeartbeatAt)).unwrap_or(0),
            lock_token: opt(Field::LockToken),
            run_id: opt(Field::RunId),
            full: opt(Field::Full).is_some_and(|v| v == "1"),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn field_names_are_distinct() {
        let names: HashSet<&str> = Field::ALL.iter().map(|f| f.name()).collect();
        let lua: HashSet<&str> = Field::ALL.iter().map(|f| f.lua_name()).collect();
        assert_eq!((names.len(), lua.len()), (Field::ALL.len(), Field::ALL.len()));
    }

    #[test]
    fn the_lua_prelude_spells_the_stored_names() {
        let lua = lua_prelude();
        assert!(lua.contains("HeartbeatAt = 'heartbeatAt',"), "{lua}");
        assert!(
            lua.contains("local FINAL = {['completed'] = true, ['failed'] = true, ['cancelled'] = true, }"),
            "{lua}"
        );
        assert!(lua.contains("local QUEUED, WARMING, PREPARING = 'queued', 'warming', 'preparing'"), "{lua}");
    }

    /// The hash of job `id` as queued: source 7, "Charges", asked for by ada over the API.
    fn queued_hash(id: &str) -> HashMap<String, String> {
        let new = NewJob {
            datasource_id: 7,
            datasource_name: "Charges",
            requested_by: "ada",
            reason: None,
            trigger: "api",
            full: false,
        };
        new.fields(id, 1_743_379_200_000).into_iter().map(|(f, v)| (f.name().to_string(), v)).collect()
    }

    #[test]
    fn a_queued_job_reads_back_as_written() {
        let r = JobRecord::from_hash(&queued_hash("j1")).expect("a job");
        assert_eq!((r.job.job_id.as_str(), r.job.datasource_id, r.job.status), ("j1", 7, JobStatus::Queued));
        assert_eq!((r.job.phase.as_str(), r.job.trigger.as_str(), r.job.reason), ("queued", "api", None));
        assert_eq!(r.job.queued_at, "2025-03-31T00:00:00.000Z");
        assert_eq!((r.control, r.heartbeat_at), (None, 0));
        assert_eq!(r.job.cutover_ms, None, "no cutover before the warm ends");
    }

    #[test]
    fn a_finished_job_reports_its_cutover_time() {
        let mut map = queued_hash("j2");
        map.insert(Field::Status.name().into(), JobStatus::Completed.as_str().into());
        map.insert(Field::CutoverMs.name().into(), "0.4".into());
        let job = JobRecord::from_hash(&map).expect("a job").job;
        assert_eq!(job.cutover_ms, Some(0.4));
        let json = serde_json::to_value(&job).unwrap();
        assert_eq!(json["cutoverMs"], serde_json::json!(0.4));
        // A value the record cannot read is left out rather than shown as 0.
        map.insert(Field::CutoverMs.name().into(), "n/a".into());
        assert_eq!(JobRecord::from_hash(&map).expect("a job").job.cutover_ms, None);
    }

    #[test]
    fn stored_phases_are_the_json_names() {
        use WarmPhase::*;
        for p in [Queued, Preparing, Reading, Cutover, Cleanup, Done] {
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{}\"", p.as_str()));
        }
    }

    #[test]
    fn control_requests_round_trip() {
        for c in [JobControl::Pause, JobControl::Cancel] {
            assert_eq!(JobControl::parse(c.as_str()), Some(c));
        }
        assert_eq!(JobControl::parse("stop"), None);
    }
}
