//! The Leptos site settings of the binary. Under `cargo leptos` they come from the `LEPTOS_*`
//! variables it sets; a deployed binary reads them from `Leptos.toml` (HEARTH_LEPTOS_CONFIG).
//! Also: which bundle names the pages link (content-hashed when `.ci/build` made them).

use std::path::{Path, PathBuf};

use leptos::config::{LeptosOptions, get_configuration};

use crate::config::Config;

/// Written by `.ci/build` beside the bundle: `js: <hash>`, `wasm: <hash>`, `css: <hash>`, the
/// names Leptos' `HydrationScripts` and `HashedStylesheet` then link (`hearth.<hash>.js`, …).
pub const HASH_FILE: &str = "hash.txt";

pub fn leptos_options(config: &Config) -> Result<LeptosOptions, String> {
    let path = config.leptos_config.to_string_lossy().to_string();
    let conf = if config.leptos_config.exists() { get_configuration(Some(&path)) } else { get_configuration(None) };
    let mut options = conf
        .map_err(|e| format!("HEARTH_LEPTOS_CONFIG: cannot read the site settings from {path}: {e}"))?
        .leptos_options;
    options.site_addr = config.bind;
    use_hashed_names(&mut options);
    Ok(options)
}

/// Links the content-hashed bundle when `.ci/build` wrote one that is current. A hash file older
/// than `hearth.js` means `cargo leptos watch` has rebuilt the plain names since, so those win.
/// Leptos looks for the hash file relative to the binary; an absolute path overrides that, so the
/// binary can live anywhere (`CARGO_TARGET_DIR`) while the site stays under `site-root`.
pub fn use_hashed_names(options: &mut LeptosOptions) {
    let pkg = absolute(Path::new(options.site_root.as_ref())).join(options.site_pkg_dir.as_ref());
    let hashes = pkg.join(HASH_FILE);
    let plain_js = pkg.join(format!("{}.js", options.output_name));
    let current = match (modified(&hashes), modified(&plain_js)) {
        (Some(h), Some(js)) => h >= js,
        (Some(_), None) => true,
        _ => false,
    };
    options.hash_files = current;
    if current {
        options.hash_file = hashes.to_string_lossy().to_string().into();
    }
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    std::env::current_dir().map(|dir| dir.join(path)).unwrap_or_else(|_| path.to_path_buf())
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}
