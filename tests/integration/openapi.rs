//! `GET /api/openapi.json`: an OpenAPI 3.1 document that any signed-in caller may read, with every
//! route of the table (and so of the router) under its method, permission, rate limit and audit
//! action; and every route it names is really served.

use std::collections::BTreeSet;

use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::Value;

use crate::common::*;
use hearth::api::routes::{NO_SUCH_ROUTE, ROUTES};

async fn document(app: &axum::Router, uri: &str) -> Value {
    let nobody = token(SECRET, "nobody", &[], 600);
    let r = get(app, uri, Some(&nobody)).await;
    assert_eq!(r.status, StatusCode::OK, "any signed-in caller may read it: {}", r.text);
    r.body
}

/// `(METHOD, path)` of every operation in the document.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            out.insert((method.to_uppercase(), path.clone()));
        }
    }
    out
}

/// Every `$ref` in `value` points at something in `doc`.
fn assert_refs_resolve(doc: &Value, value: &Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                let pointer = r.strip_prefix('#').expect("local refs only");
                assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
            }
            map.values().for_each(|v| assert_refs_resolve(doc, v));
        }
        Value::Array(items) => items.iter().for_each(|v| assert_refs_resolve(doc, v)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_openapi_3_1_with_every_route_its_permission_limit_and_audit_action() {
    let state = jwt_state("openapi");
    let app = hearth::server::router(state.clone());
    let r = get(&app, "/api/openapi.json", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "signed-in callers only: {}", r.text);

    let doc = document(&app, "/api/openapi.json").await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "Hearth");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(doc["servers"][0]["url"], "/api");
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    assert_eq!(doc["components"]["securitySchemes"]["session"]["in"], "cookie");
    assert_refs_resolve(&doc, &doc);

    let table: BTreeSet<(String, String)> =
        ROUTES.iter().map(|r| (r.verb.as_str().to_string(), r.path.to_string())).collect();
    assert_eq!(operations(&doc), table, "the document has exactly the table's routes");

    for spec in ROUTES {
        let what = format!("{} {}", spec.verb.as_str(), spec.path);
        let op = &doc["paths"][spec.path][spec.verb.as_str().to_lowercase()];
        assert_eq!(op["x-permission"], spec.needs.as_str(), "{what}");
        assert_eq!(op["x-audit-action"], spec.audit.map_or(Value::Null, |a| a.as_str().into()), "{what}");
        assert_eq!(op["x-rate-limit"]["class"], spec.limit.map_or(Value::Null, |c| c.as_str().into()), "{what}");
        assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{what}");
        assert!(op["responses"]["200"].is_object(), "{what}");
        assert!(op["responses"]["401"].is_object(), "{what}");
        for param in spec.params {
            let documented = op["parameters"].as_array().unwrap().iter().find(|p| p["name"] == param.name);
            assert!(documented.is_some(), "{what}: parameter {}", param.name);
        }
        match spec.body {
            Some(fields) => {
                let schema = &op["requestBody"]["content"]["application/json"]["schema"];
                for f in fields {
                    assert!(schema["properties"][f.name].is_object(), "{what}: {}", f.name);
                    let required = schema["required"].as_array().is_some_and(|r| r.contains(&f.name.into()));
                    assert_eq!(required, f.required, "{what}: {}", f.name);
                }
            }
            None => assert!(op.get("requestBody").is_none(), "{what}"),
        }
        if spec.limit.is_some() {
            let limited = &doc["components"]["responses"]["RateLimited"];
            assert_eq!(op["responses"]["429"]["$ref"], "#/components/responses/RateLimited", "{what}");
            assert!(limited["headers"]["Retry-After"].is_object());
        }
    }
    // The budgets are this instance's.
    let warm = &doc["paths"]["/admin/analytics/cache/warm"]["post"];
    assert_eq!(warm["x-rate-limit"]["perHour"], 10);
    let codes = &doc["components"]["schemas"]["Error"]["properties"]["code"]["enum"];
    for code in ["VALIDATION_ERROR", "UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "RATE_LIMITED", "REDIS_UNAVAILABLE"] {
        assert!(codes.as_array().unwrap().contains(&code.into()), "{code}");
    }
}

#[tokio::test]
async fn every_route_in_the_document_is_served_by_the_router() {
    let state = jwt_state("openapi-served");
    let _cleanup = crate::common::fixtures::cleanup_prefix_on_drop(&state.config.key_prefix);
    let app = hearth::server::router(state.clone());
    let doc = document(&app, "/api/openapi.json").await;
    let admin = token(SECRET, "admin", &["settings:read:all", "settings:write:all"], 600);
    let ops = operations(&doc);
    assert_eq!(ops.len(), ROUTES.len());
    for (method, path) in ops {
        // Ids that name nothing and no body: every mutation is refused (400/404) before it acts.
        let concrete: Vec<&str> = path.split('/').map(|s| if s.starts_with('{') { "x-none" } else { s }).collect();
        let uri = format!("/api{}", concrete.join("/"));
        let request = Request::builder()
            .method(method.as_str())
            .uri(&uri)
            .header("authorization", format!("Bearer {admin}"))
            .body(Body::empty())
            .unwrap();
        let r = send(&app, request).await;
        let unserved = (r.status == StatusCode::NOT_FOUND && r.body["error"] == NO_SUCH_ROUTE)
            || r.status == StatusCode::METHOD_NOT_ALLOWED;
        assert!(!unserved, "{method} {uri} is in the document but the router does not serve it: {}", r.text);
        assert!(!r.status.is_server_error(), "{method} {uri}: {} {}", r.status, r.text);
    }
}

#[tokio::test]
async fn under_a_base_path_the_document_names_it_as_its_server() {
    let state = jwt_state_with("openapi-base", &[("HEARTH_BASE_PATH", "/hearth")]);
    let app = hearth::server::router(state.clone());
    let doc = document(&app, "/hearth/api/openapi.json").await;
    assert_eq!(doc["servers"][0]["url"], "/hearth/api");
    assert_eq!(doc["components"]["securitySchemes"]["session"]["name"], "__Secure-hearth_session");
}
