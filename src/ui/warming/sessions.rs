//! Signed-in browser sessions (hand-offs), for writers: who, since when, last seen; revoke one.

use leptos::either::EitherOf3;
use leptos::prelude::*;

use crate::rpc::auth::{RevokeSession, list_sessions};
use crate::ui::common::error_box::ErrorBox;
use crate::ui::common::form::RpcForm;
use crate::ui::common::session::use_session;

#[component]
pub fn SessionsPanel() -> impl IntoView {
    let session = use_session();
    view! {
        <Show when=move || session.can_write()>
            <SessionList/>
        </Show>
    }
}

#[component]
fn SessionList() -> impl IntoView {
    let revoke = ServerAction::<RevokeSession>::new();
    // Refetched after every revoke; the version changes when one finishes.
    let sessions = Resource::new(move || revoke.version().get(), |_| list_sessions());
    view! {
        <section class="card" aria-labelledby="sessions-title" data-testid="sessions-panel">
            <div class="card-head">
                <h2 id="sessions-title">"Signed-in sessions"</h2>
                <span class="muted small">"Browsers signed in through the command center's hand-off"</span>
            </div>
            {move || revoke.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorBox error=e/> })}
            <Transition fallback=|| view! { <p class="muted">"Loading sessions…"</p> }>
                {move || sessions.get().map(|r| match r {
                    Ok(list) if list.is_empty() => EitherOf3::A(view! {
                        <p class="muted" data-testid="sessions-empty">"No browser sessions. API clients and the command center's own cookie are not listed."</p>
                    }),
                    Ok(list) => EitherOf3::B(view! {
                        <div class="table-wrap">
                            <table>
                                <thead><tr><th>"User"</th><th>"Access"</th><th>"Signed in"</th><th>"Last seen"</th><th>"Ends"</th><th></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|s| view! {
                                        <tr data-testid="session-row" data-user=s.user.clone()>
                                            <td>
                                                {s.name.clone().unwrap_or_else(|| s.user.clone())}
                                                {s.current.then(|| view! { <span class="badge">" you"</span> })}
                                                {s.embed.then(|| view! { <span class="muted small">" (embedded)"</span> })}
                                            </td>
                                            <td>{if s.can_write { "read and write" } else { "read" }}</td>
                                            <td title=s.created_at.clone()>{when(&s.created_at)}</td>
                                            <td title=s.last_seen_at.clone()>{when(&s.last_seen_at)}</td>
                                            <td title=s.expires_at.clone()>{when(&s.expires_at)}</td>
                                            <td>
                                                <RpcForm action=revoke input=RevokeSession { id: s.id.clone() }>
                                                    <button type="submit" class="danger" data-testid="session-revoke" disabled=revoke.pending()>
                                                        {if s.current { "Sign out here" } else { "Revoke" }}
                                                    </button>
                                                </RpcForm>
                                            </td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }),
                    Err(e) => EitherOf3::C(view! { <ErrorBox error=e/> }),
                })}
            </Transition>
        </section>
    }
}

/// `2026-12-03T14:05:09.123Z` → `2026-12-03 14:05 UTC`.
fn when(iso: &str) -> String {
    format!("{} UTC", iso.replacen('T', " ", 1).chars().take(16).collect::<String>())
}
