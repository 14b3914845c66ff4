//! Data shapes shared by the server and the browser: what server functions return and what
//! the REST API serializes (camelCase, as SPEC §3 fixes).

pub mod audit;
pub mod auth;
pub mod cache;
pub mod input;
pub mod jobs;
pub mod limits;
pub mod redis;
pub mod source;

use serde::{Deserialize, Serialize};

/// What a caller may do (SPEC §5). The permission *names* that grant each are configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Permission {
    Read,
    Write,
}

impl Permission {
    pub fn label(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::Write => "write",
        }
    }
}

/// Who the console is talking to and as whom: drives the header and the auth banner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    pub user: String,
    /// The display name from the token (`name` or `email`), when it had one.
    pub user_name: Option<String>,
    /// `dev`, `bearer`, `cookie` (the command center's) or `session` (a hand-off).
    pub method: String,
    /// A Hearth session the console can end with Sign out.
    pub can_sign_out: bool,
    /// The console without its outer chrome, for an iframe (chosen at hand-off).
    pub embed: bool,
    pub can_read: bool,
    pub can_write: bool,
    pub dev_mode: bool,
    pub redis_ok: bool,
    pub redis_error: Option<String>,
    pub key_prefix: String,
    pub version: String,
}
