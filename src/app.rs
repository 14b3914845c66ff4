//! The shell: HTML document, header with connection status and auth banner, and the tabs, each
//! a route so links and reloads work.

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{Lazy, LazyRoute, SsrMode, lazy_route, path};

use crate::ui::audit::AuditPage;
use crate::ui::common::confirm::{ConfirmHost, provide_confirm};
use crate::ui::common::header::Header;
use crate::ui::common::mutation::provide_stale;
use crate::ui::common::session::provide_session;
use crate::ui::common::sync_hydrate::SyncHydrate;
use crate::ui::common::toast::{ToastHost, provide_toasts};
use crate::ui::dashboard::DashboardPage;
use crate::ui::redis::{RedisKeysPage, RedisPage};
use crate::ui::source::SourcePage;
use crate::ui::warming::{
    WarmingHistoryPage, WarmingPage, WarmingSchedulesPage, WarmingSettingsPage, WarmingSourcesPage,
};

/// Where Hearth is served under its host: `""` or e.g. `/hearth` (`HEARTH_BASE_PATH`). Links, the
/// router, assets and server function calls all start with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasePath(pub String);

/// The base path: from context when provided, else from the configuration (server) or from the
/// `hearth-base` meta tag the server wrote into the page (browser).
pub fn base_path() -> String {
    use_context::<BasePath>().map(|b| b.0).unwrap_or_else(configured_base_path)
}

/// The URL of a page route (`/`, `/warming`) under the base: the base itself is the home page.
pub fn page_href(base: &str, route: &str) -> String {
    if route == "/" && !base.is_empty() { base.to_string() } else { format!("{base}{route}") }
}

#[cfg(feature = "ssr")]
fn configured_base_path() -> String {
    use_context::<crate::state::AppState>().map(|s| s.config.base_path.clone()).unwrap_or_default()
}

#[cfg(not(feature = "ssr"))]
fn configured_base_path() -> String {
    document()
        .query_selector(r#"meta[name="hearth-base"]"#)
        .ok()
        .flatten()
        .and_then(|meta| meta.get_attribute("content"))
        .unwrap_or_default()
}

/// A small hearth (a flame on a hearthstone) as an SVG data URL (CSP: `img-src 'self' data:`).
const FAVICON: &str = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E%3Crect x='3' y='24' width='26' height='6' rx='2' fill='%23555'/%3E%3Cpath d='M16 3c2 6 8 8 8 14a8 8 0 0 1-16 0c0-4 3-6 4-9 1 3 3 4 3 4 1-3 0-6 1-9z' fill='%23e8590c'/%3E%3C/svg%3E";

pub fn shell(options: LeptosOptions) -> impl IntoView {
    let base = base_path();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="hearth-base" content=base.clone()/>
                // Inline, so no page load asks for /favicon.ico (a 404 and a console error).
                <link rel="icon" type="image/svg+xml" href=FAVICON/>
                <AutoReload options=options.clone()/>
                // The bundle's content-hashed names when `.ci/build` made them (see `site.rs`).
                <HashedStylesheet id="leptos" options=options.clone() root=base.clone()/>
                <HydrationScripts options root=base/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let base = base_path();
    provide_context(BasePath(base.clone()));
    let embed = provide_session().embed;
    provide_toasts();
    provide_stale();
    provide_confirm();
    view! {
        <Title text="Hearth"/>
        <Router base=base>
          <div class="shell" class:embed=embed data-testid="shell" data-layout={if embed { "embed" } else { "full" }}>
            // Only the routes below load lazily; the rest of the shell hydrates in one pass.
            {SyncHydrate(view! { <Header/> })}
            <main id="main" role="tabpanel" aria-labelledby="active-tab">
                // Async: each page is sent once its data is ready, so it reads fully without scripts.
                // Lazy: each tab's code is its own WASM chunk, fetched when the tab is first shown
                // (the page being loaded preloads its own), so no page downloads the whole console.
                <Routes fallback=NotFound>
                    <Route path=path!("/") view={Lazy::<DashboardTab>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/warming") view={Lazy::<WarmingTab>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/warming/sources") view={Lazy::<WarmingSourcesTab>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/warming/history") view={Lazy::<WarmingHistoryTab>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/warming/schedules") view={Lazy::<WarmingSchedulesTab>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/warming/settings") view={Lazy::<WarmingSettingsTab>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/redis") view={Lazy::<RedisTab>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/redis/keys") view={Lazy::<RedisKeysTab>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/audit") view={Lazy::<AuditTab>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/sources/:id") view={Lazy::<SourceTab>::new()} ssr=SsrMode::Async/>
                </Routes>
            </main>
            {SyncHydrate(view! { <ToastHost/> <ConfirmHost/> <RememberRouteTarget/> })}
          </div>
        </Router>
    }
}

/// Tells the panic hook where the router is going (`remember_route_target`), so a tab whose
/// chunk fails to load is loaded again as a whole page, not the tab the admin was leaving.
#[component]
pub fn RememberRouteTarget() -> impl IntoView {
    #[cfg(feature = "hydrate")]
    {
        let location = leptos_router::hooks::use_location();
        Effect::new(move |_| {
            let search = location.search.get();
            let query = if search.is_empty() { String::new() } else { format!("?{search}") };
            crate::remember_route_target(format!("{}{query}{}", location.pathname.get(), location.hash.get()));
        });
    }
}

/// A tab as a lazy route. The pages load their own data (resources inside them), so the route's
/// data half is empty and the lazily loaded half is the whole page, hydrated in one pass once
/// its chunk is there (`SyncHydrate`: a page holds no lazily loaded part of its own).
macro_rules! lazy_tab {
    ($tab:ident, $page:ident) => {
        struct $tab;

        #[lazy_route]
        impl LazyRoute for $tab {
            fn data() -> Self {
                Self
            }
            fn view(_this: Self) -> AnyView {
                SyncHydrate(view! { <$page/> }).into_any()
            }
        }
    };
}

lazy_tab!(DashboardTab, DashboardPage);
lazy_tab!(WarmingTab, WarmingPage);
lazy_tab!(WarmingSourcesTab, WarmingSourcesPage);
lazy_tab!(WarmingHistoryTab, WarmingHistoryPage);
lazy_tab!(WarmingSchedulesTab, WarmingSchedulesPage);
lazy_tab!(WarmingSettingsTab, WarmingSettingsPage);
lazy_tab!(RedisTab, RedisPage);
lazy_tab!(RedisKeysTab, RedisKeysPage);
lazy_tab!(AuditTab, AuditPage);
lazy_tab!(SourceTab, SourcePage);

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <section class="card">
            <h2>"Not found"</h2>
            <p>"There is no such page. Pick a tab above."</p>
        </section>
    }
}
