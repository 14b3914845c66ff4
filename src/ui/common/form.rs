//! A form that runs a server function, before hydration as after, under `HEARTH_BASE_PATH` too.

use leptos::form::FromFormData;
use leptos::prelude::*;
use leptos::server_fn::codec::PostUrl;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::{Http, ServerFn};
use serde::de::DeserializeOwned;

use crate::app::base_path;

/// Leptos' `ActionForm` renders `action="/rpc/…"`, which before hydration posts outside
/// `HEARTH_BASE_PATH` (where the session cookie is not sent and a proxy may not forward). This
/// form posts to the server function's URL under the base; once hydrated it dispatches `action`
/// instead, so its pending state, toast and refresh work as with any other mutation.
#[component]
pub fn RpcForm<S, P>(
    action: ServerAction<S>,
    /// Class of the `<form>` element.
    #[prop(optional)]
    class: &'static str,
    children: Children,
) -> impl IntoView
where
    S: DeserializeOwned + ServerFn<Protocol = Http<PostUrl, P>> + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
    S::Error: FromServerFnError + Send + Sync + 'static,
{
    let url = format!("{}{}", base_path(), S::url());
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        if ev.default_prevented() {
            return;
        }
        ev.prevent_default();
        match S::from_event(&ev) {
            Ok(input) => {
                action.dispatch(input);
            }
            Err(e) => {
                // Reported like a failed call, so the mutation's toast says what went wrong.
                let error = ServerFnErrorErr::Serialization(e.to_string());
                action.value().set(Some(Err(S::Error::from_server_fn_error(error))));
                action.version().update(|v| *v += 1);
            }
        }
    };
    view! {
        <form method="post" action=url class=class on:submit=on_submit>
            {children()}
        </form>
    }
}
