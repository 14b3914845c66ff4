//! `hearth-wasm-split <input.wasm> <out-dir> <name>`
//!
//! Writes into `<out-dir>`: `<name>_split.wasm` (the main module, for wasm-bindgen), one
//! `split_*.wasm`/`chunk_*.wasm` per lazily loaded part, the loader
//! `__wasm_split.______________________.js` (the name Leptos links; the main module imports it
//! and it imports `./<name>.js`), and `__wasm_split_manifest.json` (which chunks each split point
//! needs: the server turns it into preload links for the page being rendered).
//!
//! `wasm_split_cli_support` puts the code each set of split points shares into a chunk of its
//! own, so ten pages make over a hundred chunks, most of them a few hundred bytes, each a file
//! with its own header, imports and call shims, compressed alone. Before the split that is
//! written, the chunks at least half the pages need and the small ones are merged into the main
//! module: their functions are exported from the input (the splitter keeps whatever the module
//! exports in the main module), the input is split again, until no such chunk is left, and the
//! extra exports are then removed from the main module.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use wasmparser::{KnownCustom, Name, Parser, Payload};

const LINK_NAME: &str = "./__wasm_split.______________________.js";
const MANIFEST: &str = "__wasm_split_manifest.json";
/// Exports added to the input so the splitter keeps a function in the main module; removed
/// from the main module again once split.
const PIN_PREFIX: &str = "__hearth_pin_";

type Error = Box<dyn std::error::Error>;

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

fn split(input: PathBuf, out_dir: PathBuf, name: &str) -> Result<usize, Error> {
    let wasm = std::fs::read(&input).map_err(|e| format!("cannot read {}: {e}", input.display()))?;
    let first_dir = out_dir.join(".first-pass");
    // The input's functions by name, read once: every round finds the chunks' functions in it.
    let mut by_name: HashMap<String, Vec<u32>> = HashMap::new();
    for (index, name) in function_names(&wasm)? {
        by_name.entry(name).or_default().push(index);
    }
    let mut pinned = BTreeSet::new();
    let mut rounds = 0;
    for _ in 0..6 {
        rounds += 1;
        let trial = with_pins(&wasm, &pinned)?;
        let first = transform(&trial, &first_dir, name)?;
        let merge = chunks_to_merge(&first, &first_dir);
        let more = pinned_functions(&by_name, &first_dir, &merge)?;
        std::fs::remove_dir_all(&first_dir)?;
        if more.is_subset(&pinned) {
            break;
        }
        pinned.extend(more);
    }
    let pinned_wasm = with_pins(&wasm, &pinned)?;
    let split = transform(&pinned_wasm, &out_dir, name)?;
    let main_path = out_dir.join(format!("{name}_split.wasm"));
    let main_wasm = std::fs::read(&main_path)?;
    let main_wasm =
        rewrite_exports(&main_wasm, |exports| exports.retain(|(name, _, _)| !name.starts_with(PIN_PREFIX)))?;
    std::fs::write(&main_path, main_wasm)?;
    eprintln!("{} function(s) of shared chunks kept in the main module ({rounds} round(s))", pinned.len());
    // Sorted: the same input then gives the same bytes (and the same bundle hash) on every run.
    let manifest: BTreeMap<_, _> = split.prefetch_map.into_iter().collect();
    std::fs::write(out_dir.join(MANIFEST), serde_json::to_string_pretty(&manifest)?)?;
    Ok(split.split_modules.len())
}

fn transform(wasm: &[u8], out_dir: &Path, name: &str) -> Result<wasm_split_cli_support::SplitWasm, Error> {
    let main_out = out_dir.join(format!("{name}_split.wasm"));
    let main_module = format!("./{name}.js");
    let mut options = wasm_split_cli_support::Options::new(wasm);
    options.output_dir = out_dir;
    options.main_out_path = &main_out;
    options.link_name = LINK_NAME;
    options.main_module = &main_module;
    Ok(wasm_split_cli_support::transform(options)?)
}

fn with_pins(wasm: &[u8], pinned: &BTreeSet<u32>) -> Result<Vec<u8>, Error> {
    rewrite_exports(wasm, |exports| {
        exports.extend(
            pinned.iter().map(|&index| (format!("{PIN_PREFIX}{index}"), wasmparser::ExternalKind::Func, index)),
        );
    })
}

/// A shared chunk smaller than this (bytes, before optimisation) costs its pages more as a file
/// of its own (module header, imports, a call shim per function it reaches across modules,
/// compressed alone) than its code costs the pages that would not need it.
const SMALL_CHUNK: u64 = 8_000;

/// The shared chunks whose code moves into the main module: those needed by at least half the
/// split points (most pages load them anyway) and the small ones. Measured per page in
/// BENCHMARKS.md ("Pages under their tabs, and chunks merged into the main module").
fn chunks_to_merge(split: &wasm_split_cli_support::SplitWasm, dir: &Path) -> Vec<String> {
    let points = split.prefetch_map.len();
    let mut users: BTreeMap<&str, usize> = BTreeMap::new();
    for files in split.prefetch_map.values() {
        for file in files.iter().filter(|f| f.starts_with("chunk_")) {
            *users.entry(file).or_default() += 1;
        }
    }
    let size = |chunk: &str| std::fs::metadata(dir.join(format!("{chunk}.wasm"))).map(|m| m.len()).unwrap_or(u64::MAX);
    users
        .into_iter()
        .filter(|&(chunk, by)| by * 2 >= points || size(chunk) < SMALL_CHUNK)
        .map(|(chunk, _)| chunk.to_string())
        .collect()
}

/// The input's indices of the functions the given first-pass chunks define (by name: the
/// splitter names each output function after its input function).
fn pinned_functions(
    by_name: &HashMap<String, Vec<u32>>,
    first_dir: &Path,
    chunks: &[String],
) -> Result<BTreeSet<u32>, Error> {
    let mut pinned = BTreeSet::new();
    for chunk in chunks {
        let chunk_wasm = std::fs::read(first_dir.join(format!("{chunk}.wasm")))?;
        for (_, name) in function_names(&chunk_wasm)? {
            if name.ends_with(" indirect_call_shim") || name.ends_with(" local_shim") {
                continue;
            }
            let indices =
                by_name.get(&name).ok_or_else(|| format!("{chunk} defines {name}, which the input does not name"))?;
            pinned.extend(indices.iter().copied());
        }
    }
    Ok(pinned)
}

/// Function index and name from a module's name section.
fn function_names(wasm: &[u8]) -> Result<Vec<(u32, String)>, Error> {
    let mut names = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        if let Payload::CustomSection(section) = payload?
            && let KnownCustom::Name(reader) = section.as_known()
        {
            for subsection in reader {
                if let Name::Function(map) = subsection? {
                    for naming in map {
                        let naming = naming?;
                        names.push((naming.index, naming.name.to_string()));
                    }
                }
            }
        }
    }
    Ok(names)
}

/// The module with its export section rewritten by `edit`; every other section copied as is
/// (so the input's relocations, which name sections by position, still hold).
fn rewrite_exports(
    wasm: &[u8],
    edit: impl FnOnce(&mut Vec<(String, wasmparser::ExternalKind, u32)>),
) -> Result<Vec<u8>, Error> {
    let mut module = wasm_encoder::Module::new();
    let mut edit = Some(edit);
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload?;
        if let Payload::ExportSection(reader) = &payload {
            let mut exports = Vec::new();
            for export in reader.clone() {
                let export = export?;
                exports.push((export.name.to_string(), export.kind, export.index));
            }
            (edit.take().expect("one export section"))(&mut exports);
            let mut section = wasm_encoder::ExportSection::new();
            for (name, kind, index) in &exports {
                section.export(name, (*kind).into(), *index);
            }
            module.section(&section);
        } else if let Some((id, range)) = payload.as_section() {
            let data = &wasm[range.start as usize..range.end as usize];
            module.section(&wasm_encoder::RawSection { id, data });
        }
    }
    if edit.is_some() {
        return Err("the module has no export section".into());
    }
    Ok(module.finish())
}
