//! The header: the Hearth name, Redis connection status, who is signed in, the dev-mode banner,
//! and the tabs (a keyboard-navigable tablist whose tabs are links to routes).

use leptos::either::EitherOf3;
use leptos::prelude::*;
use leptos_router::hooks::use_location;

use super::polling::use_polling;
use super::session::use_session;
use crate::error::ErrorCode;

const TABS: [(&str, &str, &str); 4] = [
    ("/", "Analytics Cache", "tab-cache"),
    ("/warming", "Warming", "tab-warming"),
    ("/redis", "Redis", "tab-redis"),
    ("/audit", "Audit", "tab-audit"),
];

#[component]
pub fn Header() -> impl IntoView {
    let embed = use_session().embed;
    let session = use_session().info;
    use_polling(Signal::derive(|| Some(10_000)), move || session.refetch());
    view! {
        <header class="top">
            // Embedded, the command center's page is the frame: no second brand inside it.
            {(!embed).then(|| view! {
                <div class="brand">
                    <span class="logo" aria-hidden="true">"◆"</span>
                    <h1>"Hearth"</h1>
                </div>
            })}
            <Transition fallback=|| view! { <span class="status">"…"</span> }>
                {move || session.get().map(|s| match s {
                    Ok(s) => EitherOf3::A(view! {
                        <div class="who">
                            <ConnectionStatus ok=s.redis_ok error=s.redis_error.clone()/>
                            <span class="user" data-testid="current-user" title=format!("{} (signed in by {})", s.user, s.method)>
                                {s.user_name.clone().unwrap_or_else(|| s.user.clone())}
                            </span>
                            {(!s.key_prefix.is_empty()).then(|| view! { <span class="prefix" title="HEARTH_KEY_PREFIX">{s.key_prefix.clone()}</span> })}
                            // A plain form: works before hydration, and the server checks its origin.
                            {s.can_sign_out.then(|| view! {
                                <form method="post" action=format!("{}/auth/logout", crate::app::base_path()) class="sign-out">
                                    <button type="submit" data-testid="sign-out">"Sign out"</button>
                                </form>
                            })}
                        </div>
                    }),
                    Err(e) if e.code == ErrorCode::Unauthorized => EitherOf3::B(view! {
                        <div class="who"><span class="status bad">"Not signed in"</span></div>
                    }),
                    Err(e) => EitherOf3::C(view! {
                        <div class="who"><span class="status bad" title=e.message.clone()>"Hearth unreachable"</span></div>
                    }),
                })}
            </Transition>
        </header>
        <Transition fallback=|| ()>
            {move || session.get().map(|s| match s {
                Ok(s) if s.dev_mode => EitherOf3::A(view! {
                    <div class="banner dev" role="note" data-testid="dev-banner">
                        <strong>"Development mode, no login."</strong>
                        " Everyone who can reach this address is an admin. Hearth allows this only on a loopback address."
                    </div>
                }),
                Err(e) if e.code == ErrorCode::Unauthorized => EitherOf3::B(view! {
                    <div class="banner auth" role="alert" data-testid="auth-banner">
                        <strong>"Sign in required. "</strong>{e.message.clone()}
                        " Open Hearth from the command center's admin page."
                    </div>
                }),
                _ => EitherOf3::C(()),
            })}
        </Transition>
        <Tabs/>
    }
}

#[component]
fn ConnectionStatus(ok: bool, error: Option<String>) -> impl IntoView {
    let (class, text) = if ok { ("status ok", "Redis connected") } else { ("status bad", "Redis unreachable") };
    view! {
        <span class=class data-testid="connection-status" title=error.unwrap_or_default()>
            <span class="dot" aria-hidden="true"></span>
            {text}
        </span>
    }
}

/// The tab a page belongs to: its own route or one of its pages under it (`/warming/history`);
/// anything else (a source's page) belongs to the first tab.
fn tab_of(base: &str, path: &str) -> usize {
    TABS.iter()
        .position(|(href, _, _)| {
            let tab = crate::app::page_href(base, href);
            *href != "/" && (path == tab || path.starts_with(&format!("{tab}/")))
        })
        .unwrap_or(0)
}

/// WAI-ARIA tabs: one tab in the Tab order (the current one); arrows, Home and End move focus,
/// Enter follows the link.
#[component]
fn Tabs() -> impl IntoView {
    let base = StoredValue::new(crate::app::base_path());
    let location = use_location();
    let refs: [NodeRef<leptos::html::A>; TABS.len()] = std::array::from_fn(|_| NodeRef::new());
    let current = move || {
        let path = location.pathname.get();
        base.with_value(|base| tab_of(base, &path))
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        let active = document().active_element();
        let focused = refs
            .iter()
            .position(|r| r.get().map(|a| Some(leptos::web_sys::Element::from(a)) == active).unwrap_or(false));
        let Some(i) = focused else { return };
        let next = match ev.key().as_str() {
            "ArrowRight" | "ArrowDown" => (i + 1) % TABS.len(),
            "ArrowLeft" | "ArrowUp" => (i + TABS.len() - 1) % TABS.len(),
            "Home" => 0,
            "End" => TABS.len() - 1,
            _ => return,
        };
        ev.prevent_default();
        if let Some(a) = refs[next].get() {
            let _ = a.focus();
        }
    };
    view! {
        <nav class="tabs" role="tablist" aria-label="Hearth sections" on:keydown=on_keydown>
            {TABS
                .iter()
                .enumerate()
                .map(|(i, (href, label, testid))| {
                    let selected = move || current() == i;
                    view! {
                        <a
                            href=base.with_value(|base| crate::app::page_href(base, href))
                            role="tab"
                            node_ref=refs[i]
                            id=move || if selected() { "active-tab" } else { "" }
                            data-testid=*testid
                            aria-selected=move || selected().to_string()
                            aria-current=move || selected().then_some("page")
                            tabindex=move || if selected() { "0" } else { "-1" }
                            class:active=selected
                        >
                            {*label}
                        </a>
                    }
                })
                .collect_view()}
        </nav>
    }
}

#[cfg(test)]
mod tests {
    use super::tab_of;

    #[test]
    fn a_tab_holds_its_own_pages_and_nothing_that_only_starts_like_it() {
        for base in ["", "/hearth"] {
            let at = |path: &str| tab_of(base, &format!("{base}{path}"));
            assert_eq!(at("/warming"), 1);
            assert_eq!(at("/warming/history"), 1);
            assert_eq!(at("/redis/keys"), 2);
            assert_eq!(at("/audit"), 3);
            assert_eq!(at("/warmingx"), 0);
            assert_eq!(at("/sources/3"), 0);
            assert_eq!(at("/"), 0);
        }
        assert_eq!(tab_of("/hearth", "/hearth"), 0);
    }
}
