//! `GET /api/openapi.json`: the REST API as an OpenAPI 3.1 document, written from the route table
//! ([`super::routes::ROUTES`]) with this instance's base path, cookie names and rate limits.

use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};

use super::routes::{Field, Param, Place, ROUTES, RouteSpec, Ty};
use crate::auth::Caller;
use crate::error::ErrorCode;
use crate::state::AppState;

/// `GET /api/openapi.json`: this API's OpenAPI 3.1 document; any signed-in caller; changes nothing.
pub async fn document(State(state): State<AppState>, _: Caller) -> Json<Value> {
    Json(build(&state))
}

/// Every error code, in the order of their statuses. The `match` fails to compile when a code is
/// added, so the document cannot miss one.
fn error_codes() -> [ErrorCode; 13] {
    use ErrorCode::*;
    let all = [
        ValidationError,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PayloadTooLarge,
        RateLimited,
        InternalError,
        Transport,
        SourceUnavailable,
        RedisUnavailable,
        Timeout,
        RequestTimeout,
    ];
    for code in all {
        match code {
            ValidationError | Unauthorized | Forbidden | NotFound | Conflict | PayloadTooLarge | RateLimited
            | InternalError | Transport | SourceUnavailable | RedisUnavailable | Timeout | RequestTimeout => {}
        }
    }
    all
}

fn code_name(code: ErrorCode) -> Value {
    serde_json::to_value(code).unwrap_or(Value::Null)
}

/// The reusable error responses: status, component name, what it means.
const ERRORS: [(u16, &str, &str); 10] = [
    (400, "BadRequest", "The input is invalid: the message names the field"),
    (401, "Unauthorized", "No valid token or session"),
    (403, "Forbidden", "The caller lacks the permission, or a cross-origin write was refused"),
    (404, "NotFound", "No such route, job, schedule, source, key or session"),
    (408, "RequestTimeout", "No answer within HEARTH_REQUEST_TIMEOUT_SECS; an invalidation goes on to its end"),
    (409, "Conflict", "The job, source or purge is in a state that does not allow this now"),
    (413, "PayloadTooLarge", "The body is over 64 KiB"),
    (429, "RateLimited", "The caller's budget for this class is spent; retry after `Retry-After` seconds"),
    (500, "InternalError", "Something failed on the server (logged with context)"),
    (503, "RedisUnavailable", "Redis is not reachable"),
];

fn schema(ty: Ty) -> Value {
    match ty {
        Ty::Text => json!({ "type": "string" }),
        Ty::SourceId => json!({ "type": "integer", "format": "int64", "minimum": 1 }),
        Ty::Count => json!({ "type": "integer", "format": "int64", "minimum": 0 }),
        Ty::Percent => json!({ "type": "integer", "minimum": 0, "maximum": 100 }),
        Ty::Bool => json!({ "type": "boolean" }),
        Ty::Ttl => json!({
            "type": ["integer", "string"],
            "description": "seconds from 1 to 315360000, or -1 to remove the expiry; a number or its text",
        }),
        Ty::Reason => json!({ "type": "string", "maxLength": crate::model::input::Reason::MAX }),
        Ty::Pattern => {
            json!({ "type": "string", "minLength": 1, "maxLength": crate::redis_admin::patterns::MAX_PATTERN })
        }
        Ty::OneOf(words) => json!({ "type": "string", "enum": words }),
        Ty::Any => json!({}),
    }
}

fn parameter(p: &Param) -> Value {
    json!({
        "name": p.name,
        "in": match p.place { Place::Path => "path", Place::Query => "query" },
        "required": p.required || p.place == Place::Path,
        "description": p.about,
        "schema": schema(p.ty),
    })
}

fn body(fields: &[Field]) -> Value {
    let properties: Map<String, Value> = fields
        .iter()
        .map(|f| {
            let mut s = schema(f.ty);
            if let Some(o) = s.as_object_mut() {
                o.insert("description".into(), json!(f.about));
            }
            (f.name.to_string(), s)
        })
        .collect();
    let required: Vec<&str> = fields.iter().filter(|f| f.required).map(|f| f.name).collect();
    let mut object = json!({ "type": "object", "properties": properties });
    if !required.is_empty() {
        object["required"] = json!(required);
    }
    json!({ "required": true, "content": { "application/json": { "schema": object } } })
}

/// `postAdminAnalyticsCacheJobsIdPause`.
fn operation_id(spec: &RouteSpec) -> String {
    let mut id = spec.verb.as_str().to_lowercase();
    for word in spec.path.split(['/', '.', '-', '{', '}']).filter(|w| !w.is_empty()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            id.extend(first.to_uppercase());
            id.push_str(chars.as_str());
        }
    }
    id
}

fn tag(spec: &RouteSpec) -> &'static str {
    let p = spec.path;
    if p.starts_with("/admin/redis/") {
        "redis"
    } else if p.contains("/jobs/") || p.contains("/warm") || p.contains("/schedules") {
        "warming"
    } else if p.starts_with("/admin/analytics/sources") {
        "sources"
    } else if p.contains("/sessions") || p.ends_with("/limits") {
        "access"
    } else if p.contains("/cache/") {
        "cache"
    } else {
        "meta"
    }
}

/// The error statuses a route can answer with.
fn error_statuses(spec: &RouteSpec) -> Vec<u16> {
    let mut statuses = Vec::new();
    if !spec.params.is_empty() || spec.body.is_some() {
        statuses.push(400);
    }
    statuses.push(401);
    // Login routes are refused only by dev mode's narrowing, which every route shares.
    statuses.push(403);
    statuses.push(404);
    statuses.push(408);
    if spec.verb != super::routes::Verb::Get {
        statuses.push(409);
    }
    if spec.body.is_some() {
        statuses.push(413);
    }
    if spec.limit.is_some() {
        statuses.push(429);
    }
    statuses.extend([500, 503]);
    statuses
}

fn operation(state: &AppState, spec: &RouteSpec) -> Value {
    let mut responses = Map::new();
    let ok = if spec.envelope {
        json!({ "description": "Done", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Success" } } } })
    } else if spec.path.ends_with("/export") {
        json!({ "description": "A file download, streamed", "content": {
            "application/x-ndjson": { "schema": { "type": "string" } },
            "text/csv": { "schema": { "type": "string" } },
        } })
    } else {
        json!({ "description": "The document", "content": { "application/json": { "schema": { "type": "object" } } } })
    };
    responses.insert("200".into(), ok);
    for status in error_statuses(spec) {
        let name = ERRORS.iter().find(|(s, _, _)| *s == status).map(|(_, n, _)| *n).unwrap_or("InternalError");
        responses.insert(status.to_string(), json!({ "$ref": format!("#/components/responses/{name}") }));
    }
    let rate_limit = spec.limit.map(|class| {
        let per_hour = crate::auth::limits::limit_of(&state.config.rate_limits, class);
        json!({
            "class": class.as_str(),
            "perHour": (per_hour > 0).then_some(per_hour),
            "windowSecs": crate::model::limits::WINDOW_SECS,
        })
    });
    let mut op = json!({
        "operationId": operation_id(spec),
        "summary": spec.summary,
        "tags": [tag(spec)],
        "parameters": spec.params.iter().map(parameter).collect::<Vec<_>>(),
        "responses": responses,
        "x-permission": spec.needs.as_str(),
        "x-rate-limit": rate_limit,
        "x-audit-action": spec.audit.map(|a| a.as_str()),
    });
    if let Some(fields) = spec.body {
        op["requestBody"] = body(fields);
    }
    op
}

fn error_envelope() -> Value {
    json!({
        "type": "object",
        "required": ["success", "error", "code", "meta"],
        "properties": {
            "success": { "const": false },
            "error": { "type": "string", "description": "what went wrong, for a person" },
            "code": { "type": "string", "enum": error_codes().map(code_name) },
            "details": { "description": "more about it, when there is more (or null)" },
            "meta": { "$ref": "#/components/schemas/Meta" },
        },
    })
}

fn components(state: &AppState) -> Value {
    let mut responses = Map::new();
    for (status, name, about) in ERRORS {
        let code = error_codes().into_iter().find(|c| c.status() == status).map(code_name);
        let mut response = json!({
            "description": about,
            "content": { "application/json": {
                "schema": { "$ref": "#/components/schemas/Error" },
                "example": { "success": false, "error": about, "code": code, "details": null,
                             "meta": { "timestamp": "2025-01-01T00:00:00.000Z" } },
            } },
        });
        if status == 429 {
            response["headers"] = json!({ "Retry-After": {
                "description": "seconds until the budget has room again",
                "schema": { "type": "integer", "minimum": 1 },
            } });
        }
        responses.insert(name.to_string(), response);
    }
    let mut schemes = json!({
        "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": "a token minted by the command center" },
        "session": { "type": "apiKey", "in": "cookie", "name": crate::auth::session::cookie_name(state),
                     "description": "Hearth's session, created by POST /auth/handoff" },
    });
    if let Some(name) = &state.config.auth.jwt_cookie {
        schemes["commandCenterCookie"] = json!({ "type": "apiKey", "in": "cookie", "name": name,
                                                 "description": "the command center's own JWT cookie" });
    }
    json!({
        "schemas": {
            "Meta": { "type": "object", "required": ["timestamp"],
                      "properties": { "timestamp": { "type": "string", "format": "date-time" } } },
            "Success": {
                "type": "object",
                "required": ["success", "data", "meta"],
                "properties": {
                    "success": { "const": true },
                    "data": { "description": "the route's answer" },
                    "meta": { "$ref": "#/components/schemas/Meta" },
                },
            },
            "Error": error_envelope(),
        },
        "responses": responses,
        "securitySchemes": schemes,
    })
}

/// The document for this instance.
pub fn build(state: &AppState) -> Value {
    let mut paths = Map::new();
    for spec in ROUTES {
        let item = paths.entry(spec.path).or_insert_with(|| json!({}));
        item[spec.verb.as_str().to_lowercase()] = operation(state, spec);
    }
    let mut security = vec![json!({ "bearer": [] }), json!({ "session": [] })];
    if state.config.auth.jwt_cookie.is_some() {
        security.push(json!({ "commandCenterCookie": [] }));
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Hearth",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The console and engine of the command center's Redis analytics cache. Every answer is \
                            the envelope {success, data, meta} or {success: false, error, code, details, meta}. \
                            x-permission: login (any signed-in caller), read or write; x-rate-limit: the per-user \
                            budget a call spends; x-audit-action: what the audit trail records it as.",
        },
        "servers": [{ "url": format!("{}/api", state.config.base_path) }],
        "security": security,
        "paths": paths,
        "components": components(state),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_read_as_the_path() {
        let pause = ROUTES.iter().find(|r| r.path == "/admin/analytics/cache/jobs/{id}/pause").unwrap();
        assert_eq!(operation_id(pause), "postAdminAnalyticsCacheJobsIdPause");
        let doc = ROUTES.iter().find(|r| r.path == "/openapi.json").unwrap();
        assert_eq!(operation_id(doc), "getOpenapiJson");
        let ids: std::collections::BTreeSet<String> = ROUTES.iter().map(operation_id).collect();
        assert_eq!(ids.len(), ROUTES.len(), "operation ids are unique");
    }

    #[test]
    fn every_error_status_has_its_code() {
        for (status, _, _) in ERRORS {
            assert!(error_codes().iter().any(|c| c.status() == status), "{status}");
        }
        assert_eq!(code_name(ErrorCode::RateLimited), json!("RATE_LIMITED"));
    }
}
