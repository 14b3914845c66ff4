//! The `hearth` command line: which command runs, its `--flag value` pairs, the usage text, and
//! the maintenance commands (`seed-postgres`, `bench`). Serving stays with the binary.

use std::future::Future;
use std::process::ExitCode;

/// Runs the command `args` (the process arguments after the program name) names; `serve` is
/// called for `serve` and for no command at all. Errors print the usage and exit with 2.
pub async fn run<F: Future<Output = ExitCode>>(args: &[String], serve: impl FnOnce() -> F) -> ExitCode {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{}", usage());
        return ExitCode::SUCCESS;
    }
    match args.first().map(String::as_str) {
        None | Some("serve") => serve().await,
        Some("seed-postgres") => seed_postgres(&args[1..]).await,
        Some("bench") => bench(&args[1..]).await,
        Some("help") => {
            println!("{}", usage());
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("hearth: unknown command `{other}`\n\n{}", usage());
            ExitCode::from(2)
        }
    }
}

fn usage() -> &'static str {
    "usage: hearth [command]\n\n\
     \x20 serve                 serve the console and API (default)\n\
     \x20 seed-postgres --url URL --practices N --source-id ID [--schema ih] [--table agg_app_measures]\n\
     \x20                       [--registry-schema public] [--name NAME]\n\
     \x20                       create an agg_app_measures-shaped table (2,816 rows per practice) and its registry rows\n\
     \x20 bench warm --url URL [--practices 87,355] [--no-seed true] [--change 0,1,30,100]\n\
     \x20                       seed, then time a cold first warm (in place, then through a shadow copy) and a\n\
     \x20                       full re-warm of each size; with --change,\n\
     \x20                       change that % of entries and time an incremental re-warm, per rate (see BENCHMARKS.md)\n\
     \x20 bench query --url URL [--practices 355] [--callers 1,16] [--seconds 10] [--all true] [--hot N]\n\
     \x20                       latency percentiles of cached queries (--hot: cycle through N filters;\n\
     \x20                       HEARTH_QUERY_CACHE_BYTES=0 measures without the result cache)\n\n\
     Configuration comes from HEARTH_* environment variables; see README.md."
}

/// `--flag value` pairs after the subcommand.
fn flags(args: &[String]) -> Result<std::collections::HashMap<String, String>, String> {
    let mut out = std::collections::HashMap::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let name = flag.strip_prefix("--").ok_or_else(|| format!("expected a --flag, got `{flag}`"))?;
        let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
        out.insert(name.to_string(), value.clone());
    }
    Ok(out)
}

async fn bench(args: &[String]) -> ExitCode {
    let run = async {
        let (what, rest) = args.split_first().ok_or("bench needs `warm` or `query`")?;
        let f = flags(rest)?;
        let url = f.get("url").ok_or("--url is required")?;
        let list = |name: &str, default: &str| -> Result<Vec<u32>, String> {
            f.get(name)
                .map(String::as_str)
                .unwrap_or(default)
                .split(',')
                .map(|v| v.trim().parse().map_err(|_| format!("--{name} takes numbers")))
                .collect()
        };
        let result = match what.as_str() {
            "warm" => {
                let changes = if f.contains_key("change") { list("change", "")? } else { Vec::new() };
                if changes.iter().any(|c| *c > 100) {
                    return Err("--change takes percentages (0 to 100)".into());
                }
                crate::bench::bench_warm(url, &list("practices", "87,355")?, !f.contains_key("no-seed"), &changes).await
            }
            "warm-once" => {
                let practices = list("practices", "87")?[0];
                let run = f.get("run").map(String::as_str).unwrap_or("bench");
                crate::bench::warm_once(url, practices, run, f.get("full").is_some_and(|v| v == "true")).await
            }
            "query" => {
                let callers: Vec<usize> = list("callers", "1,16")?.into_iter().map(|c| c as usize).collect();
                let seconds = list("seconds", "10")?[0] as u64;
                let hot = list("hot", "0")?[0] as u64;
                crate::bench::bench_query(
                    url,
                    list("practices", "355")?[0],
                    &callers,
                    seconds,
                    f.contains_key("all"),
                    hot,
                )
                .await
            }
            other => return Err(format!("unknown bench `{other}`")),
        };
        result.map_err(|e| e.message)
    };
    match run.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hearth bench: {e}\n\n{}", usage());
            ExitCode::from(2)
        }
    }
}

async fn seed_postgres(args: &[String]) -> ExitCode {
    use crate::source::seed::{SeedOptions, seed_postgres};
    let run = async {
        let f = flags(args)?;
        let url = f.get("url").ok_or("--url is required")?;
        let practices: u32 =
            f.get("practices").ok_or("--practices is required")?.parse().map_err(|_| "--practices must be a number")?;
        let id: i64 =
            f.get("source-id").map(|s| s.parse()).transpose().map_err(|_| "--source-id must be a number")?.unwrap_or(1);
        let mut o = SeedOptions::new(url, practices, id);
        for (flag, field) in [
            ("schema", &mut o.schema),
            ("table", &mut o.table),
            ("registry-schema", &mut o.registry_schema),
            ("name", &mut o.name),
        ] {
            if let Some(v) = f.get(flag) {
                *field = v.clone();
            }
        }
        let report = seed_postgres(&o).await.map_err(|e| e.message)?;
        println!(
            "seeded {}.{}: {} rows, {} groups, source id {} registered, in {:.1} s",
            o.schema,
            o.table,
            report.rows,
            report.groups,
            o.source_id,
            report.millis as f64 / 1000.0
        );
        Ok::<_, String>(())
    };
    match run.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hearth seed-postgres: {e}\n\n{}", usage());
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_come_in_name_value_pairs() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let f = flags(&args(&["--url", "postgres://x", "--practices", "3"])).unwrap();
        assert_eq!(f.get("url").map(String::as_str), Some("postgres://x"));
        assert_eq!(f.get("practices").map(String::as_str), Some("3"));
        assert_eq!(flags(&args(&["url", "x"])).unwrap_err(), "expected a --flag, got `url`");
        assert_eq!(flags(&args(&["--url"])).unwrap_err(), "--url needs a value");
    }
}
