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
    fn actions_are_spelled_in_lowercase() {
        assert_eq!(serde_json::from_str::<JobAction>("\"pause\"").unwrap(), JobAction::Pause);
        assert!(serde_json::from_str::<JobAction>("\"explode\"").is_err());
        assert_eq!(serde_json::to_string(&ScheduleAction::Delete).unwrap(), "\"delete\"");
    }
}
