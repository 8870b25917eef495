//! `pve-traffic-exporter`: parse arguments, load the config, set up logging, run.
//!
//! Exit status: 0 after a clean shutdown (SIGTERM/SIGINT), 2 for a bad config or command
//! line, 1 when the exporter cannot run (database, listener).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use pve_traffic::config;

/// Exact per-guest traffic of a Proxmox VE cluster, served as Prometheus metrics.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Config file (default: $PVE_TRAFFIC_CONFIG, else ./config.yaml).
    #[arg(long, short, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Poll PVE, keep history, serve /metrics (the default).
    Serve,
    /// Validate the config and print it as it will be used, secrets masked.
    CheckConfig,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

fn main() -> ExitCode {
    let args = Args::parse();
    init_logging(args.log_format);
    let env = |k: &str| std::env::var(k).ok();
    let path = config::config_path(args.config.as_deref(), &env);
    let loaded = match config::load(&path, &env) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("pve-traffic-exporter: {e}");
            return ExitCode::from(2);
        }
    };
    for w in &loaded.warnings {
        tracing::warn!("{}: {w}", path.display());
    }
    match args.command.unwrap_or(Command::Serve) {
        Command::CheckConfig => {
            print!("{}", loaded.config.to_masked_yaml());
            eprintln!("{}: OK", path.display());
            ExitCode::SUCCESS
        }
        Command::Serve => serve(loaded.config),
    }
}

fn serve(config: config::Config) -> ExitCode {
    // One thread does it all: a poll cycle and a scrape each take milliseconds, and a single
    // thread keeps memory low (one allocator arena, no idle workers).
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pve-traffic-exporter: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(pve_traffic::exporter::run(config, shutdown_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pve-traffic-exporter: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGTERM; Ctrl-C only");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
