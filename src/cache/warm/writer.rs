//! The shadow writer of a warm: batches of shadow writes sent as pipelines, at most one in
//! flight while the next is built. A full warm writes every entry, its index memberships and its
//! digest into the run's shadow namespace. An incremental one compares each entry's digest with
//! the live generation's: unchanged entries only get their live TTL refreshed, changed and new
//! ones are written to the shadow, and the difference is collected for the diff cutover.

use std::collections::{BTreeSet, HashMap, HashSet};

use tokio::task::JoinHandle;

use crate::cache::digest::{self, Base};
use crate::cache::keys::{Keys, Shadow};
use crate::error::AppError;
use crate::redis_conn::{RedisConn, RedisResultExt};
use crate::source::GroupRows;
use crate::state::AppState;

/// What an incremental warm collects against its base generation.
pub(super) struct Diff {
    pub base: Base,
    /// Unchanged entries of the batch in progress (name, JSON, digest value): their live TTL is
    /// refreshed at the flush, and any found missing is written after all.
    touch: Vec<(String, String, String)>,
    /// Changed and new entries written to the shadow, with their digest values.
    pub written: Vec<(String, String)>,
    /// Index set → new members.
    pub adds: HashMap<String, Vec<String>>,
    /// Every index set of the new generation.
    pub new_indexes: HashSet<String>,
    pub changed: u64,
    pub added: u64,
    pub unchanged: u64,
}

pub(super) struct ShadowWriter {
    redis: RedisConn,
    ds: i64,
    keys: Keys,
    shadow: Shadow,
    /// Where entries are written: the shadow, or the live names on a cold source's first warm.
    home: Shadow,
    ttl_ms: u64,
    max_entries: usize,
    max_bytes: usize,
    pipe: redis::Pipeline,
    /// Full warm: the batch's index memberships, digests and lists, sent before its entries, so
    /// an entry is never written before its name is in the run's shadow master index.
    index_pipe: redis::Pipeline,
    pipe_entries: usize,
    pipe_bytes: usize,
    /// Commands in `pipe`: an incremental batch of unchanged entries sends nothing.
    pipe_writes: usize,
    /// Full warm: index set (unprefixed) → members added in this batch.
    sets: HashMap<String, Vec<String>>,
    /// Full warm: digest values of this batch.
    digests: Vec<(String, String)>,
    in_flight: Option<JoinHandle<Result<(), AppError>>>,
    pub diff: Option<Diff>,
    pub entries: u64,
    pub bytes: u64,
    /// Wrapping sum of the entry names' xxh3: equal entry sets, equal digests.
    pub entries_digest: u64,
    pub index_hashes: HashSet<u64>,
    pub measures: BTreeSet<String>,
    pub practices: BTreeSet<String>,
    pub providers: BTreeSet<String>,
    pub frequencies: BTreeSet<String>,
}

impl ShadowWriter {
    pub fn new(state: &AppState, ds: i64, run_id: &str, base: Option<Base>, in_place: bool) -> Self {
        let shadow = state.keys.shadow(ds, run_id);
        ShadowWriter {
            redis: state.redis.clone(),
            ds,
            keys: state.keys.clone(),
            home: if in_place { state.keys.live() } else { shadow.clone() },
            shadow,
            ttl_ms: state.config.cache_ttl_secs * 1000,
            max_entries: state.config.warm_batch_entries,
            max_bytes: state.config.warm_batch_bytes,
            pipe: redis::pipe(),
            index_pipe: redis::pipe(),
            pipe_entries: 0,
            pipe_bytes: 0,
            pipe_writes: 0,
            sets: HashMap::new(),
            digests: Vec::new(),
            in_flight: None,
            diff: base.map(|base| Diff {
                base,
                touch: Vec::new(),
                written: Vec::new(),
                adds: HashMap::new(),
                new_indexes: HashSet::new(),
                changed: 0,
                added: 0,
                unchanged: 0,
            }),
            entries: 0,
            bytes: 0,
            entries_digest: 0,
            index_hashes: HashSet::new(),
            measures: BTreeSet::new(),
            practices: BTreeSet::new(),
            providers: BTreeSet::new(),
            frequencies: BTreeSet::new(),
        }
    }

    /// Shadows carry the live TTL, so the cutover's RENAME leaves live keys with the right one.
    fn write(&mut self, name: &str, json: &str) {
        self.pipe.cmd("SET").arg(self.home.of(name)).arg(json).arg("PX").arg(self.ttl_ms).ignore();
        self.pipe_writes += 1;
        self.pipe_bytes += json.len() + name.len();
    }

    pub fn add(&mut self, mut g: GroupRows) {
        g.json.push(']');
        let ds = self.ds;
        let provider = g.provider.as_deref();
        let name = Keys::data_name(ds, &g.measure, &g.practice, provider, &g.period);
        let digest = digest::hash(&g.json);
        let value = digest::encode(digest, &g.measure, &g.practice, provider, &g.period);
        let sets = digest::index_names(ds, &g.measure, &g.practice, provider, &g.period);
        self.entries_digest = self.entries_digest.wrapping_add(digest::hash(&name));
        self.pipe_entries += 1;
        self.entries += 1;
        self.bytes += g.json.len() as u64;
        if let Some(mut diff) = self.diff.take() {
            match diff.base.live.remove(&name) {
                Some(old) if old.digest == digest => {
                    diff.unchanged += 1;
                    self.pipe_bytes += name.len();
                    diff.touch.push((name, std::mem::take(&mut g.json), value));
                }
                Some(_) => {
                    diff.changed += 1;
                    self.write(&name, &g.json);
                    diff.written.push((name, value));
                }
                None => {
                    diff.added += 1;
                    for set in &sets {
                        diff.adds.entry(set.clone()).or_default().push(name.clone());
                    }
                    self.write(&name, &g.json);
                    diff.written.push((name, value));
                }
            }
            for set in sets {
                if !diff.new_indexes.contains(&set) {
                    diff.new_indexes.insert(set);
                }
            }
            self.diff = Some(diff);
        } else {
            self.write(&name, &g.json);
            self.pipe_bytes += name.len() * 5;
            for set in sets {
                self.sets.entry(set).or_default().push(name.clone());
            }
            self.digests.push((name, value));
        }
        if !self.measures.contains(&g.measure) {
            self.measures.insert(g.measure);
        }
        if !self.practices.contains(&g.practice) {
            self.practices.insert(g.practice);
        }
        if let Some(p) = g.provider
            && !self.providers.contains(&p)
        {
            self.providers.insert(p);
        }
        if !self.frequencies.contains(&g.period) {
            self.frequencies.insert(g.period);
        }
    }

    pub fn wants_flush(&self) -> bool {
        self.pipe_entries >= self.max_entries || self.pipe_bytes >= self.max_bytes
    }

    /// Incremental: refreshes the live TTL of the batch's unchanged entries (outside the atomic
    /// step); one that has vanished meanwhile (expired, evicted) is written to the shadow after all.
    async fn touch_unchanged(&mut self) -> Result<(), AppError> {
        let Some(diff) = self.diff.as_mut() else { return Ok(()) };
        if diff.touch.is_empty() {
            return Ok(());
        }
        let touch = std::mem::take(&mut diff.touch);
        let mut pipe = redis::pipe();
        for (name, _, _) in &touch {
            pipe.cmd("PEXPIRE").arg(self.keys.key(name)).arg(self.ttl_ms);
        }
        let mut conn = self.redis.bulk().await?;
        let found: Vec<i64> = pipe.query_async(&mut conn).await.ctx("refreshing unchanged entries")?;
        for ((name, json, value), alive) in touch.into_iter().zip(found) {
            if alive == 0 {
                self.write(&name, &json);
                let diff = self.diff.as_mut().expect("incremental");
                diff.unchanged -= 1;
                diff.changed += 1;
                diff.written.push((name, value));
            }
        }
        Ok(())
    }

    /// Sends the pending batch once the previous one has been acknowledged.
    pub async fn flush(&mut self) -> Result<(), AppError> {
        if self.pipe_entries == 0 {
            return Ok(());
        }
        self.touch_unchanged().await?;
        if self.diff.is_none() {
            let list = self.shadow.of(&Keys::index_list_name(self.ds));
            let mut names = Vec::with_capacity(self.sets.len());
            let index_pipe = &mut self.index_pipe;
            for (set, members) in self.sets.drain() {
                let key = self.shadow.of(&set);
                index_pipe.cmd("SADD").arg(&key).arg(&members).ignore();
                index_pipe.cmd("PEXPIRE").arg(&key).arg(self.ttl_ms).ignore();
                self.index_hashes.insert(digest::hash(&set));
                names.push(set);
            }
            index_pipe.cmd("SADD").arg(&list).arg(&names).ignore();
            index_pipe.cmd("PEXPIRE").arg(&list).arg(self.ttl_ms).ignore();
            let digests = self.shadow.of(&Keys::digests_name(self.ds));
            index_pipe.cmd("HSET").arg(&digests).arg(&self.digests).ignore();
            index_pipe.cmd("PEXPIRE").arg(&digests).arg(self.ttl_ms).ignore();
            self.digests.clear();
        }
        let full = self.diff.is_none();
        let index_pipe = std::mem::replace(&mut self.index_pipe, redis::pipe());
        let pipe = std::mem::replace(&mut self.pipe, redis::pipe());
        let writes = std::mem::take(&mut self.pipe_writes);
        self.pipe_entries = 0;
        self.pipe_bytes = 0;
        if writes == 0 {
            return Ok(());
        }
        self.settle().await?;
        let redis = self.redis.clone();
        self.in_flight = Some(tokio::spawn(async move {
            let mut conn = redis.bulk().await?;
            if full {
                index_pipe.query_async::<()>(&mut conn).await.ctx("writing shadow index sets")?;
            }
            pipe.query_async::<()>(&mut conn).await.ctx("writing shadow entries")
        }));
        Ok(())
    }

    /// Full warm: marks the shadow digests with the run and the format, so the hash exists even
    /// for an empty source and the cutover installs it whole.
    pub async fn seal_digests(&mut self, run_id: &str) -> Result<(), AppError> {
        let key = self.shadow.of(&Keys::digests_name(self.ds));
        let mut conn = self.redis.bulk().await?;
        redis::pipe()
            .cmd("HSET")
            .arg(&key)
            .arg(digest::GENERATION_FIELD)
            .arg(run_id)
            .arg(digest::FORMAT_FIELD)
            .arg(digest::FORMAT)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(self.ttl_ms)
            .ignore()
            .query_async::<()>(&mut conn)
            .await
            .ctx("writing shadow digests")
    }

    /// Waits for the batch in flight, if any.
    pub async fn settle(&mut self) -> Result<(), AppError> {
        if let Some(task) = self.in_flight.take() {
            task.await.map_err(|e| AppError::internal(format!("a shadow write task failed: {e}")))??;
        }
        Ok(())
    }
}
