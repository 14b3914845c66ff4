//! Request parsing that answers in the envelope: JSON bodies, query strings and path ids whose
//! problems become 400s with a clear message instead of axum's plain-text rejections.

use axum::extract::{FromRequest, FromRequestParts, Request};
use http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// A JSON body; a malformed one is a 400 saying what is wrong.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(JsonBody(v)),
            Err(e) => Err(AppError::validation(format!("invalid JSON body: {}", e.body_text()))),
        }
    }
}

/// An optional `{"reason": "…"}` body for actions whose confirm dialog asks why (cancel, delete):
/// no body at all is no reason; a body that is not that object is a 400.
pub struct ReasonBody(pub Option<crate::model::input::Reason>);

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonOnly {
    reason: Option<crate::model::input::Reason>,
}

impl<S: Send + Sync> FromRequest<S> for ReasonBody {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| AppError::validation(format!("unreadable body: {}", e.body_text())))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(ReasonBody(None));
        }
        serde_json::from_slice::<ReasonOnly>(&bytes).map(|b| ReasonBody(b.reason)).map_err(|e| {
            AppError::validation(format!("invalid JSON body (expected {{\"reason\": \"…\"}} or none): {e}"))
        })
    }
}

/// The `{id}` of a route's path, percent-decoded; one that is not UTF-8 (`%FF`) is a 400.
pub struct PathId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<String>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(id)) => Ok(PathId(id)),
            Err(e) => Err(AppError::validation(format!("invalid id in the path: {}", e.body_text()))),
        }
    }
}

/// Query-string pairs in order, repeated names kept (`practice=1&practice=2`).
pub struct QueryPairs(pub Vec<(String, String)>);

impl QueryPairs {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, comma-separated values split, blanks dropped.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect()
    }

    pub fn required(&self, name: &str) -> Result<&str, AppError> {
        self.get(name)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| AppError::validation(format!("{name} is required")))
    }

    /// The source id `datasourceId`, or a 400.
    pub fn source_id(&self) -> Result<i64, AppError> {
        let raw = self.required("datasourceId")?;
        raw.parse::<crate::model::input::DatasourceId>().map(|id| id.get()).map_err(AppError::validation)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let raw = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str::<Vec<(String, String)>>(raw)
            .map(QueryPairs)
            .map_err(|_| AppError::validation("the query string is malformed"))
    }
}
