//! The audit trail (SPEC §5): each mutation, inspection, refusal and failure leaves exactly one
//! entry with its user, reason and outcome; filters and the cursor find them; the export
//! round-trips as NDJSON and CSV; a trail Redis refuses to write never fails the operation.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::{Value, json};

use crate::common::fixtures::*;
use crate::common::*;
use hearth::auth::audit::{self, Act, Done};
use hearth::model::audit::{AuditAction, AuditEntry, AuditOutcome};
use hearth::state::AppState;

const RW: [&str; 2] = ["settings:read:all", "settings:write:all"];

async fn instance(name: &str, dir: &TempDir, ids: &[i64], extra: &[(&str, &str)]) -> AppState {
    let pool = sqlite_pool(&dir.0).await;
    create_table(&pool, "m", &grid("A", &["Visits"], &[1], &[Some(2)], &["Monthly"], 1)).await;
    let tables: Vec<(i64, &str)> = ids.iter().map(|id| (*id, "m")).collect();
    let sources = sources_file(dir, &tables);
    jwt_state_with(name, &[&[("HEARTH_SOURCES", sources.as_str())], extra].concat())
}

/// `request` with a bearer token and a request id of our choosing.
async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    bearer: Option<&str>,
    id: &str,
    body: Option<Value>,
) -> Reply {
    let mut builder = Request::builder().method(method).uri(uri).header("x-request-id", id);
    if let Some(t) = bearer {
        builder = builder.header("authorization", format!("Bearer {t}"));
    }
    let body = match body {
        Some(b) => {
            builder = builder.header("content-type", "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    send(app, builder.body(body).unwrap()).await
}

/// Every entry of the trail (REST, following the cursor), once `expected` of them are there:
/// entries are written in the background, a moment after the answer.
async fn trail(app: &axum::Router, bearer: &str, query: &str, expected: usize) -> Vec<Value> {
    let mut entries = Vec::new();
    for _ in 0..100 {
        entries.clear();
        let mut cursor = String::new();
        loop {
            let r = get(app, &format!("/api/admin/analytics/cache/audit?limit=7&{query}{cursor}"), Some(bearer)).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            entries.extend(r.body["data"]["entries"].as_array().unwrap().iter().cloned());
            match r.body["data"]["nextCursor"].as_str() {
                Some(c) => cursor = format!("&cursor={c}"),
                None => break,
            }
        }
        if entries.len() >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    entries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_operation_and_each_refusal_leaves_exactly_one_entry_with_its_reason_and_outcome() {
    let dir = TempDir::new("audit-ops");
    let ds = random_ds();
    let state = instance("auditops", &dir, &[ds], &[]).await;
    let _cleanup = cleanup_prefix_on_drop(&state.config.key_prefix);
    let app = hearth::server::router(state.clone());
    let alice = token(SECRET, "alice", &RW, 600);
    let reader = token(SECRET, "carol", &["settings:read:all"], 600);
    let warm = "/api/admin/analytics/cache/warm";

    let r = call(
        &app,
        "POST",
        warm,
        Some(&alice),
        "req-warm",
        Some(json!({"datasourceId": ds, "reason": "nightly load late"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let job = r.body["data"]["jobId"].as_str().unwrap().to_string();
    let cancel = format!("/api/admin/analytics/cache/jobs/{job}/cancel");
    let r = call(&app, "POST", &cancel, Some(&alice), "req-cancel", Some(json!({"reason": "wrong source"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = call(&app, "POST", &cancel, Some(&alice), "req-cancel-again", None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "a finished job: {}", r.text);
    let inv = json!({"datasourceId": ds, "dryRun": true, "reason": "look first"});
    let r = call(&app, "POST", "/api/admin/analytics/cache/invalidate", Some(&alice), "req-dry", Some(inv)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let key = format!("cache:{{ds:{ds}}}:m:Visits:p:1:prov:2:freq:Monthly");
    let r = call(
        &app,
        "GET",
        &format!("/api/admin/redis/inspect?key={}", urlencode(&key)),
        Some(&reader),
        "req-inspect",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "nothing warmed yet: {}", r.text);
    // Refusals: no permission, not signed in; neither reaches the operation.
    let r = call(&app, "POST", warm, Some(&reader), "req-forbidden", Some(json!({"datasourceId": ds}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = call(&app, "GET", "/api/admin/analytics/cache/stats", None, "req-anonymous", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    // A body that never parses still leaves an entry under the route's action.
    let r = send(
        &app,
        Request::post(warm)
            .header("authorization", format!("Bearer {alice}"))
            .header("x-request-id", "req-garbled")
            .header("content-type", "application/json")
            .body(Body::from("{\"datasourceId\": "))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    // A read that succeeds is not an audited action.
    let r = call(&app, "GET", "/api/admin/analytics/cache/warming/status", Some(&reader), "req-read", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let entries = trail(&app, &alice, "", 8).await;
    let by_request: BTreeMap<String, Vec<&Value>> = entries.iter().fold(BTreeMap::new(), |mut m, e| {
        m.entry(e["requestId"].as_str().unwrap().to_string()).or_default().push(e);
        m
    });
    for (id, list) in &by_request {
        assert_eq!(list.len(), 1, "request {id} has {} entries: {list:?}", list.len());
    }
    let one =
        |id: &str| -> &Value { by_request.get(id).unwrap_or_else(|| panic!("no entry for {id}: {entries:#?}"))[0] };
    let e = one("req-warm");
    assert_eq!((e["action"].as_str(), e["outcome"].as_str()), (Some("cache_warm_initiated"), Some("ok")));
    assert_eq!((e["userId"].as_str(), e["reason"].as_str()), (Some("alice"), Some("nightly load late")));
    assert_eq!(e["sourceId"], ds);
    assert_eq!(e["counts"]["queued"], 1);
    assert_eq!(e["client"], "127.0.0.1");
    let e = one("req-cancel");
    assert_eq!((e["action"].as_str(), e["reason"].as_str()), (Some("cache_job_cancelled"), Some("wrong source")));
    assert_eq!(e["sourceId"], ds, "a job's entry names its source");
    let e = one("req-cancel-again");
    assert_eq!((e["outcome"].as_str(), e["status"].as_u64()), (Some("rejected"), Some(409)));
    let e = one("req-dry");
    assert_eq!((e["action"].as_str(), e["reason"].as_str()), (Some("cache_invalidated"), Some("look first")));
    assert!(e["detail"].as_str().unwrap().starts_with("dry run"), "{e}");
    let e = one("req-inspect");
    assert_eq!((e["action"].as_str(), e["userId"].as_str()), (Some("redis_key_inspected"), Some("carol")));
    assert_eq!(e["target"], format!("key {key}"));
    let e = one("req-forbidden");
    assert_eq!((e["outcome"].as_str(), e["status"].as_u64()), (Some("refused"), Some(403)));
    assert_eq!(e["userId"], "carol");
    let e = one("req-anonymous");
    assert_eq!((e["action"].as_str(), e["outcome"].as_str()), (Some("access_refused"), Some("refused")));
    assert_eq!(e["userId"], "");
    let e = one("req-garbled");
    assert_eq!((e["action"].as_str(), e["outcome"].as_str()), (Some("cache_warm_initiated"), Some("rejected")));
    assert_eq!(e["userId"], "alice");
    assert!(!by_request.contains_key("req-read"), "a plain read is not audited");
    // The response names its request id, for matching with the trail and the log.
    assert_eq!(r.headers["x-request-id"], "req-read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_and_the_cursor_find_entries_by_user_action_source_outcome_and_time() {
    let state = jwt_state("auditfilter");
    let _cleanup = cleanup_prefix_on_drop(&state.config.key_prefix);
    let app = hearth::server::router(state.clone());
    let reader = token(SECRET, "carol", &["settings:read:all"], 600);
    let meta = hearth::auth::RequestMeta { id: "seed".into(), client: "test".into(), ..Default::default() };
    let mut who = hearth::auth::Principal::dev_admin();
    for i in 0..30i64 {
        who.id = if i % 3 == 0 { "alice".into() } else { "bob".into() };
        let action = if i % 2 == 0 { AuditAction::CacheWarmInitiated } else { AuditAction::CacheInvalidated };
        let status = if i % 5 == 0 { 429 } else { 200 };
        audit::record(
            &state,
            Some(&who),
            &meta,
            Act::on_source(action, 1 + i % 4),
            status,
            Done::detail(format!("n{i}")),
        );
        // Stream ids order the trail: keep the writes in the order they were made.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let all = trail(&app, &reader, "", 30).await;
    assert_eq!(all.len(), 30);
    let details: Vec<&str> = all.iter().map(|e| e["detail"].as_str().unwrap()).collect();
    assert_eq!(details.first(), Some(&"n29"), "newest first");
    let unique: std::collections::BTreeSet<&str> = all.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(unique.len(), 30, "the cursor neither repeats nor skips");

    let alice = trail(&app, &reader, "user=alice", 10).await;
    assert_eq!(alice.len(), 10);
    assert!(alice.iter().all(|e| e["userId"] == "alice"));
    let narrow = trail(&app, &reader, "user=bob&action=cache_invalidated&source=2&outcome=ok", 1).await;
    let expected = (0..30).filter(|i| i % 3 != 0 && i % 2 == 1 && 1 + i % 4 == 2 && i % 5 != 0).count();
    assert_eq!(narrow.len(), expected);
    let refused = trail(&app, &reader, "outcome=refused", 6).await;
    assert_eq!(refused.len(), 6);

    // A time range is a range of stream ids.
    let middle: i64 = all[10]["id"].as_str().unwrap().split('-').next().unwrap().parse().unwrap();
    let newer = trail(&app, &reader, &format!("from={middle}"), 1).await;
    assert!(newer.len() >= 11 && newer.len() < 30, "{}", newer.len());
    let future = get(&app, "/api/admin/analytics/cache/audit?from=2999-01-01", Some(&reader)).await;
    assert_eq!(future.body["data"]["entries"], json!([]));
    assert_eq!(future.body["data"]["nextCursor"], Value::Null);

    for bad in ["action=warm", "source=-1", "outcome=maybe", "from=soon", "limit=0", "cursor=x", "colour=red"] {
        let r = get(&app, &format!("/api/admin/analytics/cache/audit?{bad}"), Some(&reader)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
        assert_eq!(r.body["code"], "VALIDATION_ERROR", "{bad}");
    }
    let r = get(&app, "/api/admin/analytics/cache/audit", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "the trail needs a signed-in reader");
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }
        })
        .collect()
}

/// Splits CSV text (RFC 4180: quoted fields, doubled quotes, CRLF rows) into rows of fields.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field, mut quoted) = (Vec::new(), Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\r', false) => {}
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (c, _) => field.push(c),
        }
    }
    rows
}

/// One leading `'` is the export's formula guard.
fn unguard(cell: &str) -> String {
    cell.strip_prefix('\'').unwrap_or(cell).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_export_round_trips_as_ndjson_and_csv_and_is_itself_audited() {
    let state = jwt_state("auditexport");
    let _cleanup = cleanup_prefix_on_drop(&state.config.key_prefix);
    let app = hearth::server::router(state.clone());
    let reader = token(SECRET, "carol", &["settings:read:all"], 600);
    let meta =
        hearth::auth::RequestMeta { id: "r1".into(), client: "10.0.0.1 via 127.0.0.1".into(), ..Default::default() };
    let who =
        hearth::auth::Principal { name: Some("Alice, \"A\" Smith".into()), ..hearth::auth::Principal::dev_admin() };
    let reasons = ["=HYPERLINK(\"http://x\")", "two\nlines, and a comma", "'quoted", "-1 plain"];
    for (i, reason) in reasons.iter().enumerate() {
        let act = Act::new(AuditAction::RedisCachePurged, format!("pattern cache:{{ds:{i}}}:*")).reason(Some(reason));
        audit::record(
            &state,
            Some(&who),
            &meta,
            act,
            200,
            Done::detail("purged").count("deleted", i as u64).count("matched", 9),
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let listed: Vec<AuditEntry> = trail(&app, &reader, "action=redis_cache_purged", 4)
        .await
        .into_iter()
        .map(|v| serde_json::from_value(v).unwrap())
        .collect();
    assert_eq!(listed.len(), 4);

    let r = get(&app, "/api/admin/analytics/cache/audit/export?format=ndjson&action=redis_cache_purged", Some(&reader))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers["content-type"], "application/x-ndjson");
    assert!(r.headers["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\"hearth-audit-"));
    let from_ndjson: Vec<AuditEntry> = r.text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(from_ndjson, listed);

    let r =
        get(&app, "/api/admin/analytics/cache/audit/export?format=csv&action=redis_cache_purged", Some(&reader)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("'=HYPERLINK"), "a formula is defused: {}", r.text);
    let rows = parse_csv(&r.text);
    assert_eq!(rows[0], hearth::auth::audit::export::CSV_COLUMNS.map(String::from).to_vec());
    assert_eq!(rows.len(), 5);
    for (row, entry) in rows[1..].iter().zip(&listed) {
        let cell = |name: &str| unguard(&row[rows[0].iter().position(|c| c == name).unwrap()]);
        assert_eq!(cell("id"), entry.id);
        assert_eq!(cell("userName"), entry.user_name.clone().unwrap());
        assert_eq!(cell("reason"), entry.reason.clone().unwrap());
        assert_eq!(cell("action"), entry.action.as_str());
        assert_eq!(cell("outcome"), AuditOutcome::Ok.as_str());
        assert_eq!(cell("target"), entry.target);
        assert_eq!(cell("client"), "10.0.0.1 via 127.0.0.1");
        let counts: BTreeMap<String, u64> = cell("counts")
            .split(';')
            .map(|kv| kv.split_once('=').unwrap())
            .map(|(k, v)| (k.to_string(), v.parse().unwrap()))
            .collect();
        assert_eq!(counts, entry.counts);
    }
    let r = get(&app, "/api/admin/analytics/cache/audit/export?format=xml", Some(&reader)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let exports = trail(&app, &reader, "action=audit_exported", 3).await;
    let outcomes: Vec<&str> = exports.iter().map(|e| e["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["rejected", "ok", "ok"], "each download is recorded, and the refused format too");
    assert_eq!(exports[1]["userId"], "carol");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trail_redis_refuses_to_write_never_fails_the_operation_it_records() {
    let dir = TempDir::new("audit-fail");
    let ds = random_ds();
    let state = instance("auditfail", &dir, &[ds], &[]).await;
    let _cleanup = cleanup_prefix_on_drop(&state.config.key_prefix);
    let app = hearth::server::router(state.clone());
    let alice = token(SECRET, "alice", &RW, 600);
    // The stream's key holds a string: every XADD answers WRONGTYPE.
    let mut conn = raw_redis().await;
    let _: () = redis::cmd("SET").arg(state.keys.audit_log()).arg("not a stream").query_async(&mut conn).await.unwrap();

    let before = state.audit_failures.load(std::sync::atomic::Ordering::Relaxed);
    let r = post_json(&app, "/api/admin/analytics/cache/warm", Some(&alice), &json!({"datasourceId": ds})).await;
    assert_eq!(r.status, StatusCode::OK, "the warm is queued all the same: {}", r.text);
    assert!(r.body["data"]["jobId"].is_string());
    let mut failures = before;
    for _ in 0..100 {
        failures = state.audit_failures.load(std::sync::atomic::Ordering::Relaxed);
        if failures > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(failures, before + 1, "the failed write is counted");
    let value: String = redis::cmd("GET").arg(state.keys.audit_log()).query_async(&mut conn).await.unwrap();
    assert_eq!(value, "not a stream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trail_is_capped() {
    let state = state_with("auditcap", &[("HEARTH_AUDIT_MAX_ENTRIES", "1000")]);
    let _cleanup = cleanup_prefix_on_drop(&state.config.key_prefix);
    let meta = hearth::auth::RequestMeta::default();
    let who = hearth::auth::Principal::dev_admin();
    for i in 0..1500 {
        let entry = AuditEntry { detail: Some(format!("n{i}")), ..sample_entry(&who, &meta) };
        hearth::auth::audit::store::append(&state, &entry).await.unwrap();
    }
    let mut conn = raw_redis().await;
    let len: u64 = redis::cmd("XLEN").arg(state.keys.audit_log()).query_async(&mut conn).await.unwrap();
    // MAXLEN ~ trims whole stream nodes (100 entries each by default): close to the cap, never far over.
    assert!((1000..1200).contains(&len), "{len}");
}

fn sample_entry(who: &hearth::auth::Principal, meta: &hearth::auth::RequestMeta) -> AuditEntry {
    AuditEntry {
        id: String::new(),
        at: "2026-12-03T00:00:00.000Z".into(),
        user_id: who.id.clone(),
        user_name: None,
        action: AuditAction::CacheWarmInitiated,
        target: "all sources".into(),
        source_id: None,
        reason: None,
        outcome: AuditOutcome::Ok,
        status: 200,
        detail: None,
        counts: BTreeMap::new(),
        request_id: meta.id.clone(),
        client: meta.client.clone(),
    }
}

/// A purge run in the background leaves two entries: one when it starts (the request's answer)
/// and one when it ends, with what it deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_purge_is_recorded_when_it_starts_and_when_it_ends() {
    let dir = TempDir::new("audit-bg");
    let state = instance("auditbg", &dir, &[random_ds()], &[]).await;
    let _cleanup = cleanup_prefix_on_drop(&state.config.key_prefix);
    let app = hearth::server::router(state.clone());
    let admin = token(SECRET, "ada", &RW, 600);
    let mut conn = raw_redis().await;
    for i in 0..40 {
        let _: () = redis::cmd("SET")
            .arg(state.keys.key(&format!("cache:bg:{i}")))
            .arg("x")
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    let body = json!({"pattern": "cache:bg:*", "confirm": true, "reason": "clear bg", "async": true});
    let r = call(&app, "POST", "/api/admin/redis/purge", Some(&admin), "req-bg-1", Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let id = r.body["data"]["purgeId"].as_str().expect("a purge id").to_string();
    let entries = trail(&app, &admin, "action=redis_cache_purged", 2).await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    // The end entry repeats the request id of the purge it ends, for matching with the log.
    assert!(entries.iter().all(|e| e["requestId"] == "req-bg-1"), "{entries:?}");
    let end = entries
        .iter()
        .find(|e| e["detail"] == format!("background purge {id} finished"))
        .unwrap_or_else(|| panic!("the end: {entries:?}"));
    // The answer's entry: "running in the background…", or "purged" when the 40 keys were gone
    // before the answer was recorded.
    let start = entries.iter().find(|e| *e != end).unwrap();
    let detail = start["detail"].as_str().unwrap();
    assert!(detail == format!("running in the background as purge {id}") || detail == "purged", "{start}");
    assert_eq!(start["reason"], "clear bg");
    assert_eq!((end["userId"].as_str(), end["outcome"].as_str()), (Some("ada"), Some("ok")), "{end}");
    assert_eq!(end["counts"]["deleted"], 40, "{end}");
    assert_eq!(end["reason"], "clear bg");
}
