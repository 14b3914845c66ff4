//! Static delivery: the bundle's hashed names are linked by the pages, answered compressed when
//! the browser accepts it and cached for a year; plain names, pages and the API never are.

use std::collections::HashMap;

use crate::common::*;
use http::StatusCode;

const HASH: &str = "0123456789abcdef";

/// A site with one hashed bundle (and its br/gz copies) plus the plain names, as `.ci/build`
/// leaves it; a state whose Leptos options point at it.
fn site(name: &str) -> (TempDir, hearth::state::AppState) {
    let dir = TempDir::new(name);
    let pkg = dir.0.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    for (file, body) in [
        ("hearth.js".to_string(), "plain js"),
        ("hearth_bg.wasm".to_string(), "plain wasm"),
        ("hearth.css".to_string(), "plain css"),
        (format!("hearth.{HASH}.js"), "hashed js"),
        (format!("hearth.{HASH}.js.br"), "br js"),
        (format!("hearth.{HASH}.js.gz"), "gz js"),
        (format!("hearth.{HASH}.wasm"), "hashed wasm"),
        (format!("hearth.{HASH}.wasm.br"), "br wasm"),
        (format!("hearth.{HASH}.wasm.gz"), "gz wasm"),
        (format!("hearth.{HASH}.css"), "hashed css"),
    ] {
        std::fs::write(pkg.join(file), body).unwrap();
    }
    std::fs::write(pkg.join("hash.txt"), format!("js: {HASH}\nwasm: {HASH}\ncss: {HASH}\n")).unwrap();
    let mut options = leptos::config::LeptosOptions::builder()
        .output_name("hearth")
        .site_root(dir.0.to_string_lossy().to_string())
        .build();
    hearth::site::use_hashed_names(&mut options);
    assert!(options.hash_files, "a hash file newer than hearth.js is used");
    let mut vars: HashMap<String, String> = HashMap::new();
    vars.insert("HEARTH_REDIS_URL".into(), redis_url());
    vars.insert("HEARTH_KEY_PREFIX".into(), unique_prefix(name));
    vars.insert("HEARTH_LOG".into(), "warn".into());
    let config = hearth::config::Config::from_vars(&vars).unwrap();
    (dir, hearth::state::AppState::new(config, options).unwrap())
}

async fn fetch(app: &axum::Router, uri: &str, accept: Option<&str>) -> Reply {
    let mut builder = http::Request::get(uri);
    if let Some(a) = accept {
        builder = builder.header("accept-encoding", a);
    }
    send(app, builder.body(axum::body::Body::empty()).unwrap()).await
}

#[tokio::test]
async fn hashed_bundle_files_are_compressed_and_immutable_while_pages_and_api_are_not_stored() {
    let (_dir, state) = site("delivery");
    let app = hearth::server::router(state.clone());
    for ext in ["js", "wasm"] {
        let uri = format!("/pkg/hearth.{HASH}.{ext}");
        for (accept, encoding, body) in [
            (Some("gzip, deflate, br"), Some("br"), format!("br {ext}")),
            (Some("gzip"), Some("gzip"), format!("gz {ext}")),
            (None, None, format!("hashed {ext}")),
        ] {
            let r = fetch(&app, &uri, accept).await;
            assert_eq!(r.status, StatusCode::OK, "{uri}");
            assert_eq!(r.text, body, "{uri} with {accept:?}");
            assert_eq!(r.headers.get("content-encoding").map(|v| v.to_str().unwrap()), encoding, "{uri} {accept:?}");
            assert_eq!(r.headers["cache-control"], hearth::server::IMMUTABLE, "{uri}");
            assert!(r.headers["vary"].to_str().unwrap().contains("accept-encoding"), "{uri}");
            // A policy on a script or WASM file is never applied: it is only the page's to carry.
            assert!(r.headers.get("content-security-policy").is_none(), "{uri}");
            assert_eq!(r.headers["x-content-type-options"], "nosniff", "{uri}");
        }
    }
    // Plain names can change in place (`cargo leptos watch`): revalidated, never compressed stale.
    let plain = fetch(&app, "/pkg/hearth.js", Some("br, gzip")).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert_eq!(plain.text, "plain js");
    assert_eq!(plain.headers["cache-control"], "no-cache");
    assert!(plain.headers.get("content-encoding").is_none());
    assert_eq!(fetch(&app, "/pkg/nothing.js", None).await.status, StatusCode::NOT_FOUND);

    // The pages link the hashed names and, like the API, are never stored.
    let page = fetch(&app, "/audit", Some("br")).await;
    assert!(page.headers["content-security-policy"].to_str().unwrap().contains("'nonce-"));
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    for needle in [
        format!(r#"href="/pkg/hearth.{HASH}.css""#),
        format!(r#"href="/pkg/hearth.{HASH}.js""#),
        format!(r#"href="/pkg/hearth.{HASH}.wasm""#),
    ] {
        assert!(page.text.contains(&needle), "the page lacks {needle}");
    }
    assert_eq!(page.headers["cache-control"], "no-store");
    let api = fetch(&app, "/api/admin/analytics/sources", None).await;
    assert_eq!(api.headers["cache-control"], "no-store", "{}", api.text);
    cleanup(&state).await;
}

#[tokio::test]
async fn a_hash_file_older_than_the_plain_bundle_is_ignored() {
    let dir = TempDir::new("stalehash");
    let pkg = dir.0.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("hash.txt"), format!("js: {HASH}\n")).unwrap();
    // `cargo leptos watch` rewrote the plain bundle a minute after `.ci/build` hashed it.
    std::fs::write(pkg.join("hearth.js"), "newer").unwrap();
    let earlier = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    std::fs::File::options().write(true).open(pkg.join("hash.txt")).unwrap().set_modified(earlier).unwrap();
    let mut options = leptos::config::LeptosOptions::builder()
        .output_name("hearth")
        .site_root(dir.0.to_string_lossy().to_string())
        .build();
    hearth::site::use_hashed_names(&mut options);
    assert!(!options.hash_files);
}
