//! Health of one source's cache, exactly per SPEC §4. Pure, so the browser computes the same
//! label the server reports.

use crate::model::cache::HealthLabel;

#[derive(Debug, Clone, PartialEq)]
pub struct HealthInput {
    pub is_warm: bool,
    pub age_minutes: f64,
    /// `None` when no query was recorded since the last warm.
    pub hit_rate: Option<f64>,
    pub unique_measures: u64,
    pub unique_practices: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    pub score: u32,
    pub label: HealthLabel,
    pub warnings: Vec<String>,
    /// What each of `warnings` is about, in the same order.
    pub concerns: Vec<Concern>,
    pub recommendations: Vec<String>,
}

/// What a warning is about: points lost for a reason, or a part not measured yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concern {
    NeverWarmed,
    Age,
    HitRate,
    /// No query since the last warm: the hit rate is not measured yet, which costs no points,
    /// so it is never more than a warning whatever the label.
    NoTraffic,
    Coverage,
}

pub fn age_points(age_minutes: f64) -> u32 {
    match age_minutes {
        a if a < 60.0 => 40,
        a if a < 120.0 => 35,
        a if a < 240.0 => 30,
        a if a < 360.0 => 20,
        a if a < 720.0 => 10,
        _ => 0,
    }
}

pub fn hit_rate_points(hit_rate: Option<f64>) -> u32 {
    match hit_rate {
        None => 40,
        Some(h) if h >= 95.0 => 40,
        Some(h) if h >= 90.0 => 35,
        Some(h) if h >= 80.0 => 30,
        Some(h) if h >= 70.0 => 20,
        Some(h) if h >= 50.0 => 10,
        Some(_) => 0,
    }
}

pub fn label(score: u32) -> HealthLabel {
    match score {
        s if s >= 90 => HealthLabel::Excellent,
        s if s >= 75 => HealthLabel::Good,
        s if s >= 50 => HealthLabel::Degraded,
        s if s >= 25 => HealthLabel::Stale,
        _ => HealthLabel::Cold,
    }
}

pub fn health(input: &HealthInput) -> Health {
    if !input.is_warm {
        return Health {
            score: 0,
            label: HealthLabel::Cold,
            warnings: vec!["never warmed: queries go to the database".into()],
            concerns: vec![Concern::NeverWarmed],
            recommendations: vec!["Warm this source.".into()],
        };
    }
    let (mut warnings, mut concerns) = (Vec::new(), Vec::new());
    let mut warn = |concern: Concern, text: String| {
        concerns.push(concern);
        warnings.push(text);
    };
    let mut recommendations = Vec::new();
    let age = age_points(input.age_minutes);
    if age < 40 {
        warn(Concern::Age, format!("cache is {} old", human_age(input.age_minutes)));
        recommendations.push(if age <= 10 {
            "Re-warm now and add a schedule so it stays fresh.".to_string()
        } else {
            "Re-warm soon, or schedule warms more often.".to_string()
        });
    }
    let hits = hit_rate_points(input.hit_rate);
    match input.hit_rate {
        None => warn(Concern::NoTraffic, "no queries recorded since last warm".into()),
        Some(h) if hits < 40 => {
            warn(Concern::HitRate, format!("hit rate is {h:.1} %"));
            recommendations.push(
                "Check which queries miss: a missing measure, practice or frequency in the source, or a cold period."
                    .into(),
            );
        }
        Some(_) => {}
    }
    let mut coverage = 0;
    if input.unique_measures > 0 {
        coverage += 10;
    } else {
        warn(Concern::Coverage, "no measures cached".into());
    }
    if input.unique_practices > 0 {
        coverage += 10;
    } else {
        warn(Concern::Coverage, "no practices cached".into());
    }
    if coverage < 20 {
        recommendations
            .push("The source returned no usable rows: check its table and grouping columns, then re-warm.".into());
    }
    let score = age + hits + coverage;
    Health { score, label: label(score), warnings, concerns, recommendations }
}

fn human_age(minutes: f64) -> String {
    if minutes < 120.0 { format!("{minutes:.0} minutes") } else { format!("{:.1} hours", minutes / 60.0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warm(age: f64, hit: Option<f64>, measures: u64, practices: u64) -> Health {
        health(&HealthInput {
            is_warm: true,
            age_minutes: age,
            hit_rate: hit,
            unique_measures: measures,
            unique_practices: practices,
        })
    }

    #[test]
    fn age_brackets_follow_the_spec() {
        for (age, points) in [
            (0.0, 40),
            (59.9, 40),
            (60.0, 35),
            (119.9, 35),
            (120.0, 30),
            (239.9, 30),
            (240.0, 20),
            (359.9, 20),
            (360.0, 10),
            (719.9, 10),
            (720.0, 0),
            (5000.0, 0),
        ] {
            assert_eq!(age_points(age), points, "age {age}");
        }
    }

    #[test]
    fn hit_rate_brackets_follow_the_spec() {
        for (rate, points) in [
            (100.0, 40),
            (95.0, 40),
            (94.9, 35),
            (90.0, 35),
            (89.9, 30),
            (80.0, 30),
            (79.9, 20),
            (70.0, 20),
            (69.9, 10),
            (50.0, 10),
            (49.9, 0),
            (0.0, 0),
        ] {
            assert_eq!(hit_rate_points(Some(rate)), points, "rate {rate}");
        }
        assert_eq!(hit_rate_points(None), 40);
    }

    #[test]
    fn label_boundaries_follow_the_spec() {
        for (score, l) in [
            (100, HealthLabel::Excellent),
            (90, HealthLabel::Excellent),
            (89, HealthLabel::Good),
            (75, HealthLabel::Good),
            (74, HealthLabel::Degraded),
            (50, HealthLabel::Degraded),
            (49, HealthLabel::Stale),
            (25, HealthLabel::Stale),
            (24, HealthLabel::Cold),
            (0, HealthLabel::Cold),
        ] {
            assert_eq!(label(score), l, "score {score}");
        }
    }

    #[test]
    fn a_fresh_busy_cache_is_excellent_without_warnings() {
        let h = warm(5.0, Some(99.0), 8, 355);
        assert_eq!((h.score, h.label), (100, HealthLabel::Excellent));
        assert!(h.warnings.is_empty() && h.recommendations.is_empty());
    }

    #[test]
    fn no_queries_since_warm_scores_full_with_a_warning() {
        let h = warm(5.0, None, 8, 355);
        assert_eq!(h.score, 100);
        assert_eq!(h.warnings, vec!["no queries recorded since last warm"]);
    }

    #[test]
    fn each_lost_range_says_why() {
        let h = warm(300.0, Some(75.0), 0, 10);
        assert_eq!(h.score, 20 + 20 + 10);
        assert_eq!(h.label, HealthLabel::Degraded);
        assert!(h.warnings.iter().any(|w| w.contains("old")));
        assert!(h.warnings.iter().any(|w| w.contains("hit rate is 75.0")));
        assert!(h.warnings.iter().any(|w| w.contains("no measures")));
        assert_eq!(h.recommendations.len(), 3);
    }

    #[test]
    fn stale_and_cold_labels_come_from_low_scores() {
        assert_eq!(warm(400.0, Some(55.0), 3, 3).label, HealthLabel::Stale); // 10 + 10 + 20
        assert_eq!(warm(800.0, Some(40.0), 3, 3).label, HealthLabel::Cold); // 0 + 0 + 20
        assert_eq!(warm(800.0, Some(40.0), 0, 0).score, 0);
        let never = health(&HealthInput {
            is_warm: false,
            age_minutes: 0.0,
            hit_rate: Some(100.0),
            unique_measures: 5,
            unique_practices: 5,
        });
        assert_eq!((never.score, never.label), (0, HealthLabel::Cold));
    }
}
