//! A form that runs a server function, before hydration as after, under `HEARTH_BASE_PATH` too.

use leptos::prelude::*;
use leptos::server_fn::codec::PostUrl;
use leptos::server_fn::{Http, ServerFn};
use serde::Serialize;

use crate::app::base_path;

/// A button that runs a server function with arguments known when the page is drawn (warm this
/// source, pause this job, revoke this session).
///
/// Leptos' `ActionForm` renders `action="/rpc/…"`, which before hydration posts outside
/// `HEARTH_BASE_PATH` (where the session cookie is not sent and a proxy may not forward), and
/// once hydrated parses its own fields back into the arguments, which ships a query-string
/// parser to the browser. This form posts to the server function's URL under the base, with
/// `input` written out as hidden fields (the same encoding the server function decodes); once
/// hydrated it dispatches `input` itself, so its pending state, toast and refresh work as with
/// any other mutation. `children` are the form's buttons.
#[component]
pub fn RpcForm<S, P>(
    action: ServerAction<S>,
    /// The server function's arguments.
    input: S,
    /// Class of the `<form>` element.
    #[prop(optional)]
    class: &'static str,
    children: Children,
) -> impl IntoView
where
    S: Serialize + ServerFn<Protocol = Http<PostUrl, P>> + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
    S::Error: Send + Sync + 'static,
{
    let url = format!("{}{}", base_path(), S::url());
    let fields = form_fields(&input);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        if ev.default_prevented() {
            return;
        }
        ev.prevent_default();
        action.dispatch(input.clone());
    };
    view! {
        <form method="post" action=url class=class on:submit=on_submit>
            {fields.into_iter().map(|(name, value)| view! { <input type="hidden" name=name value=value/> }).collect_view()}
            {children()}
        </form>
    }
}

/// The fields a browser posts for `input`: `serde_qs`'s encoding (`request[datasourceId]=3`,
/// `None` left out), split into names and values. Arguments that cannot be written as a query
/// string (the console has none such) give no fields, and the server function then refuses the
/// post as incomplete.
fn form_fields<S: Serialize>(input: &S) -> Vec<(String, String)> {
    let Ok(query) = serde_qs::to_string(input) else { return Vec::new() };
    form_urlencoded::parse(query.as_bytes()).map(|(name, value)| (name.into_owned(), value.into_owned())).collect()
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::model::input::{DatasourceId, JobAction, Reason};
    use crate::model::jobs::{ScheduleInput, WarmRequest};
    use crate::rpc::auth::RevokeSession;
    use crate::rpc::jobs::{ControlJob, SaveSchedule, StartWarm};
    use serde::de::DeserializeOwned;

    /// What the server function reads from the fields as a browser posts them
    /// (`application/x-www-form-urlencoded`), decoded as server_fn decodes a `PostUrl` body.
    fn posted<S: Serialize + DeserializeOwned>(input: &S) -> S {
        let fields = form_fields(input);
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        serde_qs::Config::new(5, false).deserialize_str(&body).expect("the server decodes what the form posts")
    }

    #[test]
    fn a_warm_button_posts_exactly_its_request() {
        let input = StartWarm {
            request: WarmRequest {
                datasource_id: DatasourceId::try_from(3).ok(),
                force: Some(true),
                reason: Reason::from_text("warm from the console: [all] & more"),
                full: None,
            },
        };
        assert_eq!(
            form_fields(&input),
            [
                ("request[datasourceId]".to_string(), "3".to_string()),
                ("request[force]".to_string(), "true".to_string()),
                ("request[reason]".to_string(), "warm from the console: [all] & more".to_string()),
            ]
        );
        assert_eq!(posted(&input).request, input.request);
    }

    #[test]
    fn job_schedule_and_session_buttons_post_their_arguments() {
        let pause = ControlJob { job_id: "job:42".into(), action: JobAction::Pause, reason: None };
        let back = posted(&pause);
        assert_eq!((back.job_id.as_str(), back.action, back.reason), ("job:42", JobAction::Pause, None));

        let disable = SaveSchedule {
            id: Some("s-7".into()),
            input: ScheduleInput { enabled: Some(false), ..Default::default() },
        };
        assert_eq!(form_fields(&disable), [("id".into(), "s-7".into()), ("input[enabled]".into(), "false".into())]);
        let back = posted(&disable);
        assert_eq!((back.id, back.input), (disable.id, disable.input));

        let revoke = RevokeSession { id: "a b+c/d".into() };
        assert_eq!(posted(&revoke).id, "a b+c/d");
    }
}
