//! Pieces every tab uses: header and tabs, polling, errors, toasts, the confirm
//! dialog, mutations and small widgets.

pub mod confirm;
pub mod error_box;
pub mod header;
pub mod mutation;
pub mod polling;
pub mod session;
pub mod toast;
pub mod widgets;
