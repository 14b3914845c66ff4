//! Invalidation of a whole source or of a slice (measure / practice / frequency), with a dry run
//! that changes nothing. It takes the source's warm lock, so it never races a warm (409 naming
//! the holder) and the command center's warmers wait. Slices go through the index sets, keeping
//! every other entry and index consistent; a whole source and the shadows of any run (with the
//! command center's `shadow:` leftovers) are walked and UNLINKed a SCAN page at a time
//! (`whole.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::keys::Keys;
use super::lock::WarmLock;
use super::meta::Dims;
use super::scan::{self, memory::MemorySample};
use crate::auth::audit::{Act, Done, audited};
use crate::error::{AppError, ErrorCode};
use crate::model::audit::AuditAction;
use crate::model::cache::{InvalidateRequest, InvalidateResult, SkippedSource};
use crate::redis_conn::RedisResultExt;
use crate::source::catalog::DefEntry;
use crate::state::AppState;
use records::Removed;
use whole::{invalidate_whole, keep_first, sweep_indexes_and_shadows, unlist_indexes};

mod records;
mod whole;

const SAMPLE: usize = 100;
const MEMORY_SAMPLES: usize = 20;
const MAX_VALUE_LEN: usize = 200;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Slice {
    pub measure: Option<String>,
    pub practice: Option<String>,
    pub frequency: Option<String>,
}

impl Slice {
    pub fn is_whole(&self) -> bool {
        self.measure.is_none() && self.practice.is_none() && self.frequency.is_none()
    }
}

/// What a slice's invalidation deletes.
#[derive(Debug, Default)]
struct Plan {
    data: Vec<String>,
    index_deletes: Vec<String>,
    /// Index set → members to remove (sets that keep other members).
    index_removals: BTreeMap<String, Vec<String>>,
    /// The entries of `data`, by their dimension values (for the metadata afterwards).
    removed: Vec<Removed>,
}

/// What one source's invalidation deleted (a dry run: would delete), as reported.
#[derive(Debug, Default)]
struct Outcome {
    keys_deleted: u64,
    indexes_deleted: u64,
    indexes_updated: u64,
    /// The first data keys and the first other keys (prefixed), reported in that order.
    data_sample: Vec<String>,
    other_sample: Vec<String>,
    /// The first deleted index sets, then the first trimmed ones.
    index_sets: Vec<String>,
    bytes: f64,
}

fn clean(value: &Option<String>, name: &str) -> Result<Option<String>, AppError> {
    match value {
        None => Ok(None),
        Some(v) if v.is_empty() => Err(AppError::validation(format!("{name} must not be empty when given"))),
        Some(v) if v.len() > MAX_VALUE_LEN => {
            Err(AppError::validation(format!("{name} is longer than {MAX_VALUE_LEN} characters")))
        }
        Some(v) => Ok(Some(v.clone())),
    }
}

/// The slice to invalidate (the id and reason were checked when the request was read).
pub fn validate(req: &InvalidateRequest) -> Result<Slice, AppError> {
    Ok(Slice {
        measure: clean(&req.measure, "measure")?,
        practice: clean(&req.practice, "practice")?,
        frequency: clean(&req.frequency, "frequency")?,
    })
}

/// [`invalidate`] on behalf of a signed-in caller: a dry run is free; a real one is checked,
/// then counted against the caller's invalidate budget, and given back when it is refused
/// (409: a warm holds the source) or invalidated no source.
///
/// A real run goes on to its end (its lock released, its audit entry written) even when the
/// request that asked for it is dropped: past `HEARTH_REQUEST_TIMEOUT_SECS`, or when the caller
/// goes away. Stopping it between two pages would leave a source half deleted and locked until
/// the lease runs out.
pub async fn invalidate_as(
    state: &AppState,
    req: &InvalidateRequest,
    who: &crate::auth::Principal,
) -> Result<InvalidateResult, AppError> {
    if req.dry_run.unwrap_or(false) {
        return invalidate_audited(state, req, who).await;
    }
    let (state, req, who) = (state.clone(), req.clone(), who.clone());
    tokio::spawn(async move { invalidate_audited(&state, &req, &who).await })
        .await
        .unwrap_or_else(|e| Err(AppError::internal(format!("the invalidation stopped unexpectedly: {e}"))))
}

async fn invalidate_audited(
    state: &AppState,
    req: &InvalidateRequest,
    who: &crate::auth::Principal,
) -> Result<InvalidateResult, AppError> {
    let slice = [("measure", &req.measure), ("practice", &req.practice), ("frequency", &req.frequency)]
        .iter()
        .filter_map(|(name, v)| v.as_deref().map(|v| format!(" {name}={v}")))
        .collect::<String>();
    let act = match req.datasource_id {
        Some(id) => {
            Act::new(AuditAction::CacheInvalidated, format!("source {}{slice}", id.get())).source(Some(id.get()))
        }
        None => Act::new(AuditAction::CacheInvalidated, format!("all sources{slice}")),
    };
    let run = async {
        if req.dry_run.unwrap_or(false) {
            return invalidate(state, req, &who.id).await;
        }
        validate(req)?;
        if let Some(id) = req.datasource_id {
            ensure_known(state, id.get()).await?;
        }
        let op = invalidate(state, req, &who.id);
        crate::auth::limits::metered(state, who, crate::model::limits::LimitClass::Invalidate, op, |r| {
            !r.datasources_invalidated.is_empty()
        })
        .await
    };
    audited(state, who, act.reason(req.reason.as_deref()), run, |r| {
        Done::detail(if r.dry_run { format!("dry run: {}", r.message) } else { r.message.clone() })
            .count("keysDeleted", r.keys_deleted)
            .count("indexesDeleted", r.indexes_deleted)
            .count("indexesUpdated", r.indexes_updated)
            .count("sources", r.datasources_invalidated.len() as u64)
    })
    .await
}

/// Invalidates one source (`datasourceId`) or every source, whole or a slice of each. Not
/// metered; a person's request goes through [`invalidate_as`].
pub async fn invalidate(state: &AppState, req: &InvalidateRequest, who: &str) -> Result<InvalidateResult, AppError> {
    let slice = validate(req)?;
    let dry = req.dry_run.unwrap_or(false);
    let started = Instant::now();
    let targets: Vec<i64> = match req.datasource_id {
        Some(id) => {
            ensure_known(state, id.get()).await?;
            vec![id.get()]
        }
        None => state.catalog.entries().await?.iter().map(DefEntry::id).collect(),
    };
    let single = req.datasource_id.is_some();
    let mut result = InvalidateResult {
        dry_run: dry,
        keys_deleted: 0,
        indexes_deleted: 0,
        indexes_updated: 0,
        memory_freed_mb: 0.0,
        datasources_invalidated: Vec::new(),
        skipped: Vec::new(),
        duration: 0,
        message: String::new(),
        keys: Vec::new(),
        index_sets: Vec::new(),
    };
    let mut freed_bytes = 0.0;
    for ds in targets {
        let token = super::warm::lock_token(&format!("invalidate:{:x}", rand::random::<u64>()), &state.instance_id);
        // A dry run reads without the lock but still says whether a real run would be refused.
        let lock = if dry {
            match super::lock::holder(&state.redis, &state.keys, ds).await? {
                Some(h) if single => {
                    return Err(AppError::conflict(format!(
                        "source {ds} is being warmed or invalidated by {}",
                        super::lock::describe_holder(&h)
                    )));
                }
                Some(h) => {
                    result.skipped.push(SkippedSource {
                        datasource_id: ds,
                        reason: format!("busy: {}", super::lock::describe_holder(&h)),
                    });
                    continue;
                }
                None => None,
            }
        } else {
            match WarmLock::acquire(&state.redis, &state.keys, ds, &token, state.config.lock_ttl).await {
                Ok(l) => Some(l),
                Err(e) if e.code == ErrorCode::Conflict && !single => {
                    result.skipped.push(SkippedSource { datasource_id: ds, reason: e.message });
                    continue;
                }
                Err(e) => return Err(e),
            }
        };
        let outcome = invalidate_one(state, ds, &slice, dry).await;
        if let Some(l) = lock
            && let Err(e) = l.release().await
        {
            tracing::warn!(source = ds, error = %e.message, "could not release the lock after invalidating; it expires by itself");
        }
        let done = match outcome {
            Ok(v) => v,
            Err(e) if e.code == ErrorCode::ValidationError && !single => {
                result.skipped.push(SkippedSource { datasource_id: ds, reason: e.message });
                continue;
            }
            Err(e) => return Err(e),
        };
        freed_bytes += done.bytes;
        result.keys_deleted += done.keys_deleted;
        result.indexes_deleted += done.indexes_deleted;
        result.indexes_updated += done.indexes_updated;
        for k in done.data_sample.iter().chain(&done.other_sample) {
            if result.keys.len() < SAMPLE {
                result.keys.push(k.clone());
            }
        }
        for k in &done.index_sets {
            if result.index_sets.len() < SAMPLE {
                result.index_sets.push(k.clone());
            }
        }
        result.datasources_invalidated.push(ds);
    }
    result.memory_freed_mb = (freed_bytes / 1_048_576.0 * 100.0).round() / 100.0;
    result.duration = started.elapsed().as_millis() as u64;
    let what = if slice.is_whole() { "whole cache".to_string() } else { describe(&slice) };
    result.message = format!(
        "{} {} of {} source(s): {} keys and {} index sets{}{}",
        if dry { "Would invalidate" } else { "Invalidated" },
        what,
        result.datasources_invalidated.len(),
        result.keys_deleted,
        result.indexes_deleted,
        if result.indexes_updated > 0 {
            format!(", {} index sets trimmed", result.indexes_updated)
        } else {
            String::new()
        },
        if result.skipped.is_empty() { String::new() } else { format!("; {} skipped", result.skipped.len()) },
    );
    tracing::info!(
        action = "cache_invalidated",
        who,
        dry_run = dry,
        sources = ?result.datasources_invalidated,
        slice = %what,
        reason = req.reason.as_deref().unwrap_or(""),
        keys = result.keys_deleted,
        indexes = result.indexes_deleted,
        "cache invalidation"
    );
    Ok(result)
}

fn describe(s: &Slice) -> String {
    let parts: Vec<String> = [("measure", &s.measure), ("practice", &s.practice), ("frequency", &s.frequency)]
        .iter()
        .filter_map(|(n, v)| v.as_ref().map(|v| format!("{n} {v}")))
        .collect();
    format!("slice {}", parts.join(", "))
}

/// A source is known if the catalog lists it or Redis still holds its cache.
async fn ensure_known(state: &AppState, ds: i64) -> Result<(), AppError> {
    if state.catalog.entries().await?.iter().any(|e| e.id() == ds) {
        return Ok(());
    }
    let mut conn = state.redis.conn().await?;
    let n: u64 = redis::cmd("EXISTS")
        .arg(state.keys.meta(ds))
        .arg(state.keys.master(ds))
        .query_async(&mut conn)
        .await
        .ctx("checking the source")?;
    if n == 0 {
        return Err(AppError::not_found(format!("no data source with id {ds}")));
    }
    Ok(())
}

async fn invalidate_one(state: &AppState, ds: i64, slice: &Slice, dry: bool) -> Result<Outcome, AppError> {
    if !dry {
        // The generation marker goes first: answers held in memory are stamped with it, and every
        // instance must stop serving them before the first entry goes, not after the last (nor
        // never, if this fails half-way). Without it the live set matches no generation, so the
        // next warm rewrites every index set; the lock keeps warms out until this ends.
        scan::unlink(&state.redis, &[state.keys.generation(ds)]).await?;
    }
    let mut other_memory = MemorySample::new(MEMORY_SAMPLES, usize::MAX);
    let mut done = if slice.is_whole() {
        if !dry {
            records::before_whole(state, ds).await?;
        }
        invalidate_whole(state, ds, dry, &mut other_memory).await?
    } else {
        invalidate_slice(state, ds, slice, dry).await?
    };
    if !slice.is_whole() {
        // Shadows of any run and the command center's leftovers go in every case (the whole
        // source's walk took them with its index sets).
        sweep_indexes_and_shadows(state, ds, None, dry, &mut done, &mut other_memory).await?;
    }
    done.bytes += other_memory.estimate();
    if !dry {
        // Give Redis a breath between sources of a multi-source invalidation.
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(done)
}

/// The entries of a slice, found through the index sets (bounded by the source's dimensions).
async fn invalidate_slice(state: &AppState, ds: i64, slice: &Slice, dry: bool) -> Result<Outcome, AppError> {
    let plan = slice_plan(state, ds, slice).await?;
    let mut conn = state.redis.conn().await?;
    let mut bytes = 0.0;
    for group in [&plan.data, &plan.index_deletes] {
        let mut memory = MemorySample::new(MEMORY_SAMPLES, MEMORY_SAMPLES);
        memory.add(&mut conn, group).await?;
        bytes += memory.estimate();
    }
    // Members removed from sets that stay: roughly a member's length plus overhead each.
    bytes += plan.index_removals.values().flatten().map(|m| m.len() as f64 + 16.0).sum::<f64>();
    if !dry {
        let written = records::written_bytes(state, &plan.data).await?;
        execute(state, ds, &plan).await?;
        records::after_slice(state, ds, &plan.removed, written).await?;
    }
    let mut done = Outcome {
        keys_deleted: plan.data.len() as u64,
        indexes_deleted: plan.index_deletes.len() as u64,
        indexes_updated: plan.index_removals.len() as u64,
        bytes,
        ..Outcome::default()
    };
    keep_first(&mut done.data_sample, &plan.data);
    let sets: Vec<String> = plan.index_deletes.iter().chain(plan.index_removals.keys()).cloned().collect();
    keep_first(&mut done.index_sets, &sets);
    Ok(done)
}

async fn slice_plan(state: &AppState, ds: i64, slice: &Slice) -> Result<Plan, AppError> {
    let keys = &state.keys;
    let mut conn = state.redis.conn().await?;
    let raw: Option<String> =
        redis::cmd("GET").arg(keys.dims(ds)).query_async(&mut conn).await.ctx("reading the source's dimensions")?;
    let dims = Dims::parse(raw.as_deref()).ok_or_else(|| {
        AppError::validation(format!(
            "source {ds} has no dimension list (it is cold or was warmed by the command center): warm it with Hearth first, or invalidate the whole source"
        ))
    })?;
    let pick = |given: &Option<String>, all: &[String]| {
        given.as_ref().map(|v| vec![v.clone()]).unwrap_or_else(|| all.to_vec())
    };
    let (measures, practices, frequencies) = (
        pick(&slice.measure, &dims.measures),
        pick(&slice.practice, &dims.practices),
        pick(&slice.frequency, &dims.frequencies),
    );

    // Each (measure, practice, frequency) practice index lists its entries; the provider is what
    // lies between the known head and tail of the name (never found by splitting on ':').
    let mut combos: Vec<(&String, &String, &String)> = Vec::new();
    for m in &measures {
        for p in &practices {
            for f in &frequencies {
                combos.push((m, p, f));
            }
        }
    }
    let mut plan = Plan::default();
    let mut touched_practice_sets = BTreeSet::new();
    for chunk in combos.chunks(500) {
        let mut pipe = redis::pipe();
        for (m, p, f) in chunk {
            pipe.cmd("SMEMBERS").arg(keys.practice(ds, m, p, f));
        }
        let members: Vec<Vec<String>> = pipe.query_async(&mut conn).await.ctx("reading index sets")?;
        for ((m, p, f), names) in chunk.iter().zip(members) {
            if names.is_empty() {
                continue;
            }
            touched_practice_sets.insert(keys.practice(ds, m, p, f));
            let (head, tail) = (Keys::data_head(ds, m, p), Keys::data_suffix(f));
            for name in names {
                let Some(provider) = name.strip_prefix(&head).and_then(|r| r.strip_suffix(&tail)) else { continue };
                let provider = (provider != "*").then_some(provider);
                plan.removed.push(Removed {
                    measure: m.to_string(),
                    practice: p.to_string(),
                    provider: provider.map(str::to_string),
                    frequency: f.to_string(),
                });
                plan.data.push(keys.key(&name));
                plan.index_deletes.push(keys.key(&Keys::full_name(ds, m, p, provider, f)));
                for set in [keys.master(ds), keys.base(ds, m, f), keys.provider(ds, m, f, provider)] {
                    plan.index_removals.entry(set).or_default().push(name.clone());
                }
            }
        }
    }
    // Practice sets are wholly inside the slice; the base set too when no practice was named.
    plan.index_deletes.extend(touched_practice_sets);
    if slice.practice.is_none() {
        let bases: BTreeSet<String> =
            measures.iter().flat_map(|m| frequencies.iter().map(move |f| keys.base(ds, m, f))).collect();
        for b in bases {
            if plan.index_removals.remove(&b).is_some() {
                plan.index_deletes.push(b);
            }
        }
    }
    Ok(plan)
}

/// Readers first lose the way to an entry (index sets), then the entry itself.
async fn execute(state: &AppState, ds: i64, plan: &Plan) -> Result<(), AppError> {
    let mut conn = state.redis.bulk().await?;
    for (set, members) in &plan.index_removals {
        for chunk in members.chunks(scan::UNLINK_BATCH) {
            let _: () =
                redis::cmd("SREM").arg(set).arg(chunk).query_async(&mut conn).await.ctx("trimming index sets")?;
        }
    }
    scan::unlink(&state.redis, &plan.index_deletes).await?;
    unlist_indexes(state, ds, &plan.index_deletes).await?;
    scan::unlink(&state.redis, &plan.data).await?;
    Ok(())
}
