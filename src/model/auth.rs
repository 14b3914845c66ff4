//! Sign-in shapes the console and the REST API share.

use serde::{Deserialize, Serialize};

/// One signed-in browser session, as the sessions panel lists it. `id` is the SHA-256 of the
/// cookie, enough to revoke the session and useless for signing in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionSummary {
    pub id: String,
    pub user: String,
    pub name: Option<String>,
    pub can_write: bool,
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
    pub embed: bool,
    /// The browser's User-Agent at hand-off, shortened.
    pub client: Option<String>,
    /// The session of the caller who asked for the list.
    pub current: bool,
}
