//! Who is calling and what they may do. One middleware ([`guard::guard`]) authenticates every
//! request (bearer token, Hearth session cookie, the command center's cookie, or dev mode),
//! refuses cross-origin writes and checks each REST route's and server function's permission
//! (from their tables, [`needs`]) before anything is read; it leaves the [`Principal`] in the
//! request's extensions. REST routes take a [`Reader`] or [`Writer`], server functions call
//! [`server_fn_caller`]: both read it from there.

pub mod audit;
pub mod guard;
pub mod handoff;
pub mod jwt;
pub mod limits;
pub mod needs;
pub mod pages;
pub mod session;

use std::collections::BTreeSet;

use axum::extract::FromRequestParts;
use http::request::Parts;

use crate::error::AppError;
use crate::model::Permission;
use crate::state::AppState;

/// How the caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// Development mode: no login, loopback only.
    Dev,
    /// `Authorization: Bearer <JWT>`.
    Bearer,
    /// The command center's own JWT cookie (`HEARTH_JWT_COOKIE`).
    Cookie,
    /// A Hearth session created by a hand-off.
    Session,
}

impl AuthMethod {
    pub fn name(self) -> &'static str {
        match self {
            AuthMethod::Dev => "dev",
            AuthMethod::Bearer => "bearer",
            AuthMethod::Cookie => "cookie",
            AuthMethod::Session => "session",
        }
    }

    /// Browsers attach these by themselves, so a request carrying one must prove it comes from
    /// Hearth's own pages before it may change anything.
    pub fn is_ambient(self) -> bool {
        matches!(self, AuthMethod::Dev | AuthMethod::Cookie | AuthMethod::Session)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub id: String,
    /// Display name (`name` or `email` claim).
    pub name: Option<String>,
    pub permissions: BTreeSet<Permission>,
    pub method: AuthMethod,
    /// The session's id (digest of its cookie) when signed in by a hand-off.
    pub session: Option<String>,
    /// The session asked for the embed layout.
    pub embed: bool,
    /// The request this caller made: what its audit entry names.
    pub request: RequestMeta,
}

/// Where a request came from, for its audit entry; the guard fills it in.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    /// `x-request-id` as received (when sane) or made up; echoed in the response.
    pub id: String,
    /// The peer's address, and what `X-Forwarded-For` claims in front of it.
    pub client: String,
    /// Set once an audit entry for this request is written, so the guard does not write a
    /// second one for the same response.
    pub recorded: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// Two requests of the same caller are the same caller.
impl PartialEq for RequestMeta {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for RequestMeta {}

impl Principal {
    /// The development-mode caller: an admin with every permission.
    pub fn dev_admin() -> Self {
        Principal {
            id: "dev-admin".into(),
            name: None,
            permissions: [Permission::Read, Permission::Write].into(),
            method: AuthMethod::Dev,
            session: None,
            embed: false,
            request: RequestMeta::default(),
        }
    }

    /// Fails with 403 unless the caller holds `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), AppError> {
        if self.permissions.contains(&permission) {
            Ok(())
        } else {
            Err(AppError::forbidden(format!(
                "this needs the {} permission, which {} does not have",
                permission.label(),
                self.id
            )))
        }
    }
}

/// The caller the guard identified; 401 when there is none (a route the guard does not cover).
pub fn principal_of(parts: &Parts) -> Result<Principal, AppError> {
    parts.extensions.get::<Principal>().cloned().ok_or_else(|| AppError::unauthorized("sign in required"))
}

/// Any signed-in caller, whatever they may do; extracting it answers 401 otherwise.
pub struct Caller(pub Principal);

/// A caller holding the read permission; extracting it answers 401/403 otherwise.
pub struct Reader(pub Principal);

/// A caller holding the write permission; extracting it answers 401/403 otherwise.
pub struct Writer(pub Principal);

fn caller(parts: &Parts, permission: Permission) -> Result<Principal, AppError> {
    let who = principal_of(parts)?;
    who.require(permission)?;
    Ok(who)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        principal_of(parts).map(Caller)
    }
}

impl FromRequestParts<AppState> for Reader {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        caller(parts, Permission::Read).map(Reader)
    }
}

impl FromRequestParts<AppState> for Writer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        caller(parts, Permission::Write).map(Writer)
    }
}

/// The state and the authenticated caller of the current server function or page render.
pub fn server_fn_principal() -> Result<(AppState, Principal), AppError> {
    let state = leptos::prelude::use_context::<AppState>()
        .ok_or_else(|| AppError::internal("server state missing from the server function context"))?;
    let parts = leptos::prelude::use_context::<Parts>()
        .ok_or_else(|| AppError::internal("request missing from the server function context"))?;
    Ok((state, principal_of(&parts)?))
}

/// The caller of the current server function, checked for `permission` (the guard checked it
/// already from its table; this keeps each function safe on its own).
pub fn server_fn_caller(permission: Permission) -> Result<(AppState, Principal), AppError> {
    let (state, principal) = server_fn_principal()?;
    principal.require(permission)?;
    Ok((state, principal))
}
