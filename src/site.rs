//! The Leptos site settings of the binary. Under `cargo leptos` they come from the `LEPTOS_*`
//! variables it sets; a deployed binary reads them from `Leptos.toml` (HEARTH_LEPTOS_CONFIG).

use leptos::config::{LeptosOptions, get_configuration};

use crate::config::Config;

pub fn leptos_options(config: &Config) -> Result<LeptosOptions, String> {
    let path = config.leptos_config.to_string_lossy().to_string();
    let conf = if config.leptos_config.exists() { get_configuration(Some(&path)) } else { get_configuration(None) };
    let mut options = conf
        .map_err(|e| format!("HEARTH_LEPTOS_CONFIG: cannot read the site settings from {path}: {e}"))?
        .leptos_options;
    options.site_addr = config.bind;
    Ok(options)
}
