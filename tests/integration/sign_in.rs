//! Sign-in in a browser and the guard around it: tokens refused for every reason the command
//! center's tokens can be wrong, hand-off into a session (single use, idle end, revocation, sign
//! out), the command center's cookie, cross-origin writes refused with nothing changed, dev mode
//! narrowed to this machine, and bodies bounded before decoding.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use crate::common::*;

const STATS: &str = "/api/admin/analytics/cache/stats";
const ADMIN: &[&str] = &["settings:read:all", "settings:write:all"];

fn bearer_get(uri: &str, token: &str) -> Request<Body> {
    Request::get(uri).header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap()
}

/// The command center's origin: the tests' `jwt` states trust it.
const COMMAND_CENTER: &str = "https://command-center.example";

fn handoff_request(token: &str, embed: bool) -> Request<Body> {
    handoff_from(token, embed, COMMAND_CENTER)
}

fn handoff_from(token: &str, embed: bool, origin: &str) -> Request<Body> {
    let body = format!("token={token}{}", if embed { "&embed=1" } else { "" });
    Request::post("/auth/handoff")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", origin)
        .header("sec-fetch-site", "cross-site")
        .body(Body::from(body))
        .unwrap()
}

/// Hands `token` off and returns the session cookie (`name=value`) and the whole Set-Cookie.
async fn sign_in(app: &axum::Router, token: &str, embed: bool) -> (String, String) {
    let r = send(app, handoff_request(token, embed)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(r.headers["location"], "/");
    let set_cookie = r.headers["set-cookie"].to_str().unwrap().to_string();
    let pair = set_cookie.split(';').next().unwrap().to_string();
    assert!(pair.starts_with("__Host-hearth_session=") && pair.len() > 40, "{set_cookie}");
    (pair, set_cookie)
}

fn with_cookie(method: &str, uri: &str, cookie: &str, site: Option<&str>, form: &str) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri).header("cookie", cookie);
    if let Some(site) = site {
        b = b.header("sec-fetch-site", site);
    }
    if !form.is_empty() {
        b = b.header("content-type", "application/x-www-form-urlencoded");
    }
    b.body(Body::from(form.to_string())).unwrap()
}

#[tokio::test]
async fn tokens_are_refused_for_every_way_they_can_be_wrong() {
    let state = jwt_state("tokens");
    let app = hearth::server::router(state.clone());
    let now = chrono::Utc::now().timestamp();
    let good = claims("admin", ADMIN, 600);
    assert_eq!(send(&app, bearer_get(STATS, &sign(SECRET, &good))).await.status, StatusCode::OK);

    let mut cases: Vec<(&str, String)> = Vec::new();
    let mut edit = |what: &'static str, f: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut c = good.clone();
        f(&mut c);
        cases.push((what, sign(SECRET, &c)));
    };
    edit("missing sub", &|c| {
        c.remove("sub");
    });
    edit("wrong aud", &|c| {
        c.insert("aud".into(), json!("another-service"));
    });
    edit("missing aud", &|c| {
        c.remove("aud");
    });
    edit("wrong iss", &|c| {
        c.insert("iss".into(), json!("someone-else"));
    });
    edit("future nbf", &|c| {
        c.insert("nbf".into(), json!(now + 3600));
    });
    edit("over-long lifetime", &|c| {
        c.insert("exp".into(), json!(now + 400 * 86_400));
    });
    edit("over-long lifetime without iat", &|c| {
        c.remove("iat");
        c.insert("exp".into(), json!(now + 400 * 86_400));
    });
    edit("issued in the future", &|c| {
        c.insert("iat".into(), json!(now + 3600));
    });
    edit("iat at the start of time", &|c| {
        c.insert("iat".into(), json!(i64::MIN));
    });
    edit("hand-off purpose", &|c| {
        c.insert("purpose".into(), json!("hearth-handoff"));
    });
    let other_alg = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS384),
        &good,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    cases.push(("HS384", other_alg));
    let b64 = |v: &Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    cases.push((
        "alg none",
        format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&Value::Object(good.clone()))),
    ));
    let mut typ = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    typ.typ = Some("at+refresh".into());
    cases.push((
        "wrong typ",
        jsonwebtoken::encode(&typ, &good, &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes())).unwrap(),
    ));

    for (what, token) in cases {
        let r = send(&app, bearer_get(STATS, &token)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}: {}", r.text);
        assert!(r.body["error"].as_str().unwrap().starts_with("invalid token"), "{what}: {}", r.text);
    }
    cleanup(&state).await;
}

#[tokio::test]
async fn rs256_tokens_verify_with_the_public_key_and_hs256_forgeries_with_it_fail() {
    let public = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/rs256-test-public.pem");
    let state = state_with(
        "rs256",
        &[
            ("HEARTH_AUTH_MODE", "jwt"),
            ("HEARTH_JWT_PUBLIC_KEY_FILE", public),
            ("HEARTH_JWT_ISSUER", ISSUER),
            ("HEARTH_JWT_AUDIENCE", AUDIENCE),
        ],
    );
    let app = hearth::server::router(state.clone());
    let private = include_bytes!("../fixtures/rs256-test-private.pem");
    let good = claims("admin", ADMIN, 600);
    let rs = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &good,
        &jsonwebtoken::EncodingKey::from_rsa_pem(private).unwrap(),
    )
    .unwrap();
    assert_eq!(send(&app, bearer_get(STATS, &rs)).await.status, StatusCode::OK);
    // The classic confusion: HS256 "signed" with the public key as the secret.
    let confused = sign(&String::from_utf8(std::fs::read(public).unwrap()).unwrap(), &good);
    let r = send(&app, bearer_get(STATS, &confused)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_eq!(
        send(&app, bearer_get(STATS, &token(SECRET, "admin", ADMIN, 600))).await.status,
        StatusCode::UNAUTHORIZED
    );
    cleanup(&state).await;
}

#[tokio::test]
async fn a_hand_off_opens_a_session_once_and_sign_out_ends_it() {
    let state = jwt_state("handoff");
    let app = hearth::server::router(state.clone());
    let handoff = handoff_token("ada", ADMIN);
    let (cookie, set_cookie) = sign_in(&app, &handoff, false).await;
    for part in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(set_cookie.contains(part), "{set_cookie} lacks {part}");
    }
    assert!(!set_cookie.contains("Partitioned"), "{set_cookie}");

    // The session works for pages, REST and server functions.
    let page = send(&app, with_cookie("GET", "/warming", &cookie, None, "")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("data-testid=\"sign-out\""), "the console offers Sign out");
    assert_eq!(send(&app, with_cookie("GET", STATS, &cookie, None, "")).await.status, StatusCode::OK);
    let who = send(&app, with_cookie("GET", "/rpc/session", &cookie, None, "")).await;
    assert_eq!(who.body["user"], "ada", "{}", who.text);
    assert_eq!(who.body["method"], "session");
    assert_eq!(who.body["embed"], false);

    // The same token cannot be handed off twice.
    let replay = send(&app, handoff_request(&handoff, false)).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert!(replay.text.contains("used already"), "{}", replay.text);
    assert!(replay.headers.get("set-cookie").is_none());

    // Sign out from another site is refused; from Hearth's page it ends the session.
    let forged = send(&app, with_cookie("POST", "/auth/logout", &cookie, Some("cross-site"), "")).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(send(&app, with_cookie("GET", STATS, &cookie, None, "")).await.status, StatusCode::OK);
    let out = send(&app, with_cookie("POST", "/auth/logout", &cookie, Some("same-origin"), "")).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.headers["location"], "/auth/signed-out");
    assert!(out.headers["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    let after = send(&app, with_cookie("GET", "/", &cookie, None, "")).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert!(after.text.contains("Your session has ended"), "{}", after.text);
    assert!(after.headers["set-cookie"].to_str().unwrap().contains("Max-Age=0"), "the dead cookie is cleared");
    let api = send(&app, with_cookie("GET", STATS, &cookie, None, "")).await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    assert!(api.body["error"].as_str().unwrap().contains("session has ended"), "{}", api.text);
    cleanup(&state).await;
}

#[tokio::test]
async fn hand_off_tokens_work_only_at_the_hand_off_and_only_from_the_command_center() {
    let state = jwt_state("handoff-origin");
    let app = hearth::server::router(state.clone());
    // A leaked hand-off token is no bearer token.
    let handoff = handoff_token("ada", ADMIN);
    let r = send(&app, bearer_get(STATS, &handoff)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    // An access token is no hand-off token.
    let r = send(&app, handoff_request(&token(SECRET, "ada", ADMIN, 60), false)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    // Another site cannot sign its visitors in (login CSRF), nor can a sandboxed page.
    for origin in ["https://evil.example", "null"] {
        let r = send(&app, handoff_from(&handoff_token("mallory", ADMIN), false, origin)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{origin}: {}", r.text);
        assert!(r.headers.get("set-cookie").is_none());
    }
    // Signing in again ends the browser's previous session.
    let (first, _) = sign_in(&app, &handoff, false).await;
    let mut again = handoff_request(&handoff_token("ada", ADMIN), false);
    again.headers_mut().insert("cookie", first.parse().unwrap());
    assert_eq!(send(&app, again).await.status, StatusCode::SEE_OTHER);
    assert_eq!(send(&app, with_cookie("GET", STATS, &first, None, "")).await.status, StatusCode::UNAUTHORIZED);
    cleanup(&state).await;
}

#[tokio::test]
async fn hand_off_tokens_must_be_short_lived_single_use_and_for_hearth() {
    let state = jwt_state_with("handoff-rules", &[("HEARTH_HANDOFF_MAX_LIFETIME_SECS", "120")]);
    let _cleanup = crate::common::fixtures::cleanup_on_drop(&state, &[]);
    let app = hearth::server::router(state.clone());
    let mut long = claims("ada", ADMIN, 600);
    long.insert("jti".into(), json!("long-lived"));
    let mut no_jti = claims("ada", ADMIN, 60);
    no_jti.remove("jti");
    let mut wrong_aud = claims("ada", ADMIN, 60);
    wrong_aud.insert("jti".into(), json!("aud"));
    wrong_aud.insert("aud".into(), json!("billing"));
    for (what, mut c) in [("10 min lifetime", long), ("no jti", no_jti), ("wrong aud", wrong_aud)] {
        c.insert("purpose".into(), json!("hearth-handoff"));
        let r = send(&app, handoff_request(&sign(SECRET, &c), false)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}: {}", r.text);
        assert!(r.text.contains("could not sign you in"), "{what}: a page, not JSON: {}", r.text);
        assert!(r.headers.get("set-cookie").is_none(), "{what}");
    }
    let empty = send(&app, handoff_request("", false)).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    cleanup(&state).await;
}

#[tokio::test]
async fn idle_and_revoked_sessions_end_and_writers_can_list_them() {
    let state = jwt_state_with("sessions", &[("HEARTH_EMBED", "on")]);
    let app = hearth::server::router(state.clone());
    let (cookie, set_cookie) = sign_in(&app, &handoff_token("ada", ADMIN), true).await;
    for part in ["SameSite=None", "Secure", "Partitioned", "HttpOnly"] {
        assert!(set_cookie.contains(part), "embedded cookie {set_cookie} lacks {part}");
    }
    let who = send(&app, with_cookie("GET", "/rpc/session", &cookie, None, "")).await;
    assert_eq!(who.body["embed"], true, "{}", who.text);
    let page = send(&app, with_cookie("GET", "/", &cookie, None, "")).await;
    assert!(page.text.contains("data-layout=\"embed\""), "the embed layout is kept for the session");

    let (other, _) = sign_in(&app, &handoff_token("grace", &["settings:read:all"]), false).await;
    let admin = token(SECRET, "admin", ADMIN, 600);
    let list = get(&app, "/api/admin/analytics/cache/sessions", Some(&admin)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    let sessions = list.body["data"]["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2, "{}", list.text);
    let grace = sessions.iter().find(|s| s["user"] == "grace").expect("grace is listed");
    assert_eq!(grace["canWrite"], false);
    // A reader may not see or end other people's sessions.
    let r = send(&app, with_cookie("GET", "/rpc/auth/sessions", &other, None, "")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // Revoked by a writer (the console's own server function): grace is signed out.
    let id = grace["id"].as_str().unwrap();
    let r =
        send(&app, with_cookie("POST", "/rpc/auth/sessions/revoke", &cookie, Some("same-origin"), &format!("id={id}")))
            .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(send(&app, with_cookie("GET", STATS, &other, None, "")).await.status, StatusCode::UNAUTHORIZED);
    let again = send(
        &app,
        Request::delete(format!("/api/admin/analytics/cache/sessions/{id}"))
            .header("authorization", format!("Bearer {admin}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.text);

    // Idle too long: the key's TTL runs out and the cookie opens nothing.
    let digest = hearth::auth::session::sha256_hex(cookie.trim_start_matches("__Host-hearth_session="));
    let mut redis = raw_redis().await;
    let _: () = redis::cmd("PEXPIRE").arg(state.keys.session(&digest)).arg(1).query_async(&mut redis).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let r = send(&app, with_cookie("GET", "/warming", &cookie, None, "")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text.contains("Your session has ended"));
    cleanup(&state).await;
}

#[tokio::test]
async fn the_command_centers_cookie_signs_in_like_a_bearer_token() {
    let state = jwt_state_with("cc-cookie", &[("HEARTH_JWT_COOKIE", "access-token")]);
    let app = hearth::server::router(state.clone());
    let jwt = token(SECRET, "ada", ADMIN, 900);
    let r = send(&app, with_cookie("GET", STATS, &format!("theme=dark; access-token={jwt}"), None, "")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let page = send(&app, with_cookie("GET", "/", &format!("access-token={jwt}"), None, "")).await;
    assert_eq!(page.status, StatusCode::OK);
    let forged = token("another-secret-0123456789abcdef0123", "ada", ADMIN, 900);
    let r = send(&app, with_cookie("GET", STATS, &format!("access-token={forged}"), None, "")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Without any credential a page explains where to sign in instead of a raw 401.
    let r = get(&app, "/redis", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text.contains("data-testid=\"signed-out\""), "{}", r.text);
    cleanup(&state).await;
}

#[tokio::test]
async fn cross_origin_writes_with_a_cookie_or_in_dev_mode_change_nothing() {
    let jwt = jwt_state("csrf");
    let dev = state_with("csrf-dev", &[]);
    let mut redis = raw_redis().await;
    let (cookie, _) = sign_in(&hearth::server::router(jwt.clone()), &handoff_token("ada", ADMIN), false).await;
    for (state, cookie) in [(&jwt, cookie.as_str()), (&dev, "")] {
        let app = hearth::server::router(state.clone());
        let victim = state.keys.key("cache:victim");
        let _: () = redis::cmd("SET").arg(&victim).arg("keep me").query_async(&mut redis).await.unwrap();
        let forged = [
            with_cookie("POST", "/rpc/redis/key/delete", cookie, Some("cross-site"), "key=cache:victim"),
            with_cookie("POST", "/rpc/redis/key/delete", cookie, Some("same-site"), "key=cache:victim"),
            Request::post("/rpc/redis/key/delete")
                .header("cookie", cookie)
                .header("origin", "http://evil.example")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from("key=cache:victim"))
                .unwrap(),
            Request::post("/api/admin/redis/key/delete")
                .header("cookie", cookie)
                .header("sec-fetch-site", "cross-site")
                .header("content-type", "application/json")
                .body(Body::from(r#"{"key":"cache:victim"}"#))
                .unwrap(),
        ];
        for request in forged {
            let what = format!("{} {}", state.config.auth.mode_name(), request.uri());
            let r = send(&app, request).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{what}: {}", r.text);
            assert!(r.text.contains("cross-origin request refused"), "{what}: {}", r.text);
            let still: Option<String> = redis::cmd("GET").arg(&victim).query_async(&mut redis).await.unwrap();
            assert_eq!(still.as_deref(), Some("keep me"), "{what} changed the key");
        }
        // The same request from Hearth's own page goes through.
        let r =
            send(&app, with_cookie("POST", "/rpc/redis/key/delete", cookie, Some("same-origin"), "key=cache:victim"))
                .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let gone: Option<String> = redis::cmd("GET").arg(&victim).query_async(&mut redis).await.unwrap();
        assert_eq!(gone, None);
        cleanup(state).await;
    }
    // Bearer callers are not browsers' ambient credentials: no origin check.
    let app = hearth::server::router(jwt.clone());
    let admin = token(SECRET, "admin", ADMIN, 600);
    let r = send(
        &app,
        Request::post("/api/admin/redis/key/delete")
            .header("authorization", format!("Bearer {admin}"))
            .header("sec-fetch-site", "cross-site")
            .header("content-type", "application/json")
            .body(Body::from(r#"{"key":"cache:victim"}"#))
            .unwrap(),
    )
    .await;
    assert_ne!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    cleanup(&jwt).await;
}

#[tokio::test]
async fn dev_mode_answers_only_this_machine_talking_directly() {
    let state = state_with("dev-narrow", &[]);
    let app = hearth::server::router(state.clone());
    let ok = send(&app, Request::get(STATS).header("host", "localhost:3000").body(Body::empty()).unwrap()).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let refused = [
        ("rebinding", Request::get(STATS).header("host", "evil.example:3000").body(Body::empty()).unwrap()),
        ("other port", Request::get(STATS).header("host", "127.0.0.1:8080").body(Body::empty()).unwrap()),
        ("proxy", Request::get(STATS).header("x-forwarded-for", "203.0.113.9").body(Body::empty()).unwrap()),
        ("forwarded", Request::get("/").header("forwarded", "for=203.0.113.9").body(Body::empty()).unwrap()),
        ("via", Request::get("/").header("via", "1.1 proxy").body(Body::empty()).unwrap()),
        ("remote peer", {
            let mut r = Request::get(STATS).body(Body::empty()).unwrap();
            r.extensions_mut().insert(axum::extract::ConnectInfo(std::net::SocketAddr::from(([10, 0, 0, 5], 4000))));
            r
        }),
    ];
    for (what, request) in refused {
        let r = send(&app, request).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{what}: {}", r.text);
        assert!(r.text.contains("development mode refuses"), "{what}: {}", r.text);
    }
    cleanup(&state).await;
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_decoding() {
    let state = state_with("body-limit", &[]);
    let _cleanup = crate::common::fixtures::cleanup_on_drop(&state, &[]);
    let app = hearth::server::router(state.clone());
    let big = format!("request[pattern]={}&request[preview]=true", "x".repeat(100 * 1024));
    let r = send(
        &app,
        Request::post("/rpc/redis/purge")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("content-length", big.len())
            .header("sec-fetch-site", "same-origin")
            .body(Body::from(big))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    cleanup(&state).await;
}

#[tokio::test]
async fn under_a_base_path_pages_assets_api_rpc_and_sign_in_all_live_below_it() {
    let state = jwt_state_with("base-path", &[("HEARTH_BASE_PATH", "/hearth/"), ("HEARTH_JWT_COOKIE", "access-token")]);
    let app = hearth::server::router(state.clone());
    let jwt = format!("access-token={}", token(SECRET, "ada", ADMIN, 900));
    let slash = get(&app, "/hearth/", None).await;
    assert_eq!(slash.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(slash.headers["location"], "/hearth");
    for path in ["/hearth", "/hearth/warming", "/hearth/redis", "/hearth/audit"] {
        let r = send(&app, with_cookie("GET", path, &jwt, None, "")).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        for needle in [
            r#"<meta name="hearth-base" content="/hearth""#,
            r#"href="/hearth/warming""#,
            r#"href="/hearth/audit""#,
            r#"href="/hearth/pkg/hearth.css""#,
            r#"href="/hearth/pkg/hearth.js""#,
        ] {
            assert!(r.text.contains(needle), "{path} lacks {needle}");
        }
    }
    let audit = send(&app, with_cookie("GET", "/hearth/audit", &jwt, None, "")).await.text;
    assert!(audit.contains(r#"href="/hearth/api/admin/analytics/cache/audit/export?format=csv""#), "{audit}");
    assert_eq!(send(&app, with_cookie("GET", "/hearth/rpc/session", &jwt, None, "")).await.body["user"], "ada");
    assert_eq!(send(&app, with_cookie("GET", &format!("/hearth{STATS}"), &jwt, None, "")).await.status, StatusCode::OK);
    assert_eq!(get(&app, "/hearth/healthz", None).await.status, StatusCode::OK);
    // Nothing answers as a page outside the base.
    assert_eq!(send(&app, with_cookie("GET", "/warming", &jwt, None, "")).await.status, StatusCode::NOT_FOUND);

    let handoff = Request::post("/hearth/auth/handoff")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!("token={}", handoff_token("ada", ADMIN))))
        .unwrap();
    let r = send(&app, handoff).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(r.headers["location"], "/hearth");
    assert!(r.headers["set-cookie"].to_str().unwrap().contains("Path=/hearth;"), "{:?}", r.headers["set-cookie"]);
    cleanup(&state).await;
}

#[tokio::test]
async fn hsts_is_sent_only_when_the_proxy_says_https() {
    let state = jwt_state("hsts");
    let app = hearth::server::router(state.clone());
    let admin = token(SECRET, "admin", ADMIN, 600);
    let plain = send(&app, bearer_get(STATS, &admin)).await;
    assert!(plain.headers.get("strict-transport-security").is_none());
    let mut request = bearer_get(STATS, &admin);
    request.headers_mut().insert("x-forwarded-proto", "https".parse().unwrap());
    let https = send(&app, request).await;
    assert_eq!(https.headers["strict-transport-security"], "max-age=31536000");
    cleanup(&state).await;
}

#[tokio::test]
async fn the_origin_rule_lets_hearths_own_pages_and_trusted_origins_write() {
    let state = jwt_state_with("origin-rule", &[("HEARTH_JWT_COOKIE", "access-token")]);
    let app = hearth::server::router(state.clone());
    let cc = format!("access-token={}", token(SECRET, "ada", ADMIN, 900));
    let mut redis = raw_redis().await;
    let victim = state.keys.key("cache:victim");
    let write = |origin: Option<&str>, site: Option<&str>, method: &str, uri: &str| {
        let mut b = Request::builder().method(method).uri(uri).header("cookie", &cc).header("host", "127.0.0.1:3000");
        if let Some(o) = origin {
            b = b.header("origin", o);
        }
        if let Some(s) = site {
            b = b.header("sec-fetch-site", s);
        }
        b.header("content-type", "application/x-www-form-urlencoded").body(Body::from("key=cache:victim")).unwrap()
    };
    // The command center's cookie is ambient too: refused from another site, for every method.
    for (method, uri) in [
        ("POST", "/rpc/redis/key/delete"),
        ("PUT", "/api/admin/analytics/cache/schedules/s-none"),
        ("DELETE", "/api/admin/analytics/cache/schedules/s-none"),
    ] {
        let r = send(&app, write(Some("http://evil.example"), Some("cross-site"), method, uri)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{method} {uri}: {}", r.text);
        let r = send(&app, write(Some("null"), None, method, uri)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{method} {uri} from a null origin: {}", r.text);
    }
    // Without Sec-Fetch-Site, an Origin equal to the Host, or a trusted one, may write.
    for origin in ["http://127.0.0.1:3000", "https://command-center.example"] {
        let _: () = redis::cmd("SET").arg(&victim).arg("x").query_async(&mut redis).await.unwrap();
        let r = send(&app, write(Some(origin), None, "POST", "/rpc/redis/key/delete")).await;
        assert_eq!(r.status, StatusCode::OK, "{origin}: {}", r.text);
    }
    cleanup(&state).await;
}

#[tokio::test]
async fn dev_mode_accepts_every_loopback_spelling_and_refuses_every_proxy_header() {
    let state = state_with("dev-spellings", &[]);
    let app = hearth::server::router(state.clone());
    let with = |host: Option<&str>, header: Option<(&'static str, &str)>, peer: std::net::SocketAddr| {
        let mut r = Request::get(STATS).body(Body::empty()).unwrap();
        if let Some(h) = host {
            r.headers_mut().insert("host", h.parse().unwrap());
        }
        if let Some((k, v)) = header {
            r.headers_mut().insert(k, v.parse().unwrap());
        }
        r.extensions_mut().insert(axum::extract::ConnectInfo(peer));
        r
    };
    let v4: std::net::SocketAddr = "127.0.0.1:50000".parse().unwrap();
    let v6: std::net::SocketAddr = "[::1]:50000".parse().unwrap();
    let mapped: std::net::SocketAddr = "[::ffff:127.0.0.1]:50000".parse().unwrap();
    for (host, peer) in [("[::1]:3000", v6), ("localhost:3000", mapped), ("LOCALHOST:3000", v4)] {
        let r = send(&app, with(Some(host), None, peer)).await;
        assert_eq!(r.status, StatusCode::OK, "{host} from {peer}: {}", r.text);
    }
    for header in [("x-real-ip", "203.0.113.9"), ("x-forwarded-host", "hearth.example")] {
        let r = send(&app, with(Some("127.0.0.1:3000"), Some(header), v4)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{header:?}: {}", r.text);
    }
    // A request without Host: `send` adds the default one, so build the refusal by hand.
    let mut bare = with(None, None, v4);
    bare.headers_mut().insert("host", "".parse().unwrap());
    assert_eq!(send(&app, bare).await.status, StatusCode::FORBIDDEN);
    cleanup(&state).await;
}

#[tokio::test]
async fn a_streamed_body_over_the_limit_is_refused_too() {
    let state = state_with("body-stream", &[]);
    let _cleanup = crate::common::fixtures::cleanup_on_drop(&state, &[]);
    let app = hearth::server::router(state.clone());
    // No Content-Length: the limit applies while the body is read.
    let chunks: Vec<Result<axum::body::Bytes, std::io::Error>> =
        (0..100).map(|_| Ok(axum::body::Bytes::from(vec![b'x'; 1024]))).collect();
    let body = Body::from_stream(futures::stream::iter(chunks));
    let r = send(
        &app,
        Request::post("/rpc/redis/purge")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .body(body)
            .unwrap(),
    )
    .await;
    assert!(
        r.status == StatusCode::PAYLOAD_TOO_LARGE || r.status == StatusCode::BAD_REQUEST,
        "{} {}",
        r.status,
        r.text
    );
    assert_ne!(r.status, StatusCode::OK);
    cleanup(&state).await;
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_expiry_even_while_in_use() {
    let state = jwt_state("absolute");
    let app = hearth::server::router(state.clone());
    let (cookie, _) = sign_in(&app, &handoff_token("ada", ADMIN), false).await;
    assert_eq!(send(&app, with_cookie("GET", STATS, &cookie, None, "")).await.status, StatusCode::OK);
    // Move the record's absolute end into the past (its idle TTL is still long).
    let digest = hearth::auth::session::sha256_hex(cookie.trim_start_matches("__Host-hearth_session="));
    let mut redis = raw_redis().await;
    let key = state.keys.session(&digest);
    let json: String = redis::cmd("GET").arg(&key).query_async(&mut redis).await.unwrap();
    let mut record: Value = serde_json::from_str(&json).unwrap();
    record["expiresMs"] = json!(chrono::Utc::now().timestamp_millis() - 1);
    let _: () =
        redis::cmd("SET").arg(&key).arg(record.to_string()).arg("KEEPTTL").query_async(&mut redis).await.unwrap();
    let r = send(&app, with_cookie("GET", STATS, &cookie, None, "")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    let gone: bool = redis::cmd("EXISTS").arg(&key).query_async(&mut redis).await.unwrap();
    assert!(!gone, "the ended session's record is removed");
    cleanup(&state).await;
}

#[tokio::test]
async fn under_a_base_path_server_functions_write_and_cross_origin_writes_are_refused() {
    let state = state_with("base-write", &[("HEARTH_BASE_PATH", "/hearth")]);
    let app = hearth::server::router(state.clone());
    let mut redis = raw_redis().await;
    let victim = state.keys.key("cache:victim");
    let _: () = redis::cmd("SET").arg(&victim).arg("x").query_async(&mut redis).await.unwrap();
    let refused =
        send(&app, with_cookie("POST", "/hearth/rpc/redis/key/delete", "", Some("cross-site"), "key=cache:victim"))
            .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let ok =
        send(&app, with_cookie("POST", "/hearth/rpc/redis/key/delete", "", Some("same-origin"), "key=cache:victim"))
            .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let left: bool = redis::cmd("EXISTS").arg(&victim).query_async(&mut redis).await.unwrap();
    assert!(!left);
    cleanup(&state).await;
}

#[tokio::test]
async fn the_session_listing_expires_with_the_longest_session() {
    let state = jwt_state_with("listing-ttl", &[("HEARTH_SESSION_MAX_SECS", "3600")]);
    let app = hearth::server::router(state.clone());
    sign_in(&app, &handoff_token("ada", ADMIN), false).await;
    let mut redis = raw_redis().await;
    let ttl: i64 = redis::cmd("PTTL").arg(state.keys.sessions()).query_async(&mut redis).await.unwrap();
    assert!(ttl > 3_500_000 && ttl <= 3_600_000, "{ttl}");
    cleanup(&state).await;
}
