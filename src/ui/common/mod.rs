//! Pieces every tab uses: header and tabs, polling, errors, toasts, the confirm
//! dialog, mutations, server-function forms and small widgets.

pub mod confirm;
pub mod error_box;
pub mod form;
pub mod header;
pub mod mutation;
pub mod polling;
pub mod session;
pub mod toast;
pub mod widgets;
