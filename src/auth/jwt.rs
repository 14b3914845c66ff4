//! Tokens minted by the command center: HS256 or RS256, `iss`, `aud`, `sub`, `exp` required,
//! `nbf` honoured, lifetime capped, `typ` checked when present, and a configurable claim holding
//! permission names (an array, or a space-separated string as OAuth scopes are). A hand-off token
//! must also carry `iat` and a `jti`, and live no longer than the hand-off cap.

use std::collections::BTreeSet;

use jsonwebtoken::{Validation, decode, decode_header, errors::ErrorKind};
use serde_json::{Map, Value};

use super::{AuthMethod, Principal};
use crate::config::{AuthConfig, JwtKey};
use crate::error::AppError;
use crate::model::Permission;

/// The `purpose` claim that marks a hand-off token.
pub const HANDOFF_PURPOSE: &str = "hearth-handoff";

/// What a token is being used for: every request (bearer, the command center's cookie) or a
/// one-time exchange for a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Access,
    Handoff,
}

/// A token that passed every check.
#[derive(Debug, Clone)]
pub struct Verified {
    pub principal: Principal,
    /// Present (and non-empty) on every hand-off token.
    pub jti: Option<String>,
    /// Seconds since the epoch.
    pub exp: i64,
}

fn refuse(why: impl std::fmt::Display) -> AppError {
    AppError::unauthorized(format!("invalid token: {why}"))
}

pub fn verify(
    token: &str,
    key: &JwtKey,
    auth: &AuthConfig,
    purpose: Purpose,
    method: AuthMethod,
) -> Result<Verified, AppError> {
    let algorithm = key.algorithm;
    // `alg: none` and unknown algorithms fail here, as a malformed header.
    let header = decode_header(token).map_err(|_| refuse("the token is malformed or uses an unsupported algorithm"))?;
    if header.alg != algorithm {
        return Err(refuse(format!("the token is signed with {:?}, Hearth accepts only {algorithm:?}", header.alg)));
    }
    if let Some(typ) = &header.typ
        && !typ.eq_ignore_ascii_case("JWT")
    {
        return Err(refuse(format!("the token's type `{typ}` is not JWT")));
    }

    let mut validation = Validation::new(algorithm);
    validation.leeway = auth.leeway_secs;
    validation.validate_nbf = true;
    let mut required = vec!["exp", "sub", "iss", "aud"];
    if purpose == Purpose::Handoff {
        required.extend(["iat", "jti"]);
    }
    validation.set_required_spec_claims(&required);
    let (Some(issuer), Some(audience)) = (&auth.issuer, &auth.audience) else {
        return Err(AppError::internal("jwt mode without an issuer and audience (refused at start)"));
    };
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);

    let data = decode::<Map<String, Value>>(token, &key.key, &validation).map_err(|e| {
        refuse(match e.kind() {
            ErrorKind::ExpiredSignature => "the token has expired".to_string(),
            ErrorKind::ImmatureSignature => "the token is not valid yet (`nbf`)".to_string(),
            ErrorKind::InvalidSignature => "the token's signature does not match".to_string(),
            ErrorKind::InvalidAlgorithm => format!("the token is not signed with {algorithm:?}"),
            ErrorKind::MissingRequiredClaim(c) => format!("the token lacks `{c}`"),
            ErrorKind::InvalidIssuer => "the token's issuer is not accepted".to_string(),
            ErrorKind::InvalidAudience => "the token's audience is not Hearth".to_string(),
            _ => "the token is malformed".to_string(),
        })
    })?;
    let claims = data.claims;

    // A hand-off token opens a session once; it must not also work as a bearer token.
    let is_handoff = claims.get("purpose").and_then(Value::as_str) == Some(HANDOFF_PURPOSE);
    match purpose {
        Purpose::Handoff if !is_handoff => {
            return Err(refuse(format!("a hand-off token must carry \"purpose\": \"{HANDOFF_PURPOSE}\"")));
        }
        Purpose::Access if is_handoff => return Err(refuse("a hand-off token only works at /auth/handoff")),
        _ => {}
    }

    let now = chrono::Utc::now().timestamp();
    let exp = claims.get("exp").and_then(Value::as_i64).ok_or_else(|| refuse("`exp` is not a number"))?;
    let iat = match claims.get("iat") {
        None => None,
        Some(v) => Some(v.as_i64().filter(|t| *t >= 0).ok_or_else(|| refuse("`iat` is not a time"))?),
    };
    if iat.is_some_and(|iat| iat > now + auth.leeway_secs as i64) {
        return Err(refuse("the token was issued in the future (`iat`)"));
    }
    let cap = match purpose {
        Purpose::Access => auth.max_token_lifetime_secs,
        Purpose::Handoff => auth.max_handoff_lifetime_secs,
    };
    // Without `iat` the remaining lifetime is what counts: a year-long token is refused either way.
    let lifetime = exp.checked_sub(iat.unwrap_or(now)).ok_or_else(|| refuse("`exp` is not a time"))?;
    if lifetime > cap as i64 {
        return Err(refuse(format!("the token is valid for {lifetime} s, longer than the {cap} s Hearth accepts")));
    }

    let jti = match claims.get("jti") {
        None => None,
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 256 => Some(s.clone()),
        Some(_) => return Err(refuse("`jti` must be a non-empty string of at most 256 characters")),
    };
    let id = match claims.get("sub") {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 256 => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(refuse("`sub` must be a non-empty string")),
    };
    let name = ["name", "email"]
        .iter()
        .find_map(|c| claims.get(*c).and_then(Value::as_str))
        .filter(|n| !n.is_empty())
        .map(|n| n.chars().take(120).collect());
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
    Ok(Verified {
        principal: Principal {
            id,
            name,
            permissions,
            method,
            session: None,
            embed: false,
            request: Default::default(),
        },
        jti,
        exp,
    })
}
