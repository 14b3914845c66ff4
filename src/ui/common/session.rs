//! The signed-in session, fetched by the shell and shared with every tab (who may read, who
//! may write).
//!
//! Whether to offer read views and write actions must be known while the page is first drawn:
//! the server draws them into the HTML and hydration has to draw exactly the same. So the
//! server's answer travels with the page ([`SharedValue`]) and seeds a signal; the polled session
//! keeps it current after.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::SessionInfo;
use crate::rpc::session::get_session;

#[derive(Clone, Copy)]
pub struct Session {
    /// The caller, Redis reachability and dev mode; read it inside a `<Transition>`.
    pub info: Resource<Result<SessionInfo, AppError>>,
    can_read: RwSignal<bool>,
    can_write: RwSignal<bool>,
    /// The embed layout (no outer chrome), fixed for the session at hand-off.
    pub embed: bool,
}

impl Session {
    /// Whether views that need the read permission (the audit trail) should be drawn (the server
    /// checks again). Safe to read anywhere.
    pub fn can_read(&self) -> bool {
        self.can_read.get()
    }

    /// Whether write actions should be offered (the server checks again). Safe to read anywhere.
    pub fn can_write(&self) -> bool {
        self.can_write.get()
    }
}

pub fn provide_session() -> Session {
    let (read, write, embed) = SharedValue::new(caller_flags).into_inner();
    let can_read = RwSignal::new(read);
    let can_write = RwSignal::new(write);
    let info = Resource::new(|| (), |_| get_session());
    // Effects run only in the browser, after hydration: later changes cannot cause a mismatch.
    Effect::new(move |_| {
        if let Some(Ok(s)) = info.get() {
            if can_read.get_untracked() != s.can_read {
                can_read.set(s.can_read);
            }
            if can_write.get_untracked() != s.can_write {
                can_write.set(s.can_write);
            }
        }
    });
    let session = Session { info, can_read, can_write, embed };
    provide_context(session);
    session
}

pub fn use_session() -> Session {
    expect_context::<Session>()
}

/// On the server: whether the request's caller holds the read and the write permission, and
/// whether their session asked for the embed layout.
#[cfg(feature = "ssr")]
fn caller_flags() -> (bool, bool, bool) {
    use crate::model::Permission;
    use_context::<http::request::Parts>()
        .and_then(|parts| crate::auth::principal_of(&parts).ok())
        .map(|who| {
            (who.permissions.contains(&Permission::Read), who.permissions.contains(&Permission::Write), who.embed)
        })
        .unwrap_or((false, false, false))
}

/// In the browser this only runs outside hydration, where the polled session decides.
#[cfg(not(feature = "ssr"))]
fn caller_flags() -> (bool, bool, bool) {
    (false, false, false)
}
