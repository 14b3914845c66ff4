//! Server-side browser sessions in Redis, created by a hand-off. The cookie holds 256 random bits;
//! Redis holds only their SHA-256, so reading Redis does not let anyone sign in. A session ends
//! when idle too long (the key's TTL) or at its absolute expiry, whichever comes first.

use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{AuthMethod, Principal};
use crate::error::AppError;
use crate::model::Permission;
use crate::model::auth::SessionSummary;
use crate::redis_conn::redis_error;
use crate::state::AppState;

/// The session cookie's name: `__Host-` (only this host, path `/`, Secure) at the root, and
/// `__Secure-` under a base path, so no sibling subdomain can plant one.
pub fn cookie_name(state: &AppState) -> &'static str {
    if state.config.base_path.is_empty() { "__Host-hearth_session" } else { "__Secure-hearth_session" }
}

/// How often at most a session's "last seen" is rewritten (every request renews its idle TTL).
const LAST_SEEN_EVERY_MS: i64 = 60_000;

/// At most this many sessions are listed.
const LIST_CAP: isize = 500;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    user: String,
    #[serde(default)]
    name: Option<String>,
    permissions: Vec<Permission>,
    created_ms: i64,
    expires_ms: i64,
    last_seen_ms: i64,
    embed: bool,
    #[serde(default)]
    client: Option<String>,
}

pub fn sha256_hex(value: &str) -> String {
    Sha256::digest(value.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn is_digest(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// A new session for `who`; returns the cookie value.
pub async fn create(
    state: &AppState,
    who: &Principal,
    embed: bool,
    client: Option<String>,
) -> Result<String, AppError> {
    let value = super::guard::random_token(32);
    let digest = sha256_hex(&value);
    let auth = &state.config.auth;
    let now = crate::time::now_ms();
    let record = Record {
        user: who.id.clone(),
        name: who.name.clone(),
        permissions: who.permissions.iter().copied().collect(),
        created_ms: now,
        expires_ms: now + auth.session_max_secs as i64 * 1000,
        last_seen_ms: now,
        embed,
        client,
    };
    let json = serde_json::to_string(&record).map_err(|e| AppError::internal(format!("session record: {e}")))?;
    let mut conn = state.redis.conn().await?;
    // One slot (`{auth}`): the record and its listing entry appear together.
    let _: () = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg(state.keys.session(&digest))
        .arg(json)
        .arg("PX")
        .arg(auth.session_idle_secs * 1000)
        .ignore()
        .zadd(state.keys.sessions(), &digest, record.expires_ms)
        .ignore()
        .zrembyscore(state.keys.sessions(), "-inf", now)
        .ignore()
        // The listing outlives each of its entries and no more: it never stays behind forever.
        .pexpire(state.keys.sessions(), (auth.session_max_secs * 1000) as i64)
        .ignore()
        .query_async(&mut conn)
        .await
        .map_err(|e| redis_error(e, "creating a session"))?;
    Ok(value)
}

/// The principal of a session cookie, or `None` when it has ended (idle, expired, revoked or
/// never existed). Renews the idle timeout.
pub async fn resume(state: &AppState, cookie_value: &str) -> Result<Option<Principal>, AppError> {
    if cookie_value.len() != 64 || !cookie_value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let digest = sha256_hex(cookie_value);
    let key = state.keys.session(&digest);
    let mut conn = state.redis.conn().await?;
    let json: Option<String> = conn.get(&key).await.map_err(|e| redis_error(e, "reading a session"))?;
    let Some(mut record) = json.and_then(|j| serde_json::from_str::<Record>(&j).ok()) else {
        return Ok(None);
    };
    let now = crate::time::now_ms();
    if record.expires_ms <= now {
        delete(state, &digest).await?;
        return Ok(None);
    }
    let ttl_ms = (state.config.auth.session_idle_secs as i64 * 1000).min(record.expires_ms - now);
    if now - record.last_seen_ms >= LAST_SEEN_EVERY_MS {
        record.last_seen_ms = now;
        let json = serde_json::to_string(&record).map_err(|e| AppError::internal(format!("session record: {e}")))?;
        // XX: a session revoked a moment ago stays revoked.
        let _: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(json)
            .arg("PX")
            .arg(ttl_ms)
            .arg("XX")
            .query_async(&mut conn)
            .await
            .map_err(|e| redis_error(e, "renewing a session"))?;
    } else {
        let _: bool = conn.pexpire(&key, ttl_ms).await.map_err(|e| redis_error(e, "renewing a session"))?;
    }
    Ok(Some(Principal {
        id: record.user,
        name: record.name,
        permissions: record.permissions.into_iter().collect(),
        method: AuthMethod::Session,
        session: Some(digest),
        embed: record.embed,
        request: Default::default(),
    }))
}

/// Ends one session; true when it existed.
pub async fn delete(state: &AppState, digest: &str) -> Result<bool, AppError> {
    let mut conn = state.redis.conn().await?;
    let (deleted, _): (u32, u32) = redis::pipe()
        .atomic()
        .del(state.keys.session(digest))
        .zrem(state.keys.sessions(), digest)
        .query_async(&mut conn)
        .await
        .map_err(|e| redis_error(e, "ending a session"))?;
    Ok(deleted > 0)
}

/// Revokes a session by its id (the digest the list shows); 404 when there is none.
pub async fn revoke(state: &AppState, id: &str) -> Result<(), AppError> {
    if !is_digest(id) {
        return Err(AppError::validation("a session id is 64 lowercase hex characters"));
    }
    if delete(state, id).await? {
        Ok(())
    } else {
        Err(AppError::not_found("no such session (it may have ended already)"))
    }
}

/// [`revoke`] for a signed-in caller, audited.
pub async fn revoke_as(state: &AppState, id: &str, who: &Principal) -> Result<(), AppError> {
    use super::audit::{Act, Done, audited};
    let act = Act::new(
        crate::model::audit::AuditAction::SessionRevoked,
        format!("session {}", id.chars().take(12).collect::<String>()),
    );
    audited(state, who, act, revoke(state, id), |()| Done::detail("revoked")).await
}

/// Sessions still alive (the 500 ending last), newest first. Entries whose record has idled out are dropped from the
/// listing as they are found.
pub async fn list(state: &AppState, current: Option<&str>) -> Result<Vec<SessionSummary>, AppError> {
    let mut conn = state.redis.conn().await?;
    let now = crate::time::now_ms();
    let digests: Vec<String> = conn
        .zrevrangebyscore_limit(state.keys.sessions(), "+inf", now, 0, LIST_CAP)
        .await
        .map_err(|e| redis_error(e, "listing sessions"))?;
    if digests.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = digests.iter().map(|d| state.keys.session(d)).collect();
    let records: Vec<Option<String>> =
        redis::cmd("MGET").arg(&keys).query_async(&mut conn).await.map_err(|e| redis_error(e, "listing sessions"))?;
    let mut gone = Vec::new();
    let mut out = Vec::new();
    for (digest, json) in digests.into_iter().zip(records) {
        match json.and_then(|j| serde_json::from_str::<Record>(&j).ok()) {
            Some(r) => out.push(SessionSummary {
                current: current == Some(digest.as_str()),
                id: digest,
                user: r.user,
                name: r.name,
                can_write: r.permissions.contains(&Permission::Write),
                created_at: crate::time::iso_from_ms(r.created_ms),
                last_seen_at: crate::time::iso_from_ms(r.last_seen_ms),
                expires_at: crate::time::iso_from_ms(r.expires_ms),
                embed: r.embed,
                client: r.client,
            }),
            None => gone.push(digest),
        }
    }
    if !gone.is_empty() {
        let _: () = conn.zrem(state.keys.sessions(), gone).await.map_err(|e| redis_error(e, "listing sessions"))?;
    }
    out.sort_by(|a, b| b.created_at.cmp(&a.created_at));
    Ok(out)
}

/// Marks a hand-off token's `jti` used until `exp` (plus leeway); false when it already was.
pub async fn claim_jti(state: &AppState, jti: &str, exp: i64) -> Result<bool, AppError> {
    let ttl = (exp - chrono::Utc::now().timestamp()).max(0) as u64 + state.config.auth.leeway_secs + 1;
    let mut conn = state.redis.conn().await?;
    let set: Option<String> = redis::cmd("SET")
        .arg(state.keys.handoff_jti(&sha256_hex(jti)))
        .arg("1")
        .arg("NX")
        .arg("EX")
        .arg(ttl)
        .query_async(&mut conn)
        .await
        .map_err(|e| redis_error(e, "recording a hand-off"))?;
    Ok(set.is_some())
}
