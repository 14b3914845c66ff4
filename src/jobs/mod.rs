//! Warming jobs: *when* and *how many at once* (the cache engine knows *what*). Jobs, the queue,
//! schedules and progress live in Redis, so any number of Hearth instances agree on them and
//! survive the instance that started a job.

pub mod history;
pub mod record;
pub mod schedules;
pub mod service;
pub mod settings;
pub mod store;
pub mod worker;
