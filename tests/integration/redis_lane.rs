//! The Redis tab stays in its lane: outside its namespaces nothing is listed, read or changed;
//! Hearth's own keys and live warm locks are changed by no path; TTL by pattern previews first and
//! needs a confirmation and a reason; an empty prefix needs a setting before pattern writes;
//! operators can widen the lane; patterns with too many wildcards never reach Redis.

use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::{Value, json};

use crate::common::fixtures::cleanup_prefix_on_drop;
use crate::common::*;
use hearth::state::AppState;

/// A server function call from Hearth's own page (dev mode: no credential).
async fn rpc(app: &axum::Router, path: &str, form: &str) -> Reply {
    let request = Request::post(path)
        .header("sec-fetch-site", "same-origin")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form.to_string()))
        .unwrap();
    send(app, request).await
}

/// The value and TTL of a key (prefixed), to prove nothing changed it.
async fn snapshot(conn: &mut hearth::redis_conn::Conn, key: &str) -> (Option<Vec<u8>>, i64) {
    let dump: Option<Vec<u8>> = redis::cmd("DUMP").arg(key).query_async(conn).await.unwrap();
    let ttl: i64 = redis::cmd("TTL").arg(key).query_async(conn).await.unwrap();
    (dump, ttl)
}

/// A 403 whose message names `setting` (REST's envelope says `error`, a server function's `message`).
fn refused_naming(r: &Reply, setting: &str, what: &str) {
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{what}: {}", r.text);
    assert_eq!(r.body["code"], "FORBIDDEN", "{what}: {}", r.text);
    let message = r.body["error"].as_str().or(r.body["message"].as_str()).unwrap_or_default();
    assert!(message.contains(setting), "{what} names {setting}: {}", r.text);
}

#[tokio::test]
async fn browse_inspect_purge_and_ttl_outside_the_lane_are_refused_naming_the_setting() {
    let state = state_with("lane-out", &[]);
    let _cleanup = cleanup_prefix_on_drop(&state.config.key_prefix);
    let app = hearth::server::router(state.clone());
    let mut conn = raw_redis().await;
    let session = state.keys.key("session:abc");
    each(
        &mut conn,
        redis::pipe()
            .cmd("HSET")
            .arg(&session)
            .arg("user")
            .arg("ada")
            .ignore()
            .cmd("SET")
            .arg(state.keys.key("cache:{ds:1}:m:x"))
            .arg("[]")
            .ignore(),
    )
    .await;
    let before = snapshot(&mut conn, &session).await;
    let setting = "HEARTH_REDIS_TAB_NAMESPACES";

    let r = get(&app, "/api/admin/redis/keys?pattern=session:*", None).await;
    refused_naming(&r, setting, "browse session:*");
    assert!(r.body["error"].as_str().unwrap().contains("(cache:, idx:"), "names the lane: {}", r.text);
    refused_naming(&get(&app, "/api/admin/redis/inspect?key=session:abc", None).await, setting, "inspect");
    refused_naming(&rpc(&app, "/rpc/redis/key/delete", "key=session:abc").await, setting, "rpc delete");
    for (path, body) in [
        ("/api/admin/redis/purge", json!({"pattern": "session:*"})),
        ("/api/admin/redis/purge", json!({"pattern": "session:*", "confirm": true, "reason": "x"})),
        ("/api/admin/redis/ttl", json!({"pattern": "session:*", "ttl": 60})),
        ("/api/admin/redis/ttl", json!({"pattern": "session:*", "ttl": 60, "confirm": true, "reason": "x"})),
        ("/api/admin/redis/key/ttl", json!({"key": "session:abc", "ttl": 1})),
        ("/api/admin/redis/key/ttl", json!({"key": "session:abc", "ttl": -1})),
        ("/api/admin/redis/key/delete", json!({"key": "session:abc", "reason": "x"})),
    ] {
        refused_naming(&post_json(&app, path, None, &body).await, setting, &format!("{path} {body}"));
    }
    assert_eq!(snapshot(&mut conn, &session).await, before, "the key outside the lane is untouched");

    // A pattern that reaches inside and outside lists what is inside, and counts the rest.
    let r = get(&app, "/api/admin/redis/keys?pattern=*&limit=500", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut names = Vec::new();
    let (mut hidden, mut cursor) = (r.body["data"]["hidden"].as_u64().unwrap(), r.body["data"]["cursor"].clone());
    names.extend(r.body["data"]["keys"].as_array().unwrap().iter().map(|k| k["key"].as_str().unwrap().to_string()));
    while cursor != "0" {
        let r =
            get(&app, &format!("/api/admin/redis/keys?pattern=*&limit=500&cursor={}", cursor.as_str().unwrap()), None)
                .await;
        hidden += r.body["data"]["hidden"].as_u64().unwrap();
        names.extend(r.body["data"]["keys"].as_array().unwrap().iter().map(|k| k["key"].as_str().unwrap().to_string()));
        cursor = r.body["data"]["cursor"].clone();
    }
    // The inspections above were audited: the trail is Hearth's, readable, and not the point here.
    names.retain(|n| !n.starts_with("hearth:{audit}:"));
    assert_eq!(names, ["cache:{ds:1}:m:x"]);
    assert_eq!(hidden, 1);
}

#[tokio::test]
async fn hearths_own_keys_and_live_locks_are_changed_by_no_path() {
    let state = state_with("lane-own", &[]);
    let _cleanup = cleanup_prefix_on_drop(&state.config.key_prefix);
    let app = hearth::server::router(state.clone());
    let mut conn = raw_redis().await;
    let k = &state.keys;
    let own = [
        k.lock(1),
        k.job_queue(),
        k.schedules(),
        k.warming_settings(),
        k.session("digest"),
        k.key("hearth:{audit}:log"),
        k.rate_window("ada", "purge"),
        k.purge("p0123456789ab"),
        k.dims(1),
    ];
    for key in &own {
        let _: () = redis::cmd("SET").arg(key).arg("hearth's").query_async(&mut conn).await.unwrap();
    }
    let _: () = redis::cmd("EXPIRE").arg(k.lock(1)).arg(60).query_async(&mut conn).await.unwrap();
    let shadow = k.shadow(1, "r1").of("cache:{ds:1}:m:x");
    let data = k.key("cache:{ds:1}:m:x");
    for key in [&shadow, &data] {
        let _: () = redis::cmd("SET").arg(key).arg("[]").query_async(&mut conn).await.unwrap();
    }
    let mut before = Vec::new();
    for key in &own {
        before.push(snapshot(&mut conn, key).await);
    }

    // Every single-key path, over REST and as a server function.
    for key in &own {
        let name = k.strip(key).unwrap();
        for ttl in [1, -1] {
            let r = post_json(&app, "/api/admin/redis/key/ttl", None, &json!({"key": name, "ttl": ttl})).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "ttl {ttl} of {name}: {}", r.text);
            let form = format!("key={}&ttl={ttl}", urlencoding(name));
            let r = rpc(&app, "/rpc/redis/key/ttl", &form).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "rpc ttl {ttl} of {name}: {}", r.text);
        }
        let r = post_json(&app, "/api/admin/redis/key/delete", None, &json!({"key": name, "reason": "x"})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "delete {name}: {}", r.text);
        let r = rpc(&app, "/rpc/redis/key/delete", &format!("key={}", urlencoding(name))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "rpc delete {name}: {}", r.text);
    }
    let lock = k.strip(&k.lock(1)).unwrap().to_string();
    let r = post_json(&app, "/api/admin/redis/key/ttl", None, &json!({"key": lock, "ttl": -1})).await;
    assert!(r.body["error"].as_str().unwrap().contains("managed by Hearth"), "{}", r.text);

    // Patterns aimed at them are refused up front…
    for pattern in ["lock:*", "lock:cache:warm:*", "hearth:{jobs}:*", "hearth:{auth}:*", "hearth:purge:*"] {
        let r = post_json(
            &app,
            "/api/admin/redis/purge",
            None,
            &json!({"pattern": pattern, "confirm": true, "reason": "x"}),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "purge {pattern}: {}", r.text);
        let body = json!({"pattern": pattern, "ttl": -1, "confirm": true, "confirmPersist": true, "reason": "x"});
        let r = post_json(&app, "/api/admin/redis/ttl", None, &body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "persist {pattern}: {}", r.text);
    }
    // …and wide ones change only the cache's keys and shadows.
    let t = post_json(
        &app,
        "/api/admin/redis/ttl",
        None,
        &json!({"pattern": "*", "ttl": 100_000, "confirm": "change all", "reason": "x"}),
    )
    .await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.text);
    assert_eq!(t.body["data"]["updated"], 2, "the data key and the shadow: {}", t.text);
    assert!(t.body["data"]["skippedProtected"].as_u64().unwrap() >= own.len() as u64, "{}", t.text);
    let t = post_json(
        &app,
        "/api/admin/redis/ttl",
        None,
        &json!({"pattern": "hearth:*", "ttl": -1, "confirm": true, "confirmPersist": true, "reason": "x"}),
    )
    .await;
    assert_eq!(t.status, StatusCode::OK, "hearth:* may still reach run shadows: {}", t.text);
    assert_eq!(t.body["data"]["updated"], 1, "only the shadow: {}", t.text);
    let p = post_json(
        &app,
        "/api/admin/redis/purge",
        None,
        &json!({"pattern": "*", "confirm": "purge all", "reason": "x"}),
    )
    .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert_eq!(p.body["data"]["keysDeleted"], 2, "{}", p.text);

    for (key, was) in own.iter().zip(&before) {
        let now = snapshot(&mut conn, key).await;
        assert_eq!(now.0, was.0, "{key} kept its value");
        if key == &k.lock(1) {
            assert!(now.1 > 0 && now.1 <= 60, "the lock kept its own expiry: {}", now.1);
        } else {
            assert_eq!(now.1, -1, "{key} got no expiry");
        }
    }
    // Secrets stay unreadable; Hearth's other records are readable.
    let r = get(
        &app,
        &format!("/api/admin/redis/inspect?key={}", urlencoding(k.strip(&k.session("digest")).unwrap())),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = get(&app, &format!("/api/admin/redis/inspect?key={}", urlencoding(&lock)), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn a_ttl_by_pattern_without_preview_confirmation_and_reason_expires_nothing() {
    let state = state_with("lane-ttl", &[]);
    let _cleanup = cleanup_prefix_on_drop(&state.config.key_prefix);
    let app = hearth::server::router(state.clone());
    let mut conn = raw_redis().await;
    let names = ["cache:a:1", "cache:a:2", "idx:{ds:1}:master"];
    for name in names {
        let _: () = redis::cmd("SET").arg(state.keys.key(name)).arg("v").query_async(&mut conn).await.unwrap();
    }

    // The reviewer's request is a preview.
    let r = post_json(&app, "/api/admin/redis/ttl", None, &json!({"pattern": "*", "ttl": 1})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["data"]["preview"], true);
    assert_eq!(r.body["data"]["matched"], 3);
    assert_eq!(r.body["data"]["updated"], 0);
    assert_eq!(ttls(&mut conn, &state, &names).await, [-1, -1, -1]);

    let refused: [(Value, &str); 5] = [
        (json!({"pattern": "*", "ttl": 1, "preview": false}), "change all"),
        (json!({"pattern": "*", "ttl": 1, "confirm": true, "reason": "x"}), "change all"),
        (json!({"pattern": "*", "ttl": 1, "confirm": "change all"}), "reason"),
        (json!({"pattern": "cache:a:*", "ttl": 1, "confirm": true, "reason": " "}), "reason"),
        (json!({"pattern": "cache:a:*", "ttl": -1, "confirm": true, "reason": "x"}), "confirmPersist"),
    ];
    for (body, says) in refused {
        let r = post_json(&app, "/api/admin/redis/ttl", None, &body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
        assert!(r.body["error"].as_str().unwrap().contains(says), "{body}: {}", r.text);
    }
    assert_eq!(ttls(&mut conn, &state, &names).await, [-1, -1, -1], "nothing changed");

    let r = post_json(
        &app,
        "/api/admin/redis/ttl",
        None,
        &json!({"pattern": "cache:a:*", "ttl": 600, "confirm": true, "reason": "expire the a's"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["data"]["updated"], 2);
    let now = ttls(&mut conn, &state, &names).await;
    assert!(now[0] > 500 && now[1] > 500 && now[2] == -1, "{now:?}");
    let body = json!({"pattern": "cache:a:*", "ttl": -1, "confirm": true, "confirmPersist": true, "reason": "keep"});
    let r = post_json(&app, "/api/admin/redis/ttl", None, &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(ttls(&mut conn, &state, &names).await, [-1, -1, -1]);
}

#[tokio::test]
async fn an_operators_namespaces_widen_the_lane_read_only_or_writable() {
    let state = state_with(
        "lane-extra",
        &[("HEARTH_REDIS_TAB_NAMESPACES", "reports:"), ("HEARTH_REDIS_TAB_READONLY_NAMESPACES", "session:")],
    );
    let _cleanup = cleanup_prefix_on_drop(&state.config.key_prefix);
    let app = hearth::server::router(state.clone());
    let mut conn = raw_redis().await;
    for name in ["reports:q1", "reports:q2", "session:abc"] {
        let _: () = redis::cmd("SET").arg(state.keys.key(name)).arg("v").query_async(&mut conn).await.unwrap();
    }
    let r = get(&app, "/api/admin/redis/keys?pattern=reports:*&limit=10", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = get(&app, "/api/admin/redis/inspect?key=session:abc", None).await;
    assert_eq!(r.status, StatusCode::OK, "read-only namespaces are readable: {}", r.text);
    let r = post_json(&app, "/api/admin/redis/key/delete", None, &json!({"key": "session:abc"})).await;
    refused_naming(&r, "HEARTH_REDIS_TAB_NAMESPACES", "delete in a read-only namespace");
    assert!(r.body["error"].as_str().unwrap().contains("read-only"), "{}", r.text);
    let r = post_json(&app, "/api/admin/redis/purge", None, &json!({"pattern": "session:*"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    let r = post_json(&app, "/api/admin/redis/ttl", None, &json!({"pattern": "reports:*", "ttl": 60})).await;
    assert_eq!(r.body["data"]["matched"], 2, "{}", r.text);
    let r = post_json(
        &app,
        "/api/admin/redis/purge",
        None,
        &json!({"pattern": "reports:*", "confirm": true, "reason": "old reports"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["data"]["keysDeleted"], 2);
    let left: bool = redis::cmd("EXISTS").arg(state.keys.key("session:abc")).query_async(&mut conn).await.unwrap();
    assert!(left);
}

/// Without a prefix a pattern reaches the whole database: a Redis of the test's own.
#[tokio::test]
async fn without_a_prefix_pattern_writes_are_refused_unless_allowed() {
    let redis = PrivateRedis::start(&[]);
    let url = redis.url();
    let mut conn = redis::Client::open(url.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
    for name in ["cache:a", "cache:b", "session:x", "hearth:{jobs}:queue"] {
        let _: () = redis::cmd("SET").arg(name).arg("v").query_async(&mut conn).await.unwrap();
    }
    let refused = state_with("noprefix", &[("HEARTH_REDIS_URL", &url), ("HEARTH_KEY_PREFIX", "")]);
    let app = hearth::server::router(refused.clone());
    let setting = "HEARTH_REDIS_TAB_ALLOW_UNPREFIXED_WRITES";
    for (path, body) in [
        ("/api/admin/redis/purge", json!({"pattern": "cache:*"})),
        ("/api/admin/redis/purge", json!({"pattern": "cache:*", "confirm": true, "reason": "x"})),
        ("/api/admin/redis/ttl", json!({"pattern": "cache:*", "ttl": 60})),
        ("/api/admin/redis/ttl", json!({"pattern": "cache:*", "ttl": 60, "confirm": true, "reason": "x"})),
    ] {
        refused_naming(&post_json(&app, path, None, &body).await, setting, &format!("{path} {body}"));
    }
    // One exact key is no pattern: judged by its name alone.
    let r = post_json(&app, "/api/admin/redis/key/delete", None, &json!({"key": "cache:a"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = get(&app, "/api/admin/redis/keys?pattern=*", None).await;
    let listed: Vec<&str> =
        r.body["data"]["keys"].as_array().unwrap().iter().map(|k| k["key"].as_str().unwrap()).collect();
    assert!(listed.contains(&"cache:b") && !listed.contains(&"session:x"), "{listed:?}");

    let allowed = state_with(
        "noprefix",
        &[("HEARTH_REDIS_URL", &url), ("HEARTH_KEY_PREFIX", ""), ("HEARTH_REDIS_TAB_ALLOW_UNPREFIXED_WRITES", "true")],
    );
    let app = hearth::server::router(allowed);
    let r = post_json(
        &app,
        "/api/admin/redis/purge",
        None,
        &json!({"pattern": "*", "confirm": "purge all", "reason": "x"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["data"]["keysDeleted"], 1, "only cache:b: {}", r.text);
    for name in ["session:x", "hearth:{jobs}:queue"] {
        let left: bool = redis::cmd("EXISTS").arg(name).query_async(&mut conn).await.unwrap();
        assert!(left, "{name}: everything means everything in the lane, never the database");
    }
}

#[tokio::test]
async fn a_pattern_with_too_many_wildcards_never_reaches_redis() {
    let state = state_with("lane-glob", &[]);
    let _cleanup = crate::common::fixtures::cleanup_on_drop(&state, &[]);
    let app = hearth::server::router(state.clone());
    let pattern = "*a*a*a*a*a*a*a*a*a*a*";
    let r = get(&app, &format!("/api/admin/redis/keys?pattern={pattern}"), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.body["error"].as_str().unwrap().contains("wildcards"), "{}", r.text);
    for (path, body) in [
        ("/api/admin/redis/purge", json!({"pattern": pattern})),
        ("/api/admin/redis/ttl", json!({"pattern": pattern, "ttl": 60})),
    ] {
        let r = post_json(&app, path, None, &body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.text);
    }
    cleanup(&state).await;
}

/// The TTLs of unprefixed `names`.
async fn ttls(conn: &mut hearth::redis_conn::Conn, state: &AppState, names: &[&str]) -> Vec<i64> {
    let cmds = names.iter().map(|name| redis::cmd("TTL").arg(state.keys.key(name)).clone()).collect();
    hearth::redis_conn::per_key(conn, cmds).await.unwrap()
}

/// Percent-encodes a key for a query string or form (braces, colons and all).
fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }
        })
        .collect()
}
