//! The enforcer: usage from the store → desired state per guest → PVE writes, only where
//! reality differs (a reconciler; see docs/design.md, "Enforcement").
//!
//! - what it persists, and why restarting it is safe, is the store's `enforcement` records;
//! - `desired`: the pure evaluation of rules against usage; `plan`: its table;
//! - `nic`: editing `netN` strings (rate, link_down) and restoring them exactly;
//! - `reconcile`: one guest, crash-safe, by the state PVE shows (HA, halted VMs, pending
//!   NIC changes); `cycle`: the whole cluster, fail-safe;
//! - `fresh`: whether a guest's pushed stats are fresh enough to act on;
//! - `status`: the guests enforced now, from the store alone (no PVE, no token secret);
//!   `store_plan`: `plan` from the store alone, for when there is no token secret;
//! - `metrics`: the enforcer's `/metrics`.
//!
//! [`Enforcer`] holds the client, the store and the persisted state; [`run`] is the daemon.

#![warn(missing_docs)]

pub mod cycle;
pub mod desired;
pub mod fresh;
pub mod metrics;
pub mod nic;
pub mod plan;
pub mod reconcile;
pub mod status;
pub mod store_plan;
#[cfg(test)]
mod testing;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use cycle::{run_cycle, CycleOutcome};
use metrics::Stats;
use pve_traffic_core::config::Config;
use pve_traffic_core::daemon::client_options;
use pve_traffic_core::daemon::HttpServer;
use pve_traffic_core::period::ts;
use pve_traffic_core::pve::{Client, PveError};
use pve_traffic_store::enforcement::{ActionRecord, GuestEnforcement, Release};
use pve_traffic_store::{self as store, Access, Backend, EnforcementStore, Store, StoreError};

/// Why the enforcer could not start or a command failed.
#[derive(Debug, thiserror::Error)]
pub enum EnforcerError {
    /// The database could not be opened or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// PVE could not be reached or refused.
    #[error(transparent)]
    Pve(#[from] PveError),
    /// The metrics listener could not be bound.
    #[error("cannot listen on {addr}: {source}; check enforcer.listen")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// A command got bad input.
    #[error("{0}")]
    Usage(String),
    /// `storage.dsn` names no file; a command that only looks does not create one.
    #[error("no database at {} (has the exporter run?)", .0.display())]
    NoDatabase(std::path::PathBuf),
    /// The enforcer would take no action now (fail safe), so there is nothing to plan.
    #[error("no plan: {0}; the enforcer takes no action while this lasts")]
    FailSafe(cycle::FailSafe),
}

/// The enforcer with its state, over any store with the enforcer's records: the backend
/// `storage.dsn` names ([`Enforcer::open`]) or another one ([`Enforcer::with_store`]).
pub struct Enforcer<S: Store + EnforcementStore = Backend> {
    config: Config,
    client: Client,
    store: S,
    state: BTreeMap<u32, GuestEnforcement>,
    /// What the cycles remember in memory only.
    memory: cycle::CycleMemory,
    dry_run: bool,
    stats: Arc<Mutex<Stats>>,
}

impl Enforcer {
    /// Opens the shared database (as a writer of the enforcement tables) and loads the
    /// persisted enforcement state. `dry_run` (or `enforcer.dry_run`) writes nothing.
    pub fn open(config: &Config, dry_run: bool) -> Result<Enforcer, EnforcerError> {
        // A writer of the enforcement tables only: the exporter owns the accounting tables.
        let store = store::open(&config.storage.dsn, Access::Enforcement)?;
        Enforcer::with_store(config, dry_run, store)
    }
}

impl<S: Store + EnforcementStore> Enforcer<S> {
    /// An enforcer over `store`, with the enforcement state persisted in it.
    pub fn with_store(
        config: &Config,
        dry_run: bool,
        store: S,
    ) -> Result<Enforcer<S>, EnforcerError> {
        let state = store.load_enforcements()?;
        Ok(Enforcer {
            client: Client::new(client_options(config))?,
            config: config.clone(),
            store,
            state,
            memory: Default::default(),
            dry_run: dry_run || config.enforcer.dry_run,
            stats: Arc::new(Mutex::new(Stats::default())),
        })
    }

    /// Replaces the rules (SIGHUP); everything else stays as started.
    pub fn reload_rules(&mut self, config: &Config) {
        self.config.rules = config.rules.clone();
    }

    /// The metrics shared with the HTTP server.
    pub fn stats(&self) -> Arc<Mutex<Stats>> {
        self.stats.clone()
    }

    /// What is enforced now, by VMID.
    pub fn state(&self) -> &BTreeMap<u32, GuestEnforcement> {
        &self.state
    }

    /// One cycle at `now_ms`.
    pub async fn cycle(&mut self, now_ms: i64) -> CycleOutcome {
        let out = run_cycle(
            &self.config,
            &self.client,
            &mut self.store,
            &mut self.state,
            &mut self.memory,
            now_ms,
            self.dry_run,
        )
        .await;
        match &out.fail_safe {
            Some(f) => {
                tracing::warn!(reason = f.reason(), "fail safe: no action this cycle: {f}")
            }
            None => tracing::info!(
                evaluated = out.evaluated,
                writes = out.writes,
                failures = out.failures,
                "enforcement cycle done"
            ),
        }
        self.stats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .record(&out, &self.state);
        out
    }

    /// One evaluation without any write, as a table (`plan`).
    pub async fn plan(&mut self, now_ms: i64) -> Result<String, EnforcerError> {
        let out = run_cycle(
            &self.config,
            &self.client,
            &mut self.store,
            &mut self.state,
            &mut Default::default(),
            now_ms,
            true,
        )
        .await;
        if let Some(f) = out.fail_safe {
            return Err(EnforcerError::FailSafe(f));
        }
        let state = &self.state;
        let current = |vmid: u32| {
            state
                .get(&vmid)
                .map_or("normal".to_string(), |r| r.applied.as_str().to_string())
        };
        let actions: BTreeMap<u32, String> = out
            .actions
            .iter()
            .map(|a| (a.vmid, format!("{} ({})", a.action, a.detail)))
            .collect();
        let action =
            |e: &desired::Evaluation| actions.get(&e.vmid).cloned().unwrap_or_else(|| "-".into());
        Ok(plan::render_plan(
            &out.evaluations,
            &current,
            &action,
            &self.config.monitor.timezone,
        ))
    }

    /// Lifts `vmid`'s penalty (of `rule`, or of every rule) until the end of the current
    /// period; the next cycle restores the guest. Logged as an operator action.
    pub fn release(
        &mut self,
        vmid: u32,
        rule: Option<&str>,
        now_ms: i64,
    ) -> Result<Release, EnforcerError> {
        let now = ts(now_ms);
        let tz = &self.config.monitor.timezone;
        let rules: Vec<_> = self
            .config
            .rules
            .iter()
            .filter(|r| rule.is_none_or(|n| r.name == n))
            .collect();
        if rules.is_empty() {
            let known: Vec<&str> = self.config.rules.iter().map(|r| r.name.as_str()).collect();
            return Err(EnforcerError::Usage(format!(
                "no rule named '{}'; rules: {}",
                rule.unwrap_or(""),
                known.join(", ")
            )));
        }
        let until_ms = rules
            .iter()
            .map(|r| r.window_at(now, tz).end.as_millisecond())
            .max()
            .unwrap_or(now_ms);
        let release = Release {
            vmid,
            rule: rule.map(str::to_string),
            until_ms,
            at_ms: now_ms,
        };
        self.store.add_release(&release)?;
        self.store.log_action(&ActionRecord {
            at_ms: now_ms,
            vmid,
            rule: release.rule.clone(),
            action: "release".into(),
            used: None,
            limit: None,
            result: "ok".into(),
            detail: format!(
                "released until {}",
                ts(until_ms).strftime("%Y-%m-%d %H:%M UTC")
            ),
            actor: "operator".into(),
        })?;
        Ok(release)
    }
}

/// Runs the enforcer until `shutdown` resolves: binds `enforcer.listen` (`/metrics`,
/// `/healthz`), runs a cycle every `enforcer.interval`, reloads rules when `reload` yields a
/// new config (SIGHUP). The cycle in progress completes before shutdown.
pub async fn run(
    config: Config,
    dry_run: bool,
    shutdown: impl Future<Output = ()>,
    reload: tokio::sync::mpsc::Receiver<Config>,
) -> Result<(), EnforcerError> {
    let addr = config.enforcer.listen;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| EnforcerError::Listen { addr, source })?;
    serve(config, dry_run, listener, shutdown, reload).await
}

/// [`run`] on a listener the caller bound (tests bind port 0 and learn the port first).
pub async fn serve(
    config: Config,
    dry_run: bool,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
    mut reload: tokio::sync::mpsc::Receiver<Config>,
) -> Result<(), EnforcerError> {
    let mut enforcer = Enforcer::open(&config, dry_run)?;
    let addr = listener.local_addr().unwrap_or(config.enforcer.listen);
    tracing::info!(%addr, dry_run = enforcer.dry_run, enforced = enforcer.state.len(), "enforcer started");
    let server = HttpServer::spawn(listener, metrics::router(enforcer.stats()));
    let mut ticker = tokio::time::interval(config.enforcer.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                enforcer.cycle(jiff::Timestamp::now().as_millisecond()).await;
            }
            Some(new) = reload.recv() => {
                tracing::info!(rules = new.rules.len(), "rules reloaded");
                enforcer.reload_rules(&new);
            }
            _ = &mut shutdown => break,
        }
    }
    tracing::info!("shutting down");
    server.stop().await;
    Ok(())
}
