//! Workers: every instance claims queued jobs while fewer than HEARTH_MAX_CONCURRENT_WARMS hold a
//! slot cluster-wide, runs each warm with hooks that publish progress (with a smoothed ETA),
//! obey pause/resume/cancel and the memory guard, and heartbeat the job. Every instance also
//! sweeps for jobs whose worker stopped heartbeating and fails them as "worker lost", freeing
//! their lock and shadows, so no job stays "warming" forever.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::record::{Field, JobControl};
use super::store::{self, FinishIf};
use crate::cache::warm::{Stop, WarmFailure, WarmHooks, WarmMode, WarmProgress, lock_token, warm_with};
use crate::error::AppError;
use crate::model::cache::WarmPhase;
use crate::model::jobs::{JobStatus, WarmingSettings};
use crate::state::AppState;

const TICK: Duration = Duration::from_millis(250);

/// Claims and runs jobs, sweeps for lost workers and fires due schedules until `stop` flips.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let shutdown = Arc::new(AtomicBool::new(false));
    let mut running: Vec<tokio::task::JoinHandle<()>> = Vec::new();
    let mut claim_tick = tokio::time::interval(Duration::from_millis(500));
    let mut sweep_tick = tokio::time::interval((state.config.worker_lost_after / 3).max(Duration::from_secs(1)));
    let mut schedule_tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = claim_tick.tick() => {
                running.retain(|t| !t.is_finished());
                loop {
                    match store::claim(&state).await {
                        Ok(Some(id)) => running.push(tokio::spawn(run_job(state.clone(), id, shutdown.clone()))),
                        Ok(None) => break,
                        Err(e) => {
                            tracing::debug!(error = %e.message, "cannot claim jobs right now");
                            break;
                        }
                    }
                }
            }
            _ = sweep_tick.tick() => {
                if let Err(e) = recover_lost(&state).await {
                    tracing::debug!(error = %e.message, "lost-worker sweep skipped");
                }
            }
            _ = schedule_tick.tick() => {
                if let Err(e) = super::schedules::tick(&state, crate::time::now_ms()).await {
                    tracing::debug!(error = %e.message, "schedule check skipped");
                }
            }
            _ = stop.changed() => break,
        }
    }
    // Stop our warms at their next batch: each discards its shadows and records why it ended.
    shutdown.store(true, Ordering::SeqCst);
    for task in running {
        let _ = tokio::time::timeout(Duration::from_secs(8), task).await;
    }
}

/// Shared between the warm's hooks and the job's control loop.
#[derive(Default)]
struct Control {
    progress: Mutex<Option<WarmProgress>>,
    cancel: AtomicBool,
    pause: AtomicBool,
    /// Set by the hooks while the warm actually waits, with the reason shown to admins.
    paused_reason: Mutex<Option<String>>,
    done: AtomicBool,
}

struct JobHooks {
    state: AppState,
    /// The warming source: on a cluster the guard reads the memory of its slot's node.
    ds: i64,
    ctl: Arc<Control>,
    shutdown: Arc<AtomicBool>,
    guard: Mutex<MemoryGuard>,
}

#[derive(Default)]
struct MemoryGuard {
    checked: Option<Instant>,
    over: bool,
    message: Option<String>,
}

impl JobHooks {
    /// Memory in use plus the shadow bytes still to write, as a percent of the ceiling
    /// (HEARTH_MEMORY_CEILING_BYTES, else maxmemory); `None` without a ceiling. On a cluster,
    /// the memory and maxmemory of the node the warm writes to (its source's slot).
    async fn memory_percent(
        &self,
        p: &WarmProgress,
        settings: &WarmingSettings,
    ) -> Result<Option<(f64, u64, u64)>, AppError> {
        let info = self.state.redis.info_on_slot(&["memory"], &self.state.keys.master(self.ds)).await?;
        let ceiling = settings.memory_ceiling_bytes.or(Some(info.num("maxmemory")).filter(|m| *m > 0));
        let Some(ceiling) = ceiling else { return Ok(None) };
        let still_to_write = if p.rows_done > 0 && p.rows_total > p.rows_done {
            (p.shadow_bytes as f64 * (p.rows_total - p.rows_done) as f64 / p.rows_done as f64) as u64
        } else {
            0
        };
        let used: u64 = info.num("used_memory");
        Ok(Some(((used + still_to_write) as f64 * 100.0 / ceiling as f64, used, ceiling)))
    }

    /// Re-evaluates the memory guard at most twice a second, with hysteresis.
    async fn memory_blocks(&self, p: &WarmProgress) -> Option<String> {
        {
            let g = self.guard.lock().expect("guard lock");
            if g.checked.is_some_and(|t| t.elapsed() < Duration::from_millis(500)) {
                return g.over.then(|| g.message.clone().unwrap_or_default());
            }
        }
        let reading = match super::settings::get(&self.state).await {
            Ok(settings) => self.memory_percent(p, &settings).await.map(|r| r.map(|r| (r, settings))),
            Err(e) => Err(e),
        };
        let mut g = self.guard.lock().expect("guard lock");
        g.checked = Some(Instant::now());
        match reading {
            Ok(Some(((pct, used, ceiling), cfg))) => {
                // Hysteresis: once paused, stay paused until below the lower (resume) threshold.
                let limit = if g.over { cfg.memory_resume_percent } else { cfg.memory_pause_percent } as f64;
                g.over = pct >= limit;
                g.message = Some(format!(
                    "memory guard: Redis uses {} of a {} ceiling and the rest of this warm needs more ({pct:.0} % projected; pauses at {} %, resumes below {} %)",
                    crate::format::bytes(used),
                    crate::format::bytes(ceiling),
                    cfg.memory_pause_percent,
                    cfg.memory_resume_percent
                ));
            }
            Ok(None) => g.over = false,
            // Cannot read memory: keep the previous verdict rather than guess.
            Err(e) => tracing::debug!(error = %e.message, "memory guard could not read INFO"),
        }
        g.over.then(|| g.message.clone().unwrap_or_default())
    }

    /// Waits while paused (by a user or the memory guard); stops on cancel or shutdown.
    async fn gate(&self, p: &WarmProgress) -> Result<(), Stop> {
        loop {
            if self.ctl.cancel.load(Ordering::SeqCst) {
                return Err(Stop::Cancelled);
            }
            if self.shutdown.load(Ordering::SeqCst) {
                return Err(Stop::Failed(AppError::internal(
                    "the Hearth instance running this warm shut down; warm again",
                )));
            }
            let reason = if self.ctl.pause.load(Ordering::SeqCst) {
                Some("paused by an administrator".to_string())
            } else {
                self.memory_blocks(p).await
            };
            match reason {
                None => {
                    *self.ctl.paused_reason.lock().expect("ctl lock") = None;
                    return Ok(());
                }
                Some(r) => {
                    *self.ctl.paused_reason.lock().expect("ctl lock") = Some(r);
                    tokio::time::sleep(TICK).await;
                }
            }
        }
    }
}

impl WarmHooks for JobHooks {
    fn progress(&self, p: &WarmProgress) {
        *self.ctl.progress.lock().expect("ctl lock") = Some(p.clone());
    }

    async fn between_batches(&self, p: &WarmProgress) -> Result<(), Stop> {
        self.gate(p).await
    }
}

/// Runs one claimed job to a final status.
pub async fn run_job(state: AppState, id: String, shutdown: Arc<AtomicBool>) {
    let record = match store::get(&state, &id).await {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(job = %id, error = %e.message, "cannot read a claimed job; the sweep will fail it");
            return;
        }
    };
    let ds = record.job.datasource_id;
    let fail = |message: String| vec![(Field::Error, message), (Field::Phase, WarmPhase::Done.as_str().to_string())];
    let def = match state.catalog.get(ds).await {
        Ok(d) => d,
        Err(e) => {
            let _ = store::finish(&state, &id, ds, JobStatus::Failed, &fail(e.message), FinishIf::Unfinished).await;
            return;
        }
    };
    let token = lock_token(&format!("job:{id}"), &state.instance_id);
    if let Err(e) =
        store::set_fields(&state, &id, &[(Field::RunId, id.clone()), (Field::LockToken, token.clone())]).await
    {
        tracing::warn!(job = %id, error = %e.message, "cannot record the job's lock token");
    }
    let ctl = Arc::new(Control::default());
    let publisher = tokio::spawn(control_loop(state.clone(), id.clone(), ctl.clone()));
    let hooks =
        JobHooks { state: state.clone(), ds, ctl: ctl.clone(), shutdown, guard: Mutex::new(MemoryGuard::default()) };
    let start = WarmProgress {
        phase: WarmPhase::Preparing,
        rows_total: 0,
        rows_done: 0,
        rows_skipped: 0,
        entries: 0,
        bytes: 0,
        shadow_bytes: 0,
    };
    // The memory guard and a pause also apply before the warm starts.
    let result = match hooks.gate(&start).await {
        Ok(()) => {
            let mode = if record.full { WarmMode::Full } else { WarmMode::Auto };
            warm_with(&state, &def, &id, &token, &hooks, mode).await
        }
        Err(stopped) => Err(stopped),
    };
    ctl.done.store(true, Ordering::SeqCst);
    let _ = publisher.await;
    let last = ctl.progress.lock().expect("ctl lock").clone();
    let counts = |p: &Option<WarmProgress>| match p {
        Some(p) => vec![
            (Field::RowsProcessed, p.rows_done.to_string()),
            (Field::RowsTotal, p.rows_total.to_string()),
            (Field::EntriesCached, p.entries.to_string()),
            (Field::Bytes, p.bytes.to_string()),
        ],
        None => Vec::new(),
    };
    let (status, mut fields) = match result {
        Ok(outcome) => {
            tracing::info!(action = "cache_warmed", job = %id, source = ds, rows = outcome.rows, entries = outcome.entries, ms = outcome.duration_ms, cutover_ms = outcome.cutover.blocking_ms, kind = %outcome.kind.describe(outcome.entries), "warm completed");
            (
                JobStatus::Completed,
                vec![
                    (Field::Progress, "100".to_string()),
                    (Field::Phase, WarmPhase::Done.as_str().to_string()),
                    (Field::RowsProcessed, (outcome.rows + outcome.skipped).to_string()),
                    (Field::RowsTotal, (outcome.rows + outcome.skipped).to_string()),
                    (Field::EntriesCached, outcome.entries.to_string()),
                    (Field::Bytes, outcome.bytes.to_string()),
                    (Field::CutoverMs, format!("{:.1}", outcome.cutover.blocking_ms)),
                    (Field::WarmKind, outcome.kind.describe(outcome.entries)),
                ],
            )
        }
        Err(WarmFailure::Cancelled) => {
            tracing::info!(job = %id, source = ds, "warm cancelled; the live cache is unchanged");
            (JobStatus::Cancelled, counts(&last))
        }
        Err(WarmFailure::Failed(e)) => {
            tracing::warn!(job = %id, source = ds, error = %e.message, "warm failed; the live cache is unchanged");
            let mut f = counts(&last);
            f.extend(fail(e.message));
            (JobStatus::Failed, f)
        }
    };
    fields.push((Field::PausedReason, String::new()));
    if let Err(e) = store::finish(&state, &id, ds, status, &fields, FinishIf::Unfinished).await {
        tracing::warn!(job = %id, error = %e.message, "could not record the end of a job; the sweep will fail it");
    }
}

/// Publishes progress, status and a heartbeat every 250 ms and reads the job's control field.
async fn control_loop(state: AppState, id: String, ctl: Arc<Control>) {
    let mut eta = Eta::default();
    let started = Instant::now();
    loop {
        let control: Result<Option<String>, AppError> = async {
            let mut conn = state.redis.conn().await?;
            use crate::redis_conn::RedisResultExt;
            redis::cmd("HGET")
                .arg(state.keys.job(&id))
                .arg(Field::Control.name())
                .query_async(&mut conn)
                .await
                .ctx("reading job control")
        }
        .await;
        if let Ok(c) = &control {
            let c = c.as_deref().and_then(JobControl::parse);
            ctl.cancel.store(c == Some(JobControl::Cancel), Ordering::SeqCst);
            ctl.pause.store(c == Some(JobControl::Pause), Ordering::SeqCst);
        }
        let progress = ctl.progress.lock().expect("ctl lock").clone();
        let paused = ctl.paused_reason.lock().expect("ctl lock").clone();
        let mut fields = vec![(Field::HeartbeatAt, crate::time::now_ms().to_string())];
        if let Some(p) = &progress {
            let status = match (p.phase, &paused) {
                (_, Some(_)) => JobStatus::Paused,
                (WarmPhase::Cutover | WarmPhase::Cleanup | WarmPhase::Done, _) => JobStatus::Swapping,
                _ => JobStatus::Warming,
            };
            let percent =
                if p.rows_total == 0 { 0.0 } else { (p.rows_done as f64 * 100.0 / p.rows_total as f64).min(99.0) };
            let seconds = eta.update(started.elapsed().as_secs_f64(), p, paused.is_some());
            fields.extend([
                (Field::Status, status.as_str().to_string()),
                (Field::Phase, p.phase.as_str().to_string()),
                (Field::RowsProcessed, p.rows_done.to_string()),
                (Field::RowsTotal, p.rows_total.to_string()),
                (Field::EntriesCached, p.entries.to_string()),
                (Field::Bytes, p.bytes.to_string()),
                (Field::Progress, format!("{percent:.1}")),
                (Field::EtaSeconds, seconds.map(|s| s.to_string()).unwrap_or_default()),
                (Field::PausedReason, paused.clone().unwrap_or_default()),
            ]);
        } else if let Some(reason) = &paused {
            fields.extend([
                (Field::Status, JobStatus::Paused.as_str().to_string()),
                (Field::PausedReason, reason.clone()),
            ]);
        }
        if let Err(e) = store::set_fields(&state, &id, &fields).await {
            tracing::debug!(job = %id, error = %e.message, "progress not published");
        }
        if ctl.done.load(Ordering::SeqCst) {
            return;
        }
        tokio::time::sleep(TICK).await;
    }
}

/// Seconds left from an exponentially smoothed throughput; `None` until a second of reading
/// and a first measurable rate, and while paused.
#[derive(Default)]
struct Eta {
    last: Option<(f64, u64)>,
    rate: Option<f64>,
}

impl Eta {
    fn update(&mut self, now: f64, p: &WarmProgress, paused: bool) -> Option<u64> {
        if p.phase != WarmPhase::Reading || paused {
            self.last = None;
            return None;
        }
        if let Some((t, rows)) = self.last {
            let dt = now - t;
            if dt < 0.2 {
                return self.seconds(p);
            }
            let sample = (p.rows_done.saturating_sub(rows)) as f64 / dt;
            self.rate = Some(match self.rate {
                None => sample,
                Some(r) => 0.3 * sample + 0.7 * r,
            });
        }
        self.last = Some((now, p.rows_done));
        if now < 1.0 { None } else { self.seconds(p) }
    }

    fn seconds(&self, p: &WarmProgress) -> Option<u64> {
        let rate = self.rate.filter(|r| *r > 0.0)?;
        Some((p.rows_total.saturating_sub(p.rows_done) as f64 / rate).ceil() as u64)
    }
}

/// Fails jobs whose worker stopped heartbeating, frees their lock and removes their shadows.
pub async fn recover_lost(state: &AppState) -> Result<u64, AppError> {
    let stale_before = crate::time::now_ms() - state.config.worker_lost_after.as_millis() as i64;
    let mut recovered = 0;
    store::forget_vanished(state).await?;
    for record in store::active(state).await? {
        let job = &record.job;
        if job.status == JobStatus::Queued || record.heartbeat_at >= stale_before {
            continue;
        }
        let worker = job.worker.clone().unwrap_or_else(|| "an unknown instance".into());
        let fields = vec![
            (Field::Error, format!("worker lost: {worker} stopped reporting; the live cache is unchanged")),
            (Field::Phase, WarmPhase::Done.as_str().to_string()),
            (Field::PausedReason, String::new()),
        ];
        if !store::finish(
            state,
            &job.job_id,
            job.datasource_id,
            JobStatus::Failed,
            &fields,
            FinishIf::StaleBefore(stale_before),
        )
        .await?
        {
            continue;
        }
        recovered += 1;
        tracing::warn!(job = %job.job_id, source = job.datasource_id, %worker, "worker lost: job failed, lock and shadows released");
        if let Some(token) = &record.lock_token {
            crate::cache::lock::release_if_owner(&state.redis, &state.keys, job.datasource_id, token).await?;
        }
        if let Some(run) = &record.run_id {
            crate::cache::warm::discard_run(state, job.datasource_id, run).await?;
        }
    }
    Ok(recovered)
}
