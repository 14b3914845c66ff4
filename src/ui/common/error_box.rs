//! How a failed call shows: the server's message, and a hint when it is about access.

use leptos::prelude::*;

use crate::error::{AppError, ErrorCode};

#[component]
pub fn ErrorBox(error: AppError) -> impl IntoView {
    let hint = match error.code {
        ErrorCode::Unauthorized => Some("Open Hearth from the command center, or send a bearer token."),
        ErrorCode::Forbidden => Some("Ask an administrator for the permission."),
        ErrorCode::RedisUnavailable | ErrorCode::Timeout => {
            Some("Hearth keeps retrying; this clears by itself when Redis answers.")
        }
        ErrorCode::RequestTimeout => Some("Refresh in a moment to see where things stand."),
        _ => None,
    };
    view! {
        <div class="error-box" role="alert" data-testid="error-box" data-code=format!("{:?}", error.code)>
            <strong>{error.message.clone()}</strong>
            {hint.map(|h| view! { <p class="hint">{h}</p> })}
        </div>
    }
}
