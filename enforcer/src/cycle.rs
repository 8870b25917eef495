//! One enforcer cycle over the whole cluster: fail-safe checks, evaluation, and the
//! reconciliation of every guest that needs it.
//!
//! Guests are acted on only on fresh stats: a guest PVE shows as `unknown` (its node has
//! pushed nothing for 5 minutes) is not evaluated at all, and one whose pushed stats turn
//! out stale when the enforcer is about to act (see [`super::fresh`]) is left alone that
//! cycle. Both are reported per guest ([`CycleOutcome::skipped`]), with the reason, and the
//! cycle goes on with the other guests.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use crate::desired::{evaluate, Evaluation, GuestFacts, Usage};
use crate::nic::LinkMeaning;
use crate::reconcile::{reconcile_guest, Effects, Pass};
use pve_traffic_core::config::Config;
use pve_traffic_store::enforcement::{ActionRecord, Desired, GuestEnforcement, Stage};

/// How long an enforced guest's NICs are trusted to stay as the enforcer left them before
/// its config is read again (an operator may have edited them by hand).
pub const VERIFY_EVERY_MS: i64 = 600_000;
use pve_traffic_core::period::ts;
use pve_traffic_core::pve::{Client, GuestResource};
use pve_traffic_store::{EnforcementStore, Store, StoreError};

/// Why a cycle took no action at all (fail safe).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailSafe {
    /// The exporter has never committed a cycle to this database.
    NoData,
    /// The newest data is older than `enforcer.max_data_age_seconds`.
    StaleData {
        /// Age in seconds.
        age_s: i64,
    },
    /// PVE could not be read.
    Pve(String),
    /// The store could not be read.
    Store(String),
}

impl std::fmt::Display for FailSafe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FailSafe::NoData => f.write_str("the exporter has not recorded any usage in this database yet"),
            FailSafe::StaleData { age_s } => write!(
                f,
                "the exporter's newest data is {age_s} s old, older than enforcer.max_data_age_seconds (is the exporter running?)"
            ),
            FailSafe::Pve(e) => write!(f, "PVE could not be read: {e}"),
            FailSafe::Store(e) => write!(f, "the database could not be read: {e}"),
        }
    }
}

impl FailSafe {
    /// Metric label `reason`.
    pub fn reason(&self) -> &'static str {
        match self {
            FailSafe::NoData => "no_data",
            FailSafe::StaleData { .. } => "stale_data",
            FailSafe::Pve(_) => "pve_error",
            FailSafe::Store(_) => "store_error",
        }
    }
}

/// What a cycle did.
#[derive(Clone, Debug, Default)]
pub struct CycleOutcome {
    /// Set when the cycle acted on nothing.
    pub fail_safe: Option<FailSafe>,
    /// Age of the usage data, seconds (when known).
    pub data_age_s: Option<i64>,
    /// Guests evaluated.
    pub evaluated: usize,
    /// PVE writes made.
    pub writes: usize,
    /// Everything logged this cycle.
    pub actions: Vec<ActionRecord>,
    /// Per-guest failures (logged; the cycle went on).
    pub failures: usize,
    /// The evaluation, for `plan`.
    pub evaluations: Vec<Evaluation>,
    /// How long evaluation (excluding PVE round trips) took, seconds.
    pub evaluation_seconds: f64,
    /// PVE's `id` (`qemu/100`) of every enforced guest PVE listed this cycle.
    pub ids: HashMap<u32, String>,
    /// Guests left alone this cycle: VMID → (`id`, reason label, why). Reasons:
    /// `unknown_status` (PVE has no stats for it), `stale_stats` (its pushed stats are stale).
    pub skipped: BTreeMap<u32, (String, &'static str, String)>,
}

/// What the enforcer keeps in memory between cycles (lost on restart, by design: each item
/// is re-learned in the first cycle).
#[derive(Clone, Debug, Default)]
pub struct CycleMemory {
    /// When each enforced guest's config was last read, epoch ms: after a restart every
    /// enforced guest is verified once.
    pub verified: HashMap<u32, i64>,
    /// What an LXC `link_down` key means on this cluster, once `/version` was read.
    pub lxc_link: Option<LinkMeaning>,
}

/// The enforcer's persistent side: the store, written through [`Effects`].
struct StoreEffects<'a, S> {
    store: &'a mut S,
    state: &'a mut BTreeMap<u32, GuestEnforcement>,
}

impl<S: EnforcementStore> Effects for StoreEffects<'_, S> {
    fn persist(&mut self, vmid: u32, record: Option<&GuestEnforcement>) -> Result<(), String> {
        let r = match record {
            Some(rec) => self.store.save_enforcement(rec),
            None => self.store.delete_enforcement(vmid),
        };
        r.map_err(|e| e.to_string())?;
        match record {
            Some(rec) => self.state.insert(vmid, rec.clone()),
            None => self.state.remove(&vmid),
        };
        Ok(())
    }
}

/// Usage of every enabled rule's current window, per guest.
pub fn read_usage(
    store: &(impl Store + ?Sized),
    config: &Config,
    now_ms: i64,
) -> Result<Usage, StoreError> {
    let now = ts(now_ms);
    let tz = &config.monitor.timezone;
    let mut by_window: HashMap<(String, i64), HashMap<u32, (u64, u64)>> = HashMap::new();
    let mut usage = Usage::new();
    for rule in config.rules.iter().filter(|r| r.enabled) {
        let w = rule.window_at(now, tz);
        let key = (rule.period.key(), w.start.as_millisecond());
        if !by_window.contains_key(&key) {
            let rows = store.period_usage(&key.0, key.1)?;
            by_window.insert(key.clone(), rows);
        }
        usage.insert(rule.name.clone(), by_window[&key].clone());
    }
    Ok(usage)
}

/// Runs one cycle at `now_ms`.
#[allow(clippy::too_many_arguments)]
pub async fn run_cycle<S: Store + EnforcementStore>(
    config: &Config,
    client: &Client,
    store: &mut S,
    state: &mut BTreeMap<u32, GuestEnforcement>,
    memory: &mut CycleMemory,
    now_ms: i64,
    dry_run: bool,
) -> CycleOutcome {
    let mut out = CycleOutcome::default();
    // 1. Fail safe on missing or stale data.
    match store.last_cycle_ms() {
        Err(e) => {
            out.fail_safe = Some(FailSafe::Store(e.to_string()));
            return out;
        }
        Ok(None) => {
            out.fail_safe = Some(FailSafe::NoData);
            return out;
        }
        Ok(Some(last)) => {
            let age_s = (now_ms - last) / 1000;
            out.data_age_s = Some(age_s);
            if age_s > config.enforcer.max_data_age.as_secs() as i64 {
                out.fail_safe = Some(FailSafe::StaleData { age_s });
                return out;
            }
        }
    }
    // 2. Fail safe on PVE errors: one read of the cluster.
    let guests = match client.cluster_guests().await {
        Ok(g) => g,
        Err(e) => {
            out.fail_safe = Some(FailSafe::Pve(e.to_string()));
            return out;
        }
    };
    let lxc_link = match memory.lxc_link {
        Some(l) => l,
        None => match client.version().await {
            Ok(v) => {
                let l = if v.lxc_link_down_is_any_key() {
                    LinkMeaning::AnyKey
                } else {
                    LinkMeaning::Value
                };
                memory.lxc_link = Some(l);
                l
            }
            Err(e) => {
                out.fail_safe = Some(FailSafe::Pve(e.to_string()));
                return out;
            }
        },
    };
    // 3. Evaluate (pure).
    let started = Instant::now();
    let usage = match read_usage(store, config, now_ms) {
        Ok(u) => u,
        Err(e) => {
            out.fail_safe = Some(FailSafe::Store(e.to_string()));
            return out;
        }
    };
    let releases = match store.releases(now_ms) {
        Ok(r) => r,
        Err(e) => {
            out.fail_safe = Some(FailSafe::Store(e.to_string()));
            return out;
        }
    };
    // Guests without status data (their node is not reporting) are left alone.
    let (known, unknown): (Vec<&GuestResource>, Vec<&GuestResource>) =
        guests.iter().partition(|g| g.status != "unknown");
    for g in unknown {
        let why = format!("PVE shows no stats for it (node {} not reporting)", g.node);
        out.skipped.insert(g.vmid, (g.id(), "unknown_status", why));
    }
    let facts: Vec<GuestFacts> = known
        .iter()
        .map(|g| GuestFacts {
            vmid: g.vmid,
            tags: &g.tags,
            template: g.template,
        })
        .collect();
    let evaluations = evaluate(
        &config.rules,
        &facts,
        &usage,
        &releases,
        ts(now_ms),
        &config.monitor.timezone,
    );
    out.evaluation_seconds = started.elapsed().as_secs_f64();
    out.evaluated = evaluations.len();
    // 4. Reconcile the guests that are, or should be, enforced.
    let by_vmid: HashMap<u32, &GuestResource> = known.iter().map(|g| (g.vmid, *g)).collect();
    let timeout_ms = config.enforcer.shutdown_timeout.as_millis() as i64;
    for eval in &evaluations {
        let record = state.get(&eval.vmid).cloned();
        if eval.desired == Desired::Normal && record.is_none() {
            continue;
        }
        let guest = by_vmid[&eval.vmid];
        let reasons: BTreeMap<String, i64> = eval
            .breaches
            .iter()
            .map(|b| (b.rule.clone(), b.window.end.as_millisecond()))
            .collect();
        // Read the config when something changed, or when it was last read long ago.
        let verify_nics = record
            .as_ref()
            .is_none_or(|r| r.stage == Stage::Intent || r.applied != eval.desired)
            || memory
                .verified
                .get(&eval.vmid)
                .is_none_or(|t| now_ms - t >= VERIFY_EVERY_MS);
        let pass = Pass {
            now_ms,
            shutdown_timeout_ms: timeout_ms,
            dry_run,
            verify_nics,
            lxc_link,
        };
        let mut effects = StoreEffects { store, state };
        let result = reconcile_guest(
            client,
            guest,
            record,
            &eval.desired,
            reasons,
            pass,
            &mut effects,
        )
        .await;
        match (&result, verify_nics) {
            (Ok(g), _) if g.skipped.is_some() => {
                memory.verified.remove(&eval.vmid);
            }
            (Ok(_), true) => {
                memory.verified.insert(eval.vmid, now_ms);
            }
            (Err(_), _) => {
                memory.verified.remove(&eval.vmid);
            }
            _ => {}
        }
        let (rule, used, limit) = eval
            .breaches
            .iter()
            .max_by_key(|b| b.action.strength())
            .map_or((None, None, None), |b| {
                (Some(b.rule.clone()), Some(b.used), Some(b.limit))
            });
        match result {
            Ok(g) => {
                if let Some(why) = g.skipped {
                    tracing::warn!(vmid = eval.vmid, "left alone this cycle: {why}");
                    out.skipped
                        .insert(eval.vmid, (guest.id(), "stale_stats", why));
                    continue;
                }
                out.writes += g.writes;
                for (action, result, detail) in g.actions {
                    // A dry run decides, but does nothing: say so in the log and metrics.
                    let result = if dry_run && result == "ok" {
                        "dry_run".to_string()
                    } else {
                        result
                    };
                    out.actions.push(ActionRecord {
                        at_ms: now_ms,
                        vmid: eval.vmid,
                        rule: rule.clone(),
                        action,
                        used,
                        limit,
                        result,
                        detail,
                        actor: "enforcer".into(),
                    });
                }
            }
            Err(e) => {
                out.failures += 1;
                tracing::warn!(vmid = eval.vmid, error = %e, "enforcing this guest failed; will retry next cycle");
                out.actions.push(ActionRecord {
                    at_ms: now_ms,
                    vmid: eval.vmid,
                    rule: rule.clone(),
                    action: eval.desired.as_str().into(),
                    used,
                    limit,
                    result: "failed".into(),
                    detail: e.to_string(),
                    actor: "enforcer".into(),
                });
            }
        }
    }
    for a in &out.actions {
        tracing::info!(vmid = a.vmid, rule = a.rule.as_deref().unwrap_or("-"), action = %a.action, result = %a.result, used = a.used, limit = a.limit, detail = %a.detail, dry_run, "enforcement action");
        if !dry_run {
            if let Err(e) = store.log_action(a) {
                tracing::error!(error = %e, "cannot write the action log");
            }
        }
    }
    out.ids = state
        .keys()
        .filter_map(|vmid| by_vmid.get(vmid).map(|g| (*vmid, g.guest_type.id(*vmid))))
        .collect();
    out.evaluations = evaluations;
    out
}
