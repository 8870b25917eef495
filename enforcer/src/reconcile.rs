//! One guest's reconciliation: compare what the rules want with what PVE shows, and write
//! only the difference, in an order that survives a crash at any point.
//!
//! The order for every change: (1) persist the intent with the originals captured, (2) write
//! to PVE, (3) persist the result and log the action. A SIGKILL after (1) leaves originals that
//! are already safe; the next cycle finds PVE either changed (nothing to write) or not (writes
//! again) and finishes the record. Writes are idempotent: a NIC string already as desired is
//! not sent again, a stopped guest is not stopped again.
//!
//! Power changes are judged by the guest's state, never by their task: for an HA-managed
//! guest PVE's start, stop and shutdown only hand a request to the HA manager (an `hastart`
//! or `hastop` task that ends OK before anything happened), and any guest shows a change
//! only at its node's next stats push. So a shutdown is followed up by what the guest shows
//! in later cycles (stopped, or still running at the deadline: stopped hard), a start is kept
//! on record until the guest shows running, and while the HA manager is already moving a
//! guest the way the enforcer wants (`hastate` `request_stop`/`stopped` when powering off,
//! `request_start`/`started` when powering on) no second request is sent. Every power
//! action goes through PVE's own start/stop/shutdown, which for an HA-managed guest sets
//! the HA manager's requested state: the enforcer never works against it.
//!
//! A QEMU guest whose vCPUs do not run (`paused`, `prelaunch`, `suspended`) cannot take an
//! ACPI shutdown: qemu-server refuses it at once (`VM is paused - cannot shutdown`; before
//! qemu-server 8.0.8 only for `paused`, the other two take the request and time out). The
//! enforcer stops such a guest directly, on every version, rather than sending a shutdown
//! with `forceStop=1`: that is a stop on 8.x and 9.x anyway, and on 7.4 it would wait the
//! whole timeout for a guest that cannot answer. It is not started again at the end: a
//! paused guest cannot be brought back paused, so it is left stopped, and the log says so.
//!
//! An operator's pending `netN` change (one that waits for the next start) is never
//! overwritten: a `PUT` of the key would replace it. The enforcer reads `/pending` and
//! edits the pending value instead of the current one, so the operator's change is kept
//! (PVE applies it with the edit, live if it can, else at the next start); a pending
//! deletion of a NIC is waited for, not written over. The action log and the process log
//! say which.
//!
//! Before any write, and before recording how it found a guest, the pushed stats are
//! confirmed fresh with the guest's node (see [`super::fresh`]); a guest whose stats are
//! stale is left alone this cycle and reported as skipped.

use std::collections::BTreeMap;

use crate::fresh;
use crate::nic::{self, LinkMeaning};
use pve_traffic_core::guest::GuestType;
use pve_traffic_core::pve::{
    is_digest_conflict, is_paused_refusal, task_type, Client, GuestResource, PendingChange,
    PowerAction, PveError,
};
use pve_traffic_store::enforcement::{
    Desired, GuestEnforcement, NicChange, PendingShutdown, Stage,
};

/// How many times a NIC write is retried after a digest conflict (an operator changed the
/// config between our read and our write: re-read, recompute, keep their change).
const DIGEST_RETRIES: usize = 3;

/// What happened to one guest in one cycle.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GuestOutcome {
    /// PVE writes made (config PUTs and power POSTs).
    pub writes: usize,
    /// Actions done, `(action, result, detail)`, for the action log.
    pub actions: Vec<(String, String, String)>,
    /// The record after this cycle (`None`: nothing enforced any more).
    pub record: Option<GuestEnforcement>,
    /// Why the guest was left alone this cycle (its stats are stale), if it was.
    pub skipped: Option<String>,
}

/// Where a guest's NICs should be.
fn nic_target(desired: &Desired) -> NicTarget {
    match desired {
        Desired::RateLimit { mb } => NicTarget::Rate(*mb),
        Desired::Disconnect => NicTarget::LinkDown,
        _ => NicTarget::AsOperatorLeftThem,
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum NicTarget {
    Rate(f64),
    LinkDown,
    AsOperatorLeftThem,
}

/// The NIC string that brings one NIC to `target`, updating its change record.
fn edit_nic(value: &str, target: NicTarget, change: &mut NicChange, link: LinkMeaning) -> String {
    match target {
        NicTarget::Rate(mb) => {
            // Leaving a disconnect for a rate limit: the link comes back first.
            let restored = restore_key(value, change, Key::LinkDown, link);
            nic::apply_rate(&restored, mb, change)
        }
        NicTarget::LinkDown => {
            let restored = restore_key(value, change, Key::Rate, link);
            nic::apply_link_down(&restored, change, link)
        }
        NicTarget::AsOperatorLeftThem => nic::restore(value, change, link),
    }
}

/// The NIC strings that bring `nets` to `target`, updating each NIC's change record.
fn edit_nets(
    nets: &BTreeMap<String, String>,
    target: NicTarget,
    rec: &mut GuestEnforcement,
    link: LinkMeaning,
) -> Vec<(String, String)> {
    let mut changes = Vec::new();
    for (key, value) in nets {
        let change = rec.nics.entry(key.clone()).or_default();
        let new = edit_nic(value, target, change, link);
        if new != *value {
            changes.push((key.clone(), new));
        }
    }
    // Changes that restored everything leave nothing to remember.
    rec.nics
        .retain(|_, c| c.rate.set.is_some() || c.link_down.set.is_some());
    changes
}

#[derive(Clone, Copy)]
enum Key {
    Rate,
    LinkDown,
}

/// Restores one key only (the other stays as the enforcer set it).
fn restore_key(value: &str, change: &mut NicChange, key: Key, link: LinkMeaning) -> String {
    let mut only = NicChange::default();
    match key {
        Key::Rate => std::mem::swap(&mut only.rate, &mut change.rate),
        Key::LinkDown => std::mem::swap(&mut only.link_down, &mut change.link_down),
    }
    let restored = nic::restore(value, &mut only, link);
    match key {
        Key::Rate => std::mem::swap(&mut only.rate, &mut change.rate),
        Key::LinkDown => std::mem::swap(&mut only.link_down, &mut change.link_down),
    }
    restored
}

/// Everything a reconciliation needs from outside: PVE, persistence, and the clock.
pub trait Effects {
    /// Persists the record (or deletes it when `None`) before or after a PVE write.
    fn persist(&mut self, vmid: u32, record: Option<&GuestEnforcement>) -> Result<(), String>;
}

/// The circumstances of one reconciliation pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pass {
    /// "Now", epoch ms.
    pub now_ms: i64,
    /// How long a shutdown may take before the guest is stopped, ms; also how long a start
    /// may take to show before it is sent again.
    pub shutdown_timeout_ms: i64,
    /// Compute and report, write nothing anywhere.
    pub dry_run: bool,
    /// Read the guest's config to check its NICs. Skipped for a guest whose enforcement was
    /// applied and verified recently and whose desired state is unchanged: at steady state an
    /// enforced guest then costs no PVE request at all most cycles (its power state comes
    /// with the one cluster-wide read).
    pub verify_nics: bool,
    /// What an LXC `link_down` key means on this cluster (QEMU's is always by value).
    pub lxc_link: LinkMeaning,
}

/// Why a reconciliation stopped early.
enum Halt {
    /// PVE failed or refused: logged, retried next cycle.
    Pve(PveError),
    /// The guest's stats are stale: nothing done, nothing recorded.
    Stale(String),
}

impl From<PveError> for Halt {
    fn from(e: PveError) -> Halt {
        Halt::Pve(e)
    }
}

/// One guest being reconciled: what PVE showed, and whether its stats were confirmed fresh.
struct Guest<'a> {
    client: &'a Client,
    res: &'a GuestResource,
    confirmed: bool,
}

impl Guest<'_> {
    /// Confirms the pushed stats with the node, once per pass (see [`fresh`]).
    async fn confirm_fresh(&mut self) -> Result<(), Halt> {
        if !self.confirmed {
            fresh::confirm(self.client, self.res)
                .await
                .map_err(Halt::Stale)?;
            self.confirmed = true;
        }
        Ok(())
    }

    /// Whether the guest has a process (running, or a VM whose vCPUs are halted).
    fn running(&self) -> bool {
        self.res.status != "stopped"
    }

    /// A QEMU guest in a QMP state that cannot take an ACPI shutdown.
    fn halted_vm(&self) -> bool {
        self.res.guest_type == GuestType::Qemu
            && matches!(
                self.res.status.as_str(),
                "paused" | "prelaunch" | "suspended"
            )
    }

    /// Whether the HA manager is already moving the guest to `on` (started) or off.
    fn ha_moving(&self, on: bool) -> bool {
        let want: &[&str] = if on {
            &["request_start", "started"]
        } else {
            &["request_stop", "stopped"]
        };
        self.res
            .hastate
            .as_deref()
            .is_some_and(|s| want.contains(&s))
    }
}

/// Whether a recorded power task is a start (`qmstart`, `vzstart`, `hastart`) rather than
/// a shutdown or stop: the record keeps one task in flight, and its UPID says which.
fn is_start_task(p: &PendingShutdown) -> bool {
    task_type(&p.upid).is_some_and(|t| t.ends_with("start"))
}

/// Reconciles one guest: `record` is what the enforcer changed so far, `desired` what the
/// rules want now. A guest whose stats turn out stale is left as it is: the outcome has
/// `skipped` set, the record unchanged, nothing written or persisted.
pub async fn reconcile_guest(
    client: &Client,
    guest: &GuestResource,
    record: Option<GuestEnforcement>,
    desired: &Desired,
    reasons: BTreeMap<String, i64>,
    pass: Pass,
    effects: &mut dyn Effects,
) -> Result<GuestOutcome, PveError> {
    let mut out = GuestOutcome::default();
    let mut g = Guest {
        client,
        res: guest,
        confirmed: false,
    };
    let result = reconcile(
        &mut g,
        record.clone(),
        desired,
        reasons,
        pass,
        effects,
        &mut out,
    )
    .await;
    match result {
        Ok(()) => Ok(out),
        Err(Halt::Pve(e)) => Err(e),
        Err(Halt::Stale(why)) => Ok(GuestOutcome {
            record,
            skipped: Some(why),
            ..GuestOutcome::default()
        }),
    }
}

async fn reconcile(
    g: &mut Guest<'_>,
    record: Option<GuestEnforcement>,
    desired: &Desired,
    reasons: BTreeMap<String, i64>,
    pass: Pass,
    effects: &mut dyn Effects,
    out: &mut GuestOutcome,
) -> Result<(), Halt> {
    let vmid = g.res.vmid;
    let had_record = record.is_some();
    let mut rec = record.unwrap_or_else(|| GuestEnforcement {
        vmid,
        applied: Desired::Normal,
        stage: Stage::Applied,
        reasons: Default::default(),
        since_ms: pass.now_ms,
        nics: Default::default(),
        was_running: None,
        pending_shutdown: None,
    });
    rec.reasons = reasons;

    // Power first when powering off (a guest being shut down needs no NIC changes), NICs
    // first when coming back (the guest starts with its NICs restored).
    let mut back_on = false;
    if desired.powers_off() {
        power_off(g, &mut rec, desired, pass, effects, out).await?;
        if pass.verify_nics {
            let target = NicTarget::AsOperatorLeftThem;
            reconcile_nics(g, &mut rec, target, pass, effects, out).await?;
        }
    } else {
        if pass.verify_nics {
            let target = nic_target(desired);
            reconcile_nics(g, &mut rec, target, pass, effects, out).await?;
        }
        back_on = power_back_on(g, &mut rec, desired, pass, effects, out).await?;
    }
    if desired == &Desired::Notify && rec.applied != Desired::Notify {
        out.actions.push((
            "notify".into(),
            "ok".into(),
            "over the limit; notify only".into(),
        ));
    }
    rec.applied = desired.clone();
    rec.stage = Stage::Applied;
    let done = *desired == Desired::Normal && rec.nics.is_empty() && rec.was_running.is_none();
    if done && had_record && (back_on || out.writes > 0 || !out.actions.is_empty()) {
        out.actions.push((
            "restore".into(),
            "ok".into(),
            "period over or released: back as the operator left it".into(),
        ));
    }
    out.record = (!done).then_some(rec);
    if !pass.dry_run {
        effects
            .persist(vmid, out.record.as_ref())
            .map_err(|e| PveError::Config(format!("cannot save enforcement state: {e}")))?;
    }
    Ok(())
}

/// Persists an intent before a PVE write.
fn intent(
    rec: &mut GuestEnforcement,
    desired: &Desired,
    dry_run: bool,
    effects: &mut dyn Effects,
) -> Result<(), PveError> {
    if dry_run {
        return Ok(());
    }
    let mut intent = rec.clone();
    intent.applied = desired.clone();
    intent.stage = Stage::Intent;
    effects
        .persist(rec.vmid, Some(&intent))
        .map_err(|e| PveError::Config(format!("cannot save enforcement state: {e}")))
}

/// Sends a power action (or, in a dry run, pretends to), counts and logs it with `why` in
/// front of the UPID; returns the UPID.
async fn send_power(
    g: &Guest<'_>,
    action: PowerAction,
    why: &str,
    dry_run: bool,
    out: &mut GuestOutcome,
) -> Result<String, PveError> {
    let (node, t, vmid) = (&g.res.node, g.res.guest_type, g.res.vmid);
    let result = if dry_run {
        Ok("dry run".to_string())
    } else {
        g.client.power(node, t, vmid, action).await
    };
    out.writes += usize::from(!dry_run);
    let (res, detail) = match &result {
        Ok(upid) if why.is_empty() => ("ok", upid.clone()),
        Ok(upid) => ("ok", format!("{why}: {upid}")),
        Err(e) => ("failed", e.to_string()),
    };
    out.actions
        .push((action.as_str().into(), res.into(), detail));
    result
}

/// Powers the guest off as `desired` (stop, or shutdown with a stop after the timeout)
/// asks, judging by the state the guest shows (see the module doc).
async fn power_off(
    g: &mut Guest<'_>,
    rec: &mut GuestEnforcement,
    desired: &Desired,
    pass: Pass,
    effects: &mut dyn Effects,
    out: &mut GuestOutcome,
) -> Result<(), Halt> {
    if rec.pending_shutdown.as_ref().is_some_and(is_start_task) {
        rec.pending_shutdown = None; // a start of ours is moot now
    }
    if !g.running() {
        rec.pending_shutdown = None;
        if rec.was_running.is_none() {
            g.confirm_fresh().await?;
            rec.was_running = Some(false);
        }
        return Ok(());
    }
    if rec.was_running.is_none() {
        g.confirm_fresh().await?;
        // A halted VM cannot be brought back halted: it is not started at the end.
        rec.was_running = Some(!g.halted_vm());
    }
    let dry_run = pass.dry_run;
    if let Some(p) = rec.pending_shutdown.clone() {
        let task = g.client.task_status(&p.node, &p.upid).await?;
        let failed = !task.running && !task.succeeded();
        if !failed && pass.now_ms < p.deadline_ms {
            return Ok(()); // still shutting down: what the guest shows decides, next cycle
        }
        let why = if failed {
            let exit = task.exitstatus.unwrap_or_default();
            format!("the shutdown failed ({exit}); stopping")
        } else {
            "still running after the shutdown timeout; stopping".to_string()
        };
        g.confirm_fresh().await?;
        intent(rec, desired, dry_run, effects)?;
        send_power(g, PowerAction::Stop, &why, dry_run, out).await?;
        rec.pending_shutdown = None;
        return Ok(());
    }
    if g.ha_moving(false) {
        return Ok(()); // the HA manager is taking it down already
    }
    g.confirm_fresh().await?;
    intent(rec, desired, dry_run, effects)?;
    if *desired == Desired::Stop {
        send_power(g, PowerAction::Stop, "", dry_run, out).await?;
        return Ok(());
    }
    if g.halted_vm() {
        let why = format!(
            "the VM is {} and cannot take a shutdown; stopping it instead (it stays stopped at the end)",
            g.res.status
        );
        send_power(g, PowerAction::Stop, &why, dry_run, out).await?;
        return Ok(());
    }
    let timeout_s = (pass.shutdown_timeout_ms / 1000).max(1) as u64;
    let shutdown = PowerAction::Shutdown {
        timeout_s,
        force: false,
    };
    match send_power(g, shutdown, "", dry_run, out).await {
        Ok(upid) => {
            if !dry_run {
                rec.pending_shutdown = Some(PendingShutdown {
                    upid,
                    node: g.res.node.clone(),
                    deadline_ms: pass.now_ms + pass.shutdown_timeout_ms,
                });
            }
            Ok(())
        }
        Err(e) if is_paused_refusal(&e) => {
            // Halted since the stats were pushed.
            rec.was_running = Some(false);
            let why = "the shutdown was refused (the VM is paused); stopping it instead (it stays stopped at the end)";
            send_power(g, PowerAction::Stop, why, dry_run, out).await?;
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Starts a guest the enforcer powered off, once the rules no longer want it off, and keeps
/// it on record until it shows running. Returns whether it came back this cycle.
async fn power_back_on(
    g: &mut Guest<'_>,
    rec: &mut GuestEnforcement,
    desired: &Desired,
    pass: Pass,
    effects: &mut dyn Effects,
    out: &mut GuestOutcome,
) -> Result<bool, Halt> {
    if rec
        .pending_shutdown
        .as_ref()
        .is_some_and(|p| !is_start_task(p))
    {
        rec.pending_shutdown = None; // a shutdown of ours is moot now
    }
    if rec.was_running != Some(true) {
        rec.was_running = None;
        rec.pending_shutdown = None;
        return Ok(false);
    }
    if g.running() {
        g.confirm_fresh().await?;
        rec.was_running = None;
        rec.pending_shutdown = None;
        return Ok(true);
    }
    let again = rec.pending_shutdown.is_some();
    if let Some(p) = rec.pending_shutdown.clone() {
        let task = g.client.task_status(&p.node, &p.upid).await?;
        let failed = !task.running && !task.succeeded();
        if !failed && pass.now_ms < p.deadline_ms {
            return Ok(false); // started: waiting for the guest to show it
        }
    } else if g.ha_moving(true) {
        return Ok(false); // the HA manager is starting it already
    }
    g.confirm_fresh().await?;
    intent(rec, desired, pass.dry_run, effects)?;
    let why = if again {
        "not running yet after the start; starting again"
    } else {
        ""
    };
    let upid = send_power(g, PowerAction::Start, why, pass.dry_run, out).await?;
    if !pass.dry_run {
        rec.pending_shutdown = Some(PendingShutdown {
            upid,
            node: g.res.node.clone(),
            deadline_ms: pass.now_ms + pass.shutdown_timeout_ms,
        });
    }
    Ok(false)
}

/// The NIC strings to edit, by key: the pending value where an operator left one (a write
/// replaces it, so the edit goes onto it and the operator's change is kept), else the value
/// in effect. A NIC whose deletion is pending is left out: writing it would cancel the
/// deletion. Also returns the keys taken from their pending value and the keys left out.
fn nets_to_edit(
    current: &BTreeMap<String, String>,
    pending: &BTreeMap<String, PendingChange>,
) -> (
    BTreeMap<String, String>,
    Vec<String>,
    BTreeMap<String, String>,
) {
    let mut nets = current.clone();
    let mut from_pending = Vec::new();
    let mut deleted = BTreeMap::new();
    for (key, change) in pending.iter().filter(|(k, _)| is_net_key(k)) {
        match change {
            PendingChange::Value(v) => {
                nets.insert(key.clone(), v.clone());
                from_pending.push(key.clone());
            }
            PendingChange::Delete => {
                if let Some(v) = nets.remove(key) {
                    deleted.insert(key.clone(), v);
                }
            }
        }
    }
    (nets, from_pending, deleted)
}

/// `net0`, `net1`, …
fn is_net_key(key: &str) -> bool {
    key.strip_prefix("net")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Brings the guest's NICs to `target`: read the config (values in effect) and the pending
/// changes, compute the new strings, write them with the digest; on a digest conflict
/// re-read and recompute.
async fn reconcile_nics(
    g: &mut Guest<'_>,
    rec: &mut GuestEnforcement,
    target: NicTarget,
    pass: Pass,
    effects: &mut dyn Effects,
    out: &mut GuestOutcome,
) -> Result<(), Halt> {
    if target == NicTarget::AsOperatorLeftThem && rec.nics.is_empty() {
        return Ok(()); // nothing of ours to undo, nothing to do: no read either
    }
    let (node, t, vmid) = (&g.res.node, g.res.guest_type, g.res.vmid);
    let link = match t {
        GuestType::Lxc => pass.lxc_link,
        GuestType::Qemu => LinkMeaning::Value,
    };
    let action = match target {
        NicTarget::Rate(_) => "rate_limit",
        NicTarget::LinkDown => "disconnect",
        NicTarget::AsOperatorLeftThem => "restore_nics",
    };
    for attempt in 1..=DIGEST_RETRIES {
        let config = g.client.guest_config(node, t, vmid).await?;
        let pending = g.client.guest_pending(node, t, vmid).await?;
        let (nets, from_pending, deleted) = nets_to_edit(&config.nets, &pending);
        let before = rec.clone();
        let changes = edit_nets(&nets, target, rec, link);
        let mut notes: Vec<String> = changes
            .iter()
            .filter(|(k, _)| from_pending.contains(k))
            .map(|(k, _)| {
                format!(
                    "{k} has an operator's pending change: edited the pending value, which is kept"
                )
            })
            .collect();
        let waiting: Vec<String> = deleted
            .iter()
            .filter(|(k, v)| {
                let mut probe = rec.nics.get(*k).cloned().unwrap_or_default();
                edit_nic(v, target, &mut probe, link) != **v
            })
            .map(|(k, _)| format!("{k}: an operator's deletion is pending: waiting, not written"))
            .collect();
        notes.extend(waiting.iter().cloned());
        if !notes.is_empty() {
            tracing::info!(vmid, action, "{}", notes.join("; "));
        }
        if changes.is_empty() {
            if !waiting.is_empty() {
                out.actions
                    .push((action.into(), "waiting".into(), waiting.join("; ")));
            }
            return Ok(());
        }
        g.confirm_fresh().await?;
        let mut detail = changes
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ");
        if !notes.is_empty() {
            detail = format!("{detail} ({})", notes.join("; "));
        }
        if pass.dry_run {
            out.actions.push((action.into(), "dry_run".into(), detail));
            return Ok(());
        }
        // The originals are on disk before PVE sees the change.
        effects
            .persist(
                vmid,
                Some(&GuestEnforcement {
                    stage: Stage::Intent,
                    ..rec.clone()
                }),
            )
            .map_err(|e| PveError::Config(format!("cannot save enforcement state: {e}")))?;
        match g
            .client
            .set_guest_nets(node, t, vmid, &changes, &config.digest)
            .await
        {
            Ok(()) => {
                out.writes += 1;
                out.actions.push((action.into(), "ok".into(), detail));
                return Ok(());
            }
            Err(e) if is_digest_conflict(&e) && attempt < DIGEST_RETRIES => {
                out.writes += 1;
                tracing::info!(vmid, attempt, "config changed under us; re-reading");
                *rec = before;
            }
            Err(e) => {
                out.writes += 1;
                out.actions
                    .push((action.into(), "failed".into(), e.to_string()));
                *rec = before;
                return Err(e.into());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_values_are_edited_and_pending_deletions_left_out() {
        let current: BTreeMap<String, String> = [
            ("net0", "virtio=AA,bridge=vmbr0"),
            ("net1", "virtio=BB,bridge=vmbr1"),
            ("net2", "virtio=CC,bridge=vmbr2"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into();
        let pending: BTreeMap<String, PendingChange> = [
            ("net0", PendingChange::Value("e1000=AA,bridge=vmbr0".into())),
            ("net2", PendingChange::Delete),
            (
                "net3",
                PendingChange::Value("virtio=DD,bridge=vmbr3".into()),
            ),
            ("memory", PendingChange::Value("4096".into())),
        ]
        .map(|(k, v)| (k.to_string(), v))
        .into();
        let (nets, from_pending, deleted) = nets_to_edit(&current, &pending);
        assert_eq!(
            nets.into_iter().collect::<Vec<_>>(),
            [
                ("net0".to_string(), "e1000=AA,bridge=vmbr0".to_string()),
                ("net1".to_string(), "virtio=BB,bridge=vmbr1".to_string()),
                ("net3".to_string(), "virtio=DD,bridge=vmbr3".to_string()),
            ]
        );
        assert_eq!(from_pending, ["net0", "net3"]);
        assert_eq!(
            deleted.into_iter().collect::<Vec<_>>(),
            [("net2".to_string(), "virtio=CC,bridge=vmbr2".to_string())]
        );
    }

    #[test]
    fn start_tasks_are_told_from_power_off_tasks_by_their_upid() {
        let task = |kind: &str| PendingShutdown {
            upid: format!("UPID:pve1:1:2:3:{kind}:100:root@pam:"),
            node: "pve1".into(),
            deadline_ms: 0,
        };
        for kind in ["qmstart", "vzstart", "hastart"] {
            assert!(is_start_task(&task(kind)), "{kind}");
        }
        for kind in ["qmshutdown", "vzshutdown", "hastop", "qmstop", "vzstop"] {
            assert!(!is_start_task(&task(kind)), "{kind}");
        }
    }
}
