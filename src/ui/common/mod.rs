//! Pieces every tab uses: header and tabs, polling, formatting, error display.

pub mod error_box;
pub mod format;
pub mod header;
pub mod polling;
