//! The one way the console changes something: a `ServerAction` (its `pending()` disables the
//! buttons that dispatch it, so nothing is sent twice), whose answer becomes a toast and whose
//! completion marks the data it touched stale, so the resources showing that data load again.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use super::toast::use_toasts;
use crate::error::AppError;

/// True while any of `pending` (the actions' `pending()`) is on its way: a card or row whose
/// controls share it offers none of them again until the answer is in.
pub fn any_pending<const N: usize>(pending: [Memo<bool>; N]) -> Signal<bool> {
    Signal::derive(move || pending.iter().any(|p| p.get()))
}

/// What a change can make out of date; resources that show it read [`Stale::track`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Data {
    /// Cache stats and trends (dashboard).
    Cache,
    /// Active and recent jobs.
    Jobs,
    Schedules,
    /// The memory guard's settings.
    Settings,
    /// The Redis tab's key list and the inspected key.
    Keys,
}

/// One generation counter per kind of data, shared by the whole console.
#[derive(Clone, Copy)]
pub struct Stale([RwSignal<u64>; 5]);

impl Stale {
    /// Subscribes the caller (a resource's source, an effect) to changes of `data`.
    pub fn track(&self, data: Data) -> u64 {
        self.0[data as usize].get()
    }

    pub fn mark(&self, data: Data) {
        self.0[data as usize].update(|n| *n += 1);
    }
}

pub fn provide_stale() {
    provide_context(Stale(std::array::from_fn(|_| RwSignal::new(0))));
}

pub fn use_stale() -> Stale {
    expect_context::<Stale>()
}

/// A server action whose every completion toasts (`success` turns the answer into the message,
/// `None` for no toast; an error always toasts) and marks `touches` stale, success or not, since a
/// refused change may still mean the page is behind.
///
/// Create it in a component that outlives the rows dispatching it (the page, not a row that a
/// poll redraws), so a completion arriving after a redraw is still reported.
pub fn use_mutation<S>(
    touches: &'static [Data],
    success: impl Fn(S::Output) -> Option<String> + Send + Sync + 'static,
) -> ServerAction<S>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    mutation(touches, success, true)
}

/// [`use_mutation`] for a form that shows a refusal beside its own fields: an error neither
/// toasts nor reloads anything, so the form (which a reload of its list would redraw closed)
/// stays open with what was typed and the message in place.
pub fn use_form_mutation<S>(
    touches: &'static [Data],
    success: impl Fn(S::Output) -> Option<String> + Send + Sync + 'static,
) -> ServerAction<S>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    mutation(touches, success, false)
}

fn mutation<S>(
    touches: &'static [Data],
    success: impl Fn(S::Output) -> Option<String> + Send + Sync + 'static,
    report_errors: bool,
) -> ServerAction<S>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    let action = ServerAction::<S>::new();
    let toasts = use_toasts();
    let stale = use_stale();
    // Effects run only in the browser. A form posted before hydration comes back as a page whose
    // action already holds the server's error: it is shown here once the page hydrates.
    Effect::new(move |ran: Option<()>| {
        let Some(result) = action.value().get() else { return };
        match result {
            Ok(out) => {
                if let Some(message) = success(out) {
                    toasts.ok(message);
                }
            }
            Err(_) if !report_errors => return,
            Err(e) if ran.is_none() => toasts.error_once(&e),
            Err(e) => toasts.error(&e),
        }
        for data in touches {
            stale.mark(*data);
        }
    });
    action
}
