//! Shared helpers of the integration tests: a real router on real Redis, each test under its
//! own key prefix (removed afterwards), requests sent straight into the router, tokens minted
//! the way the command center mints them.
#![allow(dead_code)]

use std::collections::HashMap;

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use hearth::config::Config;
use hearth::state::AppState;

pub const SECRET: &str = "test-secret-0123456789abcdef0123456789";

pub fn redis_url() -> String {
    std::env::var("HEARTH_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// `HEARTH_TEST_REDIS_CLUSTER`: a Redis Cluster's seed URLs (comma-separated). When set, every
/// test state and helper talks to that cluster instead of the single server (`make
/// test-cluster`); tests that start their own Redis are unaffected.
pub fn test_cluster() -> Option<String> {
    std::env::var("HEARTH_TEST_REDIS_CLUSTER").ok().filter(|urls| !urls.trim().is_empty())
}

/// The Redis settings of the shared test Redis: the single server, or the test cluster.
fn shared_redis_vars(map: &mut HashMap<String, String>) {
    match test_cluster() {
        Some(urls) => {
            map.insert("HEARTH_REDIS_URL".into(), urls);
            map.insert("HEARTH_REDIS_CLUSTER".into(), "true".into());
        }
        None => {
            map.insert("HEARTH_REDIS_URL".into(), redis_url());
        }
    }
}

/// A handle on the shared test Redis, as Hearth builds it (single server or cluster).
pub fn shared_redis() -> hearth::redis_conn::RedisConn {
    let mut map = HashMap::new();
    shared_redis_vars(&mut map);
    let config = Config::from_vars(&map).expect("test Redis settings are valid");
    hearth::redis_conn::RedisConn::new(&config.redis).expect("the test Redis URL is usable")
}

pub fn database_url() -> String {
    std::env::var("HEARTH_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A prefix no other test uses: `t:<name>:<random>:`.
pub fn unique_prefix(name: &str) -> String {
    format!("t:{name}:{:x}:", rand::random::<u64>())
}

pub fn leptos_options() -> leptos::config::LeptosOptions {
    leptos::config::LeptosOptions::builder().output_name("hearth").site_root("target/site").build()
}

/// A state from `vars` on top of test defaults (real Redis, a unique prefix, dev mode).
pub fn state_with(name: &str, vars: &[(&str, &str)]) -> AppState {
    let mut map: HashMap<String, String> = HashMap::new();
    shared_redis_vars(&mut map);
    map.insert("HEARTH_KEY_PREFIX".into(), unique_prefix(name));
    map.insert("HEARTH_LOG".into(), "warn".into());
    // A test that names its own Redis (a private server) talks to it as it says, cluster or not.
    if vars.iter().any(|(k, _)| *k == "HEARTH_REDIS_URL") {
        map.remove("HEARTH_REDIS_CLUSTER");
    }
    for (k, v) in vars {
        map.insert(k.to_string(), v.to_string());
    }
    let config = Config::from_vars(&map).expect("test configuration is valid");
    AppState::new(config, leptos_options()).expect("state builds")
}

pub const ISSUER: &str = "command-center";
pub const AUDIENCE: &str = "hearth";

/// `jwt` mode with the test secret, issuer and audience.
pub const JWT_VARS: [(&str, &str); 5] = [
    ("HEARTH_AUTH_MODE", "jwt"),
    ("HEARTH_JWT_SECRET", SECRET),
    ("HEARTH_JWT_ISSUER", ISSUER),
    ("HEARTH_JWT_AUDIENCE", AUDIENCE),
    ("HEARTH_TRUSTED_ORIGINS", "https://command-center.example"),
];

pub fn jwt_state(name: &str) -> AppState {
    state_with(name, &JWT_VARS)
}

/// `jwt` mode plus `extra` settings.
pub fn jwt_state_with(name: &str, extra: &[(&str, &str)]) -> AppState {
    let vars: Vec<(&str, &str)> = JWT_VARS.iter().chain(extra.iter()).copied().collect();
    state_with(name, &vars)
}

/// The claims the command center puts in an access token (`exp_offset_secs` from now).
pub fn claims(sub: &str, permissions: &[&str], exp_offset_secs: i64) -> serde_json::Map<String, Value> {
    let now = chrono::Utc::now().timestamp();
    let value = serde_json::json!({
        "sub": sub,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "permissions": permissions,
        "iat": now.min(now + exp_offset_secs - 60),
        "exp": now + exp_offset_secs,
    });
    value.as_object().unwrap().clone()
}

/// Signs `claims` with HS256 and `secret`.
pub fn sign(secret: &str, claims: &serde_json::Map<String, Value>) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// A token as the command center mints it.
pub fn token(secret: &str, sub: &str, permissions: &[&str], exp_offset_secs: i64) -> String {
    sign(secret, &claims(sub, permissions, exp_offset_secs))
}

/// A hand-off token: short-lived, with a fresh `jti`.
pub fn handoff_token(sub: &str, permissions: &[&str]) -> String {
    let mut c = claims(sub, permissions, 60);
    c.insert("jti".into(), Value::String(format!("jti-{:x}", rand::random::<u64>())));
    c.insert("purpose".into(), Value::String("hearth-handoff".into()));
    sign(SECRET, &c)
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub body: Value,
    pub text: String,
}

/// Sends `request` as a browser on this machine would: from a loopback peer, to the default
/// `Host` (dev mode checks both), unless the test set them itself.
pub async fn send(router: &Router, mut request: Request<Body>) -> Reply {
    if request.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().is_none() {
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from(([127, 0, 0, 1], 50_000))));
    }
    if !request.headers().contains_key(http::header::HOST) {
        request.headers_mut().insert(http::header::HOST, http::HeaderValue::from_static("127.0.0.1:3000"));
    }
    let response = router.clone().oneshot(request).await.expect("router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).to_string();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply { status, headers, body, text }
}

pub async fn get(router: &Router, uri: &str, bearer: Option<&str>) -> Reply {
    let mut builder = Request::get(uri);
    if let Some(t) = bearer {
        builder = builder.header("authorization", format!("Bearer {t}"));
    }
    send(router, builder.body(Body::empty()).unwrap()).await
}

pub async fn post_json(router: &Router, uri: &str, bearer: Option<&str>, body: &Value) -> Reply {
    let mut builder = Request::post(uri).header("content-type", "application/json");
    if let Some(t) = bearer {
        builder = builder.header("authorization", format!("Bearer {t}"));
    }
    send(router, builder.body(Body::from(body.to_string())).unwrap()).await
}

/// A walk over the keys matching `pattern` (prefix included) on the shared Redis, with the
/// engine's own pager: the test's runtime owns the connection.
pub async fn walk(pattern: &str) -> hearth::cache::scan::Walk {
    let redis = shared_redis();
    let conn = redis.bulk().await.expect("Redis is up");
    hearth::cache::scan::Walk::new(conn, pattern).across(&redis).await.expect("the cluster's primaries are known")
}

/// Runs a pipeline's commands (a test's seed data) one by one: on a cluster a pipeline must stay
/// in one slot, and seed keys are spread on purpose. Replies are dropped; an error fails the test.
pub async fn each(conn: &mut hearth::redis_conn::Conn, pipe: &redis::Pipeline) {
    for cmd in pipe.cmd_iter() {
        let _: redis::Value = cmd.query_async(conn).await.unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    }
}

/// Deletes every key matching `pattern` on the shared Redis, a SCAN page at a time (never KEYS).
pub async fn unlink_matching(pattern: &str) {
    let mut conn = raw_redis().await;
    let mut walk = walk(pattern).await;
    while let Some(keys) = walk.next_page().await.unwrap() {
        if !keys.is_empty() {
            let _: () = redis::cmd("UNLINK").arg(&keys).query_async(&mut conn).await.unwrap();
        }
    }
}

/// Deletes every key under the state's prefix (SCAN + UNLINK, never KEYS).
pub async fn cleanup(state: &AppState) {
    let prefix = state.config.key_prefix.clone();
    assert!(prefix.starts_with("t:"), "cleanup only runs on test prefixes");
    unlink_matching(&format!("{prefix}*")).await;
}

/// A connection to the shared test Redis (on a cluster, commands are routed by key; a pipeline
/// must stay in one slot), with the long timeout of Hearth's bulk work.
pub async fn raw_redis() -> hearth::redis_conn::Conn {
    shared_redis().bulk().await.expect("Redis is up")
}

/// A PostgreSQL schema of one test, dropped (with everything in it) when the guard goes away,
/// even if the test panicked.
pub struct PgSchema {
    pub name: String,
    pub pool: sqlx::PgPool,
}

impl PgSchema {
    pub async fn new(test: &str) -> PgSchema {
        let name = format!("t_{test}_{:x}", rand::random::<u32>());
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .connect(&database_url())
            .await
            .expect("PostgreSQL is up");
        sqlx::query(&format!("CREATE SCHEMA \"{name}\"")).execute(&pool).await.unwrap();
        PgSchema { name, pool }
    }

    pub async fn exec(&self, sql: &str) {
        sqlx::raw_sql(sql).execute(&self.pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let name = self.name.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                if let Ok(pool) = sqlx::PgPool::connect(&database_url()).await {
                    let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE")).execute(&pool).await;
                }
            });
        })
        .join()
        .ok();
    }
}

/// A scratch directory under target/, removed afterwards.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(test: &str) -> TempDir {
        let dir =
            std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{test}-{:x}", rand::random::<u32>()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every group of a source in stream order (a group split over batches merged back, its JSON
/// array closed), with the number of skipped rows.
pub async fn read_all(def: &hearth::source::SourceDef) -> (Vec<hearth::source::GroupRows>, u64) {
    let shape = hearth::source::introspect(def).await.expect("introspection succeeds");
    let mut stream = hearth::source::stream(def, &shape);
    let (mut groups, mut skipped): (Vec<hearth::source::GroupRows>, u64) = (Vec::new(), 0);
    while let Some(batch) = stream.next_batch().await {
        let batch = batch.expect("batch reads");
        skipped += batch.skipped;
        for g in batch.groups {
            match groups.last_mut() {
                Some(last) if last.same_group(&g) => {
                    last.json.push(',');
                    last.json.push_str(&g.json[1..]);
                    last.rows += g.rows;
                }
                _ => groups.push(g),
            }
        }
    }
    for g in &mut groups {
        g.json.push(']');
    }
    (groups, skipped)
}

/// A redis-server of the test's own on a random loopback port, killed when dropped: for tests
/// that fill, limit or stop Redis.
pub struct PrivateRedis {
    child: std::process::Child,
    pub port: u16,
}

impl PrivateRedis {
    pub fn start(extra: &[&str]) -> PrivateRedis {
        Self::start_at(24000 + rand::random::<u16>() % 8000, extra)
    }

    /// On `port` (a restart of one that was stopped: same port, same `--dir`).
    pub fn start_at(port: u16, extra: &[&str]) -> PrivateRedis {
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(extra)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        let redis = PrivateRedis { child, port };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return redis;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("the private redis-server on port {port} did not start");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls job `id` every 50 ms until `f` holds for it; fails naming `what` after `limit`.
pub async fn wait_for<F: Fn(&hearth::model::jobs::Job) -> bool>(
    state: &AppState,
    id: &str,
    what: &str,
    limit: std::time::Duration,
    f: F,
) -> hearth::model::jobs::Job {
    let started = std::time::Instant::now();
    loop {
        let job = hearth::jobs::service::job(state, id).await.unwrap();
        if f(&job) {
            return job;
        }
        assert!(started.elapsed() < limit, "timed out waiting for {what}; job is {job:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The `hearth` binary this test run built, run in the package directory with only the given
/// `HEARTH_*` settings (none inherited from the caller's environment).
pub fn hearth_command(vars: &[(&str, &str)]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_hearth"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("HEARTH_")) {
        cmd.env_remove(k);
    }
    cmd.envs(vars.iter().copied());
    cmd
}

pub mod cluster;
pub mod fixtures;

/// A source id for a request model (tests use ids far above the demo's).
pub fn source(ds: i64) -> hearth::model::input::DatasourceId {
    ds.try_into().expect("test source ids are positive")
}

/// A reason for a request model.
pub fn reason(text: &str) -> hearth::model::input::Reason {
    hearth::model::input::Reason::from_text(text).expect("test reasons are not blank")
}
