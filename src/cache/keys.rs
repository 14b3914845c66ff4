//! The only place a Redis key is spelled (SPEC §1). `Keys` applies the configured prefix to key
//! arguments and SCAN patterns and strips it from SCAN results. Index sets hold *unprefixed*
//! data-key names, so the `*_name` functions return those and the rest return prefixed keys.
//! Every key of source N carries the hash tag `{ds:N}`, so one source lives in one cluster slot.

/// Escapes glob characters of a value used inside a SCAN MATCH pattern.
pub fn glob_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `*` stands for a NULL provider in keys.
pub fn provider_part(provider: Option<&str>) -> &str {
    provider.unwrap_or("*")
}

/// The kinds of a source's keys a walk over the keyspace looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// A live entry: `cache:{ds:N}:…`.
    Data,
    /// A live index set: `idx:{ds:N}:…`.
    Index,
    /// A shadow key of any run of Hearth's (`hearth:{ds:N}:run:…`) or of the command center's
    /// (`shadow:{ds:N}:…`, `shadow_idx:{ds:N}:…`).
    Shadow,
}

/// The start of each kind of a source's (prefixed) key names: [`Keys::source_kinds`].
#[derive(Debug, Clone)]
pub struct SourceKinds([(KeyKind, String); 5]);

impl SourceKinds {
    /// The kind of a (prefixed) key by its name; `None` for any other key.
    pub fn of(&self, key: &str) -> Option<KeyKind> {
        self.0.iter().find(|(_, start)| key.starts_with(start.as_str())).map(|(kind, _)| *kind)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Keys { prefix: prefix.to_string() }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Prefixes an unprefixed name.
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Prefixes a SCAN pattern (the prefix itself holds no glob characters; config checks that).
    pub fn pattern(&self, unprefixed: &str) -> String {
        self.key(unprefixed)
    }

    /// Strips the prefix from a SCAN result; `None` for a key outside the prefix.
    pub fn strip<'a>(&self, key: &'a str) -> Option<&'a str> {
        key.strip_prefix(self.prefix.as_str())
    }

    // ---- SPEC §1 names (unprefixed) ----

    pub fn data_name(ds: i64, measure: &str, practice: &str, provider: Option<&str>, frequency: &str) -> String {
        format!("cache:{{ds:{ds}}}:m:{measure}:p:{practice}:prov:{}:freq:{frequency}", provider_part(provider))
    }

    pub fn master_name(ds: i64) -> String {
        format!("idx:{{ds:{ds}}}:master")
    }

    pub fn base_name(ds: i64, measure: &str, frequency: &str) -> String {
        format!("idx:{{ds:{ds}}}:m:{measure}:freq:{frequency}")
    }

    pub fn practice_name(ds: i64, measure: &str, practice: &str, frequency: &str) -> String {
        format!("idx:{{ds:{ds}}}:m:{measure}:p:{practice}:freq:{frequency}")
    }

    /// Note the order: `prov` after `freq`.
    pub fn provider_name(ds: i64, measure: &str, frequency: &str, provider: Option<&str>) -> String {
        format!("idx:{{ds:{ds}}}:m:{measure}:freq:{frequency}:prov:{}", provider_part(provider))
    }

    pub fn full_name(ds: i64, measure: &str, practice: &str, provider: Option<&str>, frequency: &str) -> String {
        format!("idx:{{ds:{ds}}}:m:{measure}:p:{practice}:prov:{}:freq:{frequency}", provider_part(provider))
    }

    pub fn meta_name(ds: i64) -> String {
        format!("cache:meta:{{ds:{ds}}}:last_warm")
    }

    pub fn lock_name(ds: i64) -> String {
        format!("lock:cache:warm:{{ds:{ds}}}")
    }

    // ---- prefixed SPEC keys ----

    pub fn data(&self, ds: i64, measure: &str, practice: &str, provider: Option<&str>, frequency: &str) -> String {
        self.key(&Self::data_name(ds, measure, practice, provider, frequency))
    }

    pub fn master(&self, ds: i64) -> String {
        self.key(&Self::master_name(ds))
    }

    pub fn base(&self, ds: i64, measure: &str, frequency: &str) -> String {
        self.key(&Self::base_name(ds, measure, frequency))
    }

    pub fn practice(&self, ds: i64, measure: &str, practice: &str, frequency: &str) -> String {
        self.key(&Self::practice_name(ds, measure, practice, frequency))
    }

    pub fn provider(&self, ds: i64, measure: &str, frequency: &str, provider: Option<&str>) -> String {
        self.key(&Self::provider_name(ds, measure, frequency, provider))
    }

    pub fn meta(&self, ds: i64) -> String {
        self.key(&Self::meta_name(ds))
    }

    pub fn lock(&self, ds: i64) -> String {
        self.key(&Self::lock_name(ds))
    }

    /// The unprefixed prefix every data key of a practice index member shares before the provider:
    /// `cache:{ds:N}:m:<m>:p:<p>:prov:`; with [`Self::data_suffix`] it recovers the provider exactly.
    pub fn data_head(ds: i64, measure: &str, practice: &str) -> String {
        format!("cache:{{ds:{ds}}}:m:{measure}:p:{practice}:prov:")
    }

    pub fn data_suffix(frequency: &str) -> String {
        format!(":freq:{frequency}")
    }

    // ---- Hearth's own keys (under `hearth:`) ----

    /// Every shadow key of run `run` is this followed by the live key's unprefixed name.
    pub fn shadow_prefix(&self, ds: i64, run: &str) -> String {
        self.key(&format!("hearth:{{ds:{ds}}}:run:{run}:"))
    }

    /// The shadow namespace of run `run`: where each live name has its shadow.
    pub fn shadow(&self, ds: i64, run: &str) -> Shadow {
        Shadow(self.shadow_prefix(ds, run))
    }

    /// SCAN pattern over every key of source `ds` (live, shadow, Hearth's own), any namespace.
    pub fn source_pattern(&self, ds: i64) -> String {
        self.pattern(&format!("*{{ds:{ds}}}*"))
    }

    /// Scratch key `which` of one cached query (`nonce`), in the source's slot.
    pub fn query_scratch(&self, ds: i64, nonce: u64, which: &str) -> String {
        self.key(&format!("hearth:{{ds:{ds}}}:q:tmp:{nonce:x}:{which}"))
    }

    /// SCAN pattern over the shadows of one run.
    pub fn shadow_pattern(&self, ds: i64, run: &str) -> String {
        self.pattern(&format!("hearth:{{ds:{ds}}}:run:{}:*", glob_escape(run)))
    }

    /// SCAN pattern over every live data key of a source, exactly.
    pub fn data_pattern(&self, ds: i64) -> String {
        self.pattern(&format!("cache:{{ds:{ds}}}:*"))
    }

    /// The unprefixed starts of the names of each kind of a source's keys (see [`KeyKind`]).
    fn kind_starts(ds: i64) -> [(KeyKind, String); 5] {
        [
            (KeyKind::Data, format!("cache:{{ds:{ds}}}:")),
            (KeyKind::Index, format!("idx:{{ds:{ds}}}:")),
            (KeyKind::Shadow, format!("hearth:{{ds:{ds}}}:run:")),
            // The command center's own shadow leftovers.
            (KeyKind::Shadow, format!("shadow:{{ds:{ds}}}:")),
            (KeyKind::Shadow, format!("shadow_idx:{{ds:{ds}}}:")),
        ]
    }

    /// One SCAN pattern over a source's keys of the given kinds, for a walk that sorts its pages
    /// with [`Keys::source_kinds`]: a walk costs Redis the whole keyspace whatever it matches,
    /// so one walk for several kinds costs as much as a walk for one. The pattern also matches
    /// other keys of the source; it leaves out (in Redis) the kinds whose names start with
    /// another letter, so a walk for index sets is not sent the names of the data keys.
    pub fn kinds_pattern(&self, ds: i64, kinds: &[KeyKind]) -> String {
        let mut letters: Vec<char> = Self::kind_starts(ds)
            .iter()
            .filter(|(kind, _)| kinds.contains(kind))
            .filter_map(|(_, start)| start.chars().next())
            .collect();
        letters.sort_unstable();
        letters.dedup();
        let letters: String = letters.into_iter().collect();
        self.pattern(&format!("[{letters}]*{{ds:{ds}}}:*"))
    }

    /// What tells the kinds of source `ds`'s (prefixed) keys apart, spelled once for a walk
    /// that sorts every key of every page.
    pub fn source_kinds(&self, ds: i64) -> SourceKinds {
        SourceKinds(Self::kind_starts(ds).map(|(kind, start)| (kind, self.key(&start))))
    }

    /// ZSET of runs that may have shadows (run id → start, ms).
    pub fn runs(&self, ds: i64) -> String {
        self.key(&format!("hearth:{{ds:{ds}}}:runs"))
    }

    /// Unprefixed name of the SET listing the live generation's index sets.
    pub fn index_list_name(ds: i64) -> String {
        format!("hearth:{{ds:{ds}}}:indexes")
    }

    pub fn index_list(&self, ds: i64) -> String {
        self.key(&Self::index_list_name(ds))
    }

    /// Run id of the last Hearth cutover; tells whether the live layout is Hearth's own.
    pub fn generation(&self, ds: i64) -> String {
        self.key(&format!("hearth:{{ds:{ds}}}:generation"))
    }

    /// HASH of the live generation's per-entry content digests (entry name → digest and the
    /// entry's dimension values), written by the cutover in the same atomic step as the entries.
    pub fn digests_name(ds: i64) -> String {
        format!("hearth:{{ds:{ds}}}:digests")
    }

    pub fn digests(&self, ds: i64) -> String {
        self.key(&Self::digests_name(ds))
    }

    /// Marker in a run's shadow namespace: the run writes its entries under their live names (a
    /// first warm of a cold source, see `cache::warm`), so discarding it removes those too.
    pub fn in_place_name(ds: i64) -> String {
        format!("hearth:{{ds:{ds}}}:in-place")
    }

    /// The live namespace, as a [`Shadow`] whose keys are the live ones: where an in-place run's
    /// entries are.
    pub fn live(&self) -> Shadow {
        Shadow(self.prefix.clone())
    }

    /// When the whole source was last invalidated and when it had been warmed before (so a
    /// cold source still says when it was last warm).
    pub fn invalidated(&self, ds: i64) -> String {
        self.key(&format!("hearth:{{ds:{ds}}}:invalidated"))
    }

    /// JSON of the live generation's dimension values (measures, practices, frequencies).
    pub fn dims_name(ds: i64) -> String {
        format!("hearth:{{ds:{ds}}}:dims")
    }

    pub fn dims(&self, ds: i64) -> String {
        self.key(&Self::dims_name(ds))
    }

    /// Query counters since the last warm (reset by the cutover).
    pub fn query_totals(&self, ds: i64) -> String {
        self.key(&format!("hearth:{{ds:{ds}}}:q:total"))
    }

    /// Query counters of one minute (epoch minute) or one hour (epoch hour).
    pub fn query_minute(&self, ds: i64, minute: i64) -> String {
        self.key(&format!("hearth:{{ds:{ds}}}:q:m:{minute}"))
    }

    pub fn query_hour(&self, ds: i64, hour: i64) -> String {
        self.key(&format!("hearth:{{ds:{ds}}}:q:h:{hour}"))
    }

    /// Scratch SET of a run listing live index sets found by SCAN (first warm over a layout
    /// Hearth did not write).
    pub fn scanned_indexes(&self, ds: i64, run: &str) -> String {
        self.key(&format!("hearth:{{ds:{ds}}}:scan:{run}:idx"))
    }

    /// Scratch SET of a run listing live data keys found by SCAN (orphans included).
    pub fn scanned_data(&self, ds: i64, run: &str) -> String {
        self.key(&format!("hearth:{{ds:{ds}}}:scan:{run}:data"))
    }
}

/// Keys of the jobs layer: one `{jobs}` hash tag, so its scripts touch a single cluster slot.
impl Keys {
    pub fn job(&self, id: &str) -> String {
        self.key(&format!("hearth:{{jobs}}:job:{id}"))
    }

    /// What `job(id)` puts before the id: scripts append ids to it.
    pub fn job_prefix(&self) -> String {
        self.key("hearth:{jobs}:job:")
    }

    pub fn job_queue(&self) -> String {
        self.key("hearth:{jobs}:queue")
    }

    /// Jobs holding a warm slot (warming, paused or swapping).
    pub fn jobs_running(&self) -> String {
        self.key("hearth:{jobs}:running")
    }

    /// Source id → its queued or running job.
    pub fn jobs_by_source(&self) -> String {
        self.key("hearth:{jobs}:by_source")
    }

    /// Finished jobs, scored by completion time.
    pub fn jobs_history(&self) -> String {
        self.key("hearth:{jobs}:history")
    }

    /// Memory-guard settings that override the configuration.
    pub fn warming_settings(&self) -> String {
        self.key("hearth:{jobs}:settings")
    }

    /// Progress of one purge of the Redis tab.
    pub fn purge(&self, id: &str) -> String {
        self.key(&format!("hearth:purge:{id}"))
    }

    /// Keys no path of the Redis tab deletes, expires or persists (pattern or single key):
    /// Hearth's own state (every `hearth:` key but a run's shadow keys: jobs, schedules,
    /// settings, sessions, audit, rate-limit windows, purge records, counters) and warm locks
    /// (the command center's and Hearth's). Changing one by hand could block a source's warms
    /// forever, hand a user a fresh rate-limit budget or revive a used hand-off token.
    pub fn is_protected(&self, key: &str) -> bool {
        self.strip(key).is_some_and(is_protected_name)
    }

    /// The audit trail: one capped stream (SPEC §5).
    pub fn audit_log(&self) -> String {
        self.key("hearth:{audit}:log")
    }

    /// Keys no one reads through the Redis tab: sign-in records (who is signed in, which hand-off
    /// tokens were used).
    pub fn is_secret(&self, key: &str) -> bool {
        self.strip(key).is_some_and(is_secret_name)
    }

    /// Schedule id → schedule JSON.
    pub fn schedules(&self) -> String {
        self.key("hearth:{jobs}:schedules")
    }
}

/// The shadow namespace of one run (prefix included): a live key's shadow is this followed by the
/// live key's unprefixed name, and the cutover's script is given the same prefix to rename by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shadow(String);

impl Shadow {
    /// The prefixed shadow key of the unprefixed live `name`.
    pub fn of(&self, name: &str) -> String {
        format!("{}{name}", self.0)
    }

    pub fn prefix(&self) -> &str {
        &self.0
    }
}

/// [`Keys::is_protected`] of an unprefixed name.
pub fn is_protected_name(name: &str) -> bool {
    name.starts_with("lock:cache:warm:") || (name.starts_with("hearth:") && !is_run_shadow(name))
}

/// [`Keys::is_secret`] of an unprefixed name.
pub fn is_secret_name(name: &str) -> bool {
    name.starts_with("hearth:{auth}:")
}

/// What every run shadow's unprefixed name starts with, up to the source id
/// (`hearth:{ds:N}:run:<run>:<live name>`, see [`Keys::shadow_prefix`]).
const RUN_SHADOW_HEAD: &str = "hearth:{ds:";
/// What follows the source id in a run shadow's name.
const RUN_SHADOW_TAIL: &str = "}:run:";

/// Whether an unprefixed name is a shadow key of a Hearth run (not `…:runs`, the run list).
pub fn is_run_shadow(name: &str) -> bool {
    let Some(rest) = name.strip_prefix(RUN_SHADOW_HEAD) else { return false };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && rest[digits..].starts_with(RUN_SHADOW_TAIL)
}

/// Whether some run shadow's name starts with `head`: what a SCAN pattern whose literal part
/// is `head` could still reach among the shadows.
pub fn may_be_run_shadow(head: &str) -> bool {
    let Some(rest) = head.strip_prefix(RUN_SHADOW_HEAD) else { return RUN_SHADOW_HEAD.starts_with(head) };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let tail = &rest[digits..];
    tail.is_empty() || (digits > 0 && (RUN_SHADOW_TAIL.starts_with(tail) || tail.starts_with(RUN_SHADOW_TAIL)))
}

/// The Redis tab's own lane (unprefixed namespaces; see `redis_admin/lane.rs`). It may change
/// the cache's own keys: SPEC §1's data, metadata and index keys and the command center's old
/// shadow leftovers (Hearth's run shadows, under `hearth:`, are recognised by [`is_run_shadow`]).
pub const TAB_WRITABLE: [&str; 4] = ["cache:", "idx:", "shadow:", "shadow_idx:"];
/// It may read warm locks and Hearth's own state, never change them ([`is_protected_name`]).
pub const TAB_READONLY: [&str; 2] = ["lock:cache:", "hearth:"];
/// How the Redis tab names the run shadows among its namespaces.
pub const RUN_SHADOW_LABEL: &str = "hearth:{ds:N}:run:… (run shadows)";

/// The namespaces the Redis tab counts keys in (unprefixed; most specific first): SPEC §1's
/// kinds and Hearth's own. Anything else is "other".
pub const NAMESPACES: [&str; 5] = ["cache:meta:", "cache:", "idx:", "hearth:", "lock:"];

/// The namespace of an unprefixed key name.
pub fn namespace_of(name: &str) -> &'static str {
    NAMESPACES.iter().find(|ns| name.starts_with(*ns)).copied().unwrap_or("other")
}

/// Keys of sign-in: one `{auth}` hash tag, so a session and the index that lists it share a slot.
/// Sessions are stored under the SHA-256 of their cookie value, never the value itself.
impl Keys {
    /// One browser session (JSON), expiring when it has been idle too long.
    pub fn session(&self, digest: &str) -> String {
        self.key(&format!("hearth:{{auth}}:session:{digest}"))
    }

    /// Every session's digest, scored by its absolute expiry (ms): what the sessions panel lists.
    pub fn sessions(&self) -> String {
        self.key("hearth:{auth}:sessions")
    }

    /// A hand-off token's `jti` once used; kept until the token would have expired anyway.
    pub fn handoff_jti(&self, digest: &str) -> String {
        self.key(&format!("hearth:{{auth}}:jti:{digest}"))
    }
}

/// Keys of the rate limiter: one hash tag per user, so a user's windows share a cluster slot.
impl Keys {
    /// The rolling window (ZSET of reservations scored by time, ms) of `user`'s `class` actions.
    pub fn rate_window(&self, user: &str, class: &str) -> String {
        self.key(&format!("hearth:{{rl:{}}}:{class}", user_tag(user)))
    }
}

/// A user id as it goes into a key: letters, digits and `._@-` as they are, any other byte as
/// `%XX`, so an id holding braces cannot move the hash tag and one holding `*` is no pattern.
fn user_tag(user: &str) -> String {
    let mut out = String::with_capacity(user.len());
    for b in user.bytes() {
        if b.is_ascii_alphanumeric() || b"._@-".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_keys_are_spelled_exactly() {
        let k = Keys::new("");
        assert_eq!(
            k.data(3, "Charges", "114", Some("5"), "Monthly"),
            "cache:{ds:3}:m:Charges:p:114:prov:5:freq:Monthly"
        );
        assert_eq!(k.master(3), "idx:{ds:3}:master");
        assert_eq!(k.base(3, "Charges", "Monthly"), "idx:{ds:3}:m:Charges:freq:Monthly");
        assert_eq!(k.practice(3, "Charges", "114", "Monthly"), "idx:{ds:3}:m:Charges:p:114:freq:Monthly");
        assert_eq!(k.provider(3, "Charges", "Monthly", Some("5")), "idx:{ds:3}:m:Charges:freq:Monthly:prov:5");
        assert_eq!(
            k.key(&Keys::full_name(3, "Charges", "114", Some("5"), "Monthly")),
            "idx:{ds:3}:m:Charges:p:114:prov:5:freq:Monthly"
        );
        assert_eq!(k.meta(3), "cache:meta:{ds:3}:last_warm");
        assert_eq!(k.lock(3), "lock:cache:warm:{ds:3}");
    }

    #[test]
    fn null_providers_spaces_and_colons_stay_raw() {
        let k = Keys::new("");
        assert_eq!(
            k.data(12, "Charges by Provider", "7", None, "Weekly"),
            "cache:{ds:12}:m:Charges by Provider:p:7:prov:*:freq:Weekly"
        );
        assert_eq!(
            k.provider(12, "Cancellations: Same Day", "Weekly", None),
            "idx:{ds:12}:m:Cancellations: Same Day:freq:Weekly:prov:*"
        );
        assert_eq!(Keys::full_name(12, "A:B", "1", None, "Q"), "idx:{ds:12}:m:A:B:p:1:prov:*:freq:Q");
    }

    #[test]
    fn the_prefix_is_applied_to_keys_and_patterns_and_stripped_from_results() {
        let k = Keys::new("bcos:production:");
        assert_eq!(k.meta(1), "bcos:production:cache:meta:{ds:1}:last_warm");
        assert_eq!(k.master(1), "bcos:production:idx:{ds:1}:master");
        assert_eq!(k.data_pattern(1), "bcos:production:cache:{ds:1}:*");
        assert_eq!(k.strip("bcos:production:idx:{ds:1}:master"), Some("idx:{ds:1}:master"));
        assert_eq!(k.strip("bcos:staging:idx:{ds:1}:master"), None);
        // Index members are unprefixed names: prefixing one gives the data key.
        let member = Keys::data_name(1, "Visits", "9", None, "Monthly");
        assert_eq!(k.key(&member), k.data(1, "Visits", "9", None, "Monthly"));
    }

    #[test]
    fn shadows_share_the_source_slot_and_recover_live_names() {
        let k = Keys::new("p:");
        let shadow = format!("{}{}", k.shadow_prefix(4, "r1"), Keys::master_name(4));
        assert_eq!(shadow, "p:hearth:{ds:4}:run:r1:idx:{ds:4}:master");
        // The first hash tag of a shadow key is the source's.
        let tag_start = shadow.find('{').unwrap();
        assert_eq!(&shadow[tag_start..tag_start + 6], "{ds:4}");
        assert_eq!(k.shadow_pattern(4, "r*1"), "p:hearth:{ds:4}:run:r\\*1:*");
    }

    #[test]
    fn one_walk_pattern_covers_the_kinds_asked_for_and_names_sort_them() {
        let k = Keys::new("p:");
        assert_eq!(k.kinds_pattern(7, &[KeyKind::Index, KeyKind::Shadow]), "p:[his]*{ds:7}:*");
        assert_eq!(k.kinds_pattern(7, &[KeyKind::Shadow]), "p:[hs]*{ds:7}:*");
        assert_eq!(k.kinds_pattern(7, &[KeyKind::Data, KeyKind::Index]), "p:[ci]*{ds:7}:*");
        let kinds = k.source_kinds(7);
        let kind = |name: &str| kinds.of(&format!("p:{name}"));
        assert_eq!(kind("cache:{ds:7}:m:V:p:1:prov:*:freq:M"), Some(KeyKind::Data));
        assert_eq!(kind("idx:{ds:7}:master"), Some(KeyKind::Index));
        assert_eq!(kind("hearth:{ds:7}:run:r1:cache:{ds:7}:m:V"), Some(KeyKind::Shadow));
        assert_eq!(kind("shadow:{ds:7}:cache:x"), Some(KeyKind::Shadow));
        assert_eq!(kind("shadow_idx:{ds:7}:idx:x"), Some(KeyKind::Shadow));
        // The source's other keys, another source's and another prefix's are none of them.
        for other in
            ["cache:meta:{ds:7}:last_warm", "hearth:{ds:7}:runs", "hearth:{ds:7}:indexes", "idx:{ds:70}:master"]
        {
            assert_eq!(kind(other), None, "{other}");
        }
        assert_eq!(kinds.of("q:idx:{ds:7}:master"), None);
        assert_eq!(kinds.of("idx:{ds:7}:master"), None);
    }

    #[test]
    fn providers_are_recovered_by_exact_prefix_and_suffix() {
        let member = Keys::data_name(2, "Cash: Transfer", "11", Some("a:prov:b"), "Monthly");
        let head = Keys::data_head(2, "Cash: Transfer", "11");
        let tail = Keys::data_suffix("Monthly");
        let provider = member.strip_prefix(&head).and_then(|r| r.strip_suffix(&tail));
        assert_eq!(provider, Some("a:prov:b"));
    }

    /// Every key name is spelled here: a key-looking string literal anywhere else in the server
    /// code (tests and the browser-only UI aside) fails this test.
    #[test]
    fn no_key_is_spelled_outside_this_file() {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(path);
                }
            }
        }
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        walk(&src, &mut files);
        let looks_like_a_key =
            ["\"cache:", "\"idx:", "\"hearth:", "\"lock:", "\"shadow:", "\"shadow_idx:", "{{ds:", "\"*{{"];
        let mut found = Vec::new();
        for file in files {
            let rel = file.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
            if rel == "cache/keys.rs" || rel.starts_with("ui/") {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            // Unit tests may spell keys to check them.
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            for (n, line) in code.lines().enumerate() {
                let trimmed = line.trim_start();
                if trimmed.starts_with("//") {
                    continue;
                }
                // `"hearth: cannot …"` is a message and `"hearth::audit"` a log target;
                // `"hearth:{jobs}…"` is a key.
                let spelled = looks_like_a_key.iter().any(|k| {
                    line.match_indices(k)
                        .any(|(i, _)| line[i + k.len()..].chars().next().is_some_and(|c| c != ' ' && c != ':'))
                });
                if spelled {
                    found.push(format!("src/{rel}:{}: {}", n + 1, trimmed));
                }
            }
        }
        assert!(found.is_empty(), "key names spelled outside src/cache/keys.rs:\n{}", found.join("\n"));
    }

    #[test]
    fn namespaces_follow_the_spec_layout_most_specific_first() {
        assert_eq!(namespace_of("cache:meta:{ds:1}:last_warm"), "cache:meta:");
        assert_eq!(namespace_of("cache:{ds:1}:m:x"), "cache:");
        assert_eq!(namespace_of("idx:{ds:1}:master"), "idx:");
        assert_eq!(namespace_of("hearth:{jobs}:queue"), "hearth:");
        assert_eq!(namespace_of("hearth:{auth}:sessions"), "hearth:");
        assert_eq!(namespace_of("session:abc"), "other");
    }

    #[test]
    fn scratch_shadow_and_source_keys_are_spelled_here() {
        assert_eq!(Keys::new("p:").query_scratch(3, 255, "u"), "p:hearth:{ds:3}:q:tmp:ff:u");
        assert_eq!(Keys::new("p:").shadow(3, "r").of("idx:{ds:3}:master"), "p:hearth:{ds:3}:run:r:idx:{ds:3}:master");
        assert_eq!(Keys::new("p:").source_pattern(3), "p:*{ds:3}*");
    }

    #[test]
    fn rate_windows_keep_one_user_in_one_slot_and_are_protected() {
        let k = Keys::new("p:");
        assert_eq!(k.rate_window("alice@example.com", "warm"), "p:hearth:{rl:alice@example.com}:warm");
        assert_eq!(k.rate_window("a}b{c*", "ttl"), "p:hearth:{rl:a%7Db%7Bc%2A}:ttl");
        assert!(k.is_protected(&k.rate_window("alice", "purge")));
        assert!(!k.is_secret(&k.rate_window("alice", "purge")));
        assert!(k.is_protected(&k.audit_log()));
    }

    #[test]
    fn hearth_state_and_warm_locks_are_protected_but_run_shadows_are_not() {
        let k = Keys::new("p:");
        for protected in [
            k.lock(1),
            k.job("j1"),
            k.job_queue(),
            k.schedules(),
            k.warming_settings(),
            k.session("d"),
            k.purge("p1"),
            k.runs(1),
            k.dims(1),
            k.key("hearth:{audit}:log"),
        ] {
            assert!(k.is_protected(&protected), "{protected}");
        }
        let shadow = k.shadow(12, "r1").of(&Keys::master_name(12));
        assert!(!k.is_protected(&shadow) && is_run_shadow(k.strip(&shadow).unwrap()));
        assert!(!k.is_protected(&k.master(1)) && !k.is_protected(&k.meta(1)));
        assert!(!k.is_protected("elsewhere:hearth:{jobs}:queue"), "outside the prefix is not ours to judge");
        assert!(!is_run_shadow("hearth:{ds:}:run:x") && !is_run_shadow("hearth:{ds:1}:runs"));
    }

    #[test]
    fn a_pattern_head_may_reach_run_shadows_only_along_their_shape() {
        for head in ["", "hea", "hearth:{ds:", "hearth:{ds:12", "hearth:{ds:12}:r", "hearth:{ds:12}:run:r1:idx:"] {
            assert!(may_be_run_shadow(head), "{head}");
        }
        for head in ["x", "hearth:{jobs}", "hearth:{ds:x", "hearth:{ds:}", "hearth:{ds:12}:runs", "hearth:{ds:1}:q:"] {
            assert!(!may_be_run_shadow(head), "{head}");
        }
    }

    #[test]
    fn glob_characters_are_escaped_in_patterns() {
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}
