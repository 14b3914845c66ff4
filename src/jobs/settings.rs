//! The memory guard's thresholds: HEARTH_MEMORY_* give the defaults; values stored in Redis by
//! an admin override them for every instance at once (raise a ceiling and paused warms resume).

use std::collections::HashMap;

use crate::error::AppError;
use crate::model::jobs::{WarmingSettings, WarmingSettingsInput};
use crate::redis_conn::RedisResultExt;
use crate::state::AppState;

pub async fn get(state: &AppState) -> Result<WarmingSettings, AppError> {
    let mut conn = state.redis.conn().await?;
    let stored: HashMap<String, u64> = redis::cmd("HGETALL")
        .arg(state.keys.warming_settings())
        .query_async(&mut conn)
        .await
        .ctx("reading warming settings")?;
    let cfg = &state.config;
    let info = state.redis.info(&["memory"]).await?;
    Ok(WarmingSettings {
        redis_max_memory: info.num("maxmemory"),
        memory_ceiling_bytes: stored.get("memoryCeilingBytes").copied().or(cfg.memory_ceiling_bytes),
        memory_pause_percent: stored.get("memoryPausePercent").map(|v| *v as u8).unwrap_or(cfg.memory_pause_percent),
        memory_resume_percent: stored.get("memoryResumePercent").map(|v| *v as u8).unwrap_or(cfg.memory_resume_percent),
    })
}

/// [`update`] for a signed-in caller, audited.
pub async fn update_as(
    state: &AppState,
    input: &WarmingSettingsInput,
    who: &crate::auth::Principal,
) -> Result<WarmingSettings, AppError> {
    use crate::auth::audit::{Act, Done, audited};
    let act = Act::new(crate::model::audit::AuditAction::CacheSettingsUpdated, "memory guard");
    audited(state, who, act, update(state, input, &who.id), |s| {
        Done::detail(format!(
            "pause at {} %, resume at {} %, ceiling {}",
            s.memory_pause_percent,
            s.memory_resume_percent,
            s.memory_ceiling_bytes.map(|b| format!("{b} bytes")).unwrap_or_else(|| "none".into())
        ))
    })
    .await
}

pub async fn update(state: &AppState, input: &WarmingSettingsInput, who: &str) -> Result<WarmingSettings, AppError> {
    let current = get(state).await?;
    let pause = input.memory_pause_percent.unwrap_or(current.memory_pause_percent);
    let resume = input.memory_resume_percent.unwrap_or(current.memory_resume_percent);
    if !(10..=99).contains(&pause) {
        return Err(AppError::validation("memoryPausePercent must be between 10 and 99"));
    }
    if resume < 5 || resume >= pause {
        return Err(AppError::validation("memoryResumePercent must be at least 5 and below memoryPausePercent"));
    }
    if let Some(c) = input.memory_ceiling_bytes
        && c != 0
        && c < 1 << 20
    {
        return Err(AppError::validation("memoryCeilingBytes must be at least 1 MiB (or 0 to clear it)"));
    }
    let key = state.keys.warming_settings();
    let mut pipe = redis::pipe();
    match input.memory_ceiling_bytes {
        Some(0) => {
            pipe.cmd("HDEL").arg(&key).arg("memoryCeilingBytes").ignore();
        }
        Some(c) => {
            pipe.cmd("HSET").arg(&key).arg("memoryCeilingBytes").arg(c).ignore();
        }
        None => {}
    }
    pipe.cmd("HSET").arg(&key).arg("memoryPausePercent").arg(pause).arg("memoryResumePercent").arg(resume).ignore();
    let mut conn = state.redis.conn().await?;
    let _: () = pipe.query_async(&mut conn).await.ctx("saving warming settings")?;
    tracing::info!(action = "cache_warming_settings_updated", who, ?input, "memory guard settings changed");
    get(state).await
}
