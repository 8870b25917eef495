//! Whether a guest's stats are fresh enough to act on.
//!
//! `/cluster/resources` shows a guest's `status` and `uptime` as its node's `pvestatd` last
//! pushed them (every 10 s). When the daemon stalls, or the node goes offline, PVE keeps
//! serving that last push, frozen, for up to 5 minutes before it shows `status: unknown`;
//! meanwhile the guest may have stopped, started or kept moving traffic. A frozen entry looks
//! like any other in one read, and acting on it (stopping a guest that is already stopped,
//! or taking "stopped" for how an operator left it) would be wrong.
//!
//! So before it writes anything for a guest, or records how it found the guest, the enforcer
//! asks the guest's node directly: `status/current` is answered live by the node (pveproxy
//! forwards it, 595 when the node is unreachable). The pushed stats are fresh when the node
//! answers, shows the same state, and its live uptime is at most [`MAX_PUSH_AGE_S`] ahead
//! of the pushed one (two push intervals and a margin). Otherwise the guest is left alone
//! this cycle and counted as skipped (`stale_stats`).
//!
//! Why a live read rather than remembering each guest's pushes across cycles: the enforcer
//! cycles every minute or so, pushes come every 10 s, so a memory would need more than one
//! cycle to tell a frozen push from a fresh one, would start blind after every restart, and
//! cannot judge a stopped guest at all (its uptime and counters stay 0 either way). The live
//! read is exact at once, and costs one request only in the cycles where the enforcer is
//! about to act on the guest: at steady state it costs nothing. Guests whose status is
//! `unknown` are never acted on, without a read.

use pve_traffic_core::pve::{Client, GuestResource, GuestStatus};

/// The most the live uptime may be ahead of the pushed one for the push to count as fresh,
/// seconds: pushes come every 10 s, so a fresh push is at most ~10 s old; two intervals
/// and a margin allow for a push that is being written while the enforcer reads.
pub const MAX_PUSH_AGE_S: u64 = 25;

/// Asks the guest's node and compares; `Err` says why the pushed stats cannot be trusted.
pub async fn confirm(client: &Client, guest: &GuestResource) -> Result<(), String> {
    let live = client
        .guest_status(&guest.node, guest.guest_type, guest.vmid)
        .await
        .map_err(|e| format!("its node {} does not answer ({e})", guest.node))?;
    judge(guest, &live)
}

/// Whether the pushed entry `guest` agrees with the node's live `status/current`.
pub fn judge(guest: &GuestResource, live: &GuestStatus) -> Result<(), String> {
    let shown = live.shown_status();
    if guest.status != shown {
        return Err(format!(
            "the cluster still shows it {} but its node says {shown}: waiting for a fresh push",
            guest.status
        ));
    }
    if live.status != "running" {
        return Ok(());
    }
    match (guest.uptime, live.uptime) {
        (Some(pushed), Some(now)) if now < pushed => Err(format!(
            "its stats are from an earlier run (uptime {pushed} s pushed, {now} s now)"
        )),
        (Some(pushed), Some(now)) if now - pushed > MAX_PUSH_AGE_S => Err(format!(
            "its stats are {} s old (its node has not pushed since)",
            now - pushed
        )),
        (Some(_), Some(_)) => Ok(()),
        _ => Err("no uptime to compare the pushed stats with".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pve_traffic_core::guest::GuestType;

    fn pushed(status: &str, uptime: u64) -> GuestResource {
        GuestResource {
            vmid: 100,
            guest_type: GuestType::Qemu,
            node: "pve1".into(),
            status: status.into(),
            name: None,
            uptime: Some(uptime),
            netin: Some(0),
            netout: Some(0),
            template: false,
            tags: vec![],
            lock: None,
            pool: None,
            hastate: None,
        }
    }

    fn live(status: &str, qmp: Option<&str>, uptime: u64) -> GuestStatus {
        GuestStatus {
            status: status.into(),
            qmpstatus: qmp.map(str::to_string),
            uptime: Some(uptime),
            hastate: None,
        }
    }

    #[test]
    fn a_recent_push_of_the_same_state_is_fresh() {
        assert_eq!(
            judge(
                &pushed("running", 100),
                &live("running", Some("running"), 109)
            ),
            Ok(())
        );
        assert_eq!(
            judge(&pushed("running", 100), &live("running", None, 125)),
            Ok(())
        );
        assert_eq!(
            judge(&pushed("stopped", 0), &live("stopped", None, 0)),
            Ok(())
        );
        assert_eq!(
            judge(&pushed("paused", 50), &live("running", Some("paused"), 52)),
            Ok(())
        );
    }

    #[test]
    fn a_frozen_or_outrun_push_is_stale() {
        let e = judge(
            &pushed("running", 100),
            &live("running", Some("running"), 160),
        )
        .unwrap_err();
        assert!(e.contains("60 s old"), "{e}");
        let e = judge(&pushed("running", 100), &live("stopped", None, 0)).unwrap_err();
        assert!(
            e.contains("shows it running but its node says stopped"),
            "{e}"
        );
        let e = judge(&pushed("stopped", 0), &live("running", Some("running"), 5)).unwrap_err();
        assert!(e.contains("says running"), "{e}");
        let e = judge(
            &pushed("running", 100),
            &live("running", Some("running"), 30),
        )
        .unwrap_err();
        assert!(e.contains("earlier run"), "{e}");
        let e = judge(
            &pushed("running", 100),
            &live("running", Some("paused"), 101),
        )
        .unwrap_err();
        assert!(e.contains("says paused"), "{e}");
    }
}
