//! The `hearth` binary: serve the console (default), or run one of the maintenance subcommands
//! of `hearth::cli`.

use std::process::ExitCode;

use hearth::config::Config;
use hearth::state::AppState;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    hearth::cli::run(&args, serve).await
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
    let metrics_listener = match state.config.metrics.bind {
        None => None,
        Some(addr) => match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => Some((addr, l)),
            Err(e) => {
                eprintln!("hearth: HEARTH_METRICS_BIND: cannot listen on {addr}: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut background = hearth::server::spawn_background(&state, stop_rx.clone());
    if let Some((addr, listener)) = metrics_listener {
        tracing::info!("metrics at http://{addr}/metrics");
        let app = hearth::metrics::listener_router(state.clone());
        let mut stop = stop_rx;
        background.push(tokio::spawn(async move {
            let stopped = async move {
                let _ = stop.changed().await;
            };
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stopped).await {
                tracing::error!(error = %e, "the metrics listener stopped with an error");
            }
        }));
    }
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
    // The last requests' audit entries reach the trail before the process ends.
    let unwritten = state.audit_writes.drain(std::time::Duration::from_secs(5)).await;
    if unwritten > 0 {
        tracing::error!(unwritten, "audit entries were still being written at exit (each is in its log line)");
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
