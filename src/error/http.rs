//! How an [`AppError`] leaves the server over REST: the SPEC §3 failure envelope with the
//! status of its code and, when rate limited, `Retry-After`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppError;

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = json!({
            "success": false,
            "error": self.message,
            "code": self.code,
            "details": self.details,
            "meta": { "timestamp": crate::time::now_iso() },
        });
        let mut response = (status, Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl AppError {
    /// The same error as a server function sends it (the body of [`FromServerFnError::ser`],
    /// the status of its code), for a layer that answers before the server function runs.
    pub fn into_server_fn_response(self, path: &str) -> Response {
        use leptos::server_fn::error::FromServerFnError;
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = self.ser();
        let mut response = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
        if let Some(secs) = self.retry_after_secs {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Ok(path) = HeaderValue::from_str(path) {
            response.headers_mut().insert(leptos::server_fn::error::SERVER_FN_ERROR_HEADER, path);
        }
        response
    }
}
