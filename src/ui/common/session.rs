//! The signed-in session, fetched once by the shell and shared with every tab (who may write).

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::SessionInfo;
use crate::rpc::session::get_session;

#[derive(Clone, Copy)]
pub struct Session(pub Resource<Result<SessionInfo, AppError>>);

impl Session {
    /// Whether write actions should be offered (the server checks again).
    pub fn can_write(&self) -> bool {
        self.0.get().and_then(|r| r.ok()).map(|s| s.can_write).unwrap_or(false)
    }
}

pub fn provide_session() -> Session {
    let session = Session(Resource::new(|| (), |_| get_session()));
    provide_context(session);
    session
}

pub fn use_session() -> Session {
    expect_context::<Session>()
}
