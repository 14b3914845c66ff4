//! Per-entry content digests (xxh3, stable across Rust releases) and the choice each warm makes
//! from them: incremental (write and switch only what changed against the live generation's
//! digests) or full, with the reason. The digests live in `Keys::digests`, a HASH written by the
//! cutover in the same atomic step as the entries it describes.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use super::keys::Keys;
use super::meta::Meta;
use crate::error::AppError;
use crate::redis_conn::RedisResultExt;
use crate::state::AppState;

/// Written as the hash's `#format`: a change of hash or value layout makes the next warm full.
pub const FORMAT: &str = "xxh3-64/1";
/// Hash field naming the generation the digests describe (entry names start with `cache:`).
pub const GENERATION_FIELD: &str = "#generation";
pub const FORMAT_FIELD: &str = "#format";

/// The stable 64-bit hash of `s`.
pub fn hash(s: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(s.as_bytes())
}

/// An entry's dimension values: what its five index set names are made of.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EntryDims(pub String, pub String, pub Option<String>, pub String);

impl EntryDims {
    /// The index sets holding the entry: master, base, practice, provider, full.
    pub fn index_names(&self, ds: i64) -> [String; 5] {
        index_names(ds, &self.0, &self.1, self.2.as_deref(), &self.3)
    }
}

pub fn index_names(ds: i64, measure: &str, practice: &str, provider: Option<&str>, period: &str) -> [String; 5] {
    [
        Keys::master_name(ds),
        Keys::base_name(ds, measure, period),
        Keys::practice_name(ds, measure, practice, period),
        Keys::provider_name(ds, measure, period, provider),
        Keys::full_name(ds, measure, practice, provider, period),
    ]
}

/// The stored value of one entry: its digest in hex, `|`, its dimension values as JSON (so a
/// removed entry's index sets can be named without splitting its key, which SPEC forbids).
pub fn encode(digest: u64, measure: &str, practice: &str, provider: Option<&str>, period: &str) -> String {
    let dims = serde_json::to_string(&(measure, practice, provider, period)).unwrap_or_default();
    format!("{digest:016x}|{dims}")
}

/// A live entry as its stored digest describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveEntry {
    pub digest: u64,
    pub dims: EntryDims,
}

pub fn decode(value: &str) -> Option<LiveEntry> {
    let digest = u64::from_str_radix(value.get(..16)?, 16).ok()?;
    let dims = serde_json::from_str(value.get(17..)?).ok()?;
    Some(LiveEntry { digest, dims })
}

/// What a warm will do.
pub enum Plan {
    /// Why the warm rewrites everything.
    Full(String),
    Incremental(Base),
    /// Nothing of the source is live (no metadata, generation, index list or master index) and
    /// the cutover will be a transaction: the entries are written under their live names, which
    /// no reader reaches before the index sets exist, and only the index sets switch atomically.
    Cold,
}

/// The live generation an incremental warm compares against.
pub struct Base {
    pub generation: String,
    /// Entry name → its digest; the warm removes every name it sees, what is left was removed.
    pub live: HashMap<String, LiveEntry>,
    /// Names of the live index sets.
    pub indexes: HashSet<String>,
}

/// Metadata, generation marker, the digests' generation and format, index list present, entries.
type LiveControl = (Option<String>, Option<String>, (Option<String>, Option<String>), bool, u64);

/// Decides between an incremental and a full warm of `ds` (called holding the lock, so the live
/// generation can only change by an invalidation, which the cutover then detects).
pub async fn plan(state: &AppState, ds: i64, full_requested: bool) -> Result<Plan, AppError> {
    if full_requested {
        return Ok(Plan::Full("requested (full: true)".into()));
    }
    let keys = &state.keys;
    let mut conn = state.redis.bulk().await?;
    let (meta, generation, (digest_gen, format), has_list, live_count): LiveControl = redis::pipe()
        .cmd("GET")
        .arg(keys.meta(ds))
        .cmd("GET")
        .arg(keys.generation(ds))
        .cmd("HMGET")
        .arg(keys.digests(ds))
        .arg(GENERATION_FIELD)
        .arg(FORMAT_FIELD)
        .cmd("EXISTS")
        .arg(keys.index_list(ds))
        .cmd("SCARD")
        .arg(keys.master(ds))
        .query_async(&mut conn)
        .await
        .ctx("reading the live generation")?;
    let Some(meta) = Meta::parse(meta.as_deref()) else {
        if generation.is_none() && !has_list && live_count == 0 && !super::cutover::uses_script(state, ds).await? {
            return Ok(Plan::Cold);
        }
        return Ok(Plan::Full("nothing of the source is live (first warm)".into()));
    };
    let Some(generation) = generation else {
        return Ok(Plan::Full(
            "the live data has no Hearth generation (another warmer wrote it, or it was invalidated)".into(),
        ));
    };
    if meta.run_id.as_deref() != Some(generation.as_str()) {
        return Ok(Plan::Full("another warmer rewrote the live data since Hearth's last warm".into()));
    }
    if !has_list {
        return Ok(Plan::Full("the live layout has no index list".into()));
    }
    match (digest_gen, format) {
        (None, _) => return Ok(Plan::Full("no digests of the live generation".into())),
        (Some(g), _) if g != generation => return Ok(Plan::Full("the digests describe another generation".into())),
        (_, f) if f.as_deref() != Some(FORMAT) => return Ok(Plan::Full("the digest format changed".into())),
        _ => {}
    }
    if super::cutover::uses_script(state, ds).await? {
        // The diff switch is a transaction; only the full copy has a script form.
        return Ok(Plan::Full("the cutover runs as a script (HEARTH_CUTOVER, or Redis may evict keys)".into()));
    }
    let live = load(&mut conn, &keys.digests(ds)).await?;
    let Some(live) = live else {
        return Ok(Plan::Full("the digests of the live generation are unreadable".into()));
    };
    if live.len() as u64 != live_count {
        return Ok(Plan::Full(format!("the digests list {} entries, the live master index {live_count}", live.len())));
    }
    let indexes = super::scan::set_members(&mut conn, &keys.index_list(ds)).await?.into_iter().collect();
    Ok(Plan::Incremental(Base { generation, live, indexes }))
}

/// Every entry of the digest hash; `None` if one is unreadable.
async fn load(conn: &mut crate::redis_conn::Conn, key: &str) -> Result<Option<HashMap<String, LiveEntry>>, AppError> {
    let (mut cursor, mut out) = (0u64, HashMap::new());
    loop {
        let (next, pairs): (u64, Vec<(String, String)>) = redis::cmd("HSCAN")
            .arg(key)
            .arg(cursor)
            .arg("COUNT")
            .arg(1000)
            .query_async(conn)
            .await
            .ctx("reading the live digests")?;
        for (name, value) in pairs {
            if name.starts_with('#') {
                continue;
            }
            let Some(entry) = decode(&value) else { return Ok(None) };
            out.insert(name, entry);
        }
        if next == 0 {
            return Ok(Some(out));
        }
        cursor = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_values_round_trip_with_a_null_provider_and_colons() {
        let v = encode(hash("[1]"), "Charges: by Provider", "p:1", None, "Monthly");
        let e = decode(&v).expect("decodes");
        assert_eq!(e.digest, hash("[1]"));
        assert_eq!(e.dims, EntryDims("Charges: by Provider".into(), "p:1".into(), None, "Monthly".into()));
        assert_eq!(e.dims.index_names(3)[4], Keys::full_name(3, "Charges: by Provider", "p:1", None, "Monthly"));
    }

    #[test]
    fn the_hash_is_stable_across_builds() {
        // xxh3-64 of "hearth": fixed by the algorithm, not by the Rust release.
        assert_eq!(hash("hearth"), xxhash_rust::xxh3::xxh3_64(b"hearth"));
        assert_ne!(hash("[1]"), hash("[2]"));
        assert!(decode("not a digest").is_none());
    }
}
