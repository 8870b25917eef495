//! `pve-sim`: run the simulator from the command line (demos, manual exploration).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use pve_sim::{AdminToken, ClockMode, Options, Scenario};

/// A faithful Proxmox VE API simulator that knows the exact truth of every byte.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Args {
    /// Number of guests to generate (ignored with --scenario).
    #[arg(long, default_value_t = 20)]
    guests: u32,
    /// Number of nodes to generate (ignored with --scenario).
    #[arg(long, default_value_t = 3)]
    nodes: u32,
    /// Seed of the generated cluster and its traffic.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// A scenario file (YAML) instead of a generated cluster.
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    listen: std::net::IpAddr,
    /// TCP port (PVE uses 8006; 0 = any free port).
    #[arg(long, default_value_t = 8006)]
    port: u16,
    /// Serve plain HTTP instead of HTTPS.
    #[arg(long)]
    http: bool,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Simulated time moves only through POST /sim/advance.
    #[arg(long, conflicts_with = "speed")]
    manual: bool,
    /// API token as ID=SECRET (default: sim@pve!pve-traffic with a random secret).
    #[arg(long, value_name = "ID=SECRET")]
    token: Option<String>,
    /// Delay of 401 answers in milliseconds (PVE: 3000).
    #[arg(long, default_value_t = 3000)]
    auth_delay_ms: u64,
    /// PVE release to imitate: 7.4, 8.2, 8.4 or 9.1 (overrides the scenario's).
    #[arg(long)]
    pve_version: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pve-sim: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let mut scenario = match &args.scenario {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Scenario::from_yaml(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => Scenario::generate(args.guests, args.nodes, args.seed),
    };
    if let Some(v) = args.pve_version {
        scenario.pve_version = v;
    }
    if !(args.speed.is_finite() && args.speed > 0.0) {
        return Err("--speed must be a positive number".to_string());
    }
    let token = match args.token {
        Some(t) => {
            let (id, secret) = t
                .rsplit_once('=')
                .ok_or("--token must look like user@realm!name=SECRET")?;
            AdminToken {
                id: id.to_string(),
                secret: secret.to_string(),
            }
        }
        None => AdminToken {
            id: "sim@pve!pve-traffic".to_string(),
            secret: uuid::Uuid::new_v4().to_string(),
        },
    };
    let opts = Options {
        scenario,
        listen: SocketAddr::new(args.listen, args.port),
        tls: !args.http,
        clock: if args.manual {
            ClockMode::Manual
        } else {
            ClockMode::RealTime { speed: args.speed }
        },
        auth_delay: Duration::from_millis(args.auth_delay_ms),
        token,
    };
    let sim = pve_sim::start(opts).await.map_err(|e| e.to_string())?;
    let guests = sim.with_cluster(|c| c.guests.len());
    println!("pve-sim listening on {}", sim.base_url());
    println!("  API:         {}", sim.api_url());
    println!("  token id:    {}", sim.token_id());
    println!("  token secret:{}", format_args!(" {}", sim.token_secret()));
    if let Some(fp) = sim.fingerprint() {
        println!("  fingerprint: {fp}");
    }
    println!("  guests:      {guests}");
    println!("  truth:       {}/sim/truth", sim.base_url());
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| format!("cannot wait for Ctrl-C: {e}"))?;
    sim.stop();
    Ok(())
}
