//! Pieces every tab uses: header and tabs, polling, errors, toasts, the confirm
//! dialog, mutations, server-function forms, starting a warm, small widgets, and the synchronous hydration of a page.

pub mod confirm;
pub mod error_box;
pub mod form;
pub mod header;
#[cfg(feature = "hydrate")]
pub mod identity;
pub mod markup;
pub mod mutation;
pub mod polling;
pub mod session;
pub mod sync_hydrate;
pub mod toast;
pub mod warm;
pub mod widgets;
