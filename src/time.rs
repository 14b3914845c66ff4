//! Clock helpers: one ISO-8601 format (milliseconds, `Z`) everywhere Hearth writes a time.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn now_iso() -> String {
    iso(Utc::now())
}

pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

pub fn iso_from_ms(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).map(iso).unwrap_or_default()
}

pub fn parse_iso_ms(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.timestamp_millis())
}
