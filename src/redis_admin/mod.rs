//! The general Redis tool behind the Redis tab: service functions that REST handlers and server
//! functions both call. Everything here stays inside the configured key prefix.

pub mod browse;
pub mod inspect;
pub mod overview;
pub mod patterns;
pub mod purge;
pub mod ttl;

/// A 64-bit hash of a key name, to count SCAN results once without keeping the names.
pub fn key_hash(key: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}
