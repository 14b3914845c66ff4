//! Per-user rate limits as the console and the REST API show them: the metered classes of
//! action, a caller's remaining budget, and the words a refusal or the budget line uses.

use serde::{Deserialize, Serialize};

/// The rolling window every limit counts in.
pub const WINDOW_SECS: u64 = 3600;

/// A kind of action with its own budget per user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LimitClass {
    /// Warm one source, warm all, a schedule's "Run now".
    Warm,
    /// Invalidate a source, a slice or everything (not a dry run).
    Invalidate,
    /// Redis tab deletions: purge by pattern (not a preview) and single-key delete.
    Purge,
    /// Redis tab TTL changes: by pattern (not a preview) and on one key.
    Ttl,
}

impl LimitClass {
    pub const ALL: [LimitClass; 4] = [LimitClass::Warm, LimitClass::Invalidate, LimitClass::Purge, LimitClass::Ttl];

    /// The name in keys, JSON and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            LimitClass::Warm => "warm",
            LimitClass::Invalidate => "invalidate",
            LimitClass::Purge => "purge",
            LimitClass::Ttl => "ttl",
        }
    }

    /// `n` of these actions in words: "1 warm", "10 warms", "3 TTL changes".
    pub fn count(self, n: u32) -> String {
        let (one, many) = match self {
            LimitClass::Warm => ("warm", "warms"),
            LimitClass::Invalidate => ("invalidation", "invalidations"),
            LimitClass::Purge => ("Redis key deletion", "Redis key deletions"),
            LimitClass::Ttl => ("TTL change", "TTL changes"),
        };
        format!("{n} {}", if n == 1 { one } else { many })
    }

    fn verb(self) -> &'static str {
        match self {
            LimitClass::Warm => "start",
            _ => "make",
        }
    }

    /// What a refused caller reads: the limit and when to try again.
    pub fn refusal(self, limit: u32, retry_after_secs: u64) -> String {
        format!(
            "You can {} {} per hour; try again in {}.",
            self.verb(),
            self.count(limit),
            wait_in_words(retry_after_secs)
        )
    }
}

/// A wait as a person says it: "45 seconds", "1 minute", "7 minutes" (rounded up).
pub fn wait_in_words(secs: u64) -> String {
    match secs {
        0..=1 => "1 second".to_string(),
        2..=59 => format!("{secs} seconds"),
        _ => {
            let minutes = secs.div_ceil(60);
            if minutes == 1 { "1 minute".to_string() } else { format!("{minutes} minutes") }
        }
    }
}

/// One class of a caller's budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Budget {
    pub class: LimitClass,
    /// Actions allowed per rolling hour; `None` when this class is not limited.
    pub limit: Option<u32>,
    /// Actions counted in the last hour.
    pub used: u32,
    /// `None` when not limited.
    pub remaining: Option<u32>,
    /// Seconds until the oldest counted action leaves the window (one more becomes available);
    /// `None` when nothing is counted.
    pub next_in_secs: Option<u64>,
}

impl Budget {
    /// The console's line: "8 of 10 warms left this hour".
    pub fn summary(&self) -> String {
        match (self.limit, self.remaining) {
            (Some(limit), Some(left)) => {
                let mut text = format!("{left} of {} left this hour", self.class.count(limit));
                if let (0, Some(secs)) = (left, self.next_in_secs) {
                    text.push_str(&format!(" (next in {})", wait_in_words(secs)));
                }
                text
            }
            _ => format!("{} not limited", self.class.count(0).trim_start_matches("0 ")),
        }
    }
}

/// The caller's budgets: `GET …/cache/limits`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Budgets {
    pub user: String,
    pub window_secs: u64,
    pub limits: Vec<Budget>,
}

impl Budgets {
    pub fn of(&self, class: LimitClass) -> Option<&Budget> {
        self.limits.iter().find(|b| b.class == class)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_say_the_limit_and_when_to_try_again() {
        assert_eq!(LimitClass::Warm.refusal(10, 420), "You can start 10 warms per hour; try again in 7 minutes.");
        assert_eq!(
            LimitClass::Invalidate.refusal(1, 61),
            "You can make 1 invalidation per hour; try again in 2 minutes."
        );
        assert_eq!(LimitClass::Ttl.refusal(60, 5), "You can make 60 TTL changes per hour; try again in 5 seconds.");
    }

    #[test]
    fn waits_round_up_to_what_a_person_says() {
        assert_eq!(wait_in_words(0), "1 second");
        assert_eq!(wait_in_words(59), "59 seconds");
        assert_eq!(wait_in_words(60), "1 minute");
        assert_eq!(wait_in_words(61), "2 minutes");
        assert_eq!(wait_in_words(3600), "60 minutes");
    }

    #[test]
    fn the_budget_line_reads_as_a_sentence() {
        let mut b =
            Budget { class: LimitClass::Warm, limit: Some(10), used: 2, remaining: Some(8), next_in_secs: Some(100) };
        assert_eq!(b.summary(), "8 of 10 warms left this hour");
        b.remaining = Some(0);
        assert_eq!(b.summary(), "0 of 10 warms left this hour (next in 2 minutes)");
        let free = Budget { class: LimitClass::Ttl, limit: None, used: 0, remaining: None, next_in_secs: None };
        assert_eq!(free.summary(), "TTL changes not limited");
    }
}
