//! The shell: HTML document, header with connection status and auth banner, and the three tabs,
//! each a route so links and reloads work.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::ui::common::confirm::{ConfirmHost, provide_confirm};
use crate::ui::common::header::Header;
use crate::ui::common::session::provide_session;
use crate::ui::common::toast::{ToastHost, provide_toasts};
use crate::ui::dashboard::DashboardPage;
use crate::ui::redis::RedisPage;
use crate::ui::warming::WarmingPage;

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
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
    let embed = provide_session().embed;
    provide_toasts();
    provide_confirm();
    // Effects only run in the browser, after hydration: a stable signal for browser tests.
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Stylesheet id="leptos" href="/pkg/hearth.css"/>
        <Title text="Hearth"/>
        <Router>
          <div class="shell" class:embed=embed data-testid="shell" data-layout={if embed { "embed" } else { "full" }}>
            <Header/>
            <main id="main" role="tabpanel" aria-labelledby="active-tab">
                // Async: each page is sent once its data is ready, so it reads fully without scripts.
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=DashboardPage ssr=SsrMode::Async/>
                    <Route path=path!("/warming") view=WarmingPage ssr=SsrMode::Async/>
                    <Route path=path!("/redis") view=RedisPage ssr=SsrMode::Async/>
                </Routes>
            </main>
            <ToastHost/>
            <ConfirmHost/>
          </div>
        </Router>
    }
}

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
