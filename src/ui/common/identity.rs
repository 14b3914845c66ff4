//! Finding a control again after a redraw. Lists redrawn by position (the job cards every
//! second, the per-source rows) reuse their elements: after a job is queued before another, the
//! button that had focus may now be another job's, or gone. A control is remembered by the
//! identifying attributes of it and of its ancestors, and found again by them.
//! Browser only: the confirm dialog and the job list call it from event handlers and effects.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};

/// Attributes that name what a control acts on: a row's `data-testid` (`status-3`), a job
/// card's `data-job-id`, an element's `id`.
const IDENTITY: [&str; 3] = ["id", "data-testid", "data-job-id"];

/// A control and the selector it can be found again by.
pub struct Remembered {
    pub element: HtmlElement,
    /// `None` when the element itself has no identifying attribute.
    selector: Option<String>,
}

impl Remembered {
    pub fn new(element: HtmlElement) -> Self {
        Remembered { selector: identity_path(&element), element }
    }

    /// The element is still in the page and still the same control (not reused for another
    /// row or job). Without a selector, being in the page is all that can be told.
    pub fn is_itself(&self) -> bool {
        self.element.is_connected() && self.selector.as_deref().is_none_or(|s| self.element.matches(s).unwrap_or(false))
    }

    /// The element itself when it still is the control, else the control that took its place
    /// elsewhere in the page, if any.
    pub fn find(&self) -> Option<HtmlElement> {
        if self.is_itself() {
            return Some(self.element.clone());
        }
        let selector = self.selector.as_deref()?;
        document().query_selector(selector).ok().flatten().and_then(|e| e.dyn_into::<HtmlElement>().ok())
    }
}

/// A selector made of the identifying attributes of the element and of each of its ancestors,
/// e.g. `[data-testid="status-3"] [data-testid="status-invalidate"]`; `None` when the element
/// itself has none to be found again by.
fn identity_path(element: &Element) -> Option<String> {
    let own = identity(element)?;
    let mut parts = vec![own];
    let mut node = element.parent_element();
    while let Some(ancestor) = node {
        if let Some(part) = identity(&ancestor) {
            parts.push(part);
        }
        node = ancestor.parent_element();
    }
    parts.reverse();
    Some(parts.join(" "))
}

fn identity(element: &Element) -> Option<String> {
    let part: String = IDENTITY
        .iter()
        .filter_map(|name| element.get_attribute(name).map(|value| (name, value)))
        .map(|(name, value)| format!("[{name}=\"{}\"]", value.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    (!part.is_empty()).then_some(part)
}
