//! Property tests over every REST route of the table: arbitrary and near-valid JSON bodies,
//! query strings and path parameters, sent with a writer's token into the real router. Whatever
//! arrives, the answer is never a 5xx or a panic, and every refusal is a 4xx in the SPEC §3
//! envelope. The inputs that once broke a handler are replayed first, as regression cases.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use http::{Request, StatusCode};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use serde_json::{Value, json};

use crate::common::fixtures::*;
use crate::common::*;
use hearth::api::routes::{Field, Place, ROUTES, RouteSpec, Ty};

/// Cases of the property run (`HEARTH_FUZZ_CASES` changes it for a longer hunt).
const CASES: u32 = 10_000;

/// Keys of every type under the test's prefix, so the inspector's type branches are reached.
const SEEDED: [&str; 6] = ["fz:str", "fz:hash", "fz:list", "fz:set", "fz:zset", "fz:stream"];

/// Ids that exist during the run (jobs, a schedule, a purge), so path parameters hit real records.
#[derive(Debug, Clone, Default)]
struct Known {
    sources: Vec<i64>,
    ids: Vec<String>,
}

#[derive(Debug, Clone)]
enum Payload {
    None,
    Json(Value),
    /// Anything that is not a JSON document: truncated, deeply nested, invalid UTF-8.
    Raw(Vec<u8>),
}

#[derive(Debug, Clone)]
struct Case {
    route: usize,
    id: String,
    query: String,
    payload: Payload,
    content_type: Option<&'static str>,
}

// ---- generators ----------------------------------------------------------------------------

const EDGE_NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-1",
    "1",
    "1.5",
    "1e9",
    "1e308",
    "-1e308",
    "255",
    "256",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "315360000",
    "315360001",
    "99999999999999999999999999",
];

const EDGE_TEXT: &[&str] = &[
    "",
    " ",
    "*",
    "**",
    "purge all",
    "fz:*",
    "nothing:*",
    "[",
    "[a",
    "\\",
    "a\\",
    "\u{0}",
    "\u{7}",
    "é",
    "\u{202e}",
    "🦀🦀",
    "cache:{ds:1}:*",
    "hearth:*",
    "lock:cache:warm:*",
    "0 0 * * *",
    "*/5 * * * *",
    "0 0 31 2 *",
    "61 * * * *",
    "@hourly",
    "1h",
    "24h",
    "7d",
    "null",
    "true",
    "-1",
    "18446744073709551615",
];

fn text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => any::<String>(),
        3 => prop::sample::select(EDGE_TEXT).prop_map(str::to_string),
        2 => "[a-z:*{}\\[\\]?\\\\ ]{0,16}",
        1 => (prop::sample::select(&[255usize, 256, 257, 500, 501, 1024, 1025, 5000][..]), any::<char>())
            .prop_map(|(n, c)| c.to_string().repeat(n)),
        1 => prop::sample::select(&[70_000usize][..]).prop_map(|n| "x".repeat(n)),
    ]
    .boxed()
}

fn edge_number() -> BoxedStrategy<Value> {
    prop::sample::select(EDGE_NUMBERS).prop_map(|s| serde_json::from_str(s).unwrap_or(Value::Null)).boxed()
}

fn leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        edge_number(),
        text().prop_map(Value::from),
    ]
    .boxed()
}

/// Every field name of every route, so arbitrary objects often name real fields.
fn field_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> =
        ROUTES.iter().flat_map(|r| r.body.unwrap_or(&[]).iter().map(|f| f.name)).collect();
    names.sort_unstable();
    names.dedup();
    names
}

fn key() -> BoxedStrategy<String> {
    prop_oneof![3 => prop::sample::select(field_names()).prop_map(str::to_string), 1 => text()].boxed()
}

fn json() -> BoxedStrategy<Value> {
    leaf()
        .prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((key(), inner), 0..6).prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
        .boxed()
}

/// A value of the right type (often valid, sometimes out of range) for a field of type `ty`.
fn typed(ty: Ty, known: &Known) -> BoxedStrategy<Value> {
    let sources = known.sources.clone();
    match ty {
        Ty::SourceId => prop_oneof![
            prop::sample::select(sources).prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            edge_number(),
        ]
        .boxed(),
        Ty::Count => {
            prop_oneof![any::<u64>().prop_map(Value::from), (0u64..200).prop_map(Value::from), edge_number()].boxed()
        }
        Ty::Percent => (0i64..300).prop_map(Value::from).boxed(),
        Ty::Bool => any::<bool>().prop_map(Value::from).boxed(),
        Ty::Ttl => prop_oneof![
            prop::sample::select(&[-2i64, -1, 0, 1, 60, 315_360_000, 315_360_001][..]).prop_map(Value::from),
            prop::sample::select(&["-1", "60", " 60 ", "1e3", "soon", ""][..]).prop_map(Value::from),
            edge_number(),
        ]
        .boxed(),
        Ty::OneOf(words) => {
            prop_oneof![prop::sample::select(words).prop_map(Value::from), text().prop_map(Value::from)].boxed()
        }
        Ty::Text | Ty::Reason | Ty::Pattern => text().prop_map(Value::from).boxed(),
        Ty::Any => prop_oneof![Just(json!(true)), Just(json!("purge all")), json()].boxed(),
    }
}

/// The route's own field names with values of the right type, the wrong type, null or garbage.
fn near_valid(fields: &'static [Field], known: &Known) -> BoxedStrategy<Value> {
    let per_field: Vec<BoxedStrategy<Option<(&'static str, Value)>>> = fields
        .iter()
        .map(|f| {
            let value = prop_oneof![6 => typed(f.ty, known), 2 => leaf(), 1 => json()];
            prop::option::weighted(0.7, value.prop_map(move |v| (f.name, v))).boxed()
        })
        .collect();
    (per_field, prop::option::of((key(), leaf())))
        .prop_map(|(present, extra)| {
            let mut object: serde_json::Map<String, Value> =
                present.into_iter().flatten().map(|(k, v)| (k.to_string(), v)).collect();
            if let Some((k, v)) = extra {
                object.insert(k, v);
            }
            Value::Object(object)
        })
        .boxed()
}

fn raw_body() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        any::<Vec<u8>>(),
        text().prop_map(String::into_bytes),
        prop::sample::select(&["{", "{\"pattern\":", "[]", "\"x\"", "1", "{}{}", "{\"a\":1,}", "nul"][..])
            .prop_map(|s| s.as_bytes().to_vec()),
        (1usize..5000).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes()),
    ]
    .boxed()
}

fn payload(spec: &'static RouteSpec, known: &Known) -> BoxedStrategy<Payload> {
    match spec.body {
        Some(fields) => prop_oneof![
            6 => near_valid(fields, known).prop_map(Payload::Json),
            3 => json().prop_map(Payload::Json),
            2 => raw_body().prop_map(Payload::Raw),
            1 => Just(Payload::None),
        ]
        .boxed(),
        None => prop_oneof![
            6 => Just(Payload::None),
            1 => json().prop_map(Payload::Json),
            1 => raw_body().prop_map(Payload::Raw),
        ]
        .boxed(),
    }
}

/// Percent-encodes `text` as a form value would be.
fn encode(text: &str) -> String {
    serde_urlencoded::to_string([("", text)]).map(|s| s[1..].to_string()).unwrap_or_default()
}

const EDGE_QUERIES: &[&str] = &[
    "start=18446744073709551615",
    "start=18446744073709551616",
    "start=-1",
    "count=-1",
    "count=0",
    "count=18446744073709551615",
    "limit=1e9",
    "limit=1000000000",
    "limit=-1",
    "limit=18446744073709551616",
    "cursor=18446744073709551615",
    "cursor=abc",
    "%",
    "%%",
    "%ZZ",
    "a=%FF%FE",
    "key=%FF",
    "=",
    "&&&",
    "key",
    "key=&key=",
    "datasourceId=0",
    "datasourceId=-1",
    "datasourceId=9223372036854775808",
    "datasourceId=%20",
    "range=%00",
    "type=none",
    "pattern=%5B",
    "pattern=%00",
];

fn query_value(known: &Known) -> BoxedStrategy<String> {
    let sources: Vec<String> = known.sources.iter().map(i64::to_string).collect();
    let ids = known.ids.clone();
    prop_oneof![
        3 => text().prop_map(|t| encode(&t)),
        2 => prop::sample::select(EDGE_NUMBERS).prop_map(str::to_string),
        2 => prop::sample::select(&SEEDED[..]).prop_map(encode),
        1 => prop::sample::select(sources),
        1 => prop::sample::select(ids).prop_map(|s| encode(&s)),
        1 => "[A-Za-z0-9%+._~*:,-]{0,24}",
    ]
    .boxed()
}

fn query(spec: &'static RouteSpec, known: &Known) -> BoxedStrategy<String> {
    let mut names: Vec<&'static str> = spec.params.iter().filter(|p| p.place == Place::Query).map(|p| p.name).collect();
    names.extend(["start", "count", "limit", "key", "pattern"]);
    let pair = (
        prop_oneof![4 => prop::sample::select(names).prop_map(str::to_string), 1 => text().prop_map(|t| encode(&t))],
        query_value(known),
    )
        .prop_map(|(k, v)| format!("{k}={v}"));
    prop_oneof![
        6 => prop::collection::vec(pair, 0..6).prop_map(|pairs| pairs.join("&")),
        2 => prop::sample::select(EDGE_QUERIES).prop_map(str::to_string),
        1 => "[A-Za-z0-9%&=+;._~*:,-]{0,40}",
    ]
    .boxed()
}

fn path_id(known: &Known) -> BoxedStrategy<String> {
    let ids = known.ids.clone();
    prop_oneof![
        3 => prop::sample::select(ids),
        3 => prop::sample::select(
            &[
                "%00", "%FF", "%2F", "..", ".", "%", "%%", "x", "0", "-1", "18446744073709551615", "%E2%80%AE",
                "a%20b", "%C3%A9", "%C3", "j-none", "*",
            ][..]
        )
        .prop_map(str::to_string),
        2 => "[A-Za-z0-9%._~-]{1,64}",
        1 => any::<String>().prop_filter("a segment", |s| !s.is_empty()).prop_map(|s| encode(&s)),
        1 => (1usize..3000).prop_map(|n| "a".repeat(n)),
        1 => "[0-9a-f]{64}",
    ]
    .boxed()
}

fn case(known: &Known) -> BoxedStrategy<Case> {
    let known = known.clone();
    (0..ROUTES.len())
        .prop_flat_map(move |route| {
            let spec = &ROUTES[route];
            let content_type =
                prop_oneof![8 => Just(Some("application/json")), 1 => Just(None), 1 => Just(Some("text/plain"))];
            (Just(route), path_id(&known), query(spec, &known), payload(spec, &known), content_type)
        })
        .prop_map(|(route, id, query, payload, content_type)| Case { route, id, query, payload, content_type })
        .boxed()
}

// ---- the run -------------------------------------------------------------------------------

fn uri(spec: &RouteSpec, id: &str, query: &str) -> String {
    let path: Vec<&str> = spec.path.split('/').map(|s| if s.starts_with('{') { id } else { s }).collect();
    let query = if query.is_empty() { String::new() } else { format!("?{query}") };
    format!("/api{}{query}", path.join("/"))
}

fn request(c: &Case, bearer: &str) -> Option<Request<Body>> {
    let spec = &ROUTES[c.route];
    let uri: http::Uri = uri(spec, &c.id, &c.query).parse().ok()?;
    let mut builder =
        Request::builder().method(spec.verb.as_str()).uri(uri).header("authorization", format!("Bearer {bearer}"));
    if let Some(kind) = c.content_type {
        builder = builder.header("content-type", kind);
    }
    let bytes = match &c.payload {
        Payload::None => return builder.body(Body::empty()).ok(),
        Payload::Json(v) => v.to_string().into_bytes(),
        Payload::Raw(bytes) => bytes.clone(),
    };
    // As an HTTP client sends it: with its length.
    builder.header("content-length", bytes.len()).body(Body::from(bytes)).ok()
}

/// What every answer must be: no 5xx; a refusal in the error envelope (429 with `Retry-After`);
/// a success in the success envelope.
fn check(spec: &RouteSpec, r: &Reply) -> Result<(), String> {
    let what = format!("{} {}", spec.verb.as_str(), spec.path);
    if r.status.is_server_error() {
        return Err(format!("{what} answered {}: {}", r.status, r.text));
    }
    if r.status.is_client_error() {
        let e = &r.body;
        let ok = e["success"] == false
            && e["error"].as_str().is_some_and(|m| !m.is_empty())
            && e["code"].as_str().is_some()
            && e["meta"]["timestamp"].is_string()
            && e.get("details").is_some();
        if !ok {
            return Err(format!("{what} refused outside the envelope ({}): {}", r.status, r.text));
        }
        if r.status == StatusCode::TOO_MANY_REQUESTS && !r.headers.contains_key("retry-after") {
            return Err(format!("{what}: 429 without Retry-After"));
        }
        return Ok(());
    }
    if spec.envelope
        && !(r.body["success"] == true && r.body.get("data").is_some() && r.body["meta"]["timestamp"].is_string())
    {
        return Err(format!("{what} answered {} outside the envelope: {}", r.status, r.text));
    }
    Ok(())
}

async fn seed(state: &hearth::state::AppState) {
    let mut conn = raw_redis().await;
    let k = |name: &str| state.keys.key(name);
    each(
        &mut conn,
        redis::pipe()
            .cmd("SET")
            .arg(k("fz:str"))
            .arg("{\"a\":[1,2,3]}")
            .ignore()
            .cmd("HSET")
            .arg(k("fz:hash"))
            .arg("f")
            .arg("v")
            .arg("g")
            .arg("é")
            .ignore()
            .cmd("RPUSH")
            .arg(k("fz:list"))
            .arg("a")
            .arg("b")
            .arg("c")
            .ignore()
            .cmd("SADD")
            .arg(k("fz:set"))
            .arg("a")
            .arg("b")
            .ignore()
            .cmd("ZADD")
            .arg(k("fz:zset"))
            .arg(1)
            .arg("a")
            .arg(2)
            .arg("b")
            .ignore()
            .cmd("XADD")
            .arg(k("fz:stream"))
            .arg("*")
            .arg("f")
            .arg("v")
            .ignore(),
    )
    .await;
}

/// Sends the regression inputs, then the property run; returns the number of requests sent.
#[test]
fn no_route_answers_a_5xx_or_leaves_the_envelope_whatever_it_is_sent() {
    let started = std::time::Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    // Building the router spawns through Leptos' executor, which needs the runtime's context.
    let _context = rt.enter();
    let dir = TempDir::new("fuzz");
    let (ds_a, ds_b) = (random_ds(), random_ds());
    let (state, known) = rt.block_on(async {
        let pool = sqlite_pool(&dir.0).await;
        create_table(
            &pool,
            "m",
            &grid("A", &["Visits", "Charges by Provider"], &[1, 2], &[Some(3), None], &["Monthly"], 2),
        )
        .await;
        let sources = sources_file(&dir, &[(ds_a, "m"), (ds_b, "m")]);
        let state = jwt_state_with(
            "fuzz",
            &[
                ("HEARTH_SOURCES", sources.as_str()),
                // Metered operations keep running (their budgets would end them after a few).
                ("HEARTH_RATE_WARM_PER_HOUR", "0"),
                ("HEARTH_RATE_INVALIDATE_PER_HOUR", "0"),
                ("HEARTH_RATE_PURGE_PER_HOUR", "0"),
                ("HEARTH_RATE_TTL_PER_HOUR", "0"),
            ],
        );
        (state, Known { sources: vec![ds_a, ds_b], ids: Vec::new() })
    });
    let _cleanup = cleanup_prefix_on_drop(&state.config.key_prefix);
    let app = hearth::server::router(state.clone());
    let writer = token(SECRET, "fuzzer", &["settings:read:all", "settings:write:all"], 3600);
    // No worker runs in this process (the test builds the router, never `spawn_background`):
    // queued warms stay queued and nothing reads the sources for long.

    let known = rt.block_on(async {
        seed(&state).await;
        let mut known = known;
        let r = post_json(&app, "/api/admin/analytics/cache/warm", Some(&writer), &json!({"datasourceId": ds_a})).await;
        known.ids.extend(r.body["data"]["jobId"].as_str().map(str::to_string));
        let r = post_json(
            &app,
            "/api/admin/analytics/cache/schedules",
            Some(&writer),
            &json!({"datasourceId": ds_b, "everyHours": 6, "enabled": false}),
        )
        .await;
        known.ids.extend(r.body["data"]["id"].as_str().map(str::to_string));
        let r = post_json(
            &app,
            "/api/admin/redis/purge",
            Some(&writer),
            &json!({"pattern": "cache:nothing:*", "confirm": true, "async": true, "reason": "a purge to aim at"}),
        )
        .await;
        known.ids.extend(r.body["data"]["purgeId"].as_str().map(str::to_string));
        assert_eq!(known.ids.len(), 3, "a job, a schedule and a purge to aim at: {known:?}");
        known
    });

    let sent = AtomicU64::new(0);
    let unsendable = AtomicU64::new(0);
    let run_one = |c: &Case| -> Result<(), String> {
        let n = sent.fetch_add(1, Ordering::Relaxed);
        let Some(request) = request(c, &writer) else {
            unsendable.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        };
        rt.block_on(async {
            if n.is_multiple_of(250) {
                seed(&state).await;
            }
            let r = send(&app, request).await;
            check(&ROUTES[c.route], &r)
        })
    };

    let mut failures: Vec<String> = Vec::new();
    for c in regression_cases(&known) {
        if let Err(e) = run_one(&c) {
            failures.push(format!("regression {c:?}: {e}"));
        }
    }

    let cases = std::env::var("HEARTH_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(CASES);
    // HEARTH_FUZZ_SURVEY=1 runs every case and lists each distinct failure (no shrinking), to
    // see them all at once; otherwise the run stops at the first and shrinks it.
    let survey = std::env::var_os("HEARTH_FUZZ_SURVEY").is_some();
    let mut config = Config { cases, failure_persistence: None, max_shrink_iters: 2000, ..Config::default() };
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        // The same inputs every run (CI stays deterministic); set PROPTEST_RNG_SEED to explore.
        config.rng_seed = RngSeed::Fixed(0x4845_4152_5448);
    }
    let mut runner = TestRunner::new(config);
    let seen = std::sync::Mutex::new(Vec::<String>::new());
    let result = runner.run(&case(&known), |c| match run_one(&c) {
        Err(e) if survey => {
            let mut seen = seen.lock().unwrap();
            // One line per route and answer: the message without its echo of the input.
            let kind: String = e.chars().take(120).collect();
            if !seen.iter().any(|s| s.starts_with(&kind)) {
                seen.push(format!("{kind}\n    input: {c:?}"));
            }
            Ok(())
        }
        other => other.map_err(TestCaseError::fail),
    });
    if let Err(e) = result {
        failures.push(e.to_string());
    }
    failures.extend(seen.into_inner().unwrap());
    eprintln!(
        "fuzz: {} requests ({} not expressible as a request) in {:.1?}",
        sent.load(Ordering::Relaxed),
        unsendable.load(Ordering::Relaxed),
        started.elapsed()
    );
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

/// Inputs that once answered 5xx, panicked or left the envelope, and the edges of the inputs,
/// sent before the run.
fn regression_cases(known: &Known) -> Vec<Case> {
    let route = |verb: &str, path: &str| {
        ROUTES.iter().position(|r| r.verb.as_str() == verb && r.path == path).unwrap_or_else(|| panic!("{path}"))
    };
    let get = |path: &str, query: &str| Case {
        route: route("GET", path),
        id: "x".into(),
        query: query.into(),
        payload: Payload::None,
        content_type: None,
    };
    let mut cases = Vec::new();
    for key in SEEDED {
        for q in ["start=18446744073709551615", "start=abc", "start=-1", "count=-1", "count=500", "start=99999999999"] {
            cases.push(get("/admin/redis/inspect", &format!("key={key}&{q}")));
        }
    }
    // A path id that is not UTF-8 once decoded: axum's own rejection was plain text.
    for (route, spec) in ROUTES.iter().enumerate().filter(|(_, r)| r.path.contains('{')) {
        for id in ["%FF", "%C3", "%00"] {
            let payload = if spec.body.is_some() { Payload::Json(json!({})) } else { Payload::None };
            cases.push(Case {
                route,
                id: id.into(),
                query: String::new(),
                payload,
                content_type: Some("application/json"),
            });
        }
    }
    // A declared body over the limit: the body-limit layer answered 413 in plain text.
    for (route, _) in ROUTES.iter().enumerate().filter(|(_, r)| r.body.is_some()) {
        let big = json!({ "reason": "x".repeat(70_000) });
        cases.push(Case {
            route,
            id: "x".into(),
            query: String::new(),
            payload: Payload::Json(big),
            content_type: Some("application/json"),
        });
    }
    cases.push(get("/admin/redis/keys", "limit=1e9"));
    cases.push(get("/admin/redis/keys", "cursor=18446744073709551615"));
    for id in &known.ids {
        for action in ["pause", "resume", "cancel"] {
            cases.push(Case {
                route: route("POST", &format!("/admin/analytics/cache/jobs/{{id}}/{action}")),
                id: id.clone(),
                query: String::new(),
                payload: Payload::None,
                content_type: None,
            });
        }
    }
    cases
}
