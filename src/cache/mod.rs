//! The analytics cache engine (SPEC §1–§4). `cache/` knows *what* to write: keys, the shadow warm
//! and its atomic cutover, cached queries with their counters, invalidation, statistics and
//! health. When and how many at once is the jobs layer's business.

pub mod health;

#[cfg(feature = "ssr")]
pub mod counters;
#[cfg(feature = "ssr")]
pub mod cutover;
#[cfg(feature = "ssr")]
pub mod digest;
#[cfg(feature = "ssr")]
pub mod invalidate;
#[cfg(feature = "ssr")]
pub mod keys;
#[cfg(feature = "ssr")]
pub mod lock;
#[cfg(feature = "ssr")]
pub mod meta;
#[cfg(feature = "ssr")]
pub mod query;
#[cfg(feature = "ssr")]
pub mod results;
#[cfg(feature = "ssr")]
pub mod scan;
#[cfg(feature = "ssr")]
pub mod stats;
#[cfg(feature = "ssr")]
pub mod warm;
