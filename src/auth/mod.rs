//! Who is calling and what they may do. Every REST route takes a [`Reader`] or [`Writer`], which
//! authenticate and check the permission while extracting, before a body or query is parsed;
//! every server function calls [`server_fn_caller`] first (and `/rpc/…` is authenticated by a
//! layer before its arguments are read, see `server.rs`).

mod jwt;

use std::collections::BTreeSet;

use axum::extract::FromRequestParts;
use http::request::Parts;

use crate::config::AuthMode;
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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub id: String,
    pub permissions: BTreeSet<Permission>,
    pub method: AuthMethod,
}

impl Principal {
    /// The development-mode caller: an admin with every permission.
    pub fn dev_admin() -> Self {
        Principal {
            id: "dev-admin".into(),
            permissions: [Permission::Read, Permission::Write].into(),
            method: AuthMethod::Dev,
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

/// Identify the caller of a request from its headers.
pub fn authenticate(state: &AppState, parts: &Parts) -> Result<Principal, AppError> {
    let auth = &state.config.auth;
    match &auth.mode {
        AuthMode::Dev => Ok(Principal::dev_admin()),
        AuthMode::JwtHs256 { secret } => {
            let token = bearer_token(parts)?;
            jwt::verify_hs256(token, secret, auth)
        }
    }
}

fn bearer_token(parts: &Parts) -> Result<&str, AppError> {
    let header = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .ok_or_else(|| AppError::unauthorized("sign in required: send Authorization: Bearer <token>"))?;
    let value = header.to_str().map_err(|_| AppError::unauthorized("the Authorization header is not readable text"))?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AppError::unauthorized("the Authorization header must be `Bearer <token>`"));
    }
    Ok(token.trim())
}

/// A caller holding the read permission; extracting it answers 401/403 otherwise.
pub struct Reader(pub Principal);

/// A caller holding the write permission; extracting it answers 401/403 otherwise.
pub struct Writer(pub Principal);

/// The authenticated caller, checked for `permission`: what every entry point starts with.
fn caller(state: &AppState, parts: &Parts, permission: Permission) -> Result<Principal, AppError> {
    let who = authenticate(state, parts)?;
    who.require(permission)?;
    Ok(who)
}

impl FromRequestParts<AppState> for Reader {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        caller(state, parts, Permission::Read).map(Reader)
    }
}

impl FromRequestParts<AppState> for Writer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        caller(state, parts, Permission::Write).map(Writer)
    }
}

/// The state and the authenticated caller of the current server function.
pub fn server_fn_principal() -> Result<(AppState, Principal), AppError> {
    let state = leptos::prelude::use_context::<AppState>()
        .ok_or_else(|| AppError::internal("server state missing from the server function context"))?;
    let parts = leptos::prelude::use_context::<Parts>()
        .ok_or_else(|| AppError::internal("request missing from the server function context"))?;
    let principal = authenticate(&state, &parts)?;
    Ok((state, principal))
}

/// The caller of the current server function, checked for `permission`.
pub fn server_fn_caller(permission: Permission) -> Result<(AppState, Principal), AppError> {
    let (state, principal) = server_fn_principal()?;
    principal.require(permission)?;
    Ok((state, principal))
}
