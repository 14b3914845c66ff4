//! Who the console talks to: user, permissions, dev mode, and whether Redis answers.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;
use crate::model::SessionInfo;
use crate::rpc::codec::Json;

/// The signed-in caller and Redis reachability; any authenticated caller; changes nothing.
#[server(prefix = "/rpc", endpoint = "session", input = GetUrl, output = Json)]
pub async fn get_session() -> Result<SessionInfo, AppError> {
    use crate::model::Permission;
    let (state, who) = crate::auth::server_fn_principal()?;
    let redis = crate::redis_admin::overview::ping(&state).await;
    Ok(SessionInfo {
        user: who.id.clone(),
        user_name: who.name.clone(),
        method: who.method.name().to_string(),
        can_sign_out: who.session.is_some(),
        embed: who.embed,
        can_read: who.permissions.contains(&Permission::Read),
        can_write: who.permissions.contains(&Permission::Write),
        dev_mode: state.config.is_dev_mode(),
        redis_ok: redis.is_ok(),
        redis_error: redis.err().map(|e| e.message),
        key_prefix: state.config.key_prefix.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
    })
}
