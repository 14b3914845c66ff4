//! The in-process result cache of the query path: answers keyed by (source, normalized filter)
//! and stamped with the tag of the generation they were read from (the generation marker and a
//! hash of the metadata, read in the same atomic step as the data). A query first reads the
//! current tag (one pipelined round trip) and uses a stored answer only if its tag is that one,
//! so a cutover, an invalidation (which deletes the marker) or another warmer's metadata makes
//! every older answer unreachable at once, in every instance. Bounded in bytes, oldest out first.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::query::CacheQuery;

/// Which generation an answer belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub generation: String,
    pub meta_hash: u64,
}

impl Tag {
    /// The tag of a live generation Hearth wrote; `None` (nothing cacheable) otherwise.
    pub fn of(generation: Option<String>, meta: Option<&str>) -> Option<Tag> {
        let meta = meta.filter(|m| m.len() > 2)?;
        Some(Tag { generation: generation?, meta_hash: super::digest::hash(meta) })
    }
}

/// A stored answer: the matched entries' count and the spliced rows.
#[derive(Debug, Clone)]
pub struct Stored {
    pub entries: usize,
    pub rows_json: Arc<str>,
}

type Key = (i64, String);

struct Inner {
    map: HashMap<Key, (Tag, Stored)>,
    order: VecDeque<Key>,
    bytes: usize,
}

pub struct ResultCache {
    capacity: usize,
    inner: Mutex<Inner>,
    /// Answers served from memory since start.
    hits: AtomicU64,
}

impl ResultCache {
    /// `capacity` bytes of answers; 0 disables the cache.
    pub fn new(capacity: usize) -> Self {
        let inner = Mutex::new(Inner { map: HashMap::new(), order: VecDeque::new(), bytes: 0 });
        ResultCache { capacity, inner, hits: AtomicU64::new(0) }
    }

    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// The filter in a canonical form: practice and provider lists sorted and deduplicated (they
    /// are unions, so order and repeats do not change the answer).
    pub fn key(q: &CacheQuery) -> Key {
        let norm = |v: &[String]| {
            let mut v: Vec<&str> = v.iter().map(String::as_str).collect();
            v.sort_unstable();
            v.dedup();
            v.join("\u{1f}")
        };
        let filter =
            format!("{}\u{1e}{}\u{1e}{}\u{1e}{}", q.measure, q.frequency, norm(&q.practices), norm(&q.providers));
        (q.datasource_id, filter)
    }

    /// The stored answer for `key` if it was read from the generation `tag` names.
    pub fn get(&self, key: &Key, tag: &Tag) -> Option<Stored> {
        let inner = self.inner.lock().expect("result cache lock");
        match inner.map.get(key) {
            Some((t, stored)) if t == tag => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(stored.clone())
            }
            _ => None,
        }
    }

    /// Keeps an answer read from generation `tag`, evicting the oldest answers beyond capacity.
    pub fn put(&self, key: Key, tag: Tag, stored: Stored) {
        let weight = |k: &Key, s: &Stored| s.rows_json.len() + k.1.len() + 64;
        let w = weight(&key, &stored);
        if w > self.capacity / 4 {
            return;
        }
        let mut inner = self.inner.lock().expect("result cache lock");
        if let Some((_, old)) = inner.map.remove(&key) {
            inner.bytes -= weight(&key, &old);
        } else {
            inner.order.push_back(key.clone());
        }
        inner.bytes += w;
        inner.map.insert(key, (tag, stored));
        while inner.bytes > self.capacity {
            let Some(oldest) = inner.order.pop_front() else { break };
            if let Some((_, s)) = inner.map.remove(&oldest) {
                inner.bytes -= weight(&oldest, &s);
            }
        }
    }

    /// Answers served from memory since start.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Bytes of answers held.
    pub fn bytes(&self) -> usize {
        self.inner.lock().expect("result cache lock").bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(practices: &[&str]) -> CacheQuery {
        CacheQuery {
            datasource_id: 1,
            measure: "Charges".into(),
            frequency: "Monthly".into(),
            practices: practices.iter().map(|p| p.to_string()).collect(),
            providers: vec![],
        }
    }

    fn stored(n: usize) -> Stored {
        Stored { entries: 1, rows_json: "x".repeat(n).into() }
    }

    #[test]
    fn an_answer_of_another_generation_is_never_served() {
        let cache = ResultCache::new(1 << 20);
        let (g1, g2) =
            (Tag::of(Some("r1".into()), Some("[{}]")).unwrap(), Tag::of(Some("r2".into()), Some("[{}]")).unwrap());
        cache.put(ResultCache::key(&q(&["2", "1", "1"])), g1.clone(), stored(10));
        assert!(cache.get(&ResultCache::key(&q(&["1", "2"])), &g1).is_some(), "same filter, normalized");
        assert!(cache.get(&ResultCache::key(&q(&["1", "2"])), &g2).is_none(), "another generation");
        let other_meta = Tag::of(Some("r1".into()), Some("[{\"a\":1}]")).unwrap();
        assert!(cache.get(&ResultCache::key(&q(&["1", "2"])), &other_meta).is_none(), "metadata rewritten");
        assert!(Tag::of(None, Some("[{}]")).is_none() && Tag::of(Some("r".into()), Some("[]")).is_none());
    }

    #[test]
    fn the_cache_stays_within_its_bytes() {
        let cache = ResultCache::new(10_000);
        let tag = Tag::of(Some("r".into()), Some("[{}]")).unwrap();
        for i in 0..100 {
            cache.put(ResultCache::key(&q(&[&i.to_string()])), tag.clone(), stored(1000));
        }
        assert!(cache.bytes() <= 10_000, "{} bytes", cache.bytes());
        assert!(cache.get(&ResultCache::key(&q(&["99"])), &tag).is_some(), "the newest stays");
        assert!(cache.get(&ResultCache::key(&q(&["0"])), &tag).is_none(), "the oldest went");
    }
}
