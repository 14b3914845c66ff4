//! The cutover: one atomic step on the source's `{ds:N}` slot makes a complete shadow copy live.
//! It checks that the lock is still ours and that every shadow key it will use is present, and
//! changes nothing otherwise. Then it renames the shadow data keys over the live ones, deletes live
//! entries and index sets the new run lacks, and writes the metadata. When the new entry set equals
//! the live one (same digest, on a layout Hearth wrote) the index sets, whose members are a
//! function of the entry set, are left as they are: the cutover then touches only data keys.
//!
//! Two ways to do it, same result:
//! - a MULTI/EXEC transaction (default, `transaction.rs`): the control keys are WATCHed, the
//!   shadow is checked with pipelined EXISTS, and EXEC runs the renames at native speed (3.5 to
//!   7 µs each here, freeing the old value included). Shadow data keys are not WATCHed one by one
//!   (in Redis 7.0 each WATCH scans the client's watched list, O(n²) for n keys), so the only
//!   thing that could remove one between check and EXEC is an eviction; that is why `auto` uses
//!   it only while Redis is far from `maxmemory`;
//! - one Lua script that checks and switches in a single call (`script.rs`): immune to that
//!   window, but every key name becomes a Lua string, about three times the cost per entry.
//!
//! A cold source's first warm writes its entries under their live names (no reader reaches an
//! entry but through the index sets, which do not exist yet) and the transaction then renames only
//! the index sets: half the renames, and none of the entries' values to free.
//!
//! This file holds what both share: the choice between them, the fast-path check, the errors and
//! the recovery from a late reply. `layout.rs` reads the live layout before and clears the run's
//! leftovers after.
//!
//! Old values are freed by the RENAME that overwrites them; `lazyfree-lazy-server-del yes` does
//! not change that for strings (one allocation each is always freed inline), so freeing is part of
//! the measured blocking time (BENCHMARKS.md).

pub mod incremental;
mod layout;
mod script;
mod transaction;

pub use layout::{cleanup_after, refresh_ttls};

use crate::config::CutoverMethod;
use crate::error::{AppError, ErrorCode};
use crate::redis_conn::info::parse_info;
use crate::redis_conn::{RedisResultExt, redis_error};
use crate::state::AppState;

pub struct CutoverInput<'a> {
    pub ds: i64,
    pub run_id: &'a str,
    pub lock_token: &'a str,
    pub expected_entries: u64,
    pub expected_indexes: u64,
    pub meta_json: String,
    pub dims_json: String,
    /// Order-independent digest of the entry names (also in the metadata as `entriesDigest`).
    pub entries_digest: &'a str,
    /// The run wrote its entries under their live names (a cold source's first warm): the switch
    /// renames only the index sets, and refuses unless the source is still cold.
    pub in_place: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CutoverReport {
    /// `transaction` or `script`.
    pub method: &'static str,
    pub entries: u64,
    pub indexes: u64,
    /// Index sets were left in place (entry set unchanged, layout Hearth's own).
    pub fast_path: bool,
    pub removed_entries: u64,
    pub removed_indexes: u64,
    /// Round trip of the script: an upper bound of how long Redis was blocked.
    pub blocking_ms: f64,
}

pub async fn cutover(state: &AppState, input: &CutoverInput<'_>) -> Result<CutoverReport, AppError> {
    let keys = &state.keys;
    let ds = input.ds;
    let live = Live::read(state, ds).await?;
    let (old_data, old_indexes) = if live.is_hearths() {
        if live.keeps_index_sets(input) {
            // The switch will keep the live index sets: give them a fresh TTL first. Harmless if
            // it then takes the other path (it replaces them anyway).
            layout::refresh_index_ttls(state, ds).await?;
        }
        (keys.master(ds), keys.index_list(ds))
    } else {
        layout::scan_foreign_layout(state, ds, input.run_id).await?
    };

    // The script renames every entry; an in-place run has none to rename.
    if !input.in_place && uses_script(state, ds).await? {
        script::run(state, input, &old_data, &old_indexes).await
    } else {
        transaction::run(state, input, &old_data, &old_indexes).await
    }
}

/// The live layout's control keys, as the fast-path check reads them.
struct Live {
    generation: Option<String>,
    index_list_exists: bool,
    meta: Option<String>,
    entries: u64,
}

impl Live {
    async fn read(state: &AppState, ds: i64) -> Result<Live, AppError> {
        let keys = &state.keys;
        let mut conn = state.redis.bulk().await?;
        let (generation, index_list_exists, meta, entries) = redis::pipe()
            .cmd("GET")
            .arg(keys.generation(ds))
            .cmd("EXISTS")
            .arg(keys.index_list(ds))
            .cmd("GET")
            .arg(keys.meta(ds))
            .cmd("SCARD")
            .arg(keys.master(ds))
            .query_async(&mut conn)
            .await
            .ctx("reading the live layout")?;
        Ok(Live { generation, index_list_exists, meta, entries })
    }

    /// Hearth wrote it: a generation marker and a list of index sets.
    fn is_hearths(&self) -> bool {
        self.generation.is_some() && self.index_list_exists
    }

    /// Nothing of the source is live: what the plan of an in-place run found, still true.
    fn is_cold(&self) -> bool {
        self.generation.is_none() && !self.index_list_exists && self.meta.is_none() && self.entries == 0
    }

    /// The fast path: the live layout is Hearth's and its entry set is this run's (same count,
    /// same digest in the metadata of the live generation), so its index sets stay. The Lua
    /// script makes the same check inside its call.
    fn keeps_index_sets(&self, input: &CutoverInput<'_>) -> bool {
        self.is_hearths()
            && self.entries == input.expected_entries
            && crate::cache::meta::Meta::parse(self.meta.as_deref()).is_some_and(|m| {
                m.run_id == self.generation && m.entries_digest.as_deref() == Some(input.entries_digest)
            })
    }
}

/// Whether a cutover of `ds` runs as the Lua script: configured so, or (`auto`) Redis may evict
/// keys soon.
pub(crate) async fn uses_script(state: &AppState, ds: i64) -> Result<bool, AppError> {
    Ok(match state.config.cutover {
        CutoverMethod::Script => true,
        CutoverMethod::Transaction => false,
        CutoverMethod::Auto => eviction_possible(state, ds).await?,
    })
}

/// True when Redis may evict keys soon: an evicting policy and memory within 10 % of maxmemory.
pub(crate) async fn eviction_possible(state: &AppState, ds: i64) -> Result<bool, AppError> {
    let mut conn = state.redis.conn().await?;
    let mut cmd = redis::cmd("INFO");
    cmd.arg("memory");
    let text: String =
        crate::redis_conn::query_on_slot(&mut conn, &cmd, &state.keys.master(ds)).await.ctx("reading memory")?;
    let info = parse_info(&text);
    let policy = info.get("maxmemory_policy").unwrap_or("noeviction");
    let (used, max): (u64, u64) = (info.num("used_memory"), info.num("maxmemory"));
    Ok(policy != "noeviction" && max > 0 && used.saturating_mul(10) >= max.saturating_mul(9))
}

/// A cutover whose reply timed out may still have run: the generation marker says whether it
/// did. `Ok` when it completed, else the timeout as the error.
async fn completed_despite_timeout(
    state: &AppState,
    ds: i64,
    run_id: &str,
    timeout: redis::RedisError,
) -> Result<(), AppError> {
    let mut conn = state.redis.conn().await?;
    let now: Option<String> =
        redis::cmd("GET").arg(state.keys.generation(ds)).query_async(&mut conn).await.ctx("checking the cutover")?;
    if now.as_deref() == Some(run_id) {
        tracing::warn!(source = ds, "the cutover answered late but completed");
        Ok(())
    } else {
        Err(failed(ds, timeout))
    }
}

fn failed(ds: i64, e: redis::RedisError) -> AppError {
    redis_error(e, &format!("running the cutover of source {ds}"))
}

fn lock_lost(ds: i64) -> AppError {
    AppError::conflict(format!("source {ds}: the warm lock was lost before the cutover; nothing was changed"))
}

fn incomplete(ds: i64, what: &str) -> AppError {
    AppError::new(
        ErrorCode::InternalError,
        format!(
            "source {ds}: the shadow copy is incomplete ({what}); nothing was changed. Keys may have been evicted: check maxmemory-policy"
        ),
    )
}
