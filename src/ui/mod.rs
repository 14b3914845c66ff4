//! Components per tab, and the pieces they share.

pub mod audit;
pub mod common;
pub mod dashboard;
pub mod redis;
pub mod source;
pub mod warming;
