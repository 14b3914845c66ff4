//! Server functions: the browser's typed calls into the same service layer REST uses. All live
//! under `/rpc/…` so they never collide with `/api/…`; polled reads are GET, mutations POST.

pub mod audit;
pub mod auth;
pub mod cache;
pub mod codec;
pub mod jobs;
pub mod limits;
pub mod redis;
pub mod session;
pub mod sources;
