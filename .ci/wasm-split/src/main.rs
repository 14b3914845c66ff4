//! `hearth-wasm-split <input.wasm> <out-dir> <name>`
//!
//! Writes into `<out-dir>`: `<name>_split.wasm` (the main module, for wasm-bindgen), one
//! `split_*.wasm`/`chunk_*.wasm` per lazily loaded part, the loader
//! `__wasm_split.______________________.js` (the name Leptos links; the main module imports it
//! and it imports `./<name>.js`), and `__wasm_split_manifest.json` (which chunks each split point
//! needs: the server turns it into preload links for the page being rendered).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

const LINK_NAME: &str = "./__wasm_split.______________________.js";
const MANIFEST: &str = "__wasm_split_manifest.json";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, out_dir, name] = args.as_slice() else {
        eprintln!("usage: hearth-wasm-split <input.wasm> <out-dir> <name>");
        return ExitCode::from(2);
    };
    match split(input.into(), out_dir.into(), name) {
        Ok(chunks) => {
            println!("{chunks} lazily loaded chunk(s) written to {out_dir}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("hearth-wasm-split: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn split(input: PathBuf, out_dir: PathBuf, name: &str) -> Result<usize, Box<dyn std::error::Error>> {
    let wasm = std::fs::read(&input).map_err(|e| format!("cannot read {}: {e}", input.display()))?;
    let main_out = out_dir.join(format!("{name}_split.wasm"));
    let main_module = format!("./{name}.js");
    let mut options = wasm_split_cli_support::Options::new(&wasm);
    options.output_dir = &out_dir;
    options.main_out_path = &main_out;
    options.link_name = LINK_NAME;
    options.main_module = &main_module;
    let split = wasm_split_cli_support::transform(options)?;
    // Sorted: the same input then gives the same bytes (and the same bundle hash) on every run.
    let manifest: BTreeMap<_, _> = split.prefetch_map.into_iter().collect();
    std::fs::write(out_dir.join(MANIFEST), serde_json::to_string_pretty(&manifest)?)?;
    Ok(split.split_modules.len())
}
