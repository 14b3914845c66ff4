//! Data sources as the console and the REST API list them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// Rows grouped by measure, practice, provider and period; warmed into index sets.
    MeasureBased,
    /// Listed for completeness; not warmed through index sets.
    TableBased,
}

impl SourceKind {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "measure-based" => Some(SourceKind::MeasureBased),
            "table-based" => Some(SourceKind::TableBased),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceInfo {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub kind: Option<SourceKind>,
    /// `postgresql` or `sqlite`.
    pub backend: String,
    pub schema: String,
    pub table: String,
    pub period_column: String,
    /// Rows in the table, counted at most a minute ago; `None` when the source failed.
    pub row_count: Option<u64>,
    pub counted_at: Option<String>,
    /// A measure-based source whose table and columns check out.
    pub warmable: bool,
    /// What is wrong with this source, if anything.
    pub error: Option<String>,
}
