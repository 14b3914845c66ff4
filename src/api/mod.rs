//! REST handlers: thin wrappers that authenticate, check the permission, call one service
//! function and wrap its result in the SPEC §3 envelope. [`routes`] is the table of them all.

pub mod audit;
pub mod cache;
pub mod health;
pub mod jobs;
pub mod limits;
pub mod openapi;
pub mod params;
pub mod redis;
pub mod routes;
pub mod sessions;
pub mod sources;

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use crate::error::AppError;

/// The success envelope: `{"success": true, "data": …, "meta": {"timestamp": …}}`.
pub struct Envelope<T>(pub T);

impl<T: Serialize> IntoResponse for Envelope<T> {
    fn into_response(self) -> Response {
        Json(json!({
            "success": true,
            "data": self.0,
            "meta": { "timestamp": crate::time::now_iso() },
        }))
        .into_response()
    }
}

pub type ApiResult<T> = Result<Envelope<T>, AppError>;
