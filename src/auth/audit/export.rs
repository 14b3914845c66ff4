//! The audit trail as a download: NDJSON or CSV, streamed page by page from the stream, so an
//! export of the whole trail never sits in memory.

use axum::body::Bytes;
use futures::Stream;

use super::store::{self, Filter};
use crate::error::AppError;
use crate::model::audit::AuditEntry;
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ndjson,
    Csv,
}

impl Format {
    pub fn parse(text: Option<&str>) -> Result<Format, AppError> {
        match text.map(str::trim).unwrap_or("ndjson") {
            "" | "ndjson" => Ok(Format::Ndjson),
            "csv" => Ok(Format::Csv),
            other => Err(AppError::validation(format!("format `{other}` is not ndjson or csv"))),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Ndjson => "application/x-ndjson",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Ndjson => "ndjson",
            Format::Csv => "csv",
        }
    }
}

/// The CSV header; each row has these columns in this order.
pub const CSV_COLUMNS: [&str; 14] = [
    "id",
    "at",
    "userId",
    "userName",
    "action",
    "target",
    "sourceId",
    "reason",
    "outcome",
    "status",
    "detail",
    "counts",
    "requestId",
    "client",
];

/// One CSV field (RFC 4180). Text a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab,
/// CR), and text that starts with `'`, get a leading `'`: an exported reason cannot run in the
/// admin's spreadsheet, and stripping one leading `'` gives the text back exactly.
pub fn csv_field(text: &str) -> String {
    let guarded = match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\'') => format!("'{text}"),
        _ => text.to_string(),
    };
    if guarded.contains([',', '"', '\n', '\r']) { format!("\"{}\"", guarded.replace('"', "\"\"")) } else { guarded }
}

/// `name=n;name=n`, names in order.
pub fn counts_field(e: &AuditEntry) -> String {
    e.counts.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(";")
}

pub fn csv_row(e: &AuditEntry) -> String {
    let cells = [
        e.id.clone(),
        e.at.clone(),
        e.user_id.clone(),
        e.user_name.clone().unwrap_or_default(),
        e.action.as_str().to_string(),
        e.target.clone(),
        e.source_id.map(|s| s.to_string()).unwrap_or_default(),
        e.reason.clone().unwrap_or_default(),
        e.outcome.as_str().to_string(),
        e.status.to_string(),
        e.detail.clone().unwrap_or_default(),
        counts_field(e),
        e.request_id.clone(),
        e.client.clone(),
    ];
    let mut row = cells.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(",");
    row.push_str("\r\n");
    row
}

fn chunk(format: Format, entries: &[AuditEntry]) -> Bytes {
    let mut out = String::new();
    for e in entries {
        match format {
            Format::Ndjson => {
                // An entry always encodes: it is plain data that was decoded from JSON.
                out.push_str(&serde_json::to_string(e).unwrap_or_default());
                out.push('\n');
            }
            Format::Csv => out.push_str(&csv_row(e)),
        }
    }
    Bytes::from(out)
}

/// Every entry matching `filter` (its limit is the page size), newest first, as `format`. A
/// failure part-way ends the download early (the client sees a truncated file) and is logged.
pub fn stream(state: AppState, filter: Filter, format: Format) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
    let header = match format {
        Format::Csv => Some(Bytes::from(format!("{}\r\n", CSV_COLUMNS.join(",")))),
        Format::Ndjson => None,
    };
    let first = Filter { limit: store::MAX_LIMIT, ..filter };
    futures::stream::unfold((Some(first), header), move |(next, header)| {
        let state = state.clone();
        async move {
            if let Some(h) = header {
                return Some((Ok(h), (next, None)));
            }
            let filter = next?;
            match store::list(&state, &filter).await {
                Ok(page) => {
                    let after = page.next_cursor.map(|c| Filter { cursor: Some(c), ..filter });
                    Some((Ok(chunk(format, &page.entries)), (after, None)))
                }
                Err(e) => {
                    tracing::error!(error = %e.message, "the audit export stopped part-way");
                    Some((Err(std::io::Error::other(e.message)), (None, None)))
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-1"), "'-1");
        assert_eq!(csv_field("'quoted"), "''quoted");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }
}
