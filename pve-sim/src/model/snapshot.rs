//! The status cache behind `/cluster/resources` and `/nodes`: pushed stats, live identity.
//!
//! On a real cluster these endpoints do not read live counters. Each node's `pvestatd`
//! collects the stats of the guests it hosts every 10 seconds and broadcasts them into
//! pmxcfs, one record per VMID (and one per node). The API joins, at read time, the **live**
//! cluster config (`id`, `type`, `node`, `lock`, `tags`, `pool`, `hastate`) with the **last
//! record pushed** for that VMID (`status`, `uptime`, `name`, `template`, `cpu`, `mem`,
//! `netin`, `netout`, `diskread`, `diskwrite`, ...). pmxcfs drops a record once it is more
//! than 300 seconds old; a guest without a record shows `status: unknown` and only its
//! identity. The simulator keeps the same model, because clients must cope with it:
//!
//! - An event (stop, reboot, migration, NIC change) shows only at the hosting node's next
//!   push. After a migration the row names the new node with the old process's uptime and
//!   counters until the target node pushes.
//! - A node that is offline, or whose `pvestatd` is stalled ([`Cluster::sim_node_stall`]),
//!   pushes nothing: its guests keep their last record (status, uptime and counters frozen)
//!   while it is at most 300 s old (whole seconds, as pmxcfs compares), then turn `unknown`
//!   until the node pushes again. The guests themselves keep running and moving traffic.
//! - Node entries follow their node's own push the same way (see [`NodeView`]).
//!
//! Every node pushes on the aligned 10 s boundaries of simulated time. Real nodes push at
//! their own phase; aligned pushes are the simulator's choice, so that a test can poll right
//! after a push. A task that ends exactly on a boundary ends before that boundary's push;
//! a control or API request at that instant comes after it.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use super::guest::Guest;
use super::{Cluster, Node};

/// Interval of `pvestatd`'s pushes.
pub const PUSH_MS: u64 = 10_000;

/// pmxcfs forgets a pushed record once it is more than this many seconds old.
pub const EXPIRE_SECS: u64 = 300;

/// The stats part of a guest row, as the hosting node's `pvestatd` last pushed it.
#[derive(Clone, Debug, Serialize)]
pub struct GuestStats {
    /// Name.
    pub name: String,
    /// Seconds since the process started; 0 when stopped.
    pub uptime: u64,
    /// 0/1.
    pub template: u8,
    /// vCPUs.
    pub maxcpu: u32,
    /// CPU fraction.
    pub cpu: f64,
    /// Memory bytes.
    pub maxmem: u64,
    /// Memory in use.
    pub mem: u64,
    /// Host-side memory use (PVE 9, QEMU).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memhost: Option<u64>,
    /// Disk size.
    pub maxdisk: u64,
    /// Disk in use (QEMU: always 0).
    pub disk: u64,
    /// Bytes sent to the guest since its process started (sum over its devices).
    pub netin: u64,
    /// Bytes sent by the guest since its process started (sum over its devices).
    pub netout: u64,
    /// Disk bytes read.
    pub diskread: u64,
    /// Disk bytes written.
    pub diskwrite: u64,
}

/// One pushed record of a guest.
#[derive(Clone, Debug)]
pub struct Pushed {
    /// Simulated time of the push, ms.
    pub at_ms: u64,
    /// QMP run state (`running`, `paused`, `stopped`).
    pub status: &'static str,
    /// The stats.
    pub stats: GuestStats,
}

impl Pushed {
    /// What `pvestatd` collects about `g` at `now_ms`.
    fn collect(g: &Guest, now_ms: u64, memhost: bool) -> Pushed {
        let status = if g.is_paused() {
            "paused"
        } else if g.is_running() {
            "running"
        } else {
            "stopped"
        };
        let (netin, netout) = g.counters();
        let (diskread, diskwrite) = g.disk_io(now_ms);
        let qemu = g.type_name() == "qemu";
        let stats = GuestStats {
            name: g.name(),
            uptime: g.uptime(now_ms),
            template: u8::from(g.is_template()),
            maxcpu: g.cpus,
            cpu: g.cpu(now_ms),
            maxmem: g.maxmem,
            mem: g.mem(),
            memhost: (qemu && memhost).then(|| g.mem()),
            maxdisk: g.maxdisk,
            disk: if qemu || !g.is_running() {
                0
            } else {
                g.maxdisk / 4
            },
            netin,
            netout,
            diskread,
            diskwrite,
        };
        Pushed {
            at_ms: now_ms,
            status,
            stats,
        }
    }
}

/// Whether a record pushed at `at_ms` is still served at `now_ms`.
pub fn fresh(at_ms: u64, now_ms: u64) -> bool {
    now_ms / 1000 - (at_ms / 1000).min(now_ms / 1000) <= EXPIRE_SECS
}

/// The pushed records of every guest, and the last push instant processed.
#[derive(Clone, Debug, Default)]
pub struct StatusCache {
    /// The last record pushed per VMID.
    guests: BTreeMap<u32, Pushed>,
    /// The last push boundary the cluster has gone through, ms.
    pub(super) through_ms: u64,
}

impl StatusCache {
    /// The last record pushed for `vmid`, whatever its age.
    pub fn last(&self, vmid: u32) -> Option<&Pushed> {
        self.guests.get(&vmid)
    }
}

/// One guest entry of `/cluster/resources`: live identity plus the served push.
#[derive(Debug, Serialize)]
pub struct GuestRow<'a> {
    /// `qemu/100`.
    #[serde(serialize_with = "guest_id")]
    pub id: &'a Guest,
    /// `qemu` or `lxc`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// VMID.
    pub vmid: u32,
    /// Node, live.
    pub node: &'a str,
    /// The pushed run state, or `unknown` without a served push.
    pub status: &'static str,
    /// Pool, live; shown only with `Pool.Audit` on it (filtered at render time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool: Option<&'a str>,
    /// Raw tags, live.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<&'a str>,
    /// Config lock, live.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock: Option<&'a str>,
    // Live HA state (`hastate`) belongs here, next to the other live identity fields.
    /// Stats of the served push, absent without one.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub stats: Option<&'a GuestStats>,
}

fn guest_id<S: Serializer>(g: &&Guest, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{}/{}", g.type_name(), g.vmid))
}

/// What `/nodes` and `/cluster/resources` may say of a node, from its own last push.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeView {
    /// Cluster member offline: `offline`; with `maxcpu`, `maxmem`, `maxdisk` and `level`
    /// while its last push is fresh (`pushed`).
    Offline {
        /// The last push is fresh.
        pushed: bool,
    },
    /// Online with a fresh push: `online` with its stats, `uptime` as pushed (seconds).
    Online {
        /// Node uptime at its last push, seconds.
        uptime: u64,
    },
    /// Online, but no fresh push (a `pvestatd` stalled for more than 300 s): `unknown`.
    Unknown,
}

impl Cluster {
    /// Every node whose `pvestatd` runs pushes its guests' and its own stats at `now`.
    pub(super) fn push_stats(&mut self) {
        let now = self.now_ms();
        let memhost = self.version.has_memhost();
        let pushing: Vec<&str> = self
            .nodes
            .iter()
            .filter(|n| n.pushes())
            .map(|n| n.name.as_str())
            .collect();
        for g in self.guests.values_mut() {
            if pushing.contains(&g.node.as_str()) {
                self.stats
                    .guests
                    .insert(g.vmid, Pushed::collect(g, now, memhost));
                g.mark_pushed();
            }
        }
        for n in self.nodes.iter_mut().filter(|n| n.pushes()) {
            n.pushed_ms = Some(now);
        }
    }

    /// Pushes at the last 10 s boundary at or before `t_ms`, if not done yet, moving
    /// traffic up to it first.
    pub(super) fn push_through(&mut self, t_ms: u64) {
        let boundary = t_ms / PUSH_MS * PUSH_MS;
        if boundary > self.stats.through_ms {
            self.flow_to(boundary);
            self.push_stats();
            self.stats.through_ms = boundary;
        }
    }

    /// The pushed records.
    pub fn status_cache(&self) -> &StatusCache {
        &self.stats
    }

    /// Every guest's `/cluster/resources` entry now, in the order PVE lists guests (VMIDs
    /// sorted as strings).
    pub fn resource_rows(&self) -> Vec<GuestRow<'_>> {
        let mut pushed = self.stats.guests.iter().peekable();
        let mut rows: Vec<GuestRow<'_>> = self
            .guests
            .values()
            .map(|g| {
                // Both maps are sorted by VMID: walk them together.
                while pushed.next_if(|(&v, _)| v < g.vmid).is_some() {}
                let record = pushed.next_if(|(&v, _)| v == g.vmid).map(|(_, p)| p);
                self.row(g, record)
            })
            .collect();
        rows.sort_unstable_by_key(|r| string_order_key(r.vmid));
        rows
    }

    /// The `/cluster/resources` entry of `g`, whose last pushed record is `record`.
    fn row<'a>(&'a self, g: &'a Guest, record: Option<&'a Pushed>) -> GuestRow<'a> {
        let served = record.filter(|p| fresh(p.at_ms, self.now_ms()));
        GuestRow {
            id: g,
            kind: g.type_name(),
            vmid: g.vmid,
            node: &g.node,
            status: served.map_or("unknown", |p| p.status),
            pool: g.pool.as_deref(),
            tags: g.tags(),
            lock: g.lock(),
            stats: served.map(|p| &p.stats),
        }
    }

    /// What the API may say of `n` now.
    pub fn node_view(&self, n: &Node) -> NodeView {
        let pushed = n
            .pushed_ms
            .filter(|&at| fresh(at, self.now_ms()))
            .map(|at| at.saturating_sub(n.boot_ms) / 1000);
        match (n.online, pushed) {
            (false, p) => NodeView::Offline {
                pushed: p.is_some(),
            },
            (true, Some(uptime)) => NodeView::Online { uptime },
            (true, None) => NodeView::Unknown,
        }
    }

    /// Stalls (`true`) or resumes a node's `pvestatd`: a stalled node answers its API but
    /// pushes no stats.
    pub fn sim_node_stall(&mut self, node: &str, stalled: bool) -> Result<(), String> {
        let n = self
            .nodes
            .iter_mut()
            .find(|n| n.name == node)
            .ok_or_else(|| format!("unknown node '{node}'"))?;
        n.stalled = stalled;
        Ok(())
    }
}

/// A number whose order is the string order of `vmid`'s decimal digits: the digits padded
/// with zeros to ten places, then the length (a prefix sorts first).
fn string_order_key(vmid: u32) -> (u64, u32) {
    let digits = vmid.checked_ilog10().unwrap_or(0) + 1;
    (u64::from(vmid) * 10u64.pow(10 - digits), digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_order_key_sorts_as_strings() {
        let mut v = vec![1000u32, 100, 99, 1001, 9, 100_000_000, 10, 101, 999_999_999];
        let mut by_string = v.clone();
        by_string.sort_by_key(|x| x.to_string());
        v.sort_by_key(|&x| string_order_key(x));
        assert_eq!(v, by_string);
    }

    #[test]
    fn a_record_is_served_up_to_300_whole_seconds() {
        assert!(fresh(10_000, 310_999));
        assert!(!fresh(10_000, 311_000));
        assert!(fresh(10_000, 10_000));
    }
}
