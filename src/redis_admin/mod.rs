//! The general Redis tool behind the Redis tab: service functions that REST handlers and server
//! functions both call. Everything here stays inside the configured key prefix, and inside the
//! tab's namespaces there ([`lane`]).

pub mod browse;
pub mod inspect;
pub mod lane;
pub mod overview;
pub mod patterns;
pub mod purge;
pub mod ttl;
