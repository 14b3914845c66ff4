//! The `hearth` binary: serve the console (default), or run one of the maintenance subcommands.

use std::process::ExitCode;

use hearth::config::Config;
use hearth::state::AppState;

fn usage() -> &'static str {
    "usage: hearth [command]\n\n\
     \x20 serve                 serve the console and API (default)\n\
     \x20 seed-postgres --url URL --practices N --source-id ID [--schema ih] [--table agg_app_measures]\n\
     \x20                       [--registry-schema public] [--name NAME]\n\
     \x20                       create an agg_app_measures-shaped table (2,816 rows per practice) and its registry rows\n\
     \x20 bench warm --url URL [--practices 87,355] [--no-seed true]\n\
     \x20                       seed, then time a cold warm and a re-warm of each size (see BENCHMARKS.md)\n\
     \x20 bench query --url URL [--practices 355] [--callers 1,16] [--seconds 10] [--all true]\n\
     \x20                       latency percentiles of cached queries\n\n\
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
            "warm" => hearth::bench::bench_warm(url, &list("practices", "87,355")?, !f.contains_key("no-seed")).await,
            "warm-once" => {
                let practices = list("practices", "87")?[0];
                hearth::bench::warm_once(url, practices, f.get("run").map(String::as_str).unwrap_or("bench")).await
            }
            "query" => {
                let callers: Vec<usize> = list("callers", "1,16")?.into_iter().map(|c| c as usize).collect();
                let seconds = list("seconds", "10")?[0] as u64;
                hearth::bench::bench_query(url, list("practices", "355")?[0], &callers, seconds, f.contains_key("all"))
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
    use hearth::source::seed::{SeedOptions, seed_postgres};
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

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
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

async fn serve() -> ExitCode {
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("hearth: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    hearth::telemetry::init(&config);
    let leptos_options = match hearth::site::leptos_options(&config) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("hearth: {e}");
            return ExitCode::from(2);
        }
    };
    let bind = config.bind;
    let state = match AppState::new(config, leptos_options) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("hearth: {e}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(bind).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("hearth: HEARTH_BIND: cannot listen on {bind}: {e}");
            return ExitCode::from(2);
        }
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let background = hearth::server::spawn_background(&state, stop_rx);
    let app = hearth::server::router(state.clone());
    tracing::info!(auth = state.config.auth.mode_name(), prefix = %state.config.key_prefix, "Hearth listening on http://{bind}");
    // The peer address lets dev mode check that its caller is on this machine.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await;
    // Background tasks finish their step (flush counters, hand back jobs) before the process ends.
    let _ = stop_tx.send(true);
    for task in background {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), task).await;
    }
    if let Err(e) = served {
        tracing::error!(error = %e, "server stopped with an error");
        return ExitCode::FAILURE;
    }
    tracing::info!("Hearth stopped");
    ExitCode::SUCCESS
}

/// Resolves on SIGINT or SIGTERM; in-flight requests then finish before the process exits.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
