//! Foundation: probes, the Redis stats endpoint, identity and permissions, start-up validation.

use crate::common::*;
use hearth::server::router;
use http::StatusCode;

#[tokio::test]
async fn readyz_is_ok_while_redis_answers() {
    let app = router(state_with("ready", &[]));
    let r = get(&app, "/readyz", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "ready");
    assert_eq!(get(&app, "/healthz", None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn readyz_is_503_with_a_reason_when_redis_refuses() {
    let app = router(state_with("refused", &[("HEARTH_REDIS_URL", "redis://127.0.0.1:1")]));
    let r = get(&app, "/readyz", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.body["status"], "unavailable");
    assert!(r.body["reason"].as_str().unwrap().contains("Redis is not reachable"), "{}", r.text);
    // The process itself is still alive.
    assert_eq!(get(&app, "/healthz", None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn redis_stats_returns_the_envelope_with_real_numbers() {
    let app = router(state_with("stats", &[]));
    let r = get(&app, "/api/admin/redis/stats", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["success"], true);
    let data = &r.body["data"];
    assert!(data["version"].as_str().unwrap().starts_with(|c: char| c.is_ascii_digit()), "{data}");
    assert!(data["usedMemory"].as_u64().unwrap() > 0);
    assert!(data["uptimeSecs"].as_u64().is_some());
    assert!(data["connectedClients"].as_u64().unwrap() >= 1);
    assert!(r.body["meta"]["timestamp"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn redis_stats_is_503_in_the_envelope_when_redis_is_down() {
    let app = router(state_with("down", &[("HEARTH_REDIS_URL", "redis://127.0.0.1:1")]));
    let r = get(&app, "/api/admin/redis/stats", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.body["success"], false);
    assert_eq!(r.body["code"], "REDIS_UNAVAILABLE");
}

#[tokio::test]
async fn jwt_mode_refuses_a_missing_token() {
    let app = router(jwt_state("nojwt"));
    let r = get(&app, "/api/admin/redis/stats", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["success"], false);
    assert_eq!(r.body["code"], "UNAUTHORIZED");
}

#[tokio::test]
async fn jwt_mode_refuses_a_token_without_the_read_permission() {
    let app = router(jwt_state("noread"));
    let t = token(SECRET, "user-7", &["analytics:read:own"], 600);
    let r = get(&app, "/api/admin/redis/stats", Some(&t)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(r.body["code"], "FORBIDDEN");
}

#[tokio::test]
async fn jwt_mode_accepts_a_token_with_the_read_permission() {
    let app = router(jwt_state("read"));
    let t = token(SECRET, "user-7", &["settings:read:all"], 600);
    let r = get(&app, "/api/admin/redis/stats", Some(&t)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["success"], true);
}

#[tokio::test]
async fn jwt_mode_refuses_another_secret_and_expired_tokens() {
    let app = router(jwt_state("badjwt"));
    let forged = token("another-secret-0123456789abcdef0123", "user-7", &["settings:read:all"], 600);
    let r = get(&app, "/api/admin/redis/stats", Some(&forged)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body["error"].as_str().unwrap().contains("signature"), "{}", r.text);

    let expired = token(SECRET, "user-7", &["settings:read:all"], -3600);
    let r = get(&app, "/api/admin/redis/stats", Some(&expired)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body["error"].as_str().unwrap().contains("expired"), "{}", r.text);

    let r = get(&app, "/api/admin/redis/stats", Some("not.a.token")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn server_functions_check_the_caller_too() {
    let state = jwt_state("rpcauth");
    let _cleanup = crate::common::fixtures::cleanup_on_drop(&state, &[]);
    let app = router(state);
    let r = get(&app, "/rpc/redis/overview", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["code"], "UNAUTHORIZED", "{}", r.text);

    let no_read = token(SECRET, "user-7", &[], 600);
    let r = get(&app, "/rpc/redis/overview", Some(&no_read)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(r.body["code"], "FORBIDDEN", "{}", r.text);

    let reader = token(SECRET, "user-7", &["settings:read:all"], 600);
    let r = get(&app, "/rpc/redis/overview", Some(&reader)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body["usedMemory"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn unknown_api_routes_answer_in_the_envelope() {
    let app = router(state_with("404", &[]));
    let r = get(&app, "/api/admin/nothing-here", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["code"], "NOT_FOUND");
}

#[tokio::test]
async fn pages_are_server_rendered_with_the_tabs_and_frame_ancestors() {
    let app = router(state_with("ssr", &[]));
    let pages = ["/", "/warming", "/warming/sources", "/warming/history", "/warming/schedules", "/warming/settings"];
    for path in pages.into_iter().chain(["/redis", "/redis/keys", "/audit"]) {
        let r = get(&app, path, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        for tab in ["tab-cache", "tab-warming", "tab-redis", "tab-audit"] {
            assert!(r.text.contains(&format!("data-testid=\"{tab}\"")), "{path} lacks {tab}");
        }
        let csp = r.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.ends_with("frame-ancestors 'self'"), "{csp}");
        for directive in ["default-src 'self'", "object-src 'none'", "base-uri 'self'", "'wasm-unsafe-eval'"] {
            assert!(csp.contains(directive), "{csp} lacks {directive}");
        }
        // The inline hydration script runs only because it carries this response's nonce.
        let nonce = csp.split("'nonce-").nth(1).and_then(|n| n.split('\'').next()).expect("a script nonce");
        assert!(r.text.contains(&format!("nonce=\"{nonce}\"")), "{path}: scripts lack the CSP nonce");
    }
    assert!(get(&app, "/redis", None).await.text.contains("data-testid=\"redis-overview\""));
    // A tab's own page is drawn under its tab, marked as the page shown.
    let history = get(&app, "/warming/history", None).await.text;
    assert!(history.contains("data-testid=\"recent-jobs\""), "{history}");
    assert!(history.contains("data-testid=\"warming-history\" aria-current=\"page\""), "{history}");
    assert!(get(&app, "/redis/keys", None).await.text.contains("data-testid=\"key-list\""));
    assert_eq!(get(&app, "/warming/nothing", None).await.status, StatusCode::NOT_FOUND);
    // A filtered Audit view is drawn with its filters: in the form and in the export links.
    let audit = get(&app, "/audit?action=cache_warm_initiated", None).await.text;
    assert!(audit.contains("data-testid=\"audit-filter-action\""), "{audit}");
    assert!(audit.contains("export?format=csv&amp;action=cache_warm_initiated"), "{audit}");
    assert_eq!(get(&app, "/no-such-page", None).await.status, StatusCode::NOT_FOUND);
}

fn run_hearth(vars: &[(&str, &str)]) -> std::process::Output {
    hearth_command(vars).arg("serve").output().expect("hearth runs")
}

#[test]
fn start_up_stops_on_a_bad_bind_address_naming_the_variable() {
    let out = run_hearth(&[("HEARTH_BIND", "nonsense")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("HEARTH_BIND") && err.contains("nonsense"), "{err}");
}

#[test]
fn start_up_refuses_dev_mode_on_a_public_address() {
    let out = run_hearth(&[("HEARTH_BIND", "0.0.0.0:3999")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("HEARTH_AUTH_MODE") && err.contains("loopback"), "{err}");
}
