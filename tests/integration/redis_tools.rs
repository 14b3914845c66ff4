//! The Redis tab's tools over REST: browse, inspect, purge and TTL inside the configured
//! prefix only, previews that change nothing, bounded work on a large keyspace, bad input. (The
//! tab's namespaces inside the prefix: `redis_lane.rs`.)

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::common::*;
use hearth::state::AppState;
use http::StatusCode;
use serde_json::json;

/// Every key under `pattern` with its DUMP, to prove an operation changed nothing (on a cluster,
/// from every primary).
async fn dump_all(conn: &mut hearth::redis_conn::Conn, pattern: &str) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut keys = walk(pattern).await;
    while let Some(page) = keys.next_page().await.unwrap() {
        // The audit trail grows with every request, previews included: it is not the data.
        for k in page.into_iter().filter(|k| !k.contains("hearth:{audit}:")) {
            let d: Option<Vec<u8>> = redis::cmd("DUMP").arg(&k).query_async(conn).await.unwrap();
            let ttl: i64 = redis::cmd("TTL").arg(&k).query_async(conn).await.unwrap();
            let mut d = d.unwrap_or_default();
            d.extend_from_slice(format!("|ttl>0:{}", ttl > 0).as_bytes());
            out.insert(k, d);
        }
    }
    out
}

/// Every key a browse lists, following its cursor page after page until the scan is complete, as
/// the console's "More" does: a request examines a bounded number of keys, so on a busy shared
/// Redis this test's keys may turn up on any page, or only after a few empty ones. A key listed
/// on two pages (SCAN may repeat one) counts once, as in the console.
async fn browse_all(app: &axum::Router, query: &str) -> Vec<serde_json::Value> {
    let (mut cursor, mut rows, mut pages) = ("0".to_string(), Vec::<serde_json::Value>::new(), 0u32);
    loop {
        let r = get(app, &format!("/api/admin/redis/keys?{query}&cursor={cursor}"), None).await;
        assert_eq!(r.status, StatusCode::OK, "{query} from cursor {cursor}: {}", r.text);
        let page = &r.body["data"];
        assert!(page["examined"].as_u64().unwrap() <= hearth::redis_admin::browse::EXAMINE_CAP, "{}", r.text);
        for row in page["keys"].as_array().unwrap() {
            if !rows.iter().any(|k| k["key"] == row["key"]) {
                rows.push(row.clone());
            }
        }
        cursor = page["cursor"].as_str().unwrap().to_string();
        if !page["hasMore"].as_bool().unwrap() {
            assert_eq!(cursor, "0", "a finished scan hands back cursor 0: {}", r.text);
            return rows;
        }
        pages += 1;
        assert!(pages < 100_000, "{query}: the scan never finished");
    }
}

/// A prefix of this test and a sibling prefix that must never be touched. Keys of every type
/// live in the cache's namespaces (the Redis tab's lane), plus one key outside them.
async fn seed(state: &AppState) -> (String, String) {
    let p = state.keys.prefix().to_string();
    // A sibling: it shares the prefix's letters but not the prefix itself.
    let outside = format!("{}-outside:", p.trim_end_matches(':'));
    let mut conn = raw_redis().await;
    each(
        &mut conn,
        redis::pipe()
            .cmd("SET")
            .arg(format!("{p}cache:{{ds:1}}:m:Visits:p:1:prov:*:freq:Monthly"))
            .arg(r#"[{"measure":"Visits","value":"1.00"}]"#)
            .arg("EX")
            .arg(3600)
            .ignore()
            .cmd("SET")
            .arg(format!("{p}cache:plain:text"))
            .arg("not json {")
            .ignore()
            .cmd("HSET")
            .arg(format!("{p}session:outside"))
            .arg("user")
            .arg("eve")
            .ignore()
            .cmd("HSET")
            .arg(format!("{p}cache:session:42"))
            .arg("user")
            .arg("ada")
            .arg("role")
            .arg("admin")
            .ignore()
            .cmd("RPUSH")
            .arg(format!("{p}cache:queue:emails"))
            .arg("a")
            .arg("b")
            .arg("c")
            .ignore()
            .cmd("SADD")
            .arg(format!("{p}idx:{{ds:1}}:master"))
            .arg("m1")
            .arg("m2")
            .ignore()
            .cmd("ZADD")
            .arg(format!("{p}cache:board"))
            .arg(1)
            .arg("low")
            .arg(9)
            .arg("high")
            .ignore()
            .cmd("XADD")
            .arg(format!("{p}cache:events"))
            .arg("*")
            .arg("kind")
            .arg("warm")
            .ignore()
            .cmd("SET")
            .arg(format!("{p}lock:cache:warm:{{ds:1}}"))
            .arg("job:x@node")
            .arg("EX")
            .arg(60)
            .ignore()
            .cmd("SET")
            .arg(format!("{outside}cache:{{ds:1}}:m:Visits"))
            .arg("keep me")
            .ignore()
            .cmd("SET")
            .arg(format!("{outside}plain:text"))
            .arg("keep me too")
            .ignore(),
    )
    .await;
    (p, outside)
}

#[tokio::test]
async fn browse_inspect_purge_and_ttl_stay_inside_the_prefix() {
    let state = state_with("rtools", &[]);
    let (prefix, outside) = seed(&state).await;
    let _cleanup = (
        crate::common::fixtures::cleanup_prefix_on_drop(&prefix),
        crate::common::fixtures::cleanup_prefix_on_drop(&outside),
    );
    let app = hearth::server::router(state.clone());
    let mut conn = raw_redis().await;

    // Browse to the end: only keys under the prefix, named without it, with type and TTL. The
    // sibling prefix starts with the same characters but is outside; the key outside the tab's
    // namespaces is left off.
    let keys = browse_all(&app, "pattern=*&limit=100").await;
    let names: Vec<&str> = keys.iter().map(|k| k["key"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 8, "{names:?}");
    let row = |name: &str| keys.iter().find(|k| k["key"] == name).unwrap_or_else(|| panic!("{name} listed")).clone();
    assert_eq!(row("cache:session:42")["type"], "hash");
    assert_eq!(row("cache:queue:emails")["type"], "list");
    assert_eq!(row("cache:board")["type"], "zset");
    assert_eq!(row("cache:events")["type"], "stream");
    assert_eq!(row("cache:plain:text")["ttl"], -1);
    assert_eq!(row("lock:cache:warm:{ds:1}")["type"], "string", "warm locks are shown, read-only");
    let ttl = row("cache:{ds:1}:m:Visits:p:1:prov:*:freq:Monthly")["ttl"].as_i64().unwrap();
    assert!(ttl > 3500 && ttl <= 3600);
    assert!(row("cache:session:42")["size"].as_u64().unwrap() > 0);
    let hashes = browse_all(&app, "pattern=*&type=hash").await;
    assert_eq!(hashes.len(), 1, "{hashes:?}");
    assert_eq!(hashes[0]["key"], "cache:session:42");
    let by_pattern = browse_all(&app, "pattern=cache%3A%7Bds%3A1%7D%3A*").await;
    assert_eq!(by_pattern.len(), 1, "{by_pattern:?}");
    assert_eq!(by_pattern[0]["key"], "cache:{ds:1}:m:Visits:p:1:prov:*:freq:Monthly");

    // Inspect by the name shown: JSON pretty-printed, a hash's fields, a list page.
    let i = get(
        &app,
        "/api/admin/redis/inspect?key=cache%3A%7Bds%3A1%7D%3Am%3AVisits%3Ap%3A1%3Aprov%3A*%3Afreq%3AMonthly",
        None,
    )
    .await;
    assert_eq!(i.status, StatusCode::OK, "{}", i.text);
    assert_eq!(i.body["data"]["value"]["kind"], "string");
    assert_eq!(i.body["data"]["value"]["json"], true);
    assert!(i.body["data"]["value"]["text"].as_str().unwrap().contains("\n"), "pretty-printed");
    let raw = get(&app, "/api/admin/redis/inspect?key=cache:plain:text", None).await;
    assert_eq!(raw.body["data"]["value"]["json"], false);
    assert_eq!(raw.body["data"]["value"]["text"], "not json {");
    let h = get(&app, "/api/admin/redis/inspect?key=cache:session:42", None).await;
    assert_eq!(h.body["data"]["length"], 2);
    let fields: BTreeMap<String, String> = h.body["data"]["value"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f[0].as_str().unwrap().to_string(), f[1].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(fields["user"], "ada");
    let l = get(&app, "/api/admin/redis/inspect?key=cache:queue:emails&start=1&count=1", None).await;
    assert_eq!(l.body["data"]["value"]["items"], json!(["b"]));
    let s = get(&app, "/api/admin/redis/inspect?key=cache:events", None).await;
    assert_eq!(s.body["data"]["value"]["entries"][0]["fields"], json!([["kind", "warm"]]));

    // Previews change nothing, inside or outside the prefix.
    let before = dump_all(&mut conn, &format!("{prefix}*")).await;
    let p = post_json(&app, "/api/admin/redis/purge", None, &json!({"pattern": "*", "preview": true})).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert_eq!(p.body["data"]["matched"], 7, "every key the tab may change: {}", p.text);
    // The lock, and whatever records of Hearth's own the requests above left.
    assert!(p.body["data"]["skippedProtected"].as_u64().unwrap() >= 1, "{}", p.text);
    assert_eq!(p.body["data"]["skippedOutside"], 1, "session:outside");
    assert_eq!(p.body["data"]["truncated"], false);
    let t = post_json(&app, "/api/admin/redis/ttl", None, &json!({"pattern": "*", "ttl": 60, "preview": true})).await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.text);
    assert_eq!(t.body["data"]["distribution"][0]["keys"], 6, "six keys without expiry: {}", t.text);
    assert_eq!(before, dump_all(&mut conn, &format!("{prefix}*")).await, "a preview changed something");

    // TTL by pattern (confirmed, with a reason), then persist one key again.
    let t = post_json(
        &app,
        "/api/admin/redis/ttl",
        None,
        &json!({"pattern": "cache:queue:*", "ttl": 120, "confirm": true, "reason": "test"}),
    )
    .await;
    assert_eq!(t.body["data"]["updated"], 1, "{}", t.text);
    let ttl: i64 = redis::cmd("TTL").arg(format!("{prefix}cache:queue:emails")).query_async(&mut conn).await.unwrap();
    assert!(ttl > 100 && ttl <= 120);
    let k = post_json(&app, "/api/admin/redis/key/ttl", None, &json!({"key": "cache:queue:emails", "ttl": -1})).await;
    assert_eq!(k.body["data"]["ttl"], -1, "{}", k.text);

    // Purge a pattern with a reason: exactly the matches go; the sibling prefix stays.
    let refused =
        post_json(&app, "/api/admin/redis/purge", None, &json!({"pattern": "*", "confirm": true, "reason": "x"})).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "purging everything needs the typed confirmation");
    let no_reason =
        post_json(&app, "/api/admin/redis/purge", None, &json!({"pattern": "cache:session:*", "confirm": true})).await;
    assert_eq!(no_reason.status, StatusCode::BAD_REQUEST);
    let done = post_json(
        &app,
        "/api/admin/redis/purge",
        None,
        &json!({"pattern": "cache:session:*", "confirm": true, "reason": "logout all"}),
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(done.body["data"]["keysDeleted"], 1);
    let d =
        post_json(&app, "/api/admin/redis/key/delete", None, &json!({"key": "cache:board", "reason": "test"})).await;
    assert_eq!(d.status, StatusCode::OK);
    let all = post_json(
        &app,
        "/api/admin/redis/purge",
        None,
        &json!({"pattern": "*", "confirm": "purge all", "reason": "reset"}),
    )
    .await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    assert_eq!(all.body["data"]["keysDeleted"], 5);
    let left: Vec<String> = dump_all(&mut conn, &format!("{prefix}*")).await.into_keys().collect();
    assert!(left.contains(&format!("{prefix}lock:cache:warm:{{ds:1}}")), "the warm lock remains");
    assert!(left.contains(&format!("{prefix}session:outside")), "the key outside the tab's namespaces remains");
    assert!(
        // Hearth's own records too: the purges' progress, and the rate-limit windows that
        // counted the purge and TTL changes above.
        left.iter().all(|k| state.keys.is_protected(k) || k.ends_with("session:outside")),
        "only protected keys remain: {left:?}"
    );
    let kept = dump_all(&mut conn, &format!("{outside}*")).await;
    assert_eq!(kept.len(), 2, "keys outside the prefix are untouched");
}

#[tokio::test]
async fn bad_input_gets_a_clear_400_or_404() {
    let state = state_with("rbad", &[]);
    let _cleanup = crate::common::fixtures::cleanup_prefix_on_drop(&state.config.key_prefix);
    let app = hearth::server::router(state.clone());
    let long = "x".repeat(300);
    for (path, status) in [
        ("/api/admin/redis/keys?pattern=".to_string(), StatusCode::BAD_REQUEST),
        (format!("/api/admin/redis/keys?pattern={long}"), StatusCode::BAD_REQUEST),
        ("/api/admin/redis/keys?pattern=%5Babc".to_string(), StatusCode::BAD_REQUEST),
        ("/api/admin/redis/keys?pattern=*&cursor=abc".to_string(), StatusCode::BAD_REQUEST),
        ("/api/admin/redis/keys?pattern=*&type=blob".to_string(), StatusCode::BAD_REQUEST),
        ("/api/admin/redis/keys?pattern=*&limit=0".to_string(), StatusCode::BAD_REQUEST),
        ("/api/admin/redis/keys?pattern=*a*a*a*a*a*a*a*a*a*a*".to_string(), StatusCode::BAD_REQUEST),
        ("/api/admin/redis/inspect?key=cache:no-such-key".to_string(), StatusCode::NOT_FOUND),
        ("/api/admin/redis/inspect".to_string(), StatusCode::BAD_REQUEST),
        ("/api/admin/redis/purge/nothing".to_string(), StatusCode::BAD_REQUEST),
        ("/api/admin/redis/purge/p0123456789ab".to_string(), StatusCode::NOT_FOUND),
    ] {
        let r = get(&app, &path, None).await;
        assert_eq!(r.status, status, "{path}: {}", r.text);
        assert_eq!(r.body["success"], false);
        assert!(!r.body["error"].as_str().unwrap().is_empty());
    }
    for (path, body, status) in [
        ("/api/admin/redis/ttl", json!({"pattern": "*", "ttl": -5}), StatusCode::BAD_REQUEST),
        ("/api/admin/redis/ttl", json!({"pattern": "*", "ttl": "soon"}), StatusCode::BAD_REQUEST),
        ("/api/admin/redis/ttl", json!({"pattern": "", "ttl": 10}), StatusCode::BAD_REQUEST),
        ("/api/admin/redis/key/ttl", json!({"key": "cache:no-such-key", "ttl": 10}), StatusCode::NOT_FOUND),
        ("/api/admin/redis/key/ttl", json!({"key": "k", "ttl": 0}), StatusCode::BAD_REQUEST),
        ("/api/admin/redis/key/delete", json!({"key": "cache:no-such-key"}), StatusCode::NOT_FOUND),
        ("/api/admin/redis/purge", json!({"pattern": "a\\"}), StatusCode::BAD_REQUEST),
        ("/api/admin/redis/purge", json!({"preview": true}), StatusCode::BAD_REQUEST),
    ] {
        let r = post_json(&app, path, None, &body).await;
        assert_eq!(r.status, status, "{path} {body}: {}", r.text);
    }
    let r = post_json(&app, "/api/admin/redis/ttl", None, &json!({"pattern": "*", "ttl": "soon"})).await;
    assert!(r.body["error"].as_str().unwrap().contains("whole number of seconds"), "{}", r.text);
}

#[tokio::test]
async fn redis_tool_routes_refuse_the_wrong_caller() {
    let app = hearth::server::router(jwt_state("rauth"));
    let reader = token(SECRET, "reader", &["settings:read:all"], 600);
    for path in [
        "/api/admin/redis/keys?pattern=*",
        "/api/admin/redis/inspect?key=x",
        "/rpc/redis/keys?pattern=*&cursor=0&limit=10",
    ] {
        assert_eq!(get(&app, path, None).await.body["code"], "UNAUTHORIZED", "{path}");
    }
    for path in [
        "/api/admin/redis/purge",
        "/api/admin/redis/ttl",
        "/api/admin/redis/key/ttl",
        "/api/admin/redis/key/delete",
        "/api/admin/redis/purge/p1/abort",
    ] {
        let r = post_json(&app, path, Some(&reader), &json!({"pattern": "*", "key": "k", "ttl": 5})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
    }
}

/// A keyspace of a million keys on a Redis of the test's own: browsing stays bounded and a purge
/// of 100k keys runs in small steps, with progress, while a PING loop records the longest stall.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_keys_browse_bounded_and_purge_in_small_steps() {
    let redis = PrivateRedis::start(&["--enable-debug-command", "local"]);
    let url = redis.url();
    let state = state_with("million", &[("HEARTH_REDIS_URL", &url), ("HEARTH_KEY_PREFIX", "app:")]);
    let slow = redis::AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_secs(60)));
    let mut conn =
        redis::Client::open(url.as_str()).unwrap().get_multiplexed_async_connection_with_config(&slow).await.unwrap();
    let _: () =
        redis::cmd("DEBUG").arg("POPULATE").arg(900_000).arg("other:key").arg(32).query_async(&mut conn).await.unwrap();
    let _: () = redis::cmd("DEBUG")
        .arg("POPULATE")
        .arg(100_000)
        .arg("app:cache:purge:key")
        .arg(32)
        .query_async(&mut conn)
        .await
        .unwrap();
    let size: u64 = redis::cmd("DBSIZE").query_async(&mut conn).await.unwrap();
    assert_eq!(size, 1_000_000);

    // A sparse pattern: the page stops at the examine cap and hands back a cursor.
    let page = hearth::redis_admin::browse::browse(&state, "cache:nothing-matches:*", "0", 50, None).await.unwrap();
    assert!(page.examined <= hearth::redis_admin::browse::EXAMINE_CAP);
    assert!(page.has_more && page.cursor != "0");
    let page = hearth::redis_admin::browse::browse(&state, "cache:purge:*", "0", 50, None).await.unwrap();
    assert!(!page.keys.is_empty() && page.keys.iter().all(|k| k.key.starts_with("cache:purge:")));

    // The preview stops after examining its cap of keys, and says so: its count is a lower bound.
    let preview = hearth::redis_admin::purge::purge(
        &state,
        &hearth::model::redis::PurgeRequest { pattern: "cache:purge:*".into(), ..Default::default() },
        "tester",
    )
    .await
    .unwrap();
    assert!(preview.truncated, "{preview:?}");
    assert_eq!(preview.examined, hearth::redis_admin::browse::PREVIEW_EXAMINE_CAP);
    assert!(preview.matched > 0 && preview.matched < 100_000, "{}", preview.matched);
    assert_eq!(preview.keys.len(), 100);

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let probe = {
        let (stop, url) = (stop.clone(), url.clone());
        tokio::spawn(async move {
            let mut c = redis::Client::open(url.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
            let mut worst = Duration::ZERO;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                let _: String = redis::cmd("PING").query_async(&mut c).await.unwrap();
                worst = worst.max(t.elapsed());
                tokio::time::sleep(Duration::from_micros(500)).await;
            }
            worst
        })
    };
    let req = hearth::model::redis::PurgeRequest {
        pattern: "cache:purge:*".into(),
        confirm: Some(json!(true)),
        reason: Some(reason("load test")),
        run_async: Some(true),
        ..Default::default()
    };
    let started = hearth::redis_admin::purge::purge(&state, &req, "tester").await.unwrap();
    let id = started.purge_id.unwrap();
    let mut progress = Vec::new();
    loop {
        let s = hearth::redis_admin::purge::status(&state, &id).await.unwrap();
        progress.push(s.keys_deleted);
        if s.done {
            assert_eq!(s.keys_deleted, 100_000, "{s:?}");
            assert!(s.success);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let worst = probe.await.unwrap();
    println!("purged 100k of 1M keys; longest PING stall {worst:?}; progress samples {}", progress.len());
    assert!(progress.windows(2).all(|w| w[1] >= w[0]));
    assert!(progress.iter().any(|d| *d > 0 && *d < 100_000), "progress was visible mid-way: {progress:?}");
    let size: u64 = redis::cmd("DBSIZE").query_async(&mut conn).await.unwrap();
    // 900k outside the prefix, and the purge's own progress record.
    assert_eq!(size, 900_001);
}
