//! Editing a schedule: a bad timing saves nothing and names the field, a good one changes the
//! timing, source and state in one audited step; the preview reads a timing back before saving.

use crate::common::fixtures::*;
use crate::common::*;
use hearth::jobs::schedules;
use http::StatusCode;
use serde_json::{Value, json};

async fn put_json(app: &axum::Router, uri: &str, bearer: Option<&str>, body: &Value) -> Reply {
    let mut builder = http::Request::put(uri).header("content-type", "application/json");
    if let Some(t) = bearer {
        builder = builder.header("authorization", format!("Bearer {t}"));
    }
    send(app, builder.body(axum::body::Body::from(body.to_string())).unwrap()).await
}

#[tokio::test]
async fn editing_a_schedule_with_a_bad_cron_saves_nothing_and_names_the_field() {
    let dir = TempDir::new("schedit");
    let pool = sqlite_pool(&dir.0).await;
    create_table(&pool, "g", &grid("A", &["Visits"], &[1], &[Some(1)], &["Monthly"], 1)).await;
    create_table(&pool, "h", &grid("B", &["Visits"], &[1], &[Some(1)], &["Monthly"], 1)).await;
    let (ds, other) = (random_ds(), random_ds());
    let state = state_with("schedit", &[("HEARTH_SOURCES", &sources_file(&dir, &[(ds, "g"), (other, "h")]))]);
    let _cleanup = cleanup_prefix_on_drop(state.keys.prefix());
    let app = hearth::server::router(state.clone());
    let created =
        post_json(&app, "/api/admin/analytics/cache/schedules", None, &json!({"datasourceId": ds, "everyHours": 6}))
            .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let id = created.body["data"]["id"].as_str().unwrap().to_string();
    let before = schedules::list(&state).await.unwrap();
    let uri = format!("/api/admin/analytics/cache/schedules/{id}");

    for (body, field) in [
        (json!({"cron": "every tuesday"}), "cron"),
        (json!({"cron": "   "}), "cron"),
        (json!({"cron": "0 3 31 2 *", "datasourceId": other}), "cron"),
        (json!({"everyHours": 0}), "everyHours"),
        (json!({"cron": "0 3 * * *", "everyHours": 2}), "cron"),
    ] {
        let r = put_json(&app, &uri, None, &body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
        assert_eq!(r.body["details"]["field"], field, "{body}: {}", r.text);
        assert!(!r.body["error"].as_str().unwrap().contains("datasourceId"), "speaks the admin's words: {}", r.text);
        assert_eq!(schedules::list(&state).await.unwrap(), before, "{body} saved nothing");
    }
    let r = put_json(&app, &uri, None, &json!({"datasourceId": 987654321})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(r.body["details"]["field"], "datasourceId");
    assert_eq!(schedules::list(&state).await.unwrap(), before);

    // A good edit changes timing, source and state together.
    let r = put_json(&app, &uri, None, &json!({"cron": "30 4 * * 1", "datasourceId": other, "enabled": false})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let after = schedules::list(&state).await.unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].cron.as_deref(), Some("30 4 * * 1"));
    assert_eq!(after[0].every_hours, None);
    assert_eq!(after[0].datasource_id, other);
    assert!(!after[0].enabled);
    assert_ne!(after[0].description, before[0].description);

    // Audited like every schedule change, refused ones included (written in the background).
    let mut updates = Vec::new();
    for _ in 0..100 {
        let r = get(&app, "/api/admin/analytics/cache/audit?action=cache_schedule_updated&limit=50", None).await;
        updates = r.body["data"]["entries"].as_array().cloned().unwrap_or_default();
        if updates.len() >= 7 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(updates.len(), 7, "six refused edits and one accepted: {updates:?}");
}

#[tokio::test]
async fn the_preview_reads_a_cron_back_in_words_with_its_next_three_runs() {
    let now = hearth::time::parse_iso_ms("2026-12-03T10:00:00.000Z").unwrap();
    let p = schedules::preview(Some("0 3 * * *"), None, now).unwrap();
    assert_eq!(p.next_runs, vec!["2026-12-04T03:00:00.000Z", "2026-12-05T03:00:00.000Z", "2026-12-06T03:00:00.000Z"]);
    assert!(p.description.contains("03:00") || p.description.contains("3:00"), "{}", p.description);
    let every = schedules::preview(None, Some(6), now).unwrap();
    assert_eq!(every.description, "Every 6 hours");
    assert_eq!(every.next_runs[0], "2026-12-03T16:00:00.000Z");
    let bad = schedules::preview(Some("61 * * * *"), None, now).unwrap_err();
    assert_eq!(bad.details.unwrap()["field"], "cron");

    // Over the server function, for a reader; refused to a caller without read permission.
    let app = hearth::server::router(jwt_state("schedpreview"));
    let uri = "/rpc/schedules/preview?cron=0%203%20*%20*%20*";
    let reader = token(SECRET, "reader", &["settings:read:all"], 600);
    let writer = token(SECRET, "writer", &["settings:write:all"], 600);
    let r = get(&app, uri, Some(&reader)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["nextRuns"].as_array().unwrap().len(), 3, "{}", r.text);
    assert_eq!(get(&app, uri, Some(&writer)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(get(&app, uri, None).await.status, StatusCode::UNAUTHORIZED);
}
