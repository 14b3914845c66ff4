//! Human formatting of bytes, durations and rates: the console's cards and the server's messages
//! (the memory guard) say sizes and times the same way.

pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

/// `3d 4h`, `2h 05m`, `4m 09s`, `12s`.
pub fn duration_secs(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

/// Uptime keeps its seconds so the admin sees it tick.
pub fn uptime(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 { format!("{d}d {h:02}:{m:02}:{s:02}") } else { format!("{h:02}:{m:02}:{s:02}") }
}

/// How long ago, for ages in minutes: "just now", "12m 05s ago", "3h 10m ago".
pub fn ago_minutes(minutes: f64) -> String {
    if minutes < 1.0 { "just now".into() } else { format!("{} ago", duration_secs((minutes * 60.0) as u64)) }
}

pub fn percent(p: Option<f64>) -> String {
    p.map(|p| format!("{p:.1} %")).unwrap_or_else(|| "–".into())
}

/// A time Hearth wrote (ISO 8601, UTC, `2026-12-03T14:05:09.123Z`) as a table shows it:
/// `2026-12-03 14:05:09`. Kept in UTC: the server draws the page and cannot know the browser's
/// zone, and the Audit view's time filters are read as UTC too.
pub fn utc_time(iso: &str) -> String {
    let t = iso.strip_suffix('Z').unwrap_or(iso);
    let t = t.split_once('.').map_or(t, |(seconds, _)| seconds);
    t.replacen('T', " ", 1)
}

pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Text made safe to place inside HTML or SVG markup, as element content or a quoted attribute.
pub fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_read_naturally() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
        assert_eq!(duration_secs(12), "12s");
        assert_eq!(duration_secs(249), "4m 09s");
        assert_eq!(duration_secs(7500), "2h 05m");
        assert_eq!(duration_secs(3 * 86_400 + 4 * 3600), "3d 4h");
        assert_eq!(uptime(3723), "01:02:03");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(html_escape(r#"<a href="x">'&'"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;");
        assert_eq!(percent(None), "–");
        assert_eq!(ago_minutes(0.4), "just now");
        assert_eq!(ago_minutes(90.0), "1h 30m ago");
        assert_eq!(utc_time("2026-12-03T14:05:09.123Z"), "2026-12-03 14:05:09");
        assert_eq!(utc_time("2026-12-03T14:05:09Z"), "2026-12-03 14:05:09");
    }
}
