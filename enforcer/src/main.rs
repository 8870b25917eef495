//! `pve-traffic-enforcer`: parse arguments, load the config, set up logging, run a command.
//!
//! Exit status: 0 on success, 2 for a bad config or command line, 1 when a command fails.

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use pve_traffic_core::config::SecretNeed;
use pve_traffic_core::daemon;
use pve_traffic_enforcer::{self as enforcer, Enforcer};

/// Enforces traffic quotas on Proxmox VE guests and restores exactly what it changed.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    global: daemon::GlobalArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Reconcile every `enforcer.interval_seconds` (the default).
    Run {
        /// Decide and log, but change nothing in PVE or the store.
        #[arg(long)]
        dry_run: bool,
    },
    /// One evaluation, no writes: a table of guests, rules, usage and what would happen
    /// (without the token secret: from the database alone, PVE not asked).
    Plan,
    /// The guests enforced now: since when, why, until when.
    Status,
    /// Validate the config and print it as it will be used, secrets masked.
    CheckConfig,
    /// Lift a guest's penalty for the rest of the period (logged as an operator action).
    Release {
        /// The guest's VMID.
        vmid: u32,
        /// Only this rule (default: every rule).
        #[arg(long)]
        rule: Option<String>,
    },
    /// Write man pages or shell completions (for packaging).
    #[command(hide = true)]
    Generate(pve_traffic_core::cli_docs::GenerateArgs),
}

fn main() -> ExitCode {
    let args = Args::parse();
    daemon::init_logging(args.global.log_format);
    if let Some(Command::Generate(g)) = &args.command {
        return g.run(Args::command());
    }
    // `status` reads only the store; `plan` asks PVE when it has the secret; every other
    // command reaches PVE or opens the enforcer, which builds its PVE client first.
    let need = match args.command {
        Some(Command::Status) => SecretNeed::NotNeeded,
        Some(Command::Plan) => SecretNeed::IfPresent,
        _ => SecretNeed::Required,
    };
    let (path, config) =
        match daemon::load_config("pve-traffic-enforcer", args.global.config.as_deref(), need) {
            Ok(loaded) => loaded,
            Err(code) => return code,
        };
    if let Some(Command::CheckConfig) = args.command {
        print!("{}", config.to_masked_yaml());
        eprintln!("{}: OK", path.display());
        return ExitCode::SUCCESS;
    }
    let runtime = match daemon::runtime() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pve-traffic-enforcer: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let now = jiff::Timestamp::now().as_millisecond();
        match args.command.unwrap_or(Command::Run { dry_run: false }) {
            Command::Run { dry_run } => {
                let (tx, rx) = tokio::sync::mpsc::channel(1);
                tokio::spawn(daemon::reload_on_sighup(path.clone(), tx));
                enforcer::run(config, dry_run, daemon::shutdown_signal(), rx).await
            }
            Command::Plan if config.pve.token_secret.is_empty() => {
                eprintln!(
                    "pve-traffic-enforcer: no token secret: the plan comes from the database \
                     alone; set PVE_API_TOKEN_SECRET to see what would be done in PVE"
                );
                print!("{}", enforcer::store_plan::store_plan(&config, now)?);
                Ok(())
            }
            Command::Plan => {
                enforcer::status::existing_database(&config)?;
                let mut e = Enforcer::open(&config, true)?;
                print!("{}", e.plan(now).await?);
                Ok(())
            }
            Command::Status => {
                print!("{}", enforcer::status::status(&config)?);
                Ok(())
            }
            Command::Release { vmid, rule } => {
                let mut e = Enforcer::open(&config, false)?;
                let r = e.release(vmid, rule.as_deref(), now)?;
                println!(
                    "released guest {vmid} ({}) until {}; the enforcer restores it at its next cycle",
                    r.rule.as_deref().unwrap_or("all rules"),
                    jiff::Timestamp::from_millisecond(r.until_ms).map(|t| t.to_string()).unwrap_or_default()
                );
                Ok(())
            }
            Command::Generate(_) | Command::CheckConfig => unreachable!("handled before"),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(enforcer::EnforcerError::Usage(msg)) => {
            eprintln!("pve-traffic-enforcer: {msg}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("pve-traffic-enforcer: {e}");
            ExitCode::FAILURE
        }
    }
}
