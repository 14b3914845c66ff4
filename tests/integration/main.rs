//! The integration tests, in one binary: a test binary links all of Leptos, axum, sqlx and redis,
//! so one binary instead of nine saves minutes of linking and gigabytes of disk per run. Each test
//! still isolates itself (its own key prefix, source ids, schema or private Redis).
//! `tests/source_streaming.rs` stays apart: it measures its own process's memory.

#[path = "../common/mod.rs"]
mod common;

mod audit;
mod cache_cluster;
mod cache_layout;
mod cache_ops;
mod cache_warm;
mod delivery;
mod details;
mod faults;
mod foundation;
mod fuzz;
mod incremental;
mod job_history;
mod jobs;
mod metrics;
mod openapi;
mod rate_limits;
mod redis_lane;
mod redis_tools;
mod schedule_edit;
mod security;
mod sign_in;
mod sources;
