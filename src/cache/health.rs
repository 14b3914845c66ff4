//! Health of one source's cache, exactly per SPEC §4. Pure, so the browser computes the same
//! label the server reports.

use crate::model::cache::{HealthLabel, HealthPart};

#[derive(Debug, Clone, PartialEq)]
pub struct HealthInput {
    pub is_warm: bool,
    /// Cold now, but warm before a whole-source invalidation.
    pub invalidated: bool,
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
    /// Distinct recommendations, in the order of the warnings they answer.
    pub recommendations: Vec<String>,
    /// Each warning with its own recommendation, in the order of `warnings`.
    pub findings: Vec<Finding>,
    /// The four parts of the score (SPEC §4), summing to `score`.
    pub parts: Vec<HealthPart>,
}

/// A warning and the recommendation that answers it.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub concern: Concern,
    pub warning: String,
    pub recommendation: String,
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

const WARM_IT: &str = "Warm this source.";
const NO_TRAFFIC: &str = "Nothing to fix yet: the hit rate is measured once clients query this source after its warm.";
const NO_ROWS: &str = "The source returned no usable rows: check its table and grouping columns, then re-warm.";

fn part(part: &str, label: &str, points: u32, max: u32, measured: bool) -> HealthPart {
    HealthPart { part: part.into(), label: label.into(), points, max, measured, warning: None, recommendation: None }
}

pub fn health(input: &HealthInput) -> Health {
    if !input.is_warm {
        let warning = if input.invalidated {
            "invalidated since its last warm: queries go to the database".to_string()
        } else {
            "never warmed: queries go to the database".to_string()
        };
        let mut age = part("age", "Cache age", 0, 40, false);
        age.warning = Some(warning.clone());
        age.recommendation = Some(WARM_IT.into());
        return Health {
            score: 0,
            label: HealthLabel::Cold,
            warnings: vec![warning.clone()],
            concerns: vec![Concern::NeverWarmed],
            recommendations: vec![WARM_IT.into()],
            findings: vec![Finding { concern: Concern::NeverWarmed, warning, recommendation: WARM_IT.into() }],
            parts: vec![
                age,
                part("hitRate", "Hit rate", 0, 40, false),
                part("measures", "Measures cached", 0, 10, false),
                part("practices", "Practices cached", 0, 10, false),
            ],
        };
    }
    let mut findings = Vec::new();
    let mut parts = Vec::new();
    let mut add = |mut p: HealthPart, finding: Option<(Concern, String, String)>| {
        if let Some((concern, warning, recommendation)) = finding {
            p.warning = Some(warning.clone());
            p.recommendation = Some(recommendation.clone());
            findings.push(Finding { concern, warning, recommendation });
        }
        parts.push(p);
    };
    let age = age_points(input.age_minutes);
    add(
        part("age", "Cache age", age, 40, true),
        (age < 40).then(|| {
            let recommendation = if age <= 10 {
                "Re-warm now and add a schedule so it stays fresh."
            } else {
                "Re-warm soon, or schedule warms more often."
            };
            (Concern::Age, format!("cache is {} old", human_age(input.age_minutes)), recommendation.to_string())
        }),
    );
    let hits = hit_rate_points(input.hit_rate);
    add(
        part("hitRate", "Hit rate", hits, 40, input.hit_rate.is_some()),
        match input.hit_rate {
            None => Some((Concern::NoTraffic, "no queries recorded since last warm".into(), NO_TRAFFIC.into())),
            Some(h) if hits < 40 => Some((
                Concern::HitRate,
                format!("hit rate is {h:.1} %"),
                "Check which queries miss: a missing measure, practice or frequency in the source, or a cold period."
                    .into(),
            )),
            Some(_) => None,
        },
    );
    let measures = if input.unique_measures > 0 { 10 } else { 0 };
    add(
        part("measures", "Measures cached", measures, 10, true),
        (measures == 0).then(|| (Concern::Coverage, "no measures cached".into(), NO_ROWS.into())),
    );
    let practices = if input.unique_practices > 0 { 10 } else { 0 };
    add(
        part("practices", "Practices cached", practices, 10, true),
        (practices == 0).then(|| (Concern::Coverage, "no practices cached".into(), NO_ROWS.into())),
    );
    let score = age + hits + measures + practices;
    let mut recommendations: Vec<String> = Vec::new();
    for f in &findings {
        if f.concern != Concern::NoTraffic && !recommendations.contains(&f.recommendation) {
            recommendations.push(f.recommendation.clone());
        }
    }
    Health {
        score,
        label: label(score),
        warnings: findings.iter().map(|f| f.warning.clone()).collect(),
        concerns: findings.iter().map(|f| f.concern).collect(),
        recommendations,
        findings,
        parts,
    }
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
            invalidated: false,
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
        let hit = h.parts.iter().find(|p| p.part == "hitRate").unwrap();
        assert!(!hit.measured, "the hit-rate part is marked unmeasured");
        assert_eq!(hit.recommendation.as_deref(), Some(NO_TRAFFIC));
    }

    #[test]
    fn the_parts_sum_to_the_score_and_pair_each_warning_with_its_recommendation() {
        for h in [warm(5.0, Some(99.0), 8, 355), warm(300.0, Some(75.0), 0, 10), warm(800.0, None, 0, 0)] {
            assert_eq!(h.parts.len(), 4);
            assert_eq!(h.parts.iter().map(|p| p.points).sum::<u32>(), h.score);
        }
        // Age fine, no traffic, no measures: the coverage warning gets the coverage advice,
        // not the first recommendation in a list.
        let h = warm(5.0, None, 0, 3);
        assert_eq!(h.findings.len(), 2);
        assert_eq!(h.findings[0].concern, Concern::NoTraffic);
        assert_eq!(h.findings[0].recommendation, NO_TRAFFIC);
        assert_eq!(
            (h.findings[1].warning.as_str(), h.findings[1].recommendation.as_str()),
            ("no measures cached", NO_ROWS)
        );
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
            invalidated: false,
            age_minutes: 0.0,
            hit_rate: Some(100.0),
            unique_measures: 5,
            unique_practices: 5,
        });
        assert_eq!((never.score, never.label), (0, HealthLabel::Cold));
    }
}
