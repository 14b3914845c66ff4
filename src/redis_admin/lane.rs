//! The Redis tab's lane: the one rule for which keys the tab may list, read and change, asked by
//! every path (browse, inspect, single-key TTL and delete, purge and TTL by pattern, previews
//! included). Refusals are 403 and name the setting that would allow more.

use super::patterns::literal_head;
use crate::cache::keys::{self, Keys, TAB_READONLY, TAB_WRITABLE};
use crate::config::RedisTabConfig;
use crate::error::AppError;
use crate::state::AppState;

const WRITABLE_VAR: &str = "HEARTH_REDIS_TAB_NAMESPACES";
const READONLY_VAR: &str = "HEARTH_REDIS_TAB_READONLY_NAMESPACES";
const UNPREFIXED_VAR: &str = "HEARTH_REDIS_TAB_ALLOW_UNPREFIXED_WRITES";

/// What the Redis tab may do with one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// List, read and change.
    Write,
    /// List and read: a read-only namespace.
    Read,
    /// List and read, never change: Hearth's own state, a warm lock.
    Protected,
    /// List its name only: a sign-in record.
    Secret,
    /// Not at all: outside the tab's namespaces, or outside the prefix.
    Outside,
}

impl Access {
    pub fn listed(self) -> bool {
        self != Access::Outside
    }
}

/// One page of a walk sorted for a change: the keys to change and how many were left alone.
#[derive(Debug, Default)]
pub struct Sorted {
    /// Prefixed keys the tab may change.
    pub changeable: Vec<String>,
    /// Hearth's own state, warm locks, secrets and read-only namespaces.
    pub protected: u64,
    /// Outside the tab's namespaces.
    pub outside: u64,
}

/// The tab's namespaces (unprefixed): the built-in ones (`cache::keys::TAB_*`) with the
/// operator's on top. A namespace the operator lists moves out of the other built-in list, so
/// `lock:cache:` can be made writable and `cache:` read-only. The longest namespace a key
/// starts with decides; Hearth's own state and warm locks are never writable, and a run's
/// shadow keys (under `hearth:`) always are.
pub struct Lane<'a> {
    keys: &'a Keys,
    writable: Vec<&'a str>,
    readonly: Vec<&'a str>,
    allow_unprefixed_writes: bool,
}

impl<'a> Lane<'a> {
    pub fn of(state: &'a AppState) -> Lane<'a> {
        Lane::new(&state.keys, &state.config.redis_tab)
    }

    pub fn new(keys: &'a Keys, tab: &'a RedisTabConfig) -> Lane<'a> {
        let listed = |list: &[String], ns: &str| list.iter().any(|l| l == ns);
        let writable = TAB_WRITABLE
            .into_iter()
            .filter(|ns| !listed(&tab.readonly_namespaces, ns))
            .chain(tab.namespaces.iter().map(String::as_str))
            .collect();
        let readonly = TAB_READONLY
            .into_iter()
            .filter(|ns| !listed(&tab.namespaces, ns))
            .chain(tab.readonly_namespaces.iter().map(String::as_str))
            .collect();
        Lane { keys, writable, readonly, allow_unprefixed_writes: tab.allow_unprefixed_writes }
    }

    /// What the tab may do with the unprefixed `name`.
    pub fn access(&self, name: &str) -> Access {
        if keys::is_secret_name(name) {
            return Access::Secret;
        }
        if keys::is_protected_name(name) {
            return Access::Protected;
        }
        if keys::is_run_shadow(name) {
            return Access::Write;
        }
        let longest = |list: &[&str]| list.iter().filter(|ns| name.starts_with(**ns)).map(|ns| ns.len()).max();
        match (longest(&self.writable), longest(&self.readonly)) {
            (Some(w), Some(r)) if r > w => Access::Read,
            (Some(_), _) => Access::Write,
            (None, Some(_)) => Access::Read,
            (None, None) => Access::Outside,
        }
    }

    /// What the tab may do with the prefixed `key` SCAN returned.
    pub fn access_of_key(&self, key: &str) -> Access {
        self.keys.strip(key).map_or(Access::Outside, |name| self.access(name))
    }

    /// The keys of a page the tab may list, and how many it hid.
    pub fn listable(&self, page: Vec<String>) -> (Vec<String>, u64) {
        let before = page.len() as u64;
        let shown: Vec<String> = page.into_iter().filter(|k| self.access_of_key(k).listed()).collect();
        let hidden = before - shown.len() as u64;
        (shown, hidden)
    }

    /// A page sorted for a change by pattern.
    pub fn sort(&self, page: Vec<String>) -> Sorted {
        let mut sorted = Sorted::default();
        for key in page {
            match self.access_of_key(&key) {
                Access::Write => sorted.changeable.push(key),
                Access::Outside => sorted.outside += 1,
                Access::Read | Access::Protected | Access::Secret => sorted.protected += 1,
            }
        }
        sorted
    }

    /// The namespaces as an admin reads them in a refusal.
    pub fn describe(&self) -> String {
        let mut writable: Vec<&str> = self.writable.clone();
        writable.push(keys::RUN_SHADOW_LABEL);
        format!("{}; read-only: {}", writable.join(", "), self.readonly.join(", "))
    }

    fn outside(&self, what: String) -> AppError {
        AppError::forbidden(format!(
            "{what} outside the Redis tab's namespaces ({}); set {WRITABLE_VAR} (or {READONLY_VAR} to only read) to allow more",
            self.describe()
        ))
    }

    fn unchangeable(&self, what: String, access: Access) -> AppError {
        AppError::forbidden(match access {
            Access::Read => format!(
                "{what} in a read-only namespace of the Redis tab ({}); add its namespace to {WRITABLE_VAR} to allow changes",
                self.describe()
            ),
            _ => format!(
                "{what} managed by Hearth (its own state: jobs, schedules, settings, sessions, audit, rate limits, purge records; or a warm lock): the Redis tab never deletes, expires or persists it"
            ),
        })
    }

    /// Inspecting one key: inside the lane, and not a sign-in record.
    pub fn check_read(&self, name: &str) -> Result<(), AppError> {
        match self.access(name) {
            Access::Outside => Err(self.outside(format!("`{name}` is"))),
            Access::Secret => {
                Err(AppError::forbidden("sign-in records cannot be inspected; writers see sessions on the Warming tab"))
            }
            _ => Ok(()),
        }
    }

    /// Changing one key (TTL, persist, delete).
    pub fn check_write(&self, name: &str) -> Result<(), AppError> {
        match self.access(name) {
            Access::Write => Ok(()),
            Access::Outside => Err(self.outside(format!("`{name}` is"))),
            other => Err(self.unchangeable(format!("`{name}` is"), other)),
        }
    }

    /// Browsing by `pattern`: refused when it can only match keys outside the lane (what it
    /// does match outside is filtered from the page).
    pub fn check_browse(&self, pattern: &str) -> Result<(), AppError> {
        let (head, literal) = literal_head(pattern);
        let reachable = if literal {
            self.access(&head).listed()
        } else {
            keys::may_be_run_shadow(&head) || self.writable.iter().chain(&self.readonly).any(|ns| overlaps(&head, ns))
        };
        if reachable { Ok(()) } else { Err(self.outside(format!("`{pattern}` only matches keys"))) }
    }

    /// Purging or changing TTLs by `pattern` (its preview too): refused without a key prefix
    /// unless allowed, and when it can only match keys the tab may not change.
    pub fn check_change(&self, pattern: &str) -> Result<(), AppError> {
        if self.keys.prefix().is_empty() && !self.allow_unprefixed_writes {
            return Err(AppError::forbidden(format!(
                "HEARTH_KEY_PREFIX is empty, so a pattern reaches the whole database: purge and TTL by pattern are off; set HEARTH_KEY_PREFIX, or {UNPREFIXED_VAR}=true to allow them"
            )));
        }
        let (head, literal) = literal_head(pattern);
        if literal {
            return match self.access(&head) {
                Access::Write => Ok(()),
                Access::Outside => Err(self.outside(format!("`{pattern}` only matches keys"))),
                other => Err(self.unchangeable(format!("`{pattern}` only matches a key"), other)),
            };
        }
        if keys::may_be_run_shadow(&head) || self.writable.iter().any(|ns| self.may_write_under(&head, ns)) {
            return Ok(());
        }
        // Refused: say whether it was aiming at keys the tab may read, or at nothing of its own.
        if self.readonly.iter().any(|ns| overlaps(&head, ns)) || keys::is_protected_name(&head) {
            Err(self.unchangeable(format!("`{pattern}` only matches keys"), Access::Read))
        } else {
            Err(self.outside(format!("`{pattern}` only matches keys")))
        }
    }

    /// Whether some key starting with `head` and inside the writable `ns` is writable: not
    /// when a longer read-only namespace, or Hearth's protected state, holds all of them.
    fn may_write_under(&self, head: &str, ns: &str) -> bool {
        if !overlaps(head, ns) {
            return false;
        }
        let common = if head.len() > ns.len() { head } else { ns };
        let shadowed = self.readonly.iter().any(|r| r.len() > ns.len() && common.starts_with(r));
        !shadowed && !keys::is_protected_name(common)
    }
}

/// Whether a key can start with both `head` and `ns`.
fn overlaps(head: &str, ns: &str) -> bool {
    head.starts_with(ns) || ns.starts_with(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tab(writable: &[&str], readonly: &[&str]) -> RedisTabConfig {
        RedisTabConfig {
            namespaces: writable.iter().map(|s| s.to_string()).collect(),
            readonly_namespaces: readonly.iter().map(|s| s.to_string()).collect(),
            allow_unprefixed_writes: false,
        }
    }

    #[test]
    fn the_default_lane_is_the_caches_own_keys() {
        let (k, t) = (Keys::new("p:"), tab(&[], &[]));
        let lane = Lane::new(&k, &t);
        for (name, access) in [
            ("cache:{ds:1}:m:Visits:p:1:prov:*:freq:Monthly", Access::Write),
            ("cache:meta:{ds:1}:last_warm", Access::Write),
            ("idx:{ds:1}:master", Access::Write),
            ("shadow:{ds:1}:x", Access::Write),
            ("shadow_idx:{ds:1}:x", Access::Write),
            ("hearth:{ds:1}:run:r1:idx:{ds:1}:master", Access::Write),
            ("lock:cache:warm:{ds:1}", Access::Protected),
            ("lock:cache:other", Access::Read),
            ("hearth:{jobs}:queue", Access::Protected),
            ("hearth:{audit}:log", Access::Protected),
            ("hearth:{rl:ada}:purge", Access::Protected),
            ("hearth:purge:p1", Access::Protected),
            ("hearth:{ds:1}:runs", Access::Protected),
            ("hearth:{auth}:session:abc", Access::Secret),
            ("session:abc", Access::Outside),
            ("lock:other", Access::Outside),
        ] {
            assert_eq!(lane.access(name), access, "{name}");
        }
        assert_eq!(lane.access_of_key("q:cache:x"), Access::Outside, "outside the prefix");
        assert_eq!(lane.access_of_key("p:cache:x"), Access::Write);
    }

    #[test]
    fn operators_widen_or_narrow_the_lane_and_the_longest_namespace_decides() {
        let k = Keys::new("p:");
        let t = tab(&["reports:", "lock:cache:"], &["cache:meta:", "session:", "idx:"]);
        let lane = Lane::new(&k, &t);
        assert_eq!(lane.access("reports:q1"), Access::Write);
        assert_eq!(lane.access("session:abc"), Access::Read);
        assert_eq!(lane.access("cache:meta:{ds:1}:last_warm"), Access::Read);
        assert_eq!(lane.access("cache:{ds:1}:m:x"), Access::Write);
        assert_eq!(lane.access("idx:{ds:1}:master"), Access::Read, "listed read-only: no longer writable");
        assert_eq!(lane.access("lock:cache:other"), Access::Write);
        assert_eq!(lane.access("lock:cache:warm:{ds:1}"), Access::Protected, "warm locks stay protected");
        assert!(lane.check_change("cache:meta:*").is_err());
        assert!(lane.check_change("cache:*").is_ok());
    }

    #[test]
    fn patterns_that_can_only_match_outside_are_refused_up_front() {
        let (k, t) = (Keys::new("p:"), tab(&[], &[]));
        let lane = Lane::new(&k, &t);
        for ok in ["*", "c*", "cache:{ds:1}:*", "idx:*", "hearth:*", "hearth:{ds:3}:run:*", "lock:*", "*:session:*"] {
            assert!(lane.check_browse(ok).is_ok(), "browse {ok}");
        }
        for refused in ["session:*", "queue:*", "x?", "session:abc"] {
            let e = lane.check_browse(refused).unwrap_err();
            assert_eq!(e.code, crate::error::ErrorCode::Forbidden);
            assert!(e.message.contains(WRITABLE_VAR), "{}", e.message);
        }
        for ok in ["*", "cache:*", "idx:{ds:1}:*", "hearth:{ds:1}:run:*", "hearth:*", "h*", "shadow*"] {
            assert!(lane.check_change(ok).is_ok(), "change {ok}");
        }
        for (refused, says) in [
            ("session:*", "outside"),
            ("lock:cache:*", "read-only"),
            ("lock:cache:warm:{ds:1}", "managed by Hearth"),
            ("hearth:{jobs}:*", "read-only"),
            ("hearth:{auth}:*", "read-only"),
            ("hearth:{ds:1}:q:*", "read-only"),
        ] {
            let e = lane.check_change(refused).unwrap_err();
            assert_eq!(e.code, crate::error::ErrorCode::Forbidden);
            assert!(e.message.contains(says), "{refused}: {}", e.message);
        }
    }

    #[test]
    fn single_keys_are_judged_by_their_namespace() {
        let (k, t) = (Keys::new("p:"), tab(&[], &[]));
        let lane = Lane::new(&k, &t);
        assert!(lane.check_write("cache:{ds:1}:x").is_ok());
        let e = lane.check_write("session:abc").unwrap_err();
        assert!(
            e.message.starts_with("`session:abc` is outside the Redis tab's namespaces (cache:, idx:"),
            "{}",
            e.message
        );
        assert!(e.message.contains("set HEARTH_REDIS_TAB_NAMESPACES"), "{}", e.message);
        assert!(lane.check_write("lock:cache:warm:{ds:1}").unwrap_err().message.contains("managed by Hearth"));
        assert!(lane.check_read("lock:cache:warm:{ds:1}").is_ok());
        assert!(lane.check_read("hearth:{auth}:session:x").unwrap_err().message.contains("sign-in records"));
        assert!(lane.check_read("session:abc").is_err());
    }

    #[test]
    fn without_a_prefix_pattern_writes_need_the_setting() {
        let k = Keys::new("");
        let mut t = tab(&[], &[]);
        let e = Lane::new(&k, &t).check_change("cache:*").unwrap_err();
        assert!(e.message.contains(UNPREFIXED_VAR), "{}", e.message);
        assert!(Lane::new(&k, &t).check_write("cache:x").is_ok(), "single keys are judged by name alone");
        t.allow_unprefixed_writes = true;
        assert!(Lane::new(&k, &t).check_change("cache:*").is_ok());
    }
}
