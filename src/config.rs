//! Every setting Hearth reads, from `HEARTH_*` environment variables with documented defaults,
//! validated once at start so a bad value stops the process with a message naming the variable.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// A bad or missing setting; the message always names the variable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{var}: {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

fn bad(var: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError { var, problem: problem.into() }
}

/// How the cutover makes a shadow copy live (see `cache/cutover/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutoverMethod {
    /// The transaction, unless Redis could evict keys right now; then the script.
    Auto,
    /// WATCH/MULTI/EXEC: native speed.
    Transaction,
    /// One Lua script: slower, immune to evictions between check and switch.
    Script,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMode {
    /// No login; everyone is an admin. Refused unless bound to a loopback address.
    Dev,
    /// Tokens minted by the command center: bearer, its cookie, or a hand-off into a session.
    Jwt(JwtKey),
}

/// What verifies a token's signature: the algorithm and its key, prepared once at start (parsing
/// a PEM per request would put that work on every request's path).
#[derive(Debug, Clone)]
pub struct JwtKey {
    pub algorithm: jsonwebtoken::Algorithm,
    pub key: jsonwebtoken::DecodingKey,
    /// The secret or PEM it was made from: what two keys are compared by.
    source: Vec<u8>,
}

impl PartialEq for JwtKey {
    fn eq(&self, other: &Self) -> bool {
        self.algorithm == other.algorithm && self.source == other.source
    }
}

impl Eq for JwtKey {}

#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub mode: AuthMode,
    pub permissions_claim: String,
    /// Any of these permission names grants read.
    pub read_permissions: Vec<String>,
    /// Any of these permission names grants write.
    pub write_permissions: Vec<String>,
    /// Required in `jwt` mode (checked at start); `None` only in dev mode.
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub leeway_secs: u64,
    /// Longest `exp - iat` accepted from any token.
    pub max_token_lifetime_secs: u64,
    /// Longest `exp - iat` accepted from a hand-off token.
    pub max_handoff_lifetime_secs: u64,
    /// The command center's own cookie, verified like a bearer token (`access-token`).
    pub jwt_cookie: Option<String>,
    /// A session ends after this long without a request…
    pub session_idle_secs: u64,
    /// …and after this long in any case.
    pub session_max_secs: u64,
    /// Cookies for a cross-site iframe (`SameSite=None; Secure; Partitioned`).
    pub embed: bool,
    /// Where "open Hearth again" points when a session has ended.
    pub login_url: Option<String>,
    /// Other origins allowed to send state-changing requests with Hearth's cookie.
    pub trusted_origins: Vec<String>,
}

impl AuthConfig {
    pub fn mode_name(&self) -> &'static str {
        match self.mode {
            AuthMode::Dev => "dev",
            AuthMode::Jwt(_) => "jwt",
        }
    }
}

/// Where the list of data sources comes from (`HEARTH_SOURCES`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourcesSpec {
    /// The embedded SQLite demo database under the data directory.
    Demo,
    /// The command center's `chart_data_sources` registry in PostgreSQL.
    Registry { url: String },
    /// A TOML file listing sources.
    File { path: PathBuf },
}

#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// One URL, or with `cluster` several seed URLs.
    pub urls: Vec<String>,
    pub cluster: bool,
    /// Response timeout for interactive commands.
    pub timeout: Duration,
    /// Response timeout for large pipelines and the cutover script.
    pub bulk_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub redis: RedisConfig,
    pub key_prefix: String,
    pub auth: AuthConfig,
    pub log_format: LogFormat,
    pub log_filter: String,
    pub leptos_config: PathBuf,
    pub data_dir: PathBuf,
    pub sources: SourcesSpec,
    pub analytics_database_url: Option<String>,
    pub registry_schema: String,
    pub allowed_schemas: Vec<String>,
    pub sql_connect_timeout: Duration,
    pub cache_ttl_secs: u64,
    pub warm_batch_entries: usize,
    pub warm_batch_bytes: usize,
    /// Bytes of query answers each instance keeps in memory (0: no result cache).
    pub query_cache_bytes: usize,
    pub cutover: CutoverMethod,
    pub lock_ttl: Duration,
    pub stats_retention_days: u64,
    /// The audit stream keeps at most this many entries (trimmed approximately, oldest first).
    pub audit_max_entries: u64,
    /// Audit entries older than this are trimmed; 0 keeps them until the cap.
    pub audit_retention_days: u64,
    pub max_concurrent_warms: usize,
    pub min_rewarm_secs: u64,
    pub memory_pause_percent: u8,
    pub memory_resume_percent: u8,
    pub memory_ceiling_bytes: Option<u64>,
    pub job_history: usize,
    pub worker_lost_after: Duration,
    pub workers_enabled: bool,
    /// Validated `frame-ancestors` sources (origins, `'self'` or `'none'`).
    pub frame_ancestors: String,
    /// Longest a request may take before it is answered 408.
    pub request_timeout: Duration,
    /// Where Hearth is served under its host (`/hearth`), or empty for the root.
    pub base_path: String,
    /// Per-user budgets per rolling hour (`auth/limits.rs`).
    pub rate_limits: RateLimits,
    /// What the Redis tab may reach beyond its own lane (`redis_admin/lane.rs`).
    pub redis_tab: RedisTabConfig,
    /// Who may scrape `/metrics` (`metrics.rs`); off unless a token or a bind is set.
    pub metrics: MetricsConfig,
}

/// `/metrics` is served only where an operator asked for it: on the main listener to callers
/// presenting the token, and/or on a listener of its own (a private address) to anyone reaching it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsConfig {
    pub token: Option<String>,
    pub bind: Option<SocketAddr>,
}

impl MetricsConfig {
    pub fn enabled(&self) -> bool {
        self.token.is_some() || self.bind.is_some()
    }
}

/// The Redis tab's namespaces beyond the built-in ones (unprefixed, e.g. `reports:`), and
/// whether it may write by pattern without a key prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedisTabConfig {
    /// Namespaces it may browse, inspect and change.
    pub namespaces: Vec<String>,
    /// Namespaces it may browse and inspect only.
    pub readonly_namespaces: Vec<String>,
    /// Purge and TTL by pattern even when `HEARTH_KEY_PREFIX` is empty.
    pub allow_unprefixed_writes: bool,
}

/// How many of each metered action one user may make in any rolling hour; 0 = not limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub warm: u32,
    pub invalidate: u32,
    pub purge: u32,
    pub ttl: u32,
}

/// Every variable with its default and meaning; the README table is written from this list.
pub const VARIABLES: &[(&str, &str, &str)] = &[
    ("HEARTH_BIND", "127.0.0.1:3000", "address and port to serve on"),
    ("HEARTH_REDIS_URL", "redis://127.0.0.1:6379", "Redis URL (comma-separated seed URLs with HEARTH_REDIS_CLUSTER)"),
    ("HEARTH_REDIS_CLUSTER", "false", "talk to a Redis Cluster instead of a single server"),
    ("HEARTH_REDIS_TIMEOUT_MS", "2000", "response timeout for interactive Redis commands"),
    ("HEARTH_REDIS_BULK_TIMEOUT_MS", "60000", "response timeout for warm pipelines and the cutover"),
    (
        "HEARTH_KEY_PREFIX",
        "(empty)",
        "prefix of every key, e.g. `bcos:production:` to share the command center's cache",
    ),
    ("HEARTH_AUTH_MODE", "dev", "`dev` (no login, loopback only) or `jwt`"),
    (
        "HEARTH_JWT_SECRET",
        "(none)",
        "HS256 secret shared with the command center, at least 32 bytes; `jwt` needs this or a public key",
    ),
    (
        "HEARTH_JWT_PUBLIC_KEY_FILE",
        "(none)",
        "PEM file of the command center's RSA public key, for RS256 tokens (instead of the secret)",
    ),
    (
        "HEARTH_JWT_PERMISSIONS_CLAIM",
        "permissions",
        "claim holding the caller's permission names (array or space-separated string)",
    ),
    ("HEARTH_JWT_ISSUER", "(none)", "the `iss` every token must carry; required for `jwt`"),
    ("HEARTH_JWT_AUDIENCE", "(none)", "the `aud` every token must carry; required for `jwt`"),
    ("HEARTH_JWT_LEEWAY_SECS", "30", "clock skew allowed when checking `exp` and `nbf`"),
    ("HEARTH_JWT_MAX_LIFETIME_SECS", "86400", "tokens valid for longer than this (`exp - iat`) are refused"),
    (
        "HEARTH_JWT_COOKIE",
        "(none)",
        "name of the command center's JWT cookie (e.g. `access-token`), accepted like a bearer token",
    ),
    (
        "HEARTH_HANDOFF_MAX_LIFETIME_SECS",
        "300",
        "longest lifetime of a hand-off token (`POST /auth/handoff`); each `jti` works once",
    ),
    ("HEARTH_SESSION_IDLE_SECS", "1800", "a session ends after this long without a request"),
    ("HEARTH_SESSION_MAX_SECS", "43200", "and after this long in any case"),
    (
        "HEARTH_EMBED",
        "off",
        "`on` when Hearth runs in a cross-site iframe: session cookie `SameSite=None; Secure; Partitioned`",
    ),
    ("HEARTH_LOGIN_URL", "(none)", "where \"open Hearth again\" points when a session has ended"),
    (
        "HEARTH_TRUSTED_ORIGINS",
        "(none)",
        "comma-separated origins besides Hearth's own allowed to send cookie-authenticated writes",
    ),
    ("HEARTH_REQUEST_TIMEOUT_SECS", "30", "a request still running after this long is answered 408"),
    (
        "HEARTH_BASE_PATH",
        "(empty)",
        "serve pages, assets, `/api`, `/rpc`, `/auth` and probes under this path, e.g. `/hearth` behind the command center's host",
    ),
    ("HEARTH_READ_PERMISSION", "settings:read:all", "comma-separated permission names that grant read"),
    (
        "HEARTH_WRITE_PERMISSION",
        "settings:write:all,settings:update:all",
        "comma-separated permission names that grant write",
    ),
    ("HEARTH_LOG_FORMAT", "text", "`text` for people, `json` for log shippers"),
    ("HEARTH_LOG", "info", "log filter (tracing EnvFilter syntax)"),
    ("HEARTH_LEPTOS_CONFIG", "Leptos.toml", "runtime site settings of the binary (site root, package dir)"),
    ("HEARTH_DATA_DIR", "./data", "where the embedded demo database lives"),
    ("HEARTH_SOURCES", "demo", "`demo`, `registry:<postgres url>` or `file:<path to toml>`"),
    (
        "HEARTH_ANALYTICS_DATABASE_URL",
        "(registry URL)",
        "PostgreSQL URL of the analytics tables when they are not in the registry's database",
    ),
    ("HEARTH_REGISTRY_SCHEMA", "public", "schema of the command center's chart_data_sources tables"),
    ("HEARTH_ALLOWED_SCHEMAS", "ih,public,main", "schemas a source may read from"),
    ("HEARTH_SQL_CONNECT_TIMEOUT_MS", "5000", "timeout for opening a SQL connection"),
    ("HEARTH_CACHE_TTL_SECS", "172800", "TTL of data, index and metadata keys"),
    ("HEARTH_WARM_BATCH_ENTRIES", "1000", "entries per pipelined write batch"),
    ("HEARTH_WARM_BATCH_BYTES", "1048576", "bytes per pipelined write batch"),
    ("HEARTH_QUERY_CACHE_BYTES", "67108864", "bytes of query answers each instance keeps in memory (0: off)"),
    (
        "HEARTH_CUTOVER",
        "auto",
        "`transaction` (MULTI/EXEC), `script` (Lua) or `auto` (the script only while Redis could evict keys)",
    ),
    ("HEARTH_LOCK_TTL_MS", "30000", "lease of the warm lock; renewed every third of it"),
    ("HEARTH_STATS_RETENTION_DAYS", "7", "how long per-minute query counters are kept"),
    (
        "HEARTH_AUDIT_MAX_ENTRIES",
        "100000",
        "the audit trail (a Redis stream) keeps at most this many entries, oldest trimmed first (1000 to 10000000)",
    ),
    ("HEARTH_AUDIT_RETENTION_DAYS", "90", "audit entries older than this are trimmed; 0 keeps them until the cap"),
    ("HEARTH_MAX_CONCURRENT_WARMS", "2", "warms running at once across all instances"),
    ("HEARTH_MIN_REWARM_SECS", "300", "a source warmed more recently is skipped unless `force`"),
    ("HEARTH_MEMORY_PAUSE_PERCENT", "85", "a warm pauses itself above this share of the memory ceiling"),
    ("HEARTH_MEMORY_RESUME_PERCENT", "75", "and resumes below this one"),
    (
        "HEARTH_MEMORY_CEILING_BYTES",
        "(maxmemory)",
        "memory ceiling when Redis has no maxmemory or a lower one is wanted (on a cluster, per node)",
    ),
    ("HEARTH_JOB_HISTORY", "500", "finished jobs kept in the history"),
    ("HEARTH_WORKER_LOST_SECS", "30", "a job whose worker has not been heard from for this long is failed"),
    ("HEARTH_WORKERS", "true", "run warm workers and the scheduler in this instance"),
    (
        "HEARTH_FRAME_ANCESTORS",
        "'self'",
        "who may embed Hearth in an iframe (CSP frame-ancestors): space-separated origins, `'self'` or `'none'`",
    ),
    (
        "HEARTH_RATE_WARM_PER_HOUR",
        "10",
        "warm requests (one source, all sources, a schedule's Run now) one user may make in any rolling hour; 0 = unlimited",
    ),
    (
        "HEARTH_RATE_INVALIDATE_PER_HOUR",
        "20",
        "invalidations (not dry runs) per user in any rolling hour; 0 = unlimited",
    ),
    (
        "HEARTH_RATE_PURGE_PER_HOUR",
        "30",
        "Redis tab deletions (purge by pattern, not previews; single-key delete) per user per rolling hour; 0 = unlimited",
    ),
    (
        "HEARTH_RATE_TTL_PER_HOUR",
        "60",
        "Redis tab TTL changes (by pattern, not previews; single key) per user per rolling hour; 0 = unlimited",
    ),
    (
        "HEARTH_REDIS_TAB_NAMESPACES",
        "(none)",
        "comma-separated key namespaces (after the prefix, e.g. `reports:`) the Redis tab may browse, inspect and change besides the cache's own (`cache:`, `idx:`, shadow keys); Hearth's own state and warm locks stay protected",
    ),
    (
        "HEARTH_REDIS_TAB_READONLY_NAMESPACES",
        "(none)",
        "comma-separated key namespaces the Redis tab may browse and inspect but not change, besides `lock:cache:` and `hearth:`",
    ),
    (
        "HEARTH_REDIS_TAB_ALLOW_UNPREFIXED_WRITES",
        "false",
        "allow purge and TTL by pattern while HEARTH_KEY_PREFIX is empty (a pattern then reaches every key of the database inside the Redis tab's namespaces)",
    ),
    (
        "HEARTH_METRICS_TOKEN",
        "(none)",
        "serve Prometheus metrics at `/metrics` on the main listener to callers sending `Authorization: Bearer <token>` (at least 32 characters); unset: not served there",
    ),
    (
        "HEARTH_METRICS_BIND",
        "(none)",
        "also serve `/metrics` on a listener of its own at this address (e.g. `127.0.0.1:9464`), without a token: keep it private; unset: no such listener",
    ),
];

/// A source of variable values: the process environment or, in tests, a map.
pub trait VarSource {
    fn var(&self, name: &str) -> Option<String>;
}

pub struct ProcessEnv;

impl VarSource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl VarSource for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

impl<const N: usize> VarSource for [(&str, &str); N] {
    fn var(&self, name: &str) -> Option<String> {
        self.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }
}

struct Reader<'a>(&'a dyn VarSource);

impl Reader<'_> {
    /// The value, or `None` when unset or blank.
    fn get(&self, var: &'static str) -> Option<String> {
        self.0.var(var).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }

    fn string(&self, var: &'static str, default: &str) -> String {
        self.get(var).unwrap_or_else(|| default.to_string())
    }

    fn parse<T: std::str::FromStr>(&self, var: &'static str, default: T, what: &str) -> Result<T, ConfigError> {
        match self.get(var) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| bad(var, format!("`{v}` is not {what}"))),
        }
    }

    fn ranged(&self, var: &'static str, default: u64, min: u64, max: u64) -> Result<u64, ConfigError> {
        let v = self.parse(var, default, "a whole number")?;
        if v < min || v > max {
            return Err(bad(var, format!("{v} is out of range {min}..={max}")));
        }
        Ok(v)
    }

    fn bool(&self, var: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(var).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => Ok(true),
            Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => Ok(false),
            Some(v) => Err(bad(var, format!("`{v}` is not true or false"))),
        }
    }

    fn list(&self, var: &'static str, default: &str) -> Vec<String> {
        self.string(var, default).split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&ProcessEnv)
    }

    pub fn from_vars(vars: &dyn VarSource) -> Result<Self, ConfigError> {
        let r = Reader(vars);
        let bind_text = r.string("HEARTH_BIND", "127.0.0.1:3000");
        let bind: SocketAddr = bind_text
            .parse()
            .map_err(|_| bad("HEARTH_BIND", format!("`{bind_text}` is not an address like 127.0.0.1:3000")))?;

        let redis = RedisConfig {
            cluster: r.bool("HEARTH_REDIS_CLUSTER", false)?,
            urls: r.list("HEARTH_REDIS_URL", "redis://127.0.0.1:6379"),
            timeout: Duration::from_millis(r.ranged("HEARTH_REDIS_TIMEOUT_MS", 2000, 50, 600_000)?),
            bulk_timeout: Duration::from_millis(r.ranged("HEARTH_REDIS_BULK_TIMEOUT_MS", 60_000, 1000, 3_600_000)?),
        };
        for url in &redis.urls {
            if !(url.starts_with("redis://") || url.starts_with("rediss://") || url.starts_with("unix://")) {
                return Err(bad("HEARTH_REDIS_URL", format!("`{url}` must start with redis://, rediss:// or unix://")));
            }
        }
        if redis.urls.is_empty() {
            return Err(bad("HEARTH_REDIS_URL", "no URL given"));
        }
        if redis.urls.len() > 1 && !redis.cluster {
            return Err(bad("HEARTH_REDIS_URL", "several URLs are only allowed with HEARTH_REDIS_CLUSTER=true"));
        }

        let key_prefix = r.0.var("HEARTH_KEY_PREFIX").unwrap_or_default();
        if key_prefix.len() > 64
            || key_prefix.contains("->")
            || key_prefix.chars().any(|c| c.is_whitespace() || "{}*?[]\\".contains(c))
        {
            return Err(bad(
                "HEARTH_KEY_PREFIX",
                "must be at most 64 characters without spaces, braces, `->` or glob characters (* ? [ ] \\)",
            ));
        }

        let auth = read_auth(&r, bind)?;

        let log_format = match r.string("HEARTH_LOG_FORMAT", "text").to_ascii_lowercase().as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => return Err(bad("HEARTH_LOG_FORMAT", format!("`{other}` is not `text` or `json`"))),
        };

        let sources = parse_sources(&r.string("HEARTH_SOURCES", "demo"))?;
        let registry_schema = r.string("HEARTH_REGISTRY_SCHEMA", "public");
        if !crate::sql_ident::is_identifier(&registry_schema) {
            return Err(bad("HEARTH_REGISTRY_SCHEMA", format!("`{registry_schema}` is not a plain SQL identifier")));
        }
        let allowed_schemas = r.list("HEARTH_ALLOWED_SCHEMAS", "ih,public,main");
        if let Some(s) = allowed_schemas.iter().find(|s| !crate::sql_ident::is_identifier(s)) {
            return Err(bad("HEARTH_ALLOWED_SCHEMAS", format!("`{s}` is not a plain SQL identifier")));
        }

        let cutover = match r.string("HEARTH_CUTOVER", "auto").to_ascii_lowercase().as_str() {
            "auto" => CutoverMethod::Auto,
            "transaction" => CutoverMethod::Transaction,
            "script" => CutoverMethod::Script,
            other => return Err(bad("HEARTH_CUTOVER", format!("`{other}` is not auto, transaction or script"))),
        };
        let memory_pause_percent = r.ranged("HEARTH_MEMORY_PAUSE_PERCENT", 85, 10, 99)? as u8;
        let memory_resume_percent = r.ranged("HEARTH_MEMORY_RESUME_PERCENT", 75, 5, 98)? as u8;
        if memory_resume_percent >= memory_pause_percent {
            return Err(bad("HEARTH_MEMORY_RESUME_PERCENT", "must be below HEARTH_MEMORY_PAUSE_PERCENT"));
        }
        let memory_ceiling_bytes = match r.get("HEARTH_MEMORY_CEILING_BYTES") {
            None => None,
            Some(_) => Some(r.ranged("HEARTH_MEMORY_CEILING_BYTES", 0, 1 << 20, u64::MAX)?),
        };

        Ok(Config {
            bind,
            redis,
            key_prefix,
            auth,
            log_format,
            log_filter: r.string("HEARTH_LOG", "info"),
            leptos_config: PathBuf::from(r.string("HEARTH_LEPTOS_CONFIG", "Leptos.toml")),
            data_dir: PathBuf::from(r.string("HEARTH_DATA_DIR", "./data")),
            sources,
            analytics_database_url: r.get("HEARTH_ANALYTICS_DATABASE_URL"),
            registry_schema,
            allowed_schemas,
            sql_connect_timeout: Duration::from_millis(r.ranged(
                "HEARTH_SQL_CONNECT_TIMEOUT_MS",
                5000,
                100,
                120_000,
            )?),
            cache_ttl_secs: r.ranged("HEARTH_CACHE_TTL_SECS", 172_800, 60, 60 * 86_400)?,
            warm_batch_entries: r.ranged("HEARTH_WARM_BATCH_ENTRIES", 1000, 1, 100_000)? as usize,
            warm_batch_bytes: r.ranged("HEARTH_WARM_BATCH_BYTES", 1 << 20, 4096, 256 << 20)? as usize,
            query_cache_bytes: r.ranged("HEARTH_QUERY_CACHE_BYTES", 64 << 20, 0, 16 << 30)? as usize,
            cutover,
            lock_ttl: Duration::from_millis(r.ranged("HEARTH_LOCK_TTL_MS", 30_000, 1000, 600_000)?),
            stats_retention_days: r.ranged("HEARTH_STATS_RETENTION_DAYS", 7, 1, 90)?,
            audit_max_entries: r.ranged("HEARTH_AUDIT_MAX_ENTRIES", 100_000, 1000, 10_000_000)?,
            audit_retention_days: r.ranged("HEARTH_AUDIT_RETENTION_DAYS", 90, 0, 3650)?,
            max_concurrent_warms: r.ranged("HEARTH_MAX_CONCURRENT_WARMS", 2, 1, 64)? as usize,
            min_rewarm_secs: r.ranged("HEARTH_MIN_REWARM_SECS", 300, 0, 30 * 86_400)?,
            memory_pause_percent,
            memory_resume_percent,
            memory_ceiling_bytes,
            job_history: r.ranged("HEARTH_JOB_HISTORY", 500, 10, 100_000)? as usize,
            worker_lost_after: Duration::from_secs(r.ranged("HEARTH_WORKER_LOST_SECS", 30, 3, 3600)?),
            workers_enabled: r.bool("HEARTH_WORKERS", true)?,
            frame_ancestors: parse_frame_ancestors(&r.string("HEARTH_FRAME_ANCESTORS", "'self'"))?,
            request_timeout: Duration::from_secs(r.ranged("HEARTH_REQUEST_TIMEOUT_SECS", 30, 1, 3600)?),
            base_path: parse_base_path(&r.string("HEARTH_BASE_PATH", ""))?,
            rate_limits: RateLimits {
                warm: r.ranged("HEARTH_RATE_WARM_PER_HOUR", 10, 0, 10_000)? as u32,
                invalidate: r.ranged("HEARTH_RATE_INVALIDATE_PER_HOUR", 20, 0, 10_000)? as u32,
                purge: r.ranged("HEARTH_RATE_PURGE_PER_HOUR", 30, 0, 10_000)? as u32,
                ttl: r.ranged("HEARTH_RATE_TTL_PER_HOUR", 60, 0, 10_000)? as u32,
            },
            redis_tab: read_redis_tab(&r)?,
            metrics: read_metrics(&r, bind)?,
        })
    }

    /// True when the dev-mode banner must show.
    pub fn is_dev_mode(&self) -> bool {
        self.auth.mode == AuthMode::Dev
    }
}

fn read_auth(r: &Reader<'_>, bind: SocketAddr) -> Result<AuthConfig, ConfigError> {
    let mode = match r.string("HEARTH_AUTH_MODE", "dev").to_ascii_lowercase().as_str() {
        "dev" => {
            if !bind.ip().is_loopback() {
                return Err(bad(
                    "HEARTH_AUTH_MODE",
                    format!(
                        "`dev` (no login) is only allowed on a loopback address, but HEARTH_BIND is {bind}; use `jwt`"
                    ),
                ));
            }
            AuthMode::Dev
        }
        "jwt" => AuthMode::Jwt(read_jwt_key(r)?),
        other => return Err(bad("HEARTH_AUTH_MODE", format!("`{other}` is not `dev` or `jwt`"))),
    };
    let read_permissions = r.list("HEARTH_READ_PERMISSION", "settings:read:all");
    let write_permissions = r.list("HEARTH_WRITE_PERMISSION", "settings:write:all,settings:update:all");
    if read_permissions.is_empty() {
        return Err(bad("HEARTH_READ_PERMISSION", "at least one permission name is needed"));
    }
    if write_permissions.is_empty() {
        return Err(bad("HEARTH_WRITE_PERMISSION", "at least one permission name is needed"));
    }
    let issuer = r.get("HEARTH_JWT_ISSUER");
    let audience = r.get("HEARTH_JWT_AUDIENCE");
    if matches!(mode, AuthMode::Jwt(_)) {
        // A token minted for another service of the same issuer must not open Hearth.
        if issuer.is_none() {
            return Err(bad("HEARTH_JWT_ISSUER", "required when HEARTH_AUTH_MODE=jwt"));
        }
        if audience.is_none() {
            return Err(bad("HEARTH_JWT_AUDIENCE", "required when HEARTH_AUTH_MODE=jwt"));
        }
    }
    let jwt_cookie = r.get("HEARTH_JWT_COOKIE");
    if let Some(name) = &jwt_cookie
        && !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(bad("HEARTH_JWT_COOKIE", format!("`{name}` is not a cookie name (letters, digits, - _ .)")));
    }
    let session_idle_secs = r.ranged("HEARTH_SESSION_IDLE_SECS", 1800, 60, 7 * 86_400)?;
    let session_max_secs = r.ranged("HEARTH_SESSION_MAX_SECS", 43_200, 60, 30 * 86_400)?;
    if session_max_secs < session_idle_secs {
        return Err(bad("HEARTH_SESSION_MAX_SECS", "must not be below HEARTH_SESSION_IDLE_SECS"));
    }
    let login_url = r.get("HEARTH_LOGIN_URL");
    if let Some(url) = &login_url
        && !(url.starts_with("https://") || url.starts_with("http://") || url.starts_with('/'))
    {
        return Err(bad("HEARTH_LOGIN_URL", format!("`{url}` is not an http(s) URL or an absolute path")));
    }
    let trusted_origins = r.list("HEARTH_TRUSTED_ORIGINS", "");
    if let Some(o) = trusted_origins.iter().find(|o| !is_origin(o)) {
        return Err(bad("HEARTH_TRUSTED_ORIGINS", format!("`{o}` is not an origin like https://admin.example.com")));
    }
    Ok(AuthConfig {
        mode,
        permissions_claim: r.string("HEARTH_JWT_PERMISSIONS_CLAIM", "permissions"),
        read_permissions,
        write_permissions,
        issuer,
        audience,
        leeway_secs: r.ranged("HEARTH_JWT_LEEWAY_SECS", 30, 0, 3600)?,
        max_token_lifetime_secs: r.ranged("HEARTH_JWT_MAX_LIFETIME_SECS", 86_400, 60, 30 * 86_400)?,
        max_handoff_lifetime_secs: r.ranged("HEARTH_HANDOFF_MAX_LIFETIME_SECS", 300, 10, 3600)?,
        jwt_cookie,
        session_idle_secs,
        session_max_secs,
        embed: r.bool("HEARTH_EMBED", false)?,
        login_url,
        trusted_origins,
    })
}

/// The signature key of `jwt` mode: exactly one of the HS256 secret and the RS256 public key.
fn read_jwt_key(r: &Reader<'_>) -> Result<JwtKey, ConfigError> {
    match (r.get("HEARTH_JWT_SECRET"), r.get("HEARTH_JWT_PUBLIC_KEY_FILE")) {
        (Some(_), Some(_)) => Err(bad(
            "HEARTH_JWT_PUBLIC_KEY_FILE",
            "set either HEARTH_JWT_SECRET (HS256) or HEARTH_JWT_PUBLIC_KEY_FILE (RS256), not both",
        )),
        (Some(secret), None) if secret.len() < 32 => Err(bad("HEARTH_JWT_SECRET", "must be at least 32 bytes")),
        (Some(secret), None) => Ok(JwtKey {
            algorithm: jsonwebtoken::Algorithm::HS256,
            key: jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()),
            source: secret.into_bytes(),
        }),
        (None, Some(path)) => {
            let pem = std::fs::read(&path)
                .map_err(|e| bad("HEARTH_JWT_PUBLIC_KEY_FILE", format!("cannot read {path}: {e}")))?;
            let key = jsonwebtoken::DecodingKey::from_rsa_pem(&pem).map_err(|e| {
                bad("HEARTH_JWT_PUBLIC_KEY_FILE", format!("{path} is not an RSA public key in PEM: {e}"))
            })?;
            Ok(JwtKey { algorithm: jsonwebtoken::Algorithm::RS256, key, source: pem })
        }
        (None, None) => Err(bad(
            "HEARTH_JWT_SECRET",
            "required when HEARTH_AUTH_MODE=jwt (or HEARTH_JWT_PUBLIC_KEY_FILE for RS256)",
        )),
    }
}

/// `/metrics`: a token long enough not to be guessed, and a listener apart from the main one.
fn read_metrics(r: &Reader<'_>, main: SocketAddr) -> Result<MetricsConfig, ConfigError> {
    let token = r.get("HEARTH_METRICS_TOKEN");
    if let Some(t) = &token
        && (t.len() < 32 || t.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        return Err(bad("HEARTH_METRICS_TOKEN", "must be at least 32 characters, without spaces"));
    }
    let bind = match r.get("HEARTH_METRICS_BIND") {
        None => None,
        Some(text) => {
            let addr: SocketAddr = text
                .parse()
                .map_err(|_| bad("HEARTH_METRICS_BIND", format!("`{text}` is not an address like 127.0.0.1:9464")))?;
            if addr == main {
                return Err(bad(
                    "HEARTH_METRICS_BIND",
                    format!("{addr} is HEARTH_BIND's address; choose another port"),
                ));
            }
            Some(addr)
        }
    };
    Ok(MetricsConfig { token, bind })
}

/// The Redis tab's extra namespaces: literal key heads (no glob characters, spaces or control
/// characters, at most 64 characters), none in both lists, and no writable one that only holds
/// keys Hearth protects (`hearth:`, a warm lock): it could never take effect.
fn read_redis_tab(r: &Reader<'_>) -> Result<RedisTabConfig, ConfigError> {
    let parse = |var: &'static str| -> Result<Vec<String>, ConfigError> {
        let list = r.list(var, "");
        for ns in &list {
            if ns.len() > 64 || ns.chars().any(|c| c.is_whitespace() || c.is_control() || "*?[]\\".contains(c)) {
                return Err(bad(
                    var,
                    format!(
                        "`{ns}` is not a key namespace: at most 64 characters without spaces or glob characters (* ? [ ] \\)"
                    ),
                ));
            }
        }
        Ok(list)
    };
    let namespaces = parse("HEARTH_REDIS_TAB_NAMESPACES")?;
    let readonly_namespaces = parse("HEARTH_REDIS_TAB_READONLY_NAMESPACES")?;
    if let Some(ns) = namespaces.iter().find(|ns| crate::cache::keys::is_protected_name(ns)) {
        return Err(bad(
            "HEARTH_REDIS_TAB_NAMESPACES",
            format!("`{ns}` holds Hearth's own state or warm locks, which the Redis tab never changes"),
        ));
    }
    if let Some(ns) = namespaces.iter().find(|ns| readonly_namespaces.contains(ns)) {
        return Err(bad(
            "HEARTH_REDIS_TAB_READONLY_NAMESPACES",
            format!("`{ns}` is also in HEARTH_REDIS_TAB_NAMESPACES; list it in one of them"),
        ));
    }
    Ok(RedisTabConfig {
        namespaces,
        readonly_namespaces,
        allow_unprefixed_writes: r.bool("HEARTH_REDIS_TAB_ALLOW_UNPREFIXED_WRITES", false)?,
    })
}

/// `/a/b` without a trailing slash (`/` alone means the root: empty).
fn parse_base_path(text: &str) -> Result<String, ConfigError> {
    let trimmed = text.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    let valid = trimmed.starts_with('/')
        && trimmed.len() <= 100
        && trimmed[1..].split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        });
    if !valid {
        return Err(bad(
            "HEARTH_BASE_PATH",
            format!("`{text}` is not a path like /hearth (letters, digits, - _ . between slashes)"),
        ));
    }
    Ok(trimmed.to_string())
}

/// `scheme://host[:port]` with nothing after it.
fn is_origin(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once("://") else { return false };
    matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && rest.chars().all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
}

/// `HEARTH_FRAME_ANCESTORS` as it goes into the CSP: each source an origin, a `https:`-style
/// host source with at most a leading `*.` wildcard, `'self'` or `'none'` (alone). A `*` alone
/// would let any site frame the console, and a `;` would smuggle in another directive.
fn parse_frame_ancestors(text: &str) -> Result<String, ConfigError> {
    let var = "HEARTH_FRAME_ANCESTORS";
    let sources: Vec<&str> = text.split_whitespace().collect();
    if sources.is_empty() {
        return Err(bad(var, "give at least one source, or 'none'"));
    }
    for s in &sources {
        let ok = match *s {
            "'self'" => true,
            "'none'" => sources.len() == 1,
            other => {
                let host_part = other.split_once("://").map(|(_, h)| h).unwrap_or("");
                let rest = host_part.strip_prefix("*.").unwrap_or(host_part);
                // `*.example.com`, never `*.com`: a wildcard covers subdomains of one site.
                let wildcard_ok = !host_part.starts_with("*.") || rest.contains('.');
                is_origin(&other.replacen("*.", "", 1)) && !rest.contains('*') && wildcard_ok
            }
        };
        if !ok {
            return Err(bad(
                var,
                format!(
                    "`{s}` is not an origin like https://admin.example.com, 'self' or 'none' ('none' stands alone)"
                ),
            ));
        }
    }
    Ok(sources.join(" "))
}

fn parse_sources(text: &str) -> Result<SourcesSpec, ConfigError> {
    if text == "demo" {
        Ok(SourcesSpec::Demo)
    } else if let Some(url) = text.strip_prefix("registry:") {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(bad("HEARTH_SOURCES", "registry: must be followed by a postgres:// URL"));
        }
        Ok(SourcesSpec::Registry { url: url.to_string() })
    } else if let Some(path) = text.strip_prefix("file:") {
        if path.is_empty() {
            return Err(bad("HEARTH_SOURCES", "file: must be followed by a path"));
        }
        Ok(SourcesSpec::File { path: PathBuf::from(path) })
    } else {
        Err(bad("HEARTH_SOURCES", format!("`{text}` is not `demo`, `registry:<url>` or `file:<path>`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_no_configuration() {
        let c = Config::from_vars(&[("UNRELATED", "x")]).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:3000");
        assert_eq!(c.redis.urls, vec!["redis://127.0.0.1:6379"]);
        assert_eq!(c.auth.mode, AuthMode::Dev);
        assert_eq!(c.key_prefix, "");
        assert_eq!(c.cache_ttl_secs, 172_800);
        assert_eq!(c.sources, SourcesSpec::Demo);
        assert_eq!(c.auth.write_permissions, vec!["settings:write:all", "settings:update:all"]);
    }

    #[test]
    fn nonsense_bind_is_rejected_naming_the_variable() {
        let e = Config::from_vars(&[("HEARTH_BIND", "nonsense")]).unwrap_err();
        assert_eq!(e.var, "HEARTH_BIND");
        assert!(e.to_string().starts_with("HEARTH_BIND: `nonsense`"), "{e}");
    }

    #[test]
    fn dev_mode_on_a_public_address_is_refused() {
        let e = Config::from_vars(&[("HEARTH_BIND", "0.0.0.0:3000")]).unwrap_err();
        assert_eq!(e.var, "HEARTH_AUTH_MODE");
        let ok = Config::from_vars(&[
            ("HEARTH_BIND", "0.0.0.0:3000"),
            ("HEARTH_AUTH_MODE", "jwt"),
            ("HEARTH_JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            ("HEARTH_JWT_ISSUER", "command-center"),
            ("HEARTH_JWT_AUDIENCE", "hearth"),
        ]);
        assert!(ok.is_ok(), "{:?}", ok.err());
    }

    const JWT: [(&str, &str); 4] = [
        ("HEARTH_AUTH_MODE", "jwt"),
        ("HEARTH_JWT_SECRET", "0123456789abcdef0123456789abcdef"),
        ("HEARTH_JWT_ISSUER", "command-center"),
        ("HEARTH_JWT_AUDIENCE", "hearth"),
    ];

    fn jwt_with(extra: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut vars: HashMap<String, String> = JWT.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        for (k, v) in extra {
            vars.insert(k.to_string(), v.to_string());
        }
        Config::from_vars(&vars)
    }

    #[test]
    fn jwt_mode_requires_a_long_secret_or_a_public_key() {
        let e = Config::from_vars(&[("HEARTH_AUTH_MODE", "jwt")]).unwrap_err();
        assert_eq!(e.var, "HEARTH_JWT_SECRET");
        assert_eq!(jwt_with(&[("HEARTH_JWT_SECRET", "short")]).unwrap_err().var, "HEARTH_JWT_SECRET");
        let e = jwt_with(&[("HEARTH_JWT_PUBLIC_KEY_FILE", "/nonexistent.pem")]).unwrap_err();
        assert_eq!(e.var, "HEARTH_JWT_PUBLIC_KEY_FILE", "both at once: {e}");
        let e = jwt_with(&[("HEARTH_JWT_SECRET", ""), ("HEARTH_JWT_PUBLIC_KEY_FILE", "Cargo.toml")]).unwrap_err();
        assert!(e.to_string().contains("not an RSA public key"), "{e}");
    }

    #[test]
    fn jwt_mode_refuses_to_start_without_issuer_and_audience() {
        assert!(jwt_with(&[]).is_ok());
        assert_eq!(jwt_with(&[("HEARTH_JWT_ISSUER", "")]).unwrap_err().var, "HEARTH_JWT_ISSUER");
        assert_eq!(jwt_with(&[("HEARTH_JWT_AUDIENCE", " ")]).unwrap_err().var, "HEARTH_JWT_AUDIENCE");
    }

    #[test]
    fn session_login_and_origin_settings_are_validated() {
        let e = jwt_with(&[("HEARTH_SESSION_IDLE_SECS", "3600"), ("HEARTH_SESSION_MAX_SECS", "600")]).unwrap_err();
        assert_eq!(e.var, "HEARTH_SESSION_MAX_SECS");
        assert_eq!(jwt_with(&[("HEARTH_LOGIN_URL", "javascript:alert(1)")]).unwrap_err().var, "HEARTH_LOGIN_URL");
        assert_eq!(
            jwt_with(&[("HEARTH_TRUSTED_ORIGINS", "https://a.example/x")]).unwrap_err().var,
            "HEARTH_TRUSTED_ORIGINS"
        );
        assert_eq!(jwt_with(&[("HEARTH_JWT_COOKIE", "a;b")]).unwrap_err().var, "HEARTH_JWT_COOKIE");
        let c = jwt_with(&[("HEARTH_JWT_COOKIE", "access-token"), ("HEARTH_EMBED", "on")]).unwrap();
        assert_eq!(c.auth.jwt_cookie.as_deref(), Some("access-token"));
        assert!(c.auth.embed);
    }

    #[test]
    fn metrics_are_off_unless_a_long_token_or_a_separate_bind_is_set() {
        assert!(!Config::from_vars(&[("HEARTH_BIND", "127.0.0.1:3000")]).unwrap().metrics.enabled());
        let token = "t".repeat(32);
        let c = Config::from_vars(&[("HEARTH_METRICS_TOKEN", token.as_str())]).unwrap();
        assert_eq!(c.metrics.token.as_deref(), Some(token.as_str()));
        assert!(c.metrics.enabled());
        let c = Config::from_vars(&[("HEARTH_METRICS_BIND", "127.0.0.1:9464")]).unwrap();
        assert_eq!(c.metrics.bind, Some("127.0.0.1:9464".parse().unwrap()));
        for (var, bad) in [
            ("HEARTH_METRICS_TOKEN", "short"),
            ("HEARTH_METRICS_TOKEN", "a token with spaces that is long enough"),
            ("HEARTH_METRICS_BIND", "localhost"),
            ("HEARTH_METRICS_BIND", "127.0.0.1:3000"),
        ] {
            assert_eq!(Config::from_vars(&[(var, bad)]).unwrap_err().var, var, "{bad}");
        }
    }

    #[test]
    fn base_path_is_a_clean_absolute_path() {
        assert_eq!(Config::from_vars(&[("HEARTH_BASE_PATH", "/hearth/")]).unwrap().base_path, "/hearth");
        assert_eq!(Config::from_vars(&[("HEARTH_BASE_PATH", "/")]).unwrap().base_path, "");
        assert_eq!(Config::from_vars(&[("HEARTH_BASE_PATH", "/admin/hearth")]).unwrap().base_path, "/admin/hearth");
        for bad in ["hearth", "/a//b", "/../x", "/a b", "/a?x", "/<script>"] {
            assert_eq!(Config::from_vars(&[("HEARTH_BASE_PATH", bad)]).unwrap_err().var, "HEARTH_BASE_PATH", "{bad}");
        }
    }

    #[test]
    fn frame_ancestors_accept_origins_and_keywords_only() {
        for good in
            ["'self'", "'none'", "https://admin.example.com 'self'", "https://*.example.com", "http://localhost:3200"]
        {
            assert!(Config::from_vars(&[("HEARTH_FRAME_ANCESTORS", good)]).is_ok(), "{good}");
        }
        for evil in [
            "*",
            "https://a.example; script-src *",
            "'none' 'self'",
            "https:",
            "'unsafe-inline'",
            "a.example",
            "https://*",
        ] {
            let e = Config::from_vars(&[("HEARTH_FRAME_ANCESTORS", evil)]).unwrap_err();
            assert_eq!(e.var, "HEARTH_FRAME_ANCESTORS", "{evil}");
        }
    }

    #[test]
    fn numbers_are_checked_for_form_and_range() {
        let e = Config::from_vars(&[("HEARTH_CACHE_TTL_SECS", "soon")]).unwrap_err();
        assert_eq!(e.var, "HEARTH_CACHE_TTL_SECS");
        let e = Config::from_vars(&[("HEARTH_MAX_CONCURRENT_WARMS", "0")]).unwrap_err();
        assert_eq!(e.var, "HEARTH_MAX_CONCURRENT_WARMS");
        let e = Config::from_vars(&[("HEARTH_MEMORY_RESUME_PERCENT", "90")]).unwrap_err();
        assert_eq!(e.var, "HEARTH_MEMORY_RESUME_PERCENT");
    }

    #[test]
    fn rate_limits_default_to_the_seed_and_zero_means_unlimited() {
        let c = Config::from_vars(&[("UNRELATED", "x")]).unwrap();
        assert_eq!(c.rate_limits, RateLimits { warm: 10, invalidate: 20, purge: 30, ttl: 60 });
        let c = Config::from_vars(&[("HEARTH_RATE_WARM_PER_HOUR", "0")]).unwrap();
        assert_eq!(c.rate_limits.warm, 0);
        for bad in ["-1", "ten", "10001"] {
            let e = Config::from_vars(&[("HEARTH_RATE_INVALIDATE_PER_HOUR", bad)]).unwrap_err();
            assert_eq!(e.var, "HEARTH_RATE_INVALIDATE_PER_HOUR", "{bad}");
        }
    }

    #[test]
    fn redis_tab_namespaces_are_literal_and_never_open_hearths_own_state() {
        let c = Config::from_vars(&[("UNRELATED", "x")]).unwrap();
        assert_eq!(c.redis_tab, RedisTabConfig::default());
        let c = Config::from_vars(&[
            ("HEARTH_REDIS_TAB_NAMESPACES", "reports:, tmp:{x}:"),
            ("HEARTH_REDIS_TAB_READONLY_NAMESPACES", "session:"),
            ("HEARTH_REDIS_TAB_ALLOW_UNPREFIXED_WRITES", "true"),
        ])
        .unwrap();
        assert_eq!(c.redis_tab.namespaces, ["reports:", "tmp:{x}:"]);
        assert_eq!(c.redis_tab.readonly_namespaces, ["session:"]);
        assert!(c.redis_tab.allow_unprefixed_writes);
        let long = "x".repeat(65);
        for (var, value) in [
            ("HEARTH_REDIS_TAB_NAMESPACES", "reports:*"),
            ("HEARTH_REDIS_TAB_NAMESPACES", "a b:"),
            ("HEARTH_REDIS_TAB_NAMESPACES", "hearth:"),
            ("HEARTH_REDIS_TAB_NAMESPACES", "hearth:{jobs}:"),
            ("HEARTH_REDIS_TAB_NAMESPACES", "lock:cache:warm:"),
            ("HEARTH_REDIS_TAB_READONLY_NAMESPACES", "[abc]"),
            ("HEARTH_REDIS_TAB_READONLY_NAMESPACES", long.as_str()),
            ("HEARTH_REDIS_TAB_ALLOW_UNPREFIXED_WRITES", "sure"),
        ] {
            assert_eq!(Config::from_vars(&[(var, value)]).unwrap_err().var, var, "{value}");
        }
        let both = [("HEARTH_REDIS_TAB_NAMESPACES", "a:,b:"), ("HEARTH_REDIS_TAB_READONLY_NAMESPACES", "b:")];
        assert_eq!(Config::from_vars(&both).unwrap_err().var, "HEARTH_REDIS_TAB_READONLY_NAMESPACES");
        // Wider than a protected namespace is fine: the protected keys inside stay protected.
        assert!(Config::from_vars(&[("HEARTH_REDIS_TAB_NAMESPACES", "lock:")]).is_ok());
    }

    #[test]
    fn prefix_with_glob_or_hash_tag_characters_is_rejected() {
        for p in ["bcos:{x}:", "a*", "has space"] {
            let e = Config::from_vars(&[("HEARTH_KEY_PREFIX", p)]).unwrap_err();
            assert_eq!(e.var, "HEARTH_KEY_PREFIX", "{p}");
        }
        let c = Config::from_vars(&[("HEARTH_KEY_PREFIX", "bcos:production:")]).unwrap();
        assert_eq!(c.key_prefix, "bcos:production:");
    }

    #[test]
    fn redis_url_and_sources_are_validated() {
        assert_eq!(Config::from_vars(&[("HEARTH_REDIS_URL", "localhost:6379")]).unwrap_err().var, "HEARTH_REDIS_URL");
        assert_eq!(Config::from_vars(&[("HEARTH_SOURCES", "mysql:x")]).unwrap_err().var, "HEARTH_SOURCES");
        let c = Config::from_vars(&[("HEARTH_SOURCES", "registry:postgres://u@h/db")]).unwrap();
        assert_eq!(c.sources, SourcesSpec::Registry { url: "postgres://u@h/db".into() });
    }

    #[test]
    fn readme_lists_every_variable_with_its_default() {
        let readme = include_str!("../README.md");
        for (name, default, _) in VARIABLES {
            let row = readme.lines().find(|l| l.starts_with(&format!("| `{name}` |")));
            let row = row.unwrap_or_else(|| panic!("README has no row for {name}"));
            assert!(row.contains(default), "README row of {name} lacks its default {default}");
        }
    }

    #[test]
    fn every_variable_read_is_documented() {
        let src = include_str!("config.rs");
        let documented: Vec<&str> = VARIABLES.iter().map(|v| v.0).collect();
        for (i, _) in src.match_indices("\"HEARTH_") {
            let name: String = src[i + 1..].chars().take_while(|c| c.is_ascii_uppercase() || *c == '_').collect();
            if name.ends_with('_') || !src[i + 1 + name.len()..].starts_with('"') {
                continue;
            }
            assert!(documented.contains(&name.as_str()), "{name} is read but not in VARIABLES");
        }
    }
}
