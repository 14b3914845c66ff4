//! Jobs in Redis, shared by every Hearth instance: a HASH per job, a queue, the set of jobs
//! holding a warm slot, source → job, and a capped history. Every state change that must not
//! race (enqueue, claim, finish, declaring a worker lost) is one script on the `{jobs}` slot.

use std::collections::HashMap;
use std::sync::LazyLock;

use redis::Script;

/// What [`enqueue`] takes.
pub use super::record::NewJob;
use super::record::{self, Field, JobRecord};
use crate::error::AppError;
use crate::model::jobs::JobStatus;
use crate::redis_conn::RedisResultExt;
use crate::state::AppState;

/// Finished jobs are kept this long (and at most HEARTH_JOB_HISTORY of them).
pub const HISTORY_MS: i64 = 14 * 86_400_000;

/// Creates the job unless the source already has an unfinished one, whose id it returns.
static ENQUEUE: LazyLock<Script> = LazyLock::new(|| record::script(ENQUEUE_LUA));

const ENQUEUE_LUA: &str = r#"
local by_source, queue, job = KEYS[1], KEYS[2], KEYS[3]
local ds, id, job_prefix = ARGV[1], ARGV[2], ARGV[3]
local existing = redis.call('HGET', by_source, ds)
if existing then
  local status = redis.call('HGET', job_prefix .. existing, F.Status)
  if status and not FINAL[status] then
    return {0, existing}
  end
end
local fields = {}
for i = 4, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', job, unpack(fields))
redis.call('RPUSH', queue, id)
redis.call('HSET', by_source, ds, id)
return {1, id}
"#;

/// Takes the oldest queued job if fewer than `max` jobs hold a warm slot.
static CLAIM: LazyLock<Script> = LazyLock::new(|| record::script(CLAIM_LUA));

const CLAIM_LUA: &str = r#"
local queue, running = KEYS[1], KEYS[2]
local max, worker, now, job_prefix = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
if redis.call('SCARD', running) >= max then return false end
while true do
  local id = redis.call('LPOP', queue)
  if not id then return false end
  local job = job_prefix .. id
  if redis.call('HGET', job, F.Status) == QUEUED then
    redis.call('HSET', job, F.Status, WARMING, F.Phase, PREPARING, F.Worker, worker,
      F.StartedAt, now, F.HeartbeatAt, now, F.UpdatedAt, now)
    redis.call('SADD', running, id)
    return id
  end
end
"#;

/// Moves a job to a final status, unless it already has one, or is not in the required status
/// (cancelling a queued job), or, for a lost worker, its heartbeat is recent. Frees its slot, records it in the history and trims the history.
static FINISH: LazyLock<Script> = LazyLock::new(|| record::script(FINISH_LUA));

const FINISH_LUA: &str = r#"
local job, running, by_source, history = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id, ds, now, stale_before, cap, keep_ms, job_prefix = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local status = redis.call('HGET', job, F.Status)
if not status or FINAL[status] then return 0 end
if ARGV[8] ~= '' and status ~= ARGV[8] then return 0 end
if stale_before > 0 and tonumber(redis.call('HGET', job, F.HeartbeatAt) or '0') >= stale_before then return 0 end
local fields = {}
for i = 9, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', job, unpack(fields))
redis.call('HDEL', job, F.Control)
redis.call('PEXPIRE', job, keep_ms)
redis.call('SREM', running, id)
if redis.call('HGET', by_source, ds) == id then redis.call('HDEL', by_source, ds) end
redis.call('ZADD', history, now, id)
local old = redis.call('ZRANGEBYSCORE', history, '-inf', now - keep_ms)
local over = redis.call('ZCARD', history) - cap
if over > 0 then
  for _, gone in ipairs(redis.call('ZRANGE', history, 0, over - 1)) do old[#old + 1] = gone end
end
for _, gone in ipairs(old) do
  redis.call('ZREM', history, gone)
  redis.call('DEL', job_prefix .. gone)
end
return 1
"#;

/// A new, time-sortable job id: `j` + milliseconds in base 36 + random.
pub fn new_job_id() -> String {
    let mut ms = crate::time::now_ms() as u64;
    let mut digits = Vec::new();
    while ms > 0 {
        digits.push(std::char::from_digit((ms % 36) as u32, 36).expect("digit"));
        ms /= 36;
    }
    let stamp: String = digits.iter().rev().collect();
    format!("j{stamp}{:04x}", rand::random::<u16>())
}

pub enum Enqueued {
    New(String),
    /// The source already has an unfinished job.
    Existing(String),
}

pub async fn enqueue(state: &AppState, new: &NewJob<'_>) -> Result<Enqueued, AppError> {
    let keys = &state.keys;
    let id = new_job_id();
    let mut script = ENQUEUE.prepare_invoke();
    script.key(keys.jobs_by_source()).key(keys.job_queue()).key(keys.job(&id));
    script.arg(new.datasource_id).arg(&id).arg(keys.job_prefix());
    for (field, value) in new.fields(&id, crate::time::now_ms()) {
        script.arg(field.name()).arg(value);
    }
    let mut conn = state.redis.conn().await?;
    let (created, id): (u8, String) = script.invoke_async(&mut conn).await.ctx("queueing a warm")?;
    Ok(if created == 1 { Enqueued::New(id) } else { Enqueued::Existing(id) })
}

pub async fn claim(state: &AppState) -> Result<Option<String>, AppError> {
    let keys = &state.keys;
    let mut conn = state.redis.conn().await?;
    CLAIM
        .key(keys.job_queue())
        .key(keys.jobs_running())
        .arg(state.config.max_concurrent_warms)
        .arg(&state.instance_id)
        .arg(crate::time::now_ms())
        .arg(keys.job_prefix())
        .invoke_async(&mut conn)
        .await
        .ctx("claiming a job")
}

/// When a final status may be written.
#[derive(Debug, Clone, Copy)]
pub enum FinishIf {
    /// Whatever unfinished state the job is in (its own worker finishing it).
    Unfinished,
    /// Only while still queued (cancelling before a worker took it).
    Queued,
    /// Only if its heartbeat is older than this time, ms (its worker was lost).
    StaleBefore(i64),
}

/// Writes a final status; `false` when the condition did not hold (nothing changed).
pub async fn finish(
    state: &AppState,
    id: &str,
    ds: i64,
    status: JobStatus,
    fields: &[(Field, String)],
    when: FinishIf,
) -> Result<bool, AppError> {
    let keys = &state.keys;
    let now = crate::time::now_ms();
    let mut script = FINISH.prepare_invoke();
    script.key(keys.job(id)).key(keys.jobs_running()).key(keys.jobs_by_source()).key(keys.jobs_history());
    let (required, stale_before) = match when {
        FinishIf::Unfinished => ("", 0),
        FinishIf::Queued => (JobStatus::Queued.as_str(), 0),
        FinishIf::StaleBefore(t) => ("", t),
    };
    script
        .arg(id)
        .arg(ds)
        .arg(now)
        .arg(stale_before)
        .arg(state.config.job_history)
        .arg(HISTORY_MS)
        .arg(keys.job_prefix())
        .arg(required)
        .arg(Field::Status.name())
        .arg(status.as_str())
        .arg(Field::CompletedAt.name())
        .arg(now)
        .arg(Field::UpdatedAt.name())
        .arg(now)
        .arg(Field::EtaSeconds.name())
        .arg("");
    for (field, value) in fields {
        script.arg(field.name()).arg(value);
    }
    let mut conn = state.redis.conn().await?;
    let changed: u8 = script.invoke_async(&mut conn).await.ctx("finishing a job")?;
    Ok(changed == 1)
}

pub async fn set_fields(state: &AppState, id: &str, fields: &[(Field, String)]) -> Result<(), AppError> {
    let mut conn = state.redis.conn().await?;
    let mut cmd = redis::cmd("HSET");
    cmd.arg(state.keys.job(id));
    for (field, value) in fields {
        cmd.arg(field.name()).arg(value);
    }
    cmd.arg(Field::UpdatedAt.name()).arg(crate::time::now_ms());
    let _: () = cmd.query_async(&mut conn).await.ctx("updating a job")?;
    Ok(())
}

pub async fn get(state: &AppState, id: &str) -> Result<Option<JobRecord>, AppError> {
    let mut conn = state.redis.conn().await?;
    let map: HashMap<String, String> =
        redis::cmd("HGETALL").arg(state.keys.job(id)).query_async(&mut conn).await.ctx("reading a job")?;
    Ok(JobRecord::from_hash(&map))
}

pub(super) async fn get_many(state: &AppState, ids: &[String]) -> Result<Vec<JobRecord>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    for id in ids {
        pipe.cmd("HGETALL").arg(state.keys.job(id));
    }
    let mut conn = state.redis.conn().await?;
    let maps: Vec<HashMap<String, String>> = pipe.query_async(&mut conn).await.ctx("reading jobs")?;
    Ok(maps.iter().filter_map(JobRecord::from_hash).collect())
}

/// Queued jobs in queue order, then the ones holding a slot (by start). The lists and the job
/// hashes are read one after the other while workers claim and finish jobs: a job claimed in
/// between is in the queue as read but already warming (listed with the running ones, not left
/// out), one finished in between is dropped, and none is listed twice.
pub async fn active(state: &AppState) -> Result<Vec<JobRecord>, AppError> {
    let keys = &state.keys;
    let mut conn = state.redis.conn().await?;
    let (queued, running): (Vec<String>, Vec<String>) = redis::pipe()
        .cmd("LRANGE")
        .arg(keys.job_queue())
        .arg(0)
        .arg(-1)
        .cmd("SMEMBERS")
        .arg(keys.jobs_running())
        .query_async(&mut conn)
        .await
        .ctx("listing jobs")?;
    let mut seen = std::collections::HashSet::new();
    let (mut waiting, mut jobs): (Vec<JobRecord>, Vec<JobRecord>) = get_many(state, &queued)
        .await?
        .into_iter()
        .chain(get_many(state, &running).await?)
        .filter(|r| !r.job.status.is_terminal() && seen.insert(r.job.job_id.clone()))
        .partition(|r| r.job.status == JobStatus::Queued);
    jobs.sort_by(|a, b| a.job.started_at.cmp(&b.job.started_at));
    waiting.append(&mut jobs);
    Ok(waiting)
}

/// The newest finished jobs.
pub async fn recent(state: &AppState, limit: usize) -> Result<Vec<JobRecord>, AppError> {
    let mut conn = state.redis.conn().await?;
    let ids: Vec<String> = redis::cmd("ZREVRANGE")
        .arg(state.keys.jobs_history())
        .arg(0)
        .arg(limit.saturating_sub(1))
        .query_async(&mut conn)
        .await
        .ctx("listing finished jobs")?;
    get_many(state, &ids).await
}

/// The unfinished job of a source, if any.
pub async fn job_of_source(state: &AppState, ds: i64) -> Result<Option<JobRecord>, AppError> {
    let mut conn = state.redis.conn().await?;
    let id: Option<String> =
        redis::cmd("HGET").arg(state.keys.jobs_by_source()).arg(ds).query_async(&mut conn).await.ctx("reading jobs")?;
    match id {
        Some(id) => Ok(get(state, &id).await?.filter(|r| !r.job.status.is_terminal())),
        None => Ok(None),
    }
}

/// Drops ids from the running set whose job record no longer exists (expired or deleted by
/// hand), so they do not hold a warm slot forever.
pub async fn forget_vanished(state: &AppState) -> Result<(), AppError> {
    let keys = &state.keys;
    let mut conn = state.redis.conn().await?;
    let ids: Vec<String> =
        redis::cmd("SMEMBERS").arg(keys.jobs_running()).query_async(&mut conn).await.ctx("listing jobs")?;
    for id in ids {
        let exists: bool =
            redis::cmd("EXISTS").arg(keys.job(&id)).query_async(&mut conn).await.ctx("checking a job")?;
        if !exists {
            let _: () = redis::cmd("SREM")
                .arg(keys.jobs_running())
                .arg(&id)
                .query_async(&mut conn)
                .await
                .ctx("forgetting a job")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scripts_name_only_fields_of_the_record() {
        for body in [ENQUEUE_LUA, CLAIM_LUA, FINISH_LUA] {
            for used in body.split("F.").skip(1) {
                let name: String = used.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
                assert!(Field::ALL.iter().any(|f| f.lua_name() == name), "F.{name} is no job field");
            }
        }
    }
}
