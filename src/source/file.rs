//! Sources listed in a TOML file (`HEARTH_SOURCES=file:<path>`), for deployments without the
//! command center's registry. See the README for the format.

use std::collections::HashSet;
use std::path::Path;

use serde::Deserialize;

use super::catalog::{DefEntry, SourceHeader};
use super::{GroupColumns, SourceDef, SourceKind};
use crate::error::AppError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourcesFile {
    #[serde(default, rename = "source")]
    sources: Vec<FileSource>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSource {
    id: i64,
    name: String,
    description: Option<String>,
    kind: Option<String>,
    /// `postgres://…` or `sqlite://…`.
    url: Option<String>,
    /// Name of an environment variable holding the URL (keeps passwords out of the file).
    url_env: Option<String>,
    schema: String,
    table: String,
    period_column: String,
    measure_column: Option<String>,
    practice_column: Option<String>,
    provider_column: Option<String>,
}

/// Parses the file; `connect` turns a URL into a pool (shared per URL by the catalog).
pub fn load(
    path: &Path,
    allowed_schemas: &[String],
    connect: &mut dyn FnMut(&str) -> Result<super::Db, AppError>,
) -> Result<Vec<DefEntry>, AppError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| AppError::validation(format!("HEARTH_SOURCES: cannot read {}: {e}", path.display())))?;
    let file: SourcesFile = toml::from_str(&text).map_err(|e| {
        AppError::validation(format!("HEARTH_SOURCES: {} is not a valid sources file: {e}", path.display()))
    })?;
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(file.sources.len());
    for s in file.sources {
        if !seen.insert(s.id) {
            return Err(AppError::validation(format!(
                "HEARTH_SOURCES: {} lists source id {} twice",
                path.display(),
                s.id
            )));
        }
        out.push(entry(s, allowed_schemas, connect));
    }
    Ok(out)
}

fn entry(
    s: FileSource,
    allowed_schemas: &[String],
    connect: &mut dyn FnMut(&str) -> Result<super::Db, AppError>,
) -> DefEntry {
    let label = format!("source {} ({})", s.id, s.name);
    let header = SourceHeader {
        id: s.id,
        name: s.name.clone(),
        description: s.description.clone(),
        kind: s.kind.as_deref().map_or(Some(SourceKind::MeasureBased), SourceKind::parse),
        backend: match &s.url {
            Some(u) if u.starts_with("sqlite:") => "sqlite",
            _ => "postgresql",
        }
        .to_string(),
        schema: s.schema.clone(),
        table: s.table.clone(),
        period_column: s.period_column.clone(),
    };
    let mut build = || -> Result<SourceDef, AppError> {
        let kind = header.kind.ok_or_else(|| {
            AppError::validation(format!("{label}: unknown kind `{}`", s.kind.clone().unwrap_or_default()))
        })?;
        let url = match (&s.url, &s.url_env) {
            (Some(u), None) => u.clone(),
            (None, Some(var)) => {
                std::env::var(var).map_err(|_| AppError::validation(format!("{label}: url_env {var} is not set")))?
            }
            _ => return Err(AppError::validation(format!("{label}: give exactly one of url and url_env"))),
        };
        let mut columns = GroupColumns::with_period(&s.period_column);
        if let Some(c) = &s.measure_column {
            columns.measure = c.clone();
        }
        if let Some(c) = &s.practice_column {
            columns.practice = c.clone();
        }
        if let Some(c) = &s.provider_column {
            columns.provider = c.clone();
        }
        let def = SourceDef {
            id: s.id,
            name: s.name.clone(),
            description: s.description.clone(),
            kind,
            schema: s.schema.clone(),
            table: s.table.clone(),
            columns,
            db: connect(&url).map_err(|e| AppError::validation(format!("{label}: {}", e.message)))?,
        };
        def.validate(allowed_schemas)?;
        Ok(def)
    };
    match build() {
        Ok(def) => DefEntry::Ok(def),
        Err(error) => DefEntry::Failed { header, error },
    }
}
