//! What both daemons share at the process edge: log setup and the shutdown signal.

use std::future::IntoFuture;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;

use crate::config::{self, Config, SecretNeed};
use crate::pve::ClientOptions;

/// How log lines are written (to stderr).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<LogFormat, String> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!(
                "unknown log format '{other}': expected text or json"
            )),
        }
    }
}

/// Sets up `tracing` to stderr; the level comes from `RUST_LOG` (default `info`).
pub fn init_logging(format: LogFormat) {
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

/// Loads the config named by `--config` (else `PVE_TRAFFIC_CONFIG`, else `./config.yaml`)
/// and logs its warnings; `need` says whether the command talks to PVE and so needs the token
/// secret. On failure prints the error as `binary: …` and gives exit status 2 (a bad config
/// is the operator's to fix, not a crash).
pub fn load_config(
    binary: &str,
    arg: Option<&Path>,
    need: SecretNeed,
) -> Result<(PathBuf, Config), ExitCode> {
    let env = |k: &str| std::env::var(k).ok();
    let path = config::config_path(arg, &env);
    match config::load_with(&path, &env, need) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                tracing::warn!("{w}");
            }
            Ok((path, loaded.config))
        }
        Err(e) => {
            eprintln!("{binary}: {e}");
            Err(ExitCode::from(2))
        }
    }
}

/// Resolves on SIGTERM (systemd's stop) or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
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

/// A single-threaded Tokio runtime: each daemon's work is a few milliseconds per cycle or
/// scrape, and one thread keeps memory low (one allocator arena, no idle workers).
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// An HTTP server running beside a daemon's loop, stopped gracefully by [`HttpServer::stop`].
pub struct HttpServer {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl HttpServer {
    /// Serves `router` on `listener` in a task of its own.
    pub fn spawn(listener: tokio::net::TcpListener, router: axum::Router) -> HttpServer {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .into_future(),
        );
        HttpServer { stop, task }
    }

    /// Stops accepting, lets requests in flight finish, and waits for the task.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// The options both binaries take before (or after) their subcommand.
#[derive(clap::Args, Debug)]
pub struct GlobalArgs {
    /// Config file (default: $PVE_TRAFFIC_CONFIG, else ./config.yaml).
    #[arg(long, short, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Log format: text or json.
    #[arg(long, global = true, default_value = "text")]
    pub log_format: LogFormat,
}

/// Re-reads the config at `path` on every SIGHUP and hands it to the daemon through `tx`
/// (both daemons take their rules from it); a bad config is logged and the running rules
/// stay.
pub async fn reload_on_sighup(path: PathBuf, tx: tokio::sync::mpsc::Sender<Config>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        tracing::error!("cannot listen for SIGHUP; rules reload only on restart");
        return;
    };
    while hup.recv().await.is_some() {
        let env = |k: &str| std::env::var(k).ok();
        match config::load(&path, &env) {
            Ok(l) => {
                if tx.send(l.config).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "SIGHUP: config not reloaded; keeping the running rules")
            }
        }
    }
}

/// The PVE client's options from the config.
pub fn client_options(config: &Config) -> ClientOptions {
    ClientOptions {
        url: config.pve.url.clone(),
        token_id: config.pve.token_id.clone(),
        token_secret: config.pve.token_secret.clone(),
        ca_file: config.pve.tls.ca_file.clone(),
        fingerprint: config.pve.tls.fingerprint,
        insecure: config.pve.tls.insecure,
        timeout: config.pve.timeout,
        retries: 2,
    }
}
