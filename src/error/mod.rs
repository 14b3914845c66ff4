//! The one error type of Hearth: rendered as the SPEC §3 envelope for REST and carried as a
//! typed error by server functions, so the browser sees the same code and message either way.

use serde::{Deserialize, Serialize};

/// Machine-readable error codes; the HTTP status follows from the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    ValidationError,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    RateLimited,
    /// The request body is over the limit (`server::MAX_BODY_BYTES`).
    PayloadTooLarge,
    RedisUnavailable,
    SourceUnavailable,
    /// Redis did not answer in time.
    Timeout,
    /// No answer within `HEARTH_REQUEST_TIMEOUT_SECS` (the request stops; an invalidation goes on).
    RequestTimeout,
    InternalError,
    /// The browser could not reach the server or read its answer.
    Transport,
}

impl ErrorCode {
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::ValidationError => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::RateLimited => 429,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::RequestTimeout => 408,
            ErrorCode::InternalError | ErrorCode::Transport => 500,
            ErrorCode::SourceUnavailable => 502,
            ErrorCode::RedisUnavailable => 503,
            ErrorCode::Timeout => 504,
        }
    }
}

/// What precisely went wrong, where the server reacts to one particular failure (more specific
/// than the [`ErrorCode`] clients see). Set where the error is classified, never derived from
/// the message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// Redis refused a command under the ACL of Hearth's user (`NOPERM`).
    RedisNoPermission,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
    /// Seconds a rate-limited caller should wait (`Retry-After`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    /// For the server's own decisions only: not sent to clients, so the envelope is unchanged.
    #[serde(skip)]
    pub cause: Option<Cause>,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), details: None, retry_after_secs: None, cause: None }
    }
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }
    pub fn with_cause(mut self, cause: Cause) -> Self {
        self.cause = Some(cause);
        self
    }
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationError, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalError, message)
    }
    pub fn redis_unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::RedisUnavailable, message)
    }
    pub fn source_unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::SourceUnavailable, message)
    }
    pub fn rate_limited(message: impl Into<String>, retry_after_secs: u64) -> Self {
        Self { retry_after_secs: Some(retry_after_secs), ..Self::new(ErrorCode::RateLimited, message) }
    }
    pub fn status(&self) -> u16 {
        self.code.status()
    }
}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = crate::rpc::codec::JsonText;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr as E;
        match value {
            E::Args(m) | E::MissingArg(m) => AppError::validation(format!("bad request: {m}")),
            E::Request(m) => AppError::new(ErrorCode::Transport, format!("cannot reach Hearth: {m}")),
            E::Deserialization(m) => AppError::new(ErrorCode::Transport, format!("unreadable answer from Hearth: {m}")),
            other => AppError::internal(other.to_string()),
        }
    }

    /// Encodes the error for the browser and, on the server, gives the response the error's own
    /// status (server_fn would answer 500 for every error, so a 403 or 404 would look like a crash
    /// in access logs and monitoring).
    fn ser(&self) -> leptos::server_fn::Bytes {
        #[cfg(feature = "ssr")]
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(
                ::http::StatusCode::from_u16(self.status()).unwrap_or(::http::StatusCode::INTERNAL_SERVER_ERROR),
            );
            // A rate-limited server function answers like the REST route: 429 with `Retry-After`.
            if let Some(secs) = self.retry_after_secs {
                response.insert_header(::http::header::RETRY_AFTER, ::http::HeaderValue::from(secs));
            }
        }
        // The same JSON that `JsonText` (this type's decoder in the browser) reads.
        let json = serde_json::to_vec(self)
            .or_else(|e| serde_json::to_vec(&AppError::internal(format!("an error could not be encoded: {e}"))))
            .unwrap_or_default();
        leptos::server_fn::Bytes::from(json)
    }
}

#[cfg(feature = "ssr")]
mod http;
