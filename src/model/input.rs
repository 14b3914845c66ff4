//! Inputs that are checked once, where they are read: a request carrying a bad one is refused at
//! deserialization (REST JSON, server function arguments, query strings alike) with a message
//! naming the field, and the services only ever see valid values.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A data source id: a positive integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct DatasourceId(i64);

impl DatasourceId {
    pub fn get(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for DatasourceId {
    type Error = String;

    fn try_from(value: i64) -> Result<Self, Self::Error> {
        if value > 0 {
            Ok(DatasourceId(value))
        } else {
            Err(format!("datasourceId must be a positive integer, not {value}"))
        }
    }
}

impl From<DatasourceId> for i64 {
    fn from(id: DatasourceId) -> i64 {
        id.0
    }
}

impl FromStr for DatasourceId {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.trim()
            .parse::<i64>()
            .map_err(|_| format!("datasourceId must be a positive integer, not `{text}`"))
            .and_then(DatasourceId::try_from)
    }
}

/// How many of the newest finished jobs a warming status lists: 0 to [`RecentJobs::MAX`] (the
/// summary covers the last `MAX` whatever is listed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct RecentJobs(usize);

impl RecentJobs {
    pub const MAX: usize = 50;
    /// All of the last [`RecentJobs::MAX`], what the REST status lists.
    pub const ALL: RecentJobs = RecentJobs(Self::MAX);

    /// `n`, or [`RecentJobs::MAX`] when more.
    pub const fn at_most(n: usize) -> RecentJobs {
        RecentJobs(if n < Self::MAX { n } else { Self::MAX })
    }

    pub fn get(self) -> usize {
        self.0
    }
}

impl TryFrom<i64> for RecentJobs {
    type Error = String;

    fn try_from(value: i64) -> Result<Self, Self::Error> {
        match usize::try_from(value) {
            Ok(n) if n <= Self::MAX => Ok(RecentJobs(n)),
            _ => Err(format!("recent must be a count of finished jobs from 0 to {}, not {value}", Self::MAX)),
        }
    }
}

impl From<RecentJobs> for i64 {
    fn from(n: RecentJobs) -> i64 {
        n.0 as i64
    }
}

/// Why an admin did something, as typed into a confirm dialog: at most [`Reason::MAX`] characters,
/// trimmed; blank means none was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Reason(String);

impl Reason {
    pub const MAX: usize = 500;

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A reason from text Hearth wrote or a length-capped input holds: trimmed, cut at
    /// [`Reason::MAX`] characters, `None` when blank.
    pub fn from_text(text: &str) -> Option<Reason> {
        let text: String = text.trim().chars().take(Reason::MAX).collect();
        (!text.is_empty()).then_some(Reason(text))
    }
}

impl std::ops::Deref for Reason {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Reason {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let text = text.trim();
        if text.chars().count() > Reason::MAX {
            return Err(format!("reason is longer than {} characters", Reason::MAX));
        }
        Ok(Reason(text.to_string()))
    }
}

impl From<Reason> for String {
    fn from(reason: Reason) -> String {
        reason.0
    }
}

/// A TTL an admin sets on keys, in seconds: from 1 second to 10 years, or [`Ttl::PERSIST`] (-1)
/// to remove the expiry. Read from a JSON number or a numeric string (a form field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "serde_json::Value", into = "i64")]
pub struct Ttl(i64);

impl Ttl {
    /// No expiry (PERSIST).
    pub const PERSIST: Ttl = Ttl(-1);
    pub const MAX_SECS: i64 = 10 * 365 * 86_400;
    const RULE: &str = "ttl must be a whole number of seconds (at least 1), or -1 to remove the expiry";

    /// Seconds, or -1 for no expiry.
    pub fn get(self) -> i64 {
        self.0
    }

    pub fn is_persist(self) -> bool {
        self == Ttl::PERSIST
    }
}

impl TryFrom<i64> for Ttl {
    type Error = String;

    fn try_from(secs: i64) -> Result<Self, Self::Error> {
        if secs == -1 || (1..=Ttl::MAX_SECS).contains(&secs) { Ok(Ttl(secs)) } else { Err(Ttl::RULE.to_string()) }
    }
}

impl TryFrom<serde_json::Value> for Ttl {
    type Error = String;

    fn try_from(value: serde_json::Value) -> Result<Self, Self::Error> {
        match value {
            serde_json::Value::Number(n) => n.as_i64().ok_or_else(|| Ttl::RULE.to_string()).and_then(Ttl::try_from),
            serde_json::Value::String(s) => s.parse(),
            _ => Err(Ttl::RULE.to_string()),
        }
    }
}

impl FromStr for Ttl {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.trim().parse::<i64>().map_err(|_| Ttl::RULE.to_string()).and_then(Ttl::try_from)
    }
}

impl From<Ttl> for i64 {
    fn from(ttl: Ttl) -> i64 {
        ttl.0
    }
}

/// What can be done to a running or queued job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobAction {
    Pause,
    Resume,
    Cancel,
}

impl JobAction {
    pub fn as_str(self) -> &'static str {
        match self {
            JobAction::Pause => "pause",
            JobAction::Resume => "resume",
            JobAction::Cancel => "cancel",
        }
    }
}

/// What can be done to a schedule besides editing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleAction {
    Run,
    Delete,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_of_recent_jobs_is_zero_to_fifty() {
        assert_eq!(serde_json::from_str::<RecentJobs>("0").unwrap().get(), 0);
        assert_eq!(serde_json::from_str::<RecentJobs>("50").unwrap(), RecentJobs::ALL);
        for bad in ["51", "-1"] {
            let e = serde_json::from_str::<RecentJobs>(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("recent must be a count of finished jobs from 0 to 50, not {bad}")), "{e}");
        }
        assert_eq!(RecentJobs::at_most(7).get(), 7);
        assert_eq!(RecentJobs::at_most(500), RecentJobs::ALL);
    }

    #[test]
    fn source_ids_are_positive_integers_whatever_the_encoding() {
        assert_eq!(serde_json::from_str::<DatasourceId>("7").unwrap().get(), 7);
        for bad in ["0", "-3"] {
            let e = serde_json::from_str::<DatasourceId>(bad).unwrap_err().to_string();
            assert!(e.contains("positive integer"), "{bad}: {e}");
        }
        for bad in ["1.5", "\"7\"", "null"] {
            assert!(serde_json::from_str::<DatasourceId>(bad).is_err(), "{bad}");
        }
        assert_eq!("12".parse::<DatasourceId>().unwrap().get(), 12);
        assert!("x".parse::<DatasourceId>().unwrap_err().contains("`x`"));
        assert_eq!(serde_json::to_string(&DatasourceId(3)).unwrap(), "3");
    }

    #[test]
    fn reasons_are_trimmed_and_capped() {
        assert_eq!(Reason::try_from("  stale data ".to_string()).unwrap().as_str(), "stale data");
        assert_eq!(Reason::from_text("   "), None);
        assert!(Reason::try_from("x".repeat(501)).is_err());
        assert!(Reason::try_from("é".repeat(500)).is_ok(), "characters, not bytes");
        assert_eq!(Reason::from_text(&"x".repeat(501)).unwrap().len(), 500, "text Hearth wrote is cut, not refused");
        let e = serde_json::from_str::<Reason>(&format!("\"{}\"", "x".repeat(501))).unwrap_err();
        assert!(e.to_string().contains("longer than 500"), "{e}");
    }

    #[test]
    fn ttls_are_positive_seconds_or_minus_one_from_a_number_or_its_text() {
        use serde_json::json;
        let read = |v: serde_json::Value| serde_json::from_value::<Ttl>(v).map(Ttl::get);
        assert_eq!(read(json!(60)).unwrap(), 60);
        assert_eq!(read(json!(" 3600 ")).unwrap(), 3600);
        assert_eq!(read(json!(-1)).unwrap(), -1);
        assert!(read(json!("-1")).unwrap() == -1 && Ttl::PERSIST.is_persist());
        assert_eq!(read(json!(Ttl::MAX_SECS)).unwrap(), Ttl::MAX_SECS);
        for bad in [json!(0), json!(-5), json!("soon"), json!(1.5), json!(null), json!(true), json!(Ttl::MAX_SECS + 1)]
        {
            let e = read(bad.clone()).unwrap_err().to_string();
            assert!(e.contains("whole number of seconds"), "{bad}: {e}");
        }
        assert_eq!("x".parse::<Ttl>().unwrap_err(), Ttl::RULE);
        assert_eq!(Ttl::try_from(0).unwrap_err(), Ttl::RULE);
        assert_eq!(serde_json::to_string(&Ttl::PERSIST).unwrap(), "-1");
    }

    #[test]
    fn actions_are_spelled_in_lowercase() {
        assert_eq!(serde_json::from_str::<JobAction>("\"pause\"").unwrap(), JobAction::Pause);
        assert!(serde_json::from_str::<JobAction>("\"explode\"").is_err());
        assert_eq!(serde_json::to_string(&ScheduleAction::Delete).unwrap(), "\"delete\"");
    }
}
