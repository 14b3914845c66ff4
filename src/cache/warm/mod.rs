//! A warm: stream the source's rows (ordered by group), build each entry's JSON array, write it
//! and its five index memberships into the run's shadow namespace in pipelined batches bounded by
//! count and bytes, then hand over to the atomic cutover. Holds the source's lock throughout;
//! checks the caller's hooks (pause, cancel, memory guard) between batches. Any failure discards
//! the run's shadows; the live cache is never touched before the cutover.

mod writer;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::Instant;

use super::cutover::{self, CutoverInput, CutoverReport};
use super::digest::{self, Plan};
use super::keys::Keys;
use super::lock::WarmLock;
use super::meta::{Dims, Meta, WARMED_BY_HEARTH};
use crate::error::AppError;
use crate::model::cache::WarmPhase;
use crate::redis_conn::RedisResultExt;
use crate::source::{self, GroupRows, SourceDef, SourceKind};
use crate::state::AppState;
use writer::ShadowWriter;

#[derive(Debug, Clone, PartialEq)]
pub struct WarmProgress {
    pub phase: WarmPhase,
    pub rows_total: u64,
    /// Rows read so far, skipped ones included.
    pub rows_done: u64,
    pub rows_skipped: u64,
    pub entries: u64,
    pub bytes: u64,
    /// Bytes of the shadow copy already written to Redis.
    pub shadow_bytes: u64,
}

/// Why a hook stopped a warm: the very reason the warm then ends with.
pub type Stop = WarmFailure;

/// What the jobs layer plugs into a warm: progress reports and a gate between batches, where it
/// may wait (pause, memory guard) or stop the warm.
pub trait WarmHooks: Send + Sync {
    fn progress(&self, _p: &WarmProgress) {}

    fn between_batches(&self, _p: &WarmProgress) -> impl Future<Output = Result<(), Stop>> + Send {
        async { Ok(()) }
    }
}

/// Hooks that do nothing: a plain warm (tests, benchmark).
pub struct NoHooks;

impl WarmHooks for NoHooks {}

#[derive(Debug, Clone)]
pub struct WarmOutcome {
    pub run_id: String,
    pub entries: u64,
    pub rows: u64,
    pub skipped: u64,
    pub bytes: u64,
    pub index_count: u64,
    pub duration_ms: u64,
    pub cutover: CutoverReport,
    /// Which kind of warm ran, and why.
    pub kind: WarmKind,
}

/// Whether a warm rewrote everything or only what changed.
#[derive(Debug, Clone, PartialEq)]
pub enum WarmKind {
    /// Why the warm was full.
    Full(String),
    Incremental {
        changed: u64,
        added: u64,
        removed: u64,
        unchanged: u64,
    },
    /// First warm of a cold source: entries written under their live names, index sets switched.
    Cold,
}

impl WarmKind {
    /// Entries this warm wrote, of the `entries` now live: all of them, unless it was incremental.
    pub fn written(&self, entries: u64) -> u64 {
        match self {
            WarmKind::Incremental { changed, added, .. } => changed + added,
            WarmKind::Full(_) | WarmKind::Cold => entries,
        }
    }

    /// For the job history: "incremental: 1,204 of 68,160 entries changed (3 new, 1 removed)".
    pub fn describe(&self, entries: u64) -> String {
        match self {
            WarmKind::Full(reason) => format!("full: {reason}"),
            WarmKind::Cold => format!(
                "first warm: {} entries written in place, made visible by one switch of the index sets",
                thousands(entries)
            ),
            WarmKind::Incremental { added, removed, .. } => format!(
                "incremental: {} of {} entries changed ({} new, {} removed)",
                thousands(self.written(entries)),
                thousands(entries),
                thousands(*added),
                thousands(*removed)
            ),
        }
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Whether a warm may be incremental.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WarmMode {
    /// Incremental when the live generation allows it, else full (with the reason).
    #[default]
    Auto,
    /// Always rewrite everything (a request with `full: true`).
    Full,
}

/// How a warm ended without a cutover; either way the live cache is unchanged.
#[derive(Debug)]
pub enum WarmFailure {
    Cancelled,
    Failed(AppError),
}

impl From<AppError> for WarmFailure {
    fn from(e: AppError) -> Self {
        WarmFailure::Failed(e)
    }
}

impl WarmFailure {
    pub fn into_error(self) -> AppError {
        match self {
            WarmFailure::Cancelled => AppError::conflict("the warm was cancelled; the live cache is unchanged"),
            WarmFailure::Failed(e) => e,
        }
    }
}

/// A lock token: `<what>@<instance>`, so a refused caller learns who holds the source.
pub fn lock_token(what: &str, instance: &str) -> String {
    format!("{what}@{instance}")
}

/// Warms `def` as run `run_id`, holding the lock with `lock_token`.
pub async fn warm<H: WarmHooks>(
    state: &AppState,
    def: &SourceDef,
    run_id: &str,
    lock_token: &str,
    hooks: &H,
) -> Result<WarmOutcome, WarmFailure> {
    warm_with(state, def, run_id, lock_token, hooks, WarmMode::Auto).await
}

/// [`warm`], saying whether it may be incremental.
pub async fn warm_with<H: WarmHooks>(
    state: &AppState,
    def: &SourceDef,
    run_id: &str,
    lock_token: &str,
    hooks: &H,
    mode: WarmMode,
) -> Result<WarmOutcome, WarmFailure> {
    if def.kind != SourceKind::MeasureBased {
        return Err(AppError::validation(format!(
            "{} is table-based: only measure-based sources are warmed",
            def.label()
        ))
        .into());
    }
    let lock = WarmLock::acquire(&state.redis, &state.keys, def.id, lock_token, state.config.lock_ttl)
        .await
        .inspect_err(|e| {
            if e.code == crate::error::ErrorCode::Conflict {
                crate::metrics::warm_refused(def.id);
            }
        })?;
    crate::metrics::warm_started(def.id);
    let started = Instant::now();
    let result = run(state, def, run_id, &lock, hooks, mode).await;
    crate::metrics::warm_finished(def.id, &result, started.elapsed());
    if result.is_err()
        && let Err(e) = discard_run(state, def.id, run_id).await
    {
        tracing::warn!(source = def.id, run = run_id, error = %e.message, "could not remove the shadows of a failed run; they expire with their TTL");
    }
    match lock.release().await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(source = def.id, run = run_id, "the warm lock was no longer ours at release"),
        Err(e) => {
            tracing::warn!(source = def.id, error = %e.message, "could not release the warm lock; it expires by itself")
        }
    }
    result
}

async fn run<H: WarmHooks>(
    state: &AppState,
    def: &SourceDef,
    run_id: &str,
    lock: &WarmLock,
    hooks: &H,
    mode: WarmMode,
) -> Result<WarmOutcome, WarmFailure> {
    let started = Instant::now();
    let ds = def.id;
    let mut p = WarmProgress {
        phase: WarmPhase::Preparing,
        rows_total: 0,
        rows_done: 0,
        rows_skipped: 0,
        entries: 0,
        bytes: 0,
        shadow_bytes: 0,
    };
    hooks.progress(&p);
    register_run(state, ds, run_id).await?;
    let shape = source::introspect(def).await?;
    p.rows_total = source::count(def).await?;
    p.phase = WarmPhase::Reading;
    hooks.progress(&p);

    let (base, full_reason, in_place) = match digest::plan(state, ds, mode == WarmMode::Full).await? {
        Plan::Incremental(base) => (Some(base), None, false),
        Plan::Full(reason) => (None, Some(reason), false),
        Plan::Cold => (None, None, true),
    };
    if in_place {
        // Before the first entry: whoever discards this run must know to remove its live names.
        mark_in_place(state, ds, run_id).await?;
    }
    let mut writer = ShadowWriter::new(state, ds, run_id, base, in_place);
    let written = write_shadow(def, &shape, &mut writer, &mut p, lock, hooks).await;
    // Whatever happened, no batch may still be in flight when the caller discards the run.
    let settled = writer.settle().await;
    written?;
    settled?;
    if writer.diff.is_none() {
        writer.seal_digests(run_id).await?;
    }
    p.entries = writer.entries;
    p.bytes = writer.bytes;
    p.shadow_bytes = writer.bytes;
    if lock.is_lost() {
        return Err(lost_lock(def).into());
    }

    p.phase = WarmPhase::Cutover;
    hooks.progress(&p);
    let duration_ms = started.elapsed().as_millis() as u64;
    let index_count = match &writer.diff {
        Some(diff) => diff.new_indexes.len() as u64,
        None => writer.index_hashes.len() as u64,
    };
    let entries_digest = format!("{:016x}", writer.entries_digest);
    let frequencies: Vec<String> = writer.frequencies.iter().cloned().collect();
    let meta = Meta {
        timestamp: crate::time::now_iso(),
        unique_measures: writer.measures.len() as u64,
        unique_practices: writer.practices.len() as u64,
        unique_providers: writer.providers.len() as u64,
        unique_frequencies: frequencies.clone(),
        total_entries: writer.entries,
        total_rows: p.rows_done - p.rows_skipped,
        skipped_rows: Some(p.rows_skipped),
        index_count,
        bytes: Some(writer.bytes),
        run_id: Some(run_id.to_string()),
        entries_digest: Some(entries_digest.clone()),
        duration_ms: Some(duration_ms),
        datasource_id: Some(ds),
        datasource_name: Some(def.name.clone()),
        warmed_by: Some(WARMED_BY_HEARTH.to_string()),
    };
    let dims = Dims {
        measures: writer.measures.iter().cloned().collect(),
        practices: writer.practices.iter().cloned().collect(),
        frequencies,
    };
    let (report, kind) = match writer.diff.take() {
        Some(diff) => diff_cutover(state, ds, run_id, lock, diff, meta.to_stored()?, dims.to_stored()?).await?,
        None => {
            let report = cutover::cutover(
                state,
                &CutoverInput {
                    ds,
                    run_id,
                    lock_token: lock.token(),
                    expected_entries: writer.entries,
                    expected_indexes: index_count,
                    meta_json: meta.to_stored()?,
                    dims_json: dims.to_stored()?,
                    entries_digest: &entries_digest,
                    in_place,
                },
            )
            .await?;
            let kind = if in_place { WarmKind::Cold } else { WarmKind::Full(full_reason.unwrap_or_default()) };
            (report, kind)
        }
    };

    p.phase = WarmPhase::Cleanup;
    hooks.progress(&p);
    if let Err(e) = cutover::cleanup_after(state, ds, run_id, &report).await {
        tracing::warn!(source = ds, run = run_id, error = %e.message, "leftover shadows of a finished run remain until their TTL");
    }
    p.phase = WarmPhase::Done;
    hooks.progress(&p);
    Ok(WarmOutcome {
        run_id: run_id.to_string(),
        entries: writer.entries,
        rows: p.rows_done - p.rows_skipped,
        skipped: p.rows_skipped,
        bytes: writer.bytes,
        index_count,
        duration_ms: started.elapsed().as_millis() as u64,
        cutover: report,
        kind,
    })
}

/// The switch of an incremental warm: what the live generation has and this run lacks is removed,
/// index sets get the difference, live index sets get a fresh TTL first (outside the atomic step).
async fn diff_cutover(
    state: &AppState,
    ds: i64,
    run_id: &str,
    lock: &WarmLock,
    diff: writer::Diff,
    meta_json: String,
    dims_json: String,
) -> Result<(CutoverReport, WarmKind), AppError> {
    let writer::Diff { base, written, adds, new_indexes, changed, added, unchanged, .. } = diff;
    let mut rems: HashMap<String, Vec<String>> = HashMap::new();
    let mut removed = Vec::with_capacity(base.live.len());
    for (name, entry) in base.live {
        for set in entry.dims.index_names(ds) {
            rems.entry(set).or_default().push(name.clone());
        }
        removed.push(name);
    }
    let new_sets: Vec<String> = new_indexes.difference(&base.indexes).cloned().collect();
    let gone_sets: Vec<String> = base.indexes.difference(&new_indexes).cloned().collect();
    let kept: HashSet<&String> = base.indexes.intersection(&new_indexes).collect();
    cutover::refresh_ttls(state, kept.into_iter()).await?;
    let report = cutover::incremental::run(
        state,
        &cutover::incremental::DiffInput {
            ds,
            run_id,
            lock_token: lock.token(),
            base_generation: &base.generation,
            written: &written,
            removed: &removed,
            adds: &adds,
            rems: &rems,
            new_sets: &new_sets,
            gone_sets: &gone_sets,
            meta_json,
            dims_json,
        },
    )
    .await?;
    let removed = removed.len() as u64;
    Ok((report, WarmKind::Incremental { changed, added, removed, unchanged }))
}

/// Streams the source into the shadow namespace, batch by batch.
async fn write_shadow<H: WarmHooks>(
    def: &SourceDef,
    shape: &source::TableShape,
    writer: &mut writer::ShadowWriter,
    p: &mut WarmProgress,
    lock: &WarmLock,
    hooks: &H,
) -> Result<(), WarmFailure> {
    let mut stream = source::stream(def, shape);
    // The group in progress; a group may continue into the next batch.
    let mut group: Option<GroupRows> = None;
    while let Some(batch) = stream.next_batch().await {
        let batch = batch?;
        p.rows_skipped += batch.skipped;
        p.rows_done += batch.skipped + batch.rows;
        for next in batch.groups {
            match group.as_mut() {
                Some(g) if g.same_group(&next) => {
                    g.json.push(',');
                    g.json.push_str(&next.json[1..]);
                }
                _ => {
                    if let Some(done) = group.replace(next) {
                        writer.add(done);
                    }
                }
            }
            if writer.wants_flush() {
                checkpoint(writer, p, lock, hooks).await?;
            }
        }
    }
    if let Some(done) = group.take() {
        writer.add(done);
    }
    writer.flush().await?;
    Ok(())
}

fn lost_lock(def: &SourceDef) -> AppError {
    AppError::conflict(format!(
        "{}: the warm lock was lost (expired or taken over); the live cache is unchanged",
        def.label()
    ))
}

/// Sends the pending batch, reports progress and lets the hooks pause or stop the warm.
async fn checkpoint<H: WarmHooks>(
    writer: &mut writer::ShadowWriter,
    p: &mut WarmProgress,
    lock: &WarmLock,
    hooks: &H,
) -> Result<(), WarmFailure> {
    writer.flush().await?;
    p.entries = writer.entries;
    p.bytes = writer.bytes;
    p.shadow_bytes = writer.bytes;
    hooks.progress(p);
    if lock.is_lost() {
        return Err(
            AppError::conflict("the warm lock was lost (expired or taken over); the live cache is unchanged").into()
        );
    }
    hooks.between_batches(p).await
}

/// Records the run (so a crashed run's shadows can be found) and discards abandoned runs of the
/// source: while we hold the lock, no other run of it is alive.
async fn register_run(state: &AppState, ds: i64, run_id: &str) -> Result<(), AppError> {
    let mut conn = state.redis.conn().await?;
    let runs: Vec<String> = redis::cmd("ZRANGE")
        .arg(state.keys.runs(ds))
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await
        .ctx("listing runs")?;
    for stale in runs.iter().filter(|r| r.as_str() != run_id) {
        tracing::info!(source = ds, run = %stale, "discarding the shadows of an abandoned run");
        discard_run(state, ds, stale).await?;
    }
    let _: () = redis::pipe()
        .cmd("ZADD")
        .arg(state.keys.runs(ds))
        .arg(crate::time::now_ms())
        .arg(run_id)
        .ignore()
        .cmd("PEXPIRE")
        .arg(state.keys.runs(ds))
        .arg(state.config.cache_ttl_secs * 1000)
        .ignore()
        .query_async(&mut conn)
        .await
        .ctx("registering the run")?;
    Ok(())
}

/// Marks `run_id` as writing its entries under their live names (see [`Plan::Cold`]).
async fn mark_in_place(state: &AppState, ds: i64, run_id: &str) -> Result<(), AppError> {
    let mut conn = state.redis.conn().await?;
    redis::cmd("SET")
        .arg(state.keys.shadow(ds, run_id).of(&Keys::in_place_name(ds)))
        .arg(1)
        .arg("PX")
        .arg(state.config.cache_ttl_secs * 1000)
        .query_async::<()>(&mut conn)
        .await
        .ctx("marking the run")
}

/// An in-place run's entries that no live generation lists: the names in its shadow master index
/// (each is added there before its entry is written) minus the live master index's, so a
/// generation someone else made live since is never touched.
async fn unlink_in_place_entries(state: &AppState, ds: i64, run_id: &str) -> Result<u64, AppError> {
    let keys = &state.keys;
    let shadow = keys.shadow(ds, run_id);
    let mut conn = state.redis.bulk().await?;
    let (in_place, orphans): (bool, Vec<String>) = redis::pipe()
        .cmd("EXISTS")
        .arg(shadow.of(&Keys::in_place_name(ds)))
        .cmd("SDIFF")
        .arg(shadow.of(&Keys::master_name(ds)))
        .arg(keys.master(ds))
        .query_async(&mut conn)
        .await
        .ctx("listing the run's entries")?;
    if !in_place || orphans.is_empty() {
        return Ok(0);
    }
    let live: Vec<String> = orphans.iter().map(|n| keys.key(n)).collect();
    super::scan::unlink(&state.redis, &live).await
}

/// Removes every shadow key of `run_id` (and, for an in-place run, the entries it wrote under
/// their live names) and forgets the run.
pub async fn discard_run(state: &AppState, ds: i64, run_id: &str) -> Result<u64, AppError> {
    let keys = &state.keys;
    let slot = keys.master(ds);
    let mut removed = unlink_in_place_entries(state, ds, run_id).await?;
    removed += super::scan::unlink_matching(&state.redis, &keys.shadow_pattern(ds, run_id), &slot).await?;
    removed +=
        super::scan::unlink(&state.redis, &[keys.scanned_indexes(ds, run_id), keys.scanned_data(ds, run_id)]).await?;
    let mut conn = state.redis.conn().await?;
    let _: () =
        redis::cmd("ZREM").arg(keys.runs(ds)).arg(run_id).query_async(&mut conn).await.ctx("forgetting the run")?;
    Ok(removed)
}
