//! Per-user rate limits (SPEC §5): the eleventh warm within the hour is refused with 429,
//! `Retry-After` and a sentence saying when to try again; another user is unaffected; two
//! instances on one Redis share the count; every path (REST, server functions, a schedule's Run
//! now) spends the same budget; dry runs, previews, refused and invalid requests spend nothing;
//! the window slides exactly an hour (time injected).

use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::json;

use crate::common::fixtures::*;
use crate::common::*;
use hearth::auth::limits;
use hearth::model::limits::LimitClass;
use hearth::state::AppState;

const RW: [&str; 2] = ["settings:read:all", "settings:write:all"];

/// Two Hearth instances (jwt mode) on one Redis and one prefix, as behind a load balancer.
async fn two_instances(name: &str, dir: &TempDir, ids: &[i64], extra: &[(&str, &str)]) -> (AppState, AppState) {
    let pool = sqlite_pool(&dir.0).await;
    create_table(&pool, "m", &grid("A", &["Visits"], &[1], &[Some(2)], &["Monthly"], 1)).await;
    let tables: Vec<(i64, &str)> = ids.iter().map(|id| (*id, "m")).collect();
    let sources = sources_file(dir, &tables);
    let a = jwt_state_with(name, &[&[("HEARTH_SOURCES", sources.as_str())], extra].concat());
    let prefix = a.config.key_prefix.clone();
    let b = jwt_state_with(
        name,
        &[&[("HEARTH_SOURCES", sources.as_str()), ("HEARTH_KEY_PREFIX", prefix.as_str())], extra].concat(),
    );
    (a, b)
}

async fn budget(app: &axum::Router, bearer: &str, class: &str) -> serde_json::Value {
    let r = get(app, "/api/admin/analytics/cache/limits", Some(bearer)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["data"]["limits"].as_array().unwrap().iter().find(|b| b["class"] == class).cloned().unwrap()
}

async fn rpc_post(app: &axum::Router, path: &str, bearer: &str, form: &str) -> Reply {
    let request = Request::post(path)
        .header("authorization", format!("Bearer {bearer}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form.to_string()))
        .unwrap();
    send(app, request).await
}

fn assert_rate_limited(r: &Reply, what: &str) {
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{what}: {}", r.text);
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry), "{what}: Retry-After {retry}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_eleventh_warm_in_an_hour_is_refused_on_every_path_and_instance_but_not_for_another_user() {
    let dir = TempDir::new("rl-warm");
    let base = random_ds();
    let ids: Vec<i64> = (0..13).map(|i| base + i).collect();
    let (a, b) = two_instances("rlwarm", &dir, &ids, &[]).await;
    let _cleanup = cleanup_prefix_on_drop(&a.config.key_prefix);
    let (app_a, app_b) = (hearth::server::router(a.clone()), hearth::server::router(b.clone()));
    let alice = token(SECRET, "alice", &RW, 600);
    let bob = token(SECRET, "bob", &RW, 600);
    let reader = token(SECRET, "carol", &["settings:read:all"], 600);

    // A caller without the permission is refused before the budget: it spends nothing.
    let r = post_json(&app_a, "/api/admin/analytics/cache/warm", Some(&reader), &json!({"datasourceId": ids[0]})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(budget(&app_a, &reader, "warm").await["remaining"], 10);
    // A request for an unknown source is refused before the budget too.
    let r = post_json(&app_a, "/api/admin/analytics/cache/warm", Some(&alice), &json!({"datasourceId": 1})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "an unknown source: {}", r.text);
    assert_eq!(budget(&app_a, &alice, "warm").await["used"], 0);

    // Ten warms, alternating instances and paths (REST and the server function).
    for (i, ds) in ids[..10].iter().enumerate() {
        let app = if i % 2 == 0 { &app_a } else { &app_b };
        let r = if i % 3 == 0 {
            rpc_post(app, "/rpc/jobs/warm", &alice, &format!("request[datasourceId]={ds}")).await
        } else {
            post_json(app, "/api/admin/analytics/cache/warm", Some(&alice), &json!({"datasourceId": ds})).await
        };
        assert_eq!(r.status, StatusCode::OK, "warm {i}: {}", r.text);
        if i == 0 {
            // Asking again for a source already queued queues nothing, so it costs nothing.
            let again =
                post_json(app, "/api/admin/analytics/cache/warm", Some(&alice), &json!({"datasourceId": ds})).await;
            assert_eq!(again.body["data"]["datasourcesQueued"], json!([]), "{}", again.text);
        }
    }
    let seen = budget(&app_b, &alice, "warm").await;
    assert_eq!(
        (seen["limit"].clone(), seen["used"].clone(), seen["remaining"].clone()),
        (json!(10), json!(10), json!(0))
    );

    // The eleventh, on either instance and either path, is refused with the limit in words.
    let r = post_json(&app_a, "/api/admin/analytics/cache/warm", Some(&alice), &json!({"datasourceId": ids[10]})).await;
    assert_rate_limited(&r, "REST warm");
    assert_eq!(r.body["success"], false);
    assert_eq!(r.body["code"], "RATE_LIMITED");
    let message = r.body["error"].as_str().unwrap();
    assert!(message.starts_with("You can start 10 warms per hour; try again in "), "{message}");
    let r = rpc_post(&app_b, "/rpc/jobs/warm", &alice, &format!("request[datasourceId]={}", ids[10])).await;
    assert_rate_limited(&r, "server function warm");
    assert_eq!(r.body["code"], "RATE_LIMITED", "the console gets the same error: {}", r.text);
    assert!(r.body["message"].as_str().unwrap().contains("try again in"), "{}", r.text);
    assert!(r.body["retry_after_secs"].as_u64().is_some(), "{}", r.text);
    // Warm all is one warm request, and refused too.
    let r = post_json(&app_b, "/api/admin/analytics/cache/warm", Some(&alice), &json!({})).await;
    assert_rate_limited(&r, "warm all");

    // A schedule's Run now is a warm.
    let r = post_json(
        &app_a,
        "/api/admin/analytics/cache/schedules",
        Some(&alice),
        &json!({"datasourceId": ids[11], "everyHours": 6, "enabled": false}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let schedule = r.body["data"]["id"].as_str().unwrap().to_string();
    let run = format!("/api/admin/analytics/cache/schedules/{schedule}/run");
    let r = post_json(&app_a, &run, Some(&alice), &json!({})).await;
    assert_rate_limited(&r, "run now");

    // Bob has his own budget.
    let r = post_json(&app_b, "/api/admin/analytics/cache/warm", Some(&bob), &json!({"datasourceId": ids[10]})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["data"]["datasourcesQueued"], json!([ids[10]]));
    let r = post_json(&app_a, &run, Some(&bob), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(budget(&app_a, &bob, "warm").await["remaining"], 8);
    // Nothing was counted for invalidations.
    assert_eq!(budget(&app_a, &alice, "invalidate").await["remaining"], 20);
}

#[tokio::test]
async fn the_twenty_first_invalidation_is_refused_and_dry_runs_and_bad_input_are_free() {
    let dir = TempDir::new("rl-inv");
    let ds = random_ds();
    let (a, _b) = two_instances("rlinv", &dir, &[ds], &[]).await;
    let _cleanup = cleanup_prefix_on_drop(&a.config.key_prefix);
    let app = hearth::server::router(a.clone());
    let alice = token(SECRET, "alice", &RW, 600);
    let url = "/api/admin/analytics/cache/invalidate";

    // Each run walks the keyspace: a few show as well as many that nothing is counted.
    for _ in 0..5 {
        let r = post_json(&app, url, Some(&alice), &json!({"datasourceId": ds, "dryRun": true})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let r = post_json(&app, url, Some(&alice), &json!({"datasourceId": ds, "measure": ""})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(budget(&app, &alice, "invalidate").await["used"], 0, "dry runs and bad input are free");

    for i in 0..20 {
        let r = post_json(&app, url, Some(&alice), &json!({"datasourceId": ds, "reason": "test"})).await;
        assert_eq!(r.status, StatusCode::OK, "invalidation {i}: {}", r.text);
    }
    let r = post_json(&app, url, Some(&alice), &json!({"datasourceId": ds, "reason": "test"})).await;
    assert_rate_limited(&r, "21st invalidation");
    assert!(r.body["error"].as_str().unwrap().starts_with("You can make 20 invalidations per hour"), "{}", r.text);
    // A dry run still answers: it changes nothing.
    let r = post_json(&app, url, Some(&alice), &json!({"datasourceId": ds, "dryRun": true})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let seen = budget(&app, &alice, "invalidate").await;
    assert_eq!(seen["remaining"], 0);
    assert!(seen["nextInSecs"].as_u64().is_some_and(|s| s > 3500), "{seen}");
}

#[tokio::test]
async fn redis_tab_changes_spend_their_own_budgets_and_previews_are_free() {
    let state = jwt_state_with("rlredis", &[("HEARTH_RATE_PURGE_PER_HOUR", "2"), ("HEARTH_RATE_TTL_PER_HOUR", "0")]);
    let _cleanup = cleanup_prefix_on_drop(&state.config.key_prefix);
    let app = hearth::server::router(state.clone());
    let alice = token(SECRET, "alice", &RW, 600);
    let mut conn = raw_redis().await;
    for k in ["cache:x:1", "cache:x:2", "cache:x:3", "cache:x:4"] {
        let _: () = redis::cmd("SET").arg(state.keys.key(k)).arg("v").query_async(&mut conn).await.unwrap();
    }
    let r = post_json(&app, "/api/admin/redis/purge", Some(&alice), &json!({"pattern": "cache:x:*", "preview": true}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // A key that is not there costs nothing.
    let r = post_json(&app, "/api/admin/redis/key/delete", Some(&alice), &json!({"key": "cache:x:none"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    for k in ["cache:x:1", "cache:x:2"] {
        let r = post_json(&app, "/api/admin/redis/key/delete", Some(&alice), &json!({"key": k})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let r = post_json(
        &app,
        "/api/admin/redis/purge",
        Some(&alice),
        &json!({"pattern": "cache:x:*", "confirm": true, "reason": "test"}),
    )
    .await;
    assert_rate_limited(&r, "third deletion");
    assert!(r.body["error"].as_str().unwrap().starts_with("You can make 2 Redis key deletions per hour"), "{}", r.text);
    // TTL changes are not limited here (0): many pass, and the budget says so.
    for _ in 0..5 {
        let r =
            post_json(&app, "/api/admin/redis/key/ttl", Some(&alice), &json!({"key": "cache:x:3", "ttl": 600})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let seen = budget(&app, &alice, "ttl").await;
    assert!(seen["limit"].is_null() && seen["remaining"].is_null(), "{seen}");
    // The windows themselves cannot be deleted or re-TTL'd from the Redis tab.
    let window = state.keys.rate_window("alice", "purge");
    let name = state.keys.strip(&window).unwrap().to_string();
    let r = post_json(&app, "/api/admin/redis/key/delete", Some(&alice), &json!({"key": name})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}

#[tokio::test]
async fn the_window_slides_exactly_one_hour_and_refunds_give_the_slot_back() {
    let state = state_with("rlmath", &[("HEARTH_RATE_WARM_PER_HOUR", "3")]);
    let _cleanup = cleanup_prefix_on_drop(&state.config.key_prefix);
    let t0: i64 = 1_900_000_000_000;
    let hour = 3_600_000;
    for t in [t0, t0 + 10, t0 + 20] {
        limits::take_at(&state, "u", LimitClass::Warm, t).await.expect("within the limit");
    }
    let e = limits::take_at(&state, "u", LimitClass::Warm, t0 + 1000).await.unwrap_err();
    assert_eq!(e.retry_after_secs, Some(3599), "the oldest leaves an hour after it came: {e:?}");
    assert_eq!(e.message, "You can start 3 warms per hour; try again in 60 minutes.");
    let e = limits::take_at(&state, "u", LimitClass::Warm, t0 + hour - 1).await.unwrap_err();
    assert_eq!(e.retry_after_secs, Some(1));
    // An hour after the first, exactly one slot is free again.
    let ticket = limits::take_at(&state, "u", LimitClass::Warm, t0 + hour).await.expect("the first left the window");
    assert!(limits::take_at(&state, "u", LimitClass::Warm, t0 + hour).await.is_err());
    let seen = limits::budgets_at(&state, "u", t0 + hour).await.unwrap();
    let warm = seen.of(LimitClass::Warm).unwrap();
    assert_eq!((warm.used, warm.remaining, warm.next_in_secs), (3, Some(0), Some(1)));
    // A refund gives back exactly that slot.
    ticket.refund(&state).await;
    let warm = limits::budgets_at(&state, "u", t0 + hour).await.unwrap().of(LimitClass::Warm).unwrap().clone();
    assert_eq!((warm.used, warm.remaining), (2, Some(1)));
    // Other users and classes are apart; the window key expires by itself.
    assert_eq!(limits::budgets_at(&state, "v", t0).await.unwrap().of(LimitClass::Warm).unwrap().used, 0);
    let mut conn = raw_redis().await;
    let ttl: i64 = redis::cmd("PTTL").arg(state.keys.rate_window("u", "warm")).query_async(&mut conn).await.unwrap();
    assert!((1..=hour).contains(&ttl), "the window expires within the hour: {ttl}");
}
