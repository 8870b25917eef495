//! The exporter: poll PVE → account → commit → snapshot → `/metrics` (docs/design.md,
//! "Data flow"), and the tools that read what it kept. The binary `pve-traffic-exporter`
//! only parses its command line and calls these.
//!
//! The daemon:
//! - [`cycle`]: one poll's accounting into a store write;
//! - [`snapshot`]: what `/metrics` shows; [`metrics`]: rendering it, one collector per file;
//! - [`http`]: the HTTP endpoints.
//!
//! The tools (each reads the store through its traits, never PVE):
//! - [`report`]: reports (one guest, all guests, quota statements), built once and written
//!   as JSON or CSV; [`chart`]: the same reports as the render crate's charts;
//! - [`export`]: the `export` command; [`cleanup`]: the `cleanup` command; [`tool`]: what
//!   they share (exit status, time zone, progress);
//! - [`init`]: the `init` wizard that writes a config file.
//!
//! [`Exporter`] is the poller with its state; [`run`] is the daemon around it (a ticker, the
//! HTTP server, shutdown). Tests drive an `Exporter` directly, choosing "now" for each cycle.

#![warn(missing_docs)]

pub mod chart;
pub mod cleanup;
pub mod cycle;
pub mod export;
pub mod http;
pub mod init;
pub mod metrics;
pub mod report;
pub mod snapshot;
pub mod tool;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use cycle::{CycleReport, Ledger, Selection};
use http::SharedSnapshot;
use pve_traffic_core::config::Config;
use pve_traffic_core::daemon::HttpServer;
use pve_traffic_core::period::ts;
use pve_traffic_core::period::PeriodSpec;
use pve_traffic_core::pve::{Client, PveError};
use pve_traffic_store::{self as store, Access, Backend, Store, StoreError};
use snapshot::{GuestSnapshot, QuotaSnapshot, Snapshot};

/// Why the exporter stopped or a cycle failed.
#[derive(Debug, thiserror::Error)]
pub enum ExporterError {
    /// The database could not be opened or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// PVE could not be polled.
    #[error(transparent)]
    Pve(#[from] PveError),
    /// The metrics listener could not be bound.
    #[error(
        "cannot listen on {addr}: {source}; check exporter.listen (is another exporter running?)"
    )]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}

impl ExporterError {
    /// The `reason` label of `pve_traffic_poll_errors_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            ExporterError::Store(_) => "store",
            ExporterError::Pve(e) => e.reason_label(),
            ExporterError::Listen { .. } => "listen",
        }
    }
}

/// The calendar periods of the `period` gauges, in [`snapshot::PERIODS`] order.
fn calendar_specs() -> [PeriodSpec; 4] {
    [
        PeriodSpec::hour(),
        PeriodSpec::day(),
        PeriodSpec::week(),
        PeriodSpec::month(1),
    ]
}

/// Every period the ledger accumulates: the calendar periods and each rule's.
fn period_specs(config: &Config) -> Vec<PeriodSpec> {
    let mut specs: Vec<PeriodSpec> = calendar_specs().to_vec();
    for rule in &config.rules {
        if !specs.contains(&rule.period) {
            specs.push(rule.period);
        }
    }
    specs
}

/// The poller and everything it keeps between cycles, over any [`Store`]: the backend
/// `storage.dsn` names ([`Exporter::open`]) or another one ([`Exporter::with_store`]).
pub struct Exporter<S: Store = Backend> {
    config: Config,
    client: Client,
    store: S,
    ledger: Ledger,
    selection: Selection,
    shared: SharedSnapshot,
    poll_errors: BTreeMap<String, u64>,
    /// VMIDs seen in the last successful poll (the guests `/metrics` shows).
    present: BTreeSet<u32>,
    /// Usage in the current windows, by (period key, window start): read from the store
    /// once per window, then kept up to date from each committed cycle, so a snapshot costs
    /// no query (reading the current period does not grow with its polls).
    usage: HashMap<(String, i64), HashMap<u32, (u64, u64)>>,
}

impl Exporter {
    /// Opens the database `storage.dsn` names (creating and migrating it), restores the
    /// accountant's state from it and prepares the client.
    pub fn open(config: &Config) -> Result<Exporter, ExporterError> {
        let store = store::open(&config.storage.dsn, Access::Accounting)?;
        Exporter::with_store(config, store)
    }
}

impl<S: Store> Exporter<S> {
    /// An exporter over `store`: restores the accountant's state from it and prepares the
    /// client.
    pub fn with_store(config: &Config, store: S) -> Result<Exporter<S>, ExporterError> {
        let client = Client::new(pve_traffic_core::daemon::client_options(config))?;
        let ledger = Ledger::new(
            store.load_state()?,
            period_specs(config),
            config.monitor.timezone.clone(),
            config.monitor.max_bandwidth,
        );
        let selection = Selection {
            guest_types: config.monitor.guest_types.clone(),
            include_templates: config.monitor.include_templates,
            node: config.pve.node.clone(),
        };
        Ok(Exporter {
            config: config.clone(),
            client,
            store,
            ledger,
            selection,
            shared: Arc::new(RwLock::new(Arc::new(Snapshot::default()))),
            poll_errors: BTreeMap::new(),
            present: BTreeSet::new(),
            usage: HashMap::new(),
        })
    }

    /// The snapshot handle the HTTP server reads.
    pub fn shared(&self) -> SharedSnapshot {
        self.shared.clone()
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        http::current(&self.shared)
    }

    /// The store the exporter commits to.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// One cycle at `now_ms`: one `GET /cluster/resources?type=vm`, accounting, one
    /// transaction, a new snapshot. On failure the last good guest data stays on show with
    /// `up` = 0 and the error counted.
    pub async fn poll_once(&mut self, now_ms: i64) -> Result<CycleReport, ExporterError> {
        let started = Instant::now();
        let result = match self.cycle(now_ms).await {
            Ok(report) => self.build_snapshot(now_ms).map(|snap| (report, snap)),
            Err(e) => Err(e),
        };
        let (result, mut snap) = match result {
            Ok((report, snap)) => (Ok(report), snap),
            Err(e) => {
                *self.poll_errors.entry(e.reason().to_string()).or_default() += 1;
                let mut snap = (*self.snapshot()).clone();
                snap.up = false;
                (Err(e), snap)
            }
        };
        snap.poll_duration = started.elapsed().as_secs_f64();
        snap.poll_errors = self.poll_errors.clone();
        self.publish(snap);
        result
    }

    async fn cycle(&mut self, now_ms: i64) -> Result<CycleReport, ExporterError> {
        let polled = self.client.cluster_guests().await?;
        let (write, report) = self.ledger.account(&polled, &self.selection, now_ms);
        if let Err(e) = self.store.commit_cycle(&write) {
            // The ledger already moved on; go back to what the database holds.
            self.reload()?;
            return Err(e.into());
        }
        self.present = write.guests.iter().map(|g| g.info.vmid).collect();
        // Windows not cached yet are read from the store, which has this cycle. The cache
        // holds a handful of windows: finding one by comparison costs no allocation, unlike
        // building a `(String, i64)` key for every guest and period.
        let mut windows: Vec<_> = self.usage.iter_mut().collect();
        for g in &write.guests {
            for (key, start, rx, tx) in &g.periods {
                let cached = windows
                    .iter_mut()
                    .find(|(k, _)| *k.0 == **key && k.1 == *start);
                if let Some((_, window)) = cached {
                    let u = window.entry(g.info.vmid).or_default();
                    u.0 += rx;
                    u.1 += tx;
                }
            }
        }
        Ok(report)
    }

    /// Replaces the rules (SIGHUP): a rule's period that is new is accumulated from the next
    /// cycle on; everything else stays as started.
    pub fn reload_rules(&mut self, config: &Config) {
        self.config.rules = config.rules.clone();
        self.ledger.set_specs(period_specs(&self.config));
        self.usage.clear();
    }

    fn reload(&mut self) -> Result<(), ExporterError> {
        self.usage.clear();
        let state = self.store.load_state()?;
        self.ledger = Ledger::new(
            state,
            period_specs(&self.config),
            self.config.monitor.timezone.clone(),
            self.config.monitor.max_bandwidth,
        );
        Ok(())
    }

    fn publish(&self, snap: Snapshot) {
        *self
            .shared
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(snap);
    }

    /// Builds the snapshot after a successful cycle: period usage comes from the store's
    /// accumulators (a cost independent of how many polls the period holds).
    fn build_snapshot(&mut self, now_ms: i64) -> Result<Snapshot, ExporterError> {
        let now = ts(now_ms);
        let tz = self.ledger.tz().clone();
        // (window start, window end in seconds, period key) of each calendar period and rule.
        let window = |spec: PeriodSpec| {
            let w = spec.window_at(now, &tz);
            (w.start.as_millisecond(), w.end.as_second(), spec.key())
        };
        let calendar: Vec<(i64, i64, String)> = calendar_specs().into_iter().map(window).collect();
        let rules: Vec<(i64, i64, String)> =
            self.config.rules.iter().map(|r| window(r.period)).collect();
        let current: BTreeSet<(String, i64)> = calendar
            .iter()
            .chain(&rules)
            .map(|(start, _, key)| (key.clone(), *start))
            .collect();
        // Windows that ended are dropped; new ones are read once.
        self.usage.retain(|k, _| current.contains(k));
        for k in current {
            if !self.usage.contains_key(&k) {
                let rows = self.store.period_usage(&k.0, k.1)?;
                self.usage.insert(k, rows);
            }
        }
        let usage = &self.usage;
        // Each period's usage map, found once rather than once per guest.
        let map_of = |(start, _, key): &(i64, i64, String)| usage.get(&(key.clone(), *start));
        let calendar_maps: Vec<_> = calendar.iter().map(map_of).collect();
        let rule_maps: Vec<_> = rules.iter().map(map_of).collect();
        let get = |map: Option<&HashMap<u32, (u64, u64)>>, vmid: u32| {
            map.and_then(|m| m.get(&vmid)).copied().unwrap_or((0, 0))
        };
        let mut snap = Snapshot {
            up: true,
            last_poll_ms: Some(now_ms),
            poll_errors: self.poll_errors.clone(),
            discarded: self.ledger.discarded.clone(),
            ..Snapshot::default()
        };
        for vmid in &self.present {
            let t = &self.ledger.guests[vmid];
            let mut periods = [(0, 0); 4];
            for (period, map) in periods.iter_mut().zip(&calendar_maps) {
                *period = get(*map, *vmid);
            }
            let id = t.info.guest_type.id(*vmid);
            snap.guests.push(GuestSnapshot {
                vmid: *vmid,
                id: id.clone(),
                guest_type: t.info.guest_type,
                name: t.info.name.clone(),
                node: t.info.node.clone(),
                tags: t.info.tags.join(";"),
                template: t.info.template,
                running: t.info.running,
                stats_age: t
                    .last
                    .as_ref()
                    .map_or(0.0, |c| (now_ms - c.at_ms).max(0) as f64 / 1000.0),
                rx_total: t.totals.rx,
                tx_total: t.totals.tx,
                resets: t.totals.resets,
                periods,
            });
            for ((rule, (_, end, _)), map) in self.config.rules.iter().zip(&rules).zip(&rule_maps) {
                if !rule.applies_to(*vmid, &t.info.tags) {
                    continue;
                }
                let (rx, tx) = get(*map, *vmid);
                snap.quotas.push(QuotaSnapshot {
                    vmid: *vmid,
                    id: id.clone(),
                    guest_type: t.info.guest_type,
                    rule: rule.name.clone(),
                    limit: rule.limit_bytes,
                    used: rule.used(rx, tx),
                    period_end: *end,
                });
            }
        }
        Ok(snap)
    }

    /// Drops history detail older than `monitor.data_retention_days`.
    pub fn apply_retention(&mut self, now_ms: i64) -> Result<u64, ExporterError> {
        Ok(self
            .store
            .apply_retention(now_ms, self.config.monitor.data_retention_days)?)
    }
}

/// How often retention runs.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// Runs the exporter until `shutdown` resolves: binds `exporter.listen`, polls every
/// `monitor.interval`, serves `/metrics`. A failed poll is logged and counted; the loop goes
/// on. The cycle in progress when `shutdown` fires completes first (its commit is atomic
/// either way).
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()>,
    reload: tokio::sync::mpsc::Receiver<Config>,
) -> Result<(), ExporterError> {
    let addr = config.exporter.listen;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ExporterError::Listen { addr, source })?;
    serve(config, listener, shutdown, reload).await
}

/// [`run`] on a listener the caller bound (tests bind port 0 and learn the port first).
pub async fn serve(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
    mut reload: tokio::sync::mpsc::Receiver<Config>,
) -> Result<(), ExporterError> {
    let mut exporter = Exporter::open(&config)?;
    let addr = config.exporter.listen;
    let bound = listener
        .local_addr()
        .map_err(|source| ExporterError::Listen { addr, source })?;
    tracing::info!(%bound, pve = %config.pve.url, interval_s = config.monitor.interval.as_secs(), "exporter started; metrics on /metrics");
    let server = HttpServer::spawn(listener, http::router(exporter.shared()));
    let mut ticker = tokio::time::interval(config.monitor.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_retention: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            Some(new) = reload.recv() => {
                exporter.reload_rules(&new);
                tracing::info!(rules = new.rules.len(), "rules reloaded");
                continue;
            }
            _ = &mut shutdown => break,
        }
        let now_ms = jiff::Timestamp::now().as_millisecond();
        match exporter.poll_once(now_ms).await {
            Ok(r) => tracing::info!(
                guests = r.guests,
                resets = r.resets,
                discarded = r.discarded,
                unknown = r.unknown,
                "poll cycle committed"
            ),
            Err(e) => {
                tracing::warn!(reason = e.reason(), error = %e, "poll cycle failed; keeping the last good data")
            }
        }
        if last_retention.is_none_or(|t| t.elapsed() >= RETENTION_EVERY) {
            match exporter.apply_retention(now_ms) {
                Ok(n) if n > 0 => tracing::info!(rows = n, "retention dropped old history detail"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "retention failed"),
            }
            last_retention = Some(Instant::now());
        }
    }
    tracing::info!("shutting down");
    server.stop().await;
    Ok(())
}
