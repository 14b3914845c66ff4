//! Invalidation of a whole source or of a slice (measure / practice / frequency), with a dry run
//! that changes nothing. It takes the source's warm lock, so it never races a warm (409 naming
//! the holder) and the command center's warmers wait. Slices go through the index sets, keeping
//! every other entry and index consistent; deletion is UNLINK in bounded batches. Shadows of any
//! run and the command center's `shadow:` leftovers go too.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::keys::Keys;
use super::lock::WarmLock;
use super::meta::Dims;
use super::scan;
use crate::error::{AppError, ErrorCode};
use crate::model::cache::{InvalidateRequest, InvalidateResult, SkippedSource};
use crate::redis_conn::RedisResultExt;
use crate::source::catalog::DefEntry;
use crate::state::AppState;

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

/// What one source's invalidation deletes.
#[derive(Debug, Default)]
struct Plan {
    data: Vec<String>,
    index_deletes: Vec<String>,
    /// Index set → members to remove (sets that keep other members).
    index_removals: BTreeMap<String, Vec<String>>,
    other: Vec<String>,
}

impl Plan {
    fn keys_deleted(&self) -> u64 {
        (self.data.len() + self.other.len()) as u64
    }
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

/// Invalidates one source (`datasourceId`) or every source, whole or a slice of each.
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
        let (plan, bytes) = match outcome {
            Ok(v) => v,
            Err(e) if e.code == ErrorCode::ValidationError && !single => {
                result.skipped.push(SkippedSource { datasource_id: ds, reason: e.message });
                continue;
            }
            Err(e) => return Err(e),
        };
        freed_bytes += bytes;
        result.keys_deleted += plan.keys_deleted();
        result.indexes_deleted += plan.index_deletes.len() as u64;
        result.indexes_updated += plan.index_removals.len() as u64;
        for k in plan.data.iter().chain(&plan.other) {
            if result.keys.len() < SAMPLE {
                result.keys.push(k.clone());
            }
        }
        for k in plan.index_deletes.iter().chain(plan.index_removals.keys()) {
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

async fn invalidate_one(state: &AppState, ds: i64, slice: &Slice, dry: bool) -> Result<(Plan, f64), AppError> {
    let mut plan = if slice.is_whole() { whole_plan(state, ds).await? } else { slice_plan(state, ds, slice).await? };
    // Shadows of any run and the command center's leftovers go in every case.
    let slot = state.keys.master(ds);
    let mut leftovers = scan::scan_all(&state.redis, &state.keys.shadow_pattern(ds, None), &slot, usize::MAX).await?;
    for pattern in state.keys.legacy_shadow_patterns(ds) {
        leftovers.extend(scan::scan_all(&state.redis, &pattern, &slot, usize::MAX).await?);
    }
    plan.other.extend(leftovers);
    let bytes = estimate_bytes(state, &plan).await?;
    if !dry {
        execute(state, ds, &plan).await?;
    }
    Ok((plan, bytes))
}

async fn whole_plan(state: &AppState, ds: i64) -> Result<Plan, AppError> {
    let keys = &state.keys;
    let slot = keys.master(ds);
    let [data_pattern, index_pattern] = keys.live_patterns(ds);
    let data = scan::scan_all(&state.redis, &data_pattern, &slot, usize::MAX).await?;
    let index_deletes = scan::scan_all(&state.redis, &index_pattern, &slot, usize::MAX).await?;
    let mut conn = state.redis.conn().await?;
    let candidates =
        [keys.meta(ds), keys.generation(ds), keys.index_list(ds), keys.dims(ds), keys.query_totals(ds), keys.runs(ds)];
    let exists: Vec<bool> = {
        let mut pipe = redis::pipe();
        for k in &candidates {
            pipe.cmd("EXISTS").arg(k);
        }
        pipe.query_async(&mut conn).await.ctx("listing the source's keys")?
    };
    let other = candidates.into_iter().zip(exists).filter(|(_, e)| *e).map(|(k, _)| k).collect();
    Ok(Plan { data, index_deletes, index_removals: BTreeMap::new(), other })
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

/// Sampled `MEMORY USAGE` scaled to the number of keys of each kind.
async fn estimate_bytes(state: &AppState, plan: &Plan) -> Result<f64, AppError> {
    let mut total = 0.0;
    let mut conn = state.redis.conn().await?;
    for group in [&plan.data, &plan.index_deletes, &plan.other] {
        if group.is_empty() {
            continue;
        }
        let step = (group.len() / MEMORY_SAMPLES).max(1);
        let sample: Vec<&String> = group.iter().step_by(step).take(MEMORY_SAMPLES).collect();
        let mut pipe = redis::pipe();
        for k in &sample {
            pipe.cmd("MEMORY").arg("USAGE").arg(*k);
        }
        let sizes: Vec<Option<u64>> = pipe.query_async(&mut conn).await.ctx("sampling memory usage")?;
        let known: Vec<u64> = sizes.into_iter().flatten().collect();
        if !known.is_empty() {
            total += known.iter().sum::<u64>() as f64 / known.len() as f64 * group.len() as f64;
        }
    }
    // Members removed from sets that stay: roughly a member's length plus overhead each.
    total += plan.index_removals.values().flatten().map(|m| m.len() as f64 + 16.0).sum::<f64>();
    Ok(total)
}

/// Readers first lose the way to an entry (metadata, index sets), then the entry itself.
async fn execute(state: &AppState, ds: i64, plan: &Plan) -> Result<(), AppError> {
    let mut conn = state.redis.bulk().await?;
    let meta_first: Vec<String> = plan.other.iter().filter(|k| **k == state.keys.meta(ds)).cloned().collect();
    scan::unlink(&state.redis, &meta_first).await?;
    for (set, members) in &plan.index_removals {
        for chunk in members.chunks(scan::UNLINK_BATCH) {
            let _: () =
                redis::cmd("SREM").arg(set).arg(chunk).query_async(&mut conn).await.ctx("trimming index sets")?;
        }
    }
    scan::unlink(&state.redis, &plan.index_deletes).await?;
    let deleted_names: Vec<&str> = plan.index_deletes.iter().filter_map(|k| state.keys.strip(k)).collect();
    for chunk in deleted_names.chunks(scan::UNLINK_BATCH) {
        let _: () = redis::cmd("SREM")
            .arg(state.keys.index_list(ds))
            .arg(chunk)
            .query_async(&mut conn)
            .await
            .ctx("updating the index list")?;
    }
    scan::unlink(&state.redis, &plan.data).await?;
    scan::unlink(&state.redis, &plan.other).await?;
    // The live entry set no longer matches its generation: the next warm rewrites every index set.
    scan::unlink(&state.redis, &[state.keys.generation(ds)]).await?;
    // Give Redis a breath between sources of a multi-source invalidation.
    tokio::time::sleep(Duration::from_millis(1)).await;
    Ok(())
}
