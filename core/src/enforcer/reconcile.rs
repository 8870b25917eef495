//! One guest's reconciliation: compare what the rules want with what PVE shows, and write
//! only the difference, in an order that survives a crash at any point.
//!
//! The order for every change: (1) persist the intent with the originals captured, (2) write
//! to PVE, (3) persist the result and log the action. A SIGKILL after (1) leaves originals that
//! are already safe; the next cycle finds PVE either changed (nothing to write) or not (writes
//! again) and finishes the record. Writes are idempotent: a NIC string already as desired is
//! not sent again, a stopped guest is not stopped again.

use crate::enforcer::nic;
use crate::enforcer::state::{Desired, GuestEnforcement, NicChange, PendingShutdown, Stage};
use crate::pve::{is_digest_conflict, Client, GuestResource, PowerAction, PveError};

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

/// The NIC strings that bring `nets` to `target`, updating each NIC's change record.
fn edit_nets(
    nets: &std::collections::BTreeMap<String, String>,
    target: NicTarget,
    rec: &mut GuestEnforcement,
) -> Vec<(String, String)> {
    let mut changes = Vec::new();
    for (key, value) in nets {
        let change = rec.nics.entry(key.clone()).or_default();
        let new = match target {
            NicTarget::Rate(mb) => {
                // Leaving a disconnect for a rate limit: the link comes back first.
                let restored = restore_key(value, change, Key::LinkDown);
                nic::apply_rate(&restored, mb, change)
            }
            NicTarget::LinkDown => {
                let restored = restore_key(value, change, Key::Rate);
                nic::apply_link_down(&restored, change)
            }
            NicTarget::AsOperatorLeftThem => nic::restore(value, change),
        };
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
fn restore_key(value: &str, change: &mut NicChange, key: Key) -> String {
    let mut only = NicChange::default();
    match key {
        Key::Rate => std::mem::swap(&mut only.rate, &mut change.rate),
        Key::LinkDown => std::mem::swap(&mut only.link_down, &mut change.link_down),
    }
    let restored = nic::restore(value, &mut only);
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
    /// How long a shutdown may take before the guest is stopped, ms.
    pub shutdown_timeout_ms: i64,
    /// Compute and report, write nothing anywhere.
    pub dry_run: bool,
    /// Read the guest's config to check its NICs. Skipped for a guest whose enforcement was
    /// applied and verified recently and whose desired state is unchanged: at steady state an
    /// enforced guest then costs no PVE request at all most cycles (its power state comes
    /// with the one cluster-wide read).
    pub verify_nics: bool,
}

/// Reconciles one guest: `record` is what the enforcer changed so far, `desired` what the
/// rules want now.
pub async fn reconcile_guest(
    client: &Client,
    guest: &GuestResource,
    record: Option<GuestEnforcement>,
    desired: &Desired,
    reasons: std::collections::BTreeMap<String, i64>,
    pass: Pass,
    effects: &mut dyn Effects,
) -> Result<GuestOutcome, PveError> {
    let Pass {
        now_ms,
        shutdown_timeout_ms,
        dry_run,
        verify_nics,
    } = pass;
    let mut out = GuestOutcome::default();
    let vmid = guest.vmid;
    let mut rec = record.unwrap_or_else(|| GuestEnforcement {
        vmid,
        applied: Desired::Normal,
        stage: Stage::Applied,
        reasons: Default::default(),
        since_ms: now_ms,
        nics: Default::default(),
        was_running: None,
        pending_shutdown: None,
    });
    rec.reasons = reasons;
    let running = guest.status != "stopped";

    // Power first when powering off (a guest being shut down needs no NIC changes), NICs
    // first when coming back (the guest starts with its NICs restored).
    if desired.powers_off() {
        power_off(
            client,
            guest,
            &mut rec,
            desired,
            now_ms,
            shutdown_timeout_ms,
            dry_run,
            effects,
            &mut out,
        )
        .await?;
        if verify_nics {
            let target = NicTarget::AsOperatorLeftThem;
            reconcile_nics(client, guest, &mut rec, target, dry_run, effects, &mut out).await?;
        }
    } else {
        rec.pending_shutdown = None;
        if verify_nics {
            let target = nic_target(desired);
            reconcile_nics(client, guest, &mut rec, target, dry_run, effects, &mut out).await?;
        }
        if rec.was_running == Some(true) && !running {
            intent(&mut rec, desired, dry_run, effects)?;
            let result = if dry_run {
                Ok("dry run".to_string())
            } else {
                client
                    .power(&guest.node, guest.guest_type, vmid, PowerAction::Start)
                    .await
            };
            out.writes += usize::from(!dry_run);
            record_result(&mut out, "start", &result);
            result?;
        }
        if !running || rec.was_running == Some(true) {
            rec.was_running = None;
        }
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
    if done && rec.applied == Desired::Normal && (out.writes > 0 || !out.actions.is_empty()) {
        out.actions.push((
            "restore".into(),
            "ok".into(),
            "period over or released: back as the operator left it".into(),
        ));
    }
    out.record = (!done).then_some(rec);
    if !dry_run {
        effects
            .persist(vmid, out.record.as_ref())
            .map_err(|e| PveError::Config(format!("cannot save enforcement state: {e}")))?;
    }
    Ok(out)
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

fn record_result(out: &mut GuestOutcome, action: &str, result: &Result<String, PveError>) {
    match result {
        Ok(detail) => out
            .actions
            .push((action.into(), "ok".into(), detail.clone())),
        Err(e) => out
            .actions
            .push((action.into(), "failed".into(), e.to_string())),
    }
}

#[allow(clippy::too_many_arguments)]
async fn power_off(
    client: &Client,
    guest: &GuestResource,
    rec: &mut GuestEnforcement,
    desired: &Desired,
    now_ms: i64,
    shutdown_timeout_ms: i64,
    dry_run: bool,
    effects: &mut dyn Effects,
    out: &mut GuestOutcome,
) -> Result<(), PveError> {
    let running = guest.status != "stopped";
    if rec.was_running.is_none() {
        rec.was_running = Some(running);
    }
    if !running {
        rec.pending_shutdown = None;
        return Ok(());
    }
    let (node, t, vmid) = (&guest.node, guest.guest_type, guest.vmid);
    if let Some(p) = rec.pending_shutdown.clone() {
        let status = client.task_status(&p.node, &p.upid).await?;
        let failed = !status.running && !status.succeeded();
        if !failed && now_ms < p.deadline_ms {
            return Ok(()); // still shutting down
        }
        // Timed out or refused (a guest ignoring ACPI): stop it.
        intent(rec, desired, dry_run, effects)?;
        let result = if dry_run {
            Ok("dry run".into())
        } else {
            client.power(node, t, vmid, PowerAction::Stop).await
        }
        .map(|upid| format!("shutdown did not finish in time; stopping: {upid}"));
        out.writes += usize::from(!dry_run);
        record_result(out, "stop", &result);
        result?;
        rec.pending_shutdown = None;
        return Ok(());
    }
    intent(rec, desired, dry_run, effects)?;
    match desired {
        Desired::Stop => {
            let result = if dry_run {
                Ok("dry run".into())
            } else {
                client.power(node, t, vmid, PowerAction::Stop).await
            };
            out.writes += usize::from(!dry_run);
            record_result(out, "stop", &result);
            result?;
        }
        _ => {
            let timeout_s = (shutdown_timeout_ms / 1000).max(1) as u64;
            let result = if dry_run {
                Ok("dry run".into())
            } else {
                client
                    .power(
                        node,
                        t,
                        vmid,
                        PowerAction::Shutdown {
                            timeout_s,
                            force: false,
                        },
                    )
                    .await
            };
            out.writes += usize::from(!dry_run);
            record_result(out, "shutdown", &result);
            let upid = result?;
            if !dry_run {
                rec.pending_shutdown = Some(PendingShutdown {
                    upid,
                    node: node.clone(),
                    deadline_ms: now_ms + shutdown_timeout_ms,
                });
            }
        }
    }
    Ok(())
}

/// Brings the guest's NICs to `target`: read the config (values in effect), compute the new
/// strings, write them with the digest; on a digest conflict re-read and recompute.
async fn reconcile_nics(
    client: &Client,
    guest: &GuestResource,
    rec: &mut GuestEnforcement,
    target: NicTarget,
    dry_run: bool,
    effects: &mut dyn Effects,
    out: &mut GuestOutcome,
) -> Result<(), PveError> {
    if target == NicTarget::AsOperatorLeftThem && rec.nics.is_empty() {
        return Ok(()); // nothing of ours to undo, nothing to do: no read either
    }
    let (node, t, vmid) = (&guest.node, guest.guest_type, guest.vmid);
    let action = match target {
        NicTarget::Rate(_) => "rate_limit",
        NicTarget::LinkDown => "disconnect",
        NicTarget::AsOperatorLeftThem => "restore_nics",
    };
    for attempt in 1..=DIGEST_RETRIES {
        let config = client.guest_config(node, t, vmid).await?;
        let before = rec.clone();
        let changes = edit_nets(&config.nets, target, rec);
        if changes.is_empty() {
            return Ok(());
        }
        let detail = changes
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ");
        if dry_run {
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
        match client
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
                return Err(e);
            }
        }
    }
    Ok(())
}
