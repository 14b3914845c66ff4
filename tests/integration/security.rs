//! Every REST route and every server function refuses the wrong caller: 401 without a valid token,
//! 403 with a token that lacks the permission, and something else than 401/403 for the right one.
//! The tables below are checked against the route table the router is built from
//! (`src/api/routes.rs`) and the registered server functions, so a new route or server function
//! without an entry fails here.

use std::collections::BTreeSet;

use crate::common::*;
use axum::body::Body;
use axum::http::{Request, StatusCode};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Needs {
    /// Any authenticated caller.
    Login,
    Read,
    Write,
}

struct Call {
    method: &'static str,
    /// The route as `src/api/mod.rs` spells it (server functions: their full path).
    template: &'static str,
    /// What is sent: path with ids filled in and query string.
    uri: &'static str,
    /// JSON for REST, form-urlencoded for server functions.
    body: &'static str,
    needs: Needs,
}

const fn call(
    method: &'static str,
    template: &'static str,
    uri: &'static str,
    body: &'static str,
    needs: Needs,
) -> Call {
    Call { method, template, uri, body, needs }
}

const REST: &[Call] = &[
    call("GET", "/openapi.json", "/openapi.json", "", Needs::Login),
    call("GET", "/admin/redis/stats", "/admin/redis/stats", "", Needs::Read),
    call("GET", "/admin/redis/keys", "/admin/redis/keys?pattern=*", "", Needs::Read),
    call("GET", "/admin/redis/inspect", "/admin/redis/inspect?key=cache:nothing", "", Needs::Read),
    call(
        "POST",
        "/admin/redis/purge",
        "/admin/redis/purge",
        r#"{"pattern":"cache:nothing:*","preview":true}"#,
        Needs::Write,
    ),
    call("GET", "/admin/redis/purge/{id}", "/admin/redis/purge/p-none", "", Needs::Read),
    call("POST", "/admin/redis/purge/{id}/abort", "/admin/redis/purge/p-none/abort", "{}", Needs::Write),
    call(
        "POST",
        "/admin/redis/ttl",
        "/admin/redis/ttl",
        r#"{"pattern":"cache:nothing:*","ttl":60,"preview":true}"#,
        Needs::Write,
    ),
    call("POST", "/admin/redis/key/ttl", "/admin/redis/key/ttl", r#"{"key":"cache:nothing","ttl":60}"#, Needs::Write),
    call("POST", "/admin/redis/key/delete", "/admin/redis/key/delete", r#"{"key":"cache:nothing"}"#, Needs::Write),
    call("GET", "/admin/analytics/sources", "/admin/analytics/sources", "", Needs::Read),
    call("GET", "/admin/analytics/cache/stats", "/admin/analytics/cache/stats", "", Needs::Read),
    call("GET", "/admin/analytics/cache/health", "/admin/analytics/cache/health", "", Needs::Read),
    call("GET", "/admin/analytics/cache/trends", "/admin/analytics/cache/trends?datasourceId=1", "", Needs::Read),
    call("GET", "/admin/analytics/cache/source", "/admin/analytics/cache/source?datasourceId=1", "", Needs::Read),
    call(
        "POST",
        "/admin/analytics/cache/invalidate",
        "/admin/analytics/cache/invalidate",
        r#"{"datasourceId":999999,"dryRun":true}"#,
        Needs::Write,
    ),
    call(
        "GET",
        "/analytics/cache/query",
        "/analytics/cache/query?datasourceId=1&measure=a&frequency=b",
        "",
        Needs::Read,
    ),
    call(
        "POST",
        "/admin/analytics/cache/warm",
        "/admin/analytics/cache/warm",
        r#"{"datasourceId":999999}"#,
        Needs::Write,
    ),
    call("GET", "/admin/analytics/cache/warming/status", "/admin/analytics/cache/warming/status", "", Needs::Read),
    call("GET", "/admin/analytics/cache/warming/settings", "/admin/analytics/cache/warming/settings", "", Needs::Read),
    call(
        "PUT",
        "/admin/analytics/cache/warming/settings",
        "/admin/analytics/cache/warming/settings",
        r#"{"memoryPausePercent":"not a number"}"#,
        Needs::Write,
    ),
    call("GET", "/admin/analytics/cache/jobs/{id}", "/admin/analytics/cache/jobs/j-none", "", Needs::Read),
    call(
        "POST",
        "/admin/analytics/cache/jobs/{id}/pause",
        "/admin/analytics/cache/jobs/j-none/pause",
        "{}",
        Needs::Write,
    ),
    call(
        "POST",
        "/admin/analytics/cache/jobs/{id}/resume",
        "/admin/analytics/cache/jobs/j-none/resume",
        "{}",
        Needs::Write,
    ),
    call(
        "POST",
        "/admin/analytics/cache/jobs/{id}/cancel",
        "/admin/analytics/cache/jobs/j-none/cancel",
        "{}",
        Needs::Write,
    ),
    call("GET", "/admin/analytics/cache/jobs", "/admin/analytics/cache/jobs?status=failed", "", Needs::Read),
    call("GET", "/admin/analytics/cache/schedules", "/admin/analytics/cache/schedules", "", Needs::Read),
    call(
        "POST",
        "/admin/analytics/cache/schedules",
        "/admin/analytics/cache/schedules",
        r#"{"datasourceId":999999,"cron":"not a cron"}"#,
        Needs::Write,
    ),
    call(
        "PUT",
        "/admin/analytics/cache/schedules/{id}",
        "/admin/analytics/cache/schedules/s-none",
        r#"{"enabled":false}"#,
        Needs::Write,
    ),
    call(
        "DELETE",
        "/admin/analytics/cache/schedules/{id}",
        "/admin/analytics/cache/schedules/s-none",
        "",
        Needs::Write,
    ),
    call(
        "POST",
        "/admin/analytics/cache/schedules/{id}/run",
        "/admin/analytics/cache/schedules/s-none/run",
        "{}",
        Needs::Write,
    ),
    call("GET", "/admin/analytics/cache/limits", "/admin/analytics/cache/limits", "", Needs::Login),
    call("GET", "/admin/analytics/cache/audit", "/admin/analytics/cache/audit", "", Needs::Read),
    call(
        "GET",
        "/admin/analytics/cache/audit/export",
        "/admin/analytics/cache/audit/export?format=csv",
        "",
        Needs::Read,
    ),
    call("GET", "/admin/analytics/cache/sessions", "/admin/analytics/cache/sessions", "", Needs::Write),
    call(
        "DELETE",
        "/admin/analytics/cache/sessions/{id}",
        "/admin/analytics/cache/sessions/not-a-session",
        "",
        Needs::Write,
    ),
];

const RPC: &[Call] = &[
    call("GET", "/rpc/session", "/rpc/session", "", Needs::Login),
    call("GET", "/rpc/limits", "/rpc/limits", "", Needs::Login),
    call("GET", "/rpc/audit/list", "/rpc/audit/list", "", Needs::Read),
    call("GET", "/rpc/sources", "/rpc/sources", "", Needs::Read),
    call("GET", "/rpc/redis/overview", "/rpc/redis/overview", "", Needs::Read),
    call("GET", "/rpc/redis/keys", "/rpc/redis/keys?pattern=*&cursor=0&limit=10", "", Needs::Read),
    call("GET", "/rpc/redis/inspect", "/rpc/redis/inspect?key=cache:nothing&start=0&count=10", "", Needs::Read),
    call("POST", "/rpc/redis/key/ttl", "/rpc/redis/key/ttl", "key=cache:nothing&ttl=60", Needs::Write),
    call("POST", "/rpc/redis/key/delete", "/rpc/redis/key/delete", "key=cache:nothing", Needs::Write),
    call(
        "POST",
        "/rpc/redis/purge",
        "/rpc/redis/purge",
        "request[pattern]=cache:nothing:*&request[preview]=true",
        Needs::Write,
    ),
    call("GET", "/rpc/redis/purge/status", "/rpc/redis/purge/status?id=p-none", "", Needs::Read),
    call("POST", "/rpc/redis/purge/abort", "/rpc/redis/purge/abort", "id=p-none", Needs::Write),
    call(
        "POST",
        "/rpc/redis/ttl",
        "/rpc/redis/ttl",
        "request[pattern]=cache:nothing:*&request[ttl]=60&request[preview]=true",
        Needs::Write,
    ),
    call("GET", "/rpc/cache/stats", "/rpc/cache/stats", "", Needs::Read),
    call("GET", "/rpc/cache/trends", "/rpc/cache/trends?datasource_id=1&range=24h", "", Needs::Read),
    call("GET", "/rpc/cache/source", "/rpc/cache/source?datasource_id=1", "", Needs::Read),
    call("GET", "/rpc/cache/health", "/rpc/cache/health", "", Needs::Read),
    call(
        "POST",
        "/rpc/cache/invalidate",
        "/rpc/cache/invalidate",
        "request[datasourceId]=999999&request[dryRun]=true",
        Needs::Write,
    ),
    call("GET", "/rpc/jobs/status", "/rpc/jobs/status", "", Needs::Read),
    call("POST", "/rpc/jobs/warm", "/rpc/jobs/warm", "request[datasourceId]=999999", Needs::Write),
    call("POST", "/rpc/jobs/control", "/rpc/jobs/control", "job_id=j-none&action=pause", Needs::Write),
    call("GET", "/rpc/schedules/list", "/rpc/schedules/list", "", Needs::Read),
    call("GET", "/rpc/jobs/history", "/rpc/jobs/history", "", Needs::Read),
    call("GET", "/rpc/schedules/preview", "/rpc/schedules/preview?cron=0%203%20*%20*%20*", "", Needs::Read),
    call(
        "POST",
        "/rpc/schedules/save",
        "/rpc/schedules/save",
        "input[datasourceId]=999999&input[cron]=bad",
        Needs::Write,
    ),
    call("POST", "/rpc/schedules/act", "/rpc/schedules/act", "id=s-none&action=run", Needs::Write),
    call("GET", "/rpc/jobs/settings", "/rpc/jobs/settings", "", Needs::Read),
    call("POST", "/rpc/jobs/settings/save", "/rpc/jobs/settings/save", "input[memoryPausePercent]=200", Needs::Write),
    call("GET", "/rpc/auth/sessions", "/rpc/auth/sessions", "", Needs::Write),
    call("POST", "/rpc/auth/sessions/revoke", "/rpc/auth/sessions/revoke", "id=not-a-session", Needs::Write),
];

async fn send_call(app: &axum::Router, c: &Call, rest: bool, bearer: Option<&str>) -> Reply {
    let uri = if rest { format!("/api{}", c.uri) } else { c.uri.to_string() };
    let mut builder = Request::builder().method(c.method).uri(uri);
    if let Some(t) = bearer {
        builder = builder.header("authorization", format!("Bearer {t}"));
    }
    if !c.body.is_empty() {
        let kind = if rest { "application/json" } else { "application/x-www-form-urlencoded" };
        builder = builder.header("content-type", kind);
    }
    send(app, builder.body(Body::from(c.body)).unwrap()).await
}

/// `(METHOD, path, needs)` of every row of the route table the router is built from.
fn routes_in_table() -> BTreeSet<(String, String, String)> {
    hearth::api::routes::ROUTES
        .iter()
        .map(|r| (r.verb.as_str().to_string(), r.path.to_string(), format!("{:?}", r.needs)))
        .collect()
}

#[test]
fn the_tables_cover_every_route_and_server_function() {
    // Written twice on purpose: a permission changed in the route table must be changed here too.
    let rest: BTreeSet<(String, String, String)> =
        REST.iter().map(|c| (c.method.to_string(), c.template.to_string(), format!("{:?}", c.needs))).collect();
    assert_eq!(rest, routes_in_table(), "tests/integration/security.rs REST table vs src/api/routes.rs");
    assert_eq!(rest.len(), REST.len(), "duplicate REST entries");

    let registered: BTreeSet<(String, String)> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, method)| (method.as_str().to_string(), path.to_string()))
        .collect();
    let rpc: BTreeSet<(String, String)> = RPC.iter().map(|c| (c.method.to_string(), c.template.to_string())).collect();
    assert_eq!(
        rpc, registered,
        "tests/integration/security.rs server function table vs the registered server functions"
    );

    // The guard's own table (what it checks before decoding) says the same as this one.
    let guard: BTreeSet<(String, String)> = hearth::auth::needs::RPC_PERMISSIONS
        .iter()
        .map(|spec| (spec.path.to_string(), format!("{:?}", spec.needs)))
        .collect();
    let ours: BTreeSet<(String, String)> =
        RPC.iter().map(|c| (c.template.to_string(), format!("{:?}", c.needs))).collect();
    assert_eq!(guard, ours, "src/auth/needs.rs RPC_PERMISSIONS vs this table");
}

#[tokio::test]
async fn every_route_and_server_function_refuses_the_wrong_caller() {
    let state = jwt_state("security");
    let _cleanup = crate::common::fixtures::cleanup_prefix_on_drop(&state.config.key_prefix);
    let app = hearth::server::router(state.clone());
    let nobody = token(SECRET, "nobody", &[], 600);
    let reader = token(SECRET, "reader", &["settings:read:all"], 600);
    let writer_only = token(SECRET, "writer", &["settings:write:all"], 600);
    let admin = token(SECRET, "admin", &["settings:read:all", "settings:write:all"], 600);
    let forged =
        token("another-secret-0123456789abcdef0123", "admin", &["settings:read:all", "settings:write:all"], 600);
    let expired = token(SECRET, "admin", &["settings:read:all", "settings:write:all"], -3600);

    for (rest, table) in [(true, REST), (false, RPC)] {
        for c in table {
            let what = format!("{} {}", c.method, c.uri);
            for bearer in [None, Some(forged.as_str()), Some(expired.as_str()), Some("not.a.token")] {
                let r = send_call(&app, c, rest, bearer).await;
                assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what} with {bearer:?}: {}", r.text);
                assert_eq!(r.body["code"], "UNAUTHORIZED", "{what}: {}", r.text);
            }
            let wrong: &[&str] = match c.needs {
                Needs::Login => &[],
                Needs::Read => &[&nobody, &writer_only],
                Needs::Write => &[&nobody, &reader],
            };
            for bearer in wrong {
                let r = send_call(&app, c, rest, Some(bearer)).await;
                assert_eq!(r.status, StatusCode::FORBIDDEN, "{what} needs {:?}: {}", c.needs, r.text);
                assert_eq!(r.body["code"], "FORBIDDEN", "{what}: {}", r.text);
            }
            // The right caller gets past the checks (its answer may still be 400/404 for the
            // harmless input above, never 401/403).
            let right = if c.needs == Needs::Login { &nobody } else { &admin };
            let r = send_call(&app, c, rest, Some(right)).await;
            assert!(
                ![StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN].contains(&r.status),
                "{what} refused the right caller: {} {}",
                r.status,
                r.text
            );
        }
    }
}

/// A concrete path for a table pattern: every `{param}` filled in.
fn concrete(pattern: &str) -> String {
    pattern.split('/').map(|s| if s.starts_with('{') { "x-none" } else { s }).collect::<Vec<_>>().join("/")
}

#[tokio::test]
async fn every_rest_route_refuses_a_caller_without_the_permission_its_table_row_names() {
    use hearth::auth::needs::Needs as TableNeeds;
    let state = jwt_state("security-table");
    let _cleanup = crate::common::fixtures::cleanup_prefix_on_drop(&state.config.key_prefix);
    let app = hearth::server::router(state.clone());
    let nobody = token(SECRET, "nobody", &[], 600);
    let reader = token(SECRET, "reader", &["settings:read:all"], 600);
    let writer_only = token(SECRET, "writer", &["settings:write:all"], 600);

    for spec in hearth::api::routes::ROUTES {
        let uri = format!("/api{}", concrete(spec.path));
        let what = format!("{} {uri} ({:?})", spec.verb.as_str(), spec.needs);
        let request = |bearer: Option<&str>| {
            let mut builder = Request::builder().method(spec.verb.as_str()).uri(&uri);
            if let Some(t) = bearer {
                builder = builder.header("authorization", format!("Bearer {t}"));
            }
            // A body the handler would accept in shape: the refusal must come before it is read.
            builder.header("content-type", "application/json").body(Body::from("{}")).unwrap()
        };
        let r = send(&app, request(None)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what} without a token: {}", r.text);
        assert_eq!(r.body["code"], "UNAUTHORIZED", "{what}: {}", r.text);
        let wrong: &[&str] = match spec.needs {
            TableNeeds::Login => &[],
            TableNeeds::Read => &[&nobody, &writer_only],
            TableNeeds::Write => &[&nobody, &reader],
        };
        for bearer in wrong {
            let r = send(&app, request(Some(bearer))).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{what}: {}", r.text);
            assert_eq!(r.body["code"], "FORBIDDEN", "{what}: {}", r.text);
            assert_eq!(r.body["success"], false, "{what}: {}", r.text);
        }
    }
}

#[tokio::test]
async fn an_api_route_outside_the_table_is_refused_in_the_envelope_after_sign_in() {
    let state = jwt_state("security-unknown");
    let app = hearth::server::router(state.clone());
    let admin = token(SECRET, "admin", &["settings:read:all", "settings:write:all"], 600);
    let r = get(&app, "/api/admin/redis/nothing-here", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "who asks comes first: {}", r.text);
    for (method, uri) in [
        ("GET", "/api/admin/redis/nothing-here"),
        ("GET", "/api/admin/redis/purge"),
        ("POST", "/api/admin/redis/stats"),
        ("POST", "/api/admin/analytics/cache/jobs//pause"),
        ("GET", "/api/admin/redis/stats/"),
    ] {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {admin}"))
            .body(Body::empty())
            .unwrap();
        let r = send(&app, request).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{method} {uri}: {}", r.text);
        assert_eq!(r.body["error"], hearth::api::routes::NO_SUCH_ROUTE, "{method} {uri}: {}", r.text);
    }
}
