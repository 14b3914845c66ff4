//! The records a warm leaves beside the live cache: the metadata object of SPEC §1
//! (`cache:meta:{ds:N}:last_warm`) and the dimension list of the live generation. One type each,
//! written by the warm and read by statistics, jobs, schedules, the cutover and invalidation.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::AppError;
use crate::redis_conn::RedisResultExt;
use crate::state::AppState;

/// The metadata object (SPEC §1). Stored as a one-element JSON array.
///
/// Fields are declared in the alphabetical order of their JSON names: serde writes them in
/// declaration order, and alphabetical is the order the warm's former `json!` object wrote, so
/// the stored bytes did not change. Hearth's own fields default when absent, so metadata the
/// command center wrote parses too; the ones only Hearth writes and no reader needs are read
/// leniently, so a command center that spells one of them differently can never make a warm
/// source look cold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Meta {
    /// Bytes of entry JSON written.
    #[serde(deserialize_with = "lenient")]
    pub bytes: Option<u64>,
    #[serde(deserialize_with = "lenient")]
    pub datasource_id: Option<i64>,
    #[serde(deserialize_with = "lenient")]
    pub datasource_name: Option<String>,
    pub duration_ms: Option<u64>,
    /// Order-independent digest of the entry names (the cutover's fast path compares it).
    pub entries_digest: Option<String>,
    pub index_count: u64,
    /// The run that wrote the live generation.
    pub run_id: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub skipped_rows: Option<u64>,
    /// ISO-8601; when the warm finished reading.
    pub timestamp: String,
    pub total_entries: u64,
    pub total_rows: u64,
    /// Sorted.
    pub unique_frequencies: Vec<String>,
    pub unique_measures: u64,
    pub unique_practices: u64,
    pub unique_providers: u64,
    #[serde(deserialize_with = "lenient")]
    pub warmed_by: Option<String>,
}

/// What Hearth writes as `warmedBy`.
pub const WARMED_BY_HEARTH: &str = "hearth";

/// A value of the expected type, or `None` for anything else (null, another type).
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    Ok(serde_json::from_value(serde_json::Value::deserialize(d)?).ok())
}

impl Meta {
    /// `Some` when the stored value is a non-empty array (SPEC: that is what "warm" means).
    pub fn parse(raw: Option<&str>) -> Option<Meta> {
        let mut items: Vec<Meta> = serde_json::from_str(raw?).ok()?;
        if items.is_empty() { None } else { Some(items.swap_remove(0)) }
    }

    /// The stored value: the object in a one-element array.
    pub fn to_stored(&self) -> Result<String, AppError> {
        serde_json::to_string(&[self])
            .map_err(|e| AppError::internal(format!("the warm metadata could not be encoded: {e}")))
    }
}

/// The metadata of the last warm of `ds`, if the source is warm.
pub async fn last_warm(state: &AppState, ds: i64) -> Result<Option<Meta>, AppError> {
    let mut conn = state.redis.conn().await?;
    let raw: Option<String> =
        redis::cmd("GET").arg(state.keys.meta(ds)).query_async(&mut conn).await.ctx("reading the last warm")?;
    Ok(Meta::parse(raw.as_deref()))
}

/// What a whole-source invalidation leaves behind (`Keys::invalidated`): when it ran and when
/// the source had last been warmed, so "last warmed" stays true on a source now cold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Invalidated {
    /// ISO-8601.
    pub at: String,
    /// The metadata's `timestamp` at the time, if the source was warm.
    pub last_warmed: Option<String>,
}

impl Invalidated {
    pub fn parse(raw: Option<&str>) -> Option<Invalidated> {
        serde_json::from_str(raw?).ok()
    }

    pub fn to_stored(&self) -> Result<String, AppError> {
        serde_json::to_string(self)
            .map_err(|e| AppError::internal(format!("the invalidation record could not be encoded: {e}")))
    }
}

/// The dimension values of the live generation (`Keys::dims`), written by the cutover so a
/// slice can be invalidated through the index sets. Declared in alphabetical order, as [`Meta`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Dims {
    pub frequencies: Vec<String>,
    pub measures: Vec<String>,
    pub practices: Vec<String>,
}

impl Dims {
    /// `None` when absent or unreadable.
    pub fn parse(raw: Option<&str>) -> Option<Dims> {
        serde_json::from_str(raw?).ok()
    }

    pub fn to_stored(&self) -> Result<String, AppError> {
        serde_json::to_string(self)
            .map_err(|e| AppError::internal(format!("the dimension list could not be encoded: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn written() -> Meta {
        Meta {
            bytes: Some(5120),
            datasource_id: Some(3),
            datasource_name: Some("Measures".into()),
            duration_ms: Some(842),
            entries_digest: Some("00000000deadbeef".into()),
            index_count: 57,
            run_id: Some("j1abc".into()),
            skipped_rows: Some(2),
            timestamp: "2025-03-31T00:00:00.000Z".into(),
            total_entries: 12,
            total_rows: 98,
            unique_frequencies: vec!["Monthly".into(), "Weekly".into()],
            unique_measures: 2,
            unique_practices: 3,
            unique_providers: 4,
            warmed_by: Some(WARMED_BY_HEARTH.into()),
        }
    }

    #[test]
    fn written_metadata_keeps_the_spec_field_names_and_bytes() {
        // The object as the warm wrote it with `json!` before the type existed.
        let before = json!([{
            "timestamp": "2025-03-31T00:00:00.000Z",
            "uniqueMeasures": 2,
            "uniquePractices": 3,
            "uniqueProviders": 4,
            "uniqueFrequencies": ["Monthly", "Weekly"],
            "totalEntries": 12,
            "totalRows": 98,
            "skippedRows": 2,
            "indexCount": 57,
            "bytes": 5120,
            "runId": "j1abc",
            "entriesDigest": "00000000deadbeef",
            "durationMs": 842,
            "datasourceId": 3,
            "datasourceName": "Measures",
            "warmedBy": "hearth",
        }]);
        let stored = written().to_stored().unwrap();
        assert_eq!(stored, before.to_string());
        assert_eq!(Meta::parse(Some(&stored)), Some(written()));
    }

    #[test]
    fn command_center_metadata_parses_with_hearth_fields_absent() {
        let raw = r#"[{"timestamp":"2025-03-31T00:00:00.000Z","uniqueMeasures":8,"uniquePractices":355,
            "uniqueProviders":0,"uniqueFrequencies":["Monthly"],"totalEntries":40,"datasourceId":"3","bytes":null}]"#;
        let m = Meta::parse(Some(raw)).expect("warm");
        assert_eq!((m.unique_measures, m.unique_practices, m.total_entries), (8, 355, 40));
        assert_eq!((m.run_id, m.datasource_id, m.bytes), (None, None, None));
    }

    #[test]
    fn only_a_non_empty_array_is_warm() {
        assert_eq!(Meta::parse(None), None);
        assert_eq!(Meta::parse(Some("[]")), None);
        assert_eq!(Meta::parse(Some("not json")), None);
    }

    #[test]
    fn dims_round_trip_with_their_former_bytes() {
        let dims = Dims {
            frequencies: vec!["Monthly".into()],
            measures: vec!["Charges by Provider".into()],
            practices: vec![],
        };
        let before = json!({ "measures": ["Charges by Provider"], "practices": [], "frequencies": ["Monthly"] });
        let stored = dims.to_stored().unwrap();
        assert_eq!(stored, before.to_string());
        assert_eq!(Dims::parse(Some(&stored)), Some(dims));
    }
}
