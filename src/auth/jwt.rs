//! Bearer tokens minted by the command center: HS256, `sub`, `exp` and a configurable claim
//! holding permission names (an array, or a space-separated string as OAuth scopes are).

use std::collections::BTreeSet;

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, errors::ErrorKind};
use serde_json::{Map, Value};

use super::{AuthMethod, Principal};
use crate::config::AuthConfig;
use crate::error::AppError;
use crate::model::Permission;

pub(super) fn verify_hs256(token: &str, secret: &[u8], auth: &AuthConfig) -> Result<Principal, AppError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = auth.leeway_secs;
    validation.set_required_spec_claims(&["exp", "sub"]);
    validation.validate_aud = auth.audience.is_some();
    if let Some(aud) = &auth.audience {
        validation.set_audience(&[aud]);
    }
    if let Some(iss) = &auth.issuer {
        validation.set_issuer(&[iss]);
    }
    let data = decode::<Map<String, Value>>(token, &DecodingKey::from_secret(secret), &validation).map_err(|e| {
        let why = match e.kind() {
            ErrorKind::ExpiredSignature => "the token has expired",
            ErrorKind::InvalidSignature => "the token's signature does not match",
            ErrorKind::InvalidAlgorithm => "the token is not signed with HS256",
            ErrorKind::MissingRequiredClaim(_) => "the token lacks `sub` or `exp`",
            ErrorKind::InvalidIssuer => "the token's issuer is not accepted",
            ErrorKind::InvalidAudience => "the token's audience is not accepted",
            _ => "the token is malformed",
        };
        AppError::unauthorized(format!("invalid token: {why}"))
    })?;
    let claims = data.claims;
    let id = match claims.get("sub") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(AppError::unauthorized("invalid token: `sub` must be a non-empty string")),
    };
    let names: Vec<&str> = match claims.get(&auth.permissions_claim) {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) => s.split_whitespace().collect(),
        _ => Vec::new(),
    };
    let mut permissions = BTreeSet::new();
    if names.iter().any(|n| auth.read_permissions.iter().any(|p| p == n)) {
        permissions.insert(Permission::Read);
    }
    if names.iter().any(|n| auth.write_permissions.iter().any(|p| p == n)) {
        permissions.insert(Permission::Write);
    }
    Ok(Principal { id, permissions, method: AuthMethod::Bearer })
}
