//! Hearth: the console and engine for the command center's Redis analytics cache.
//! Modules shared by server and browser come first; server-only ones are gated at the `mod` line.

#![recursion_limit = "256"]

pub mod app;
pub mod cache;
pub mod error;
pub mod format;
pub mod model;
pub mod rpc;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod api;
#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod bench;
#[cfg(feature = "ssr")]
pub mod cli;
#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod jobs;
#[cfg(feature = "ssr")]
pub mod metrics;
#[cfg(feature = "ssr")]
pub mod redis_admin;
#[cfg(feature = "ssr")]
pub mod redis_conn;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod site;
#[cfg(feature = "ssr")]
pub mod source;
#[cfg(feature = "ssr")]
pub mod sql_ident;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod telemetry;
#[cfg(feature = "ssr")]
pub mod time;

/// The panic of a lazily loaded chunk that failed to load (`wasm_split_helpers`' loader).
#[cfg(feature = "hydrate")]
const CHUNK_LOAD_FAILED: &str = "load callback should succeed";
/// Session-storage flag: this tab already loaded a page again after a chunk failed to load.
#[cfg(feature = "hydrate")]
const CHUNK_RELOAD_FLAG: &str = "hearth-chunk-reload";

#[cfg(feature = "hydrate")]
thread_local! {
    /// The page the router is on or on its way to (path, query and fragment).
    static ROUTE_TARGET: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Records where the router is going ([`app::RememberRouteTarget`]): the address bar changes only
/// once the new tab's chunk has loaded, so a failed load would otherwise reload the tab the admin
/// was leaving.
#[cfg(feature = "hydrate")]
pub fn remember_route_target(path: String) {
    ROUTE_TARGET.with(|t| {
        if let Ok(mut t) = t.try_borrow_mut() {
            *t = Some(path);
        }
    });
}

/// Browser entry point: attach to the server-rendered HTML.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        // A tab's chunk that cannot be fetched (most often: Hearth was redeployed while this page
        // stayed open, and the old build's files are gone) ends the WASM. A full load of the
        // page the admin asked for fetches the current build instead of leaving a dead page.
        // Once: if the chunk is missing from the current build too, a second failure stays put
        // (the flag is cleared by the next page that hydrates).
        let window = leptos::prelude::window();
        let storage = window.session_storage().ok().flatten();
        let reloaded = storage.as_ref().and_then(|s| s.get_item(CHUNK_RELOAD_FLAG).ok().flatten()).is_some();
        if info.to_string().contains(CHUNK_LOAD_FAILED)
            && !reloaded
            && let Some(target) = ROUTE_TARGET
                .with(|t| t.try_borrow().ok().and_then(|t| t.clone()))
                .or_else(|| window.location().href().ok())
        {
            if let Some(storage) = &storage {
                let _ = storage.set_item(CHUNK_RELOAD_FLAG, "1");
            }
            let _ = window.location().replace(&target);
        }
    }));
    // Under HEARTH_BASE_PATH, server functions live under it too.
    let base = app::base_path();
    if !base.is_empty() {
        leptos::server_fn::client::set_server_url(Box::leak(base.into_boxed_str()));
    }
    // Asynchronous hydration: a tab's code is a lazily loaded chunk, fetched before its HTML is
    // hydrated. `data-hydrated` then says the whole page is interactive (browser tests wait on it).
    wasm_bindgen_futures::spawn_local(async {
        let Some(body) = leptos::prelude::document().body() else { return };
        leptos::mount::hydrate_from_async(body.clone(), app::App).await.forget();
        let _ = body.set_attribute("data-hydrated", "true");
        if let Ok(Some(storage)) = leptos::prelude::window().session_storage() {
            let _ = storage.remove_item(CHUNK_RELOAD_FLAG);
        }
    });
}
