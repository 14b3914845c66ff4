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
