//! The simulated cluster: nodes, guests, tasks and the simulated clock they all share.
//!
//! [`Cluster`] is plain state with no I/O and no real clock: "now" only moves when
//! [`Cluster::advance_to`] is called, which integrates every guest's traffic up to that time,
//! finishes the tasks due, and has every running `pvestatd` push its node's stats at each
//! 10 s boundary crossed. The HTTP layer owns the clock and calls `advance_to` before each
//! request; tests can drive a `Cluster` directly.
//!
//! Split by concern: `guest` (one guest and its counters), `power` (power actions, tasks,
//! out-of-band guest events), `configure` (config reads and writes), `snapshot` (pushed
//! stats joined with live identity), `version` (per-release behaviour).

pub mod configure;
pub mod guest;
pub mod power;
pub mod snapshot;
pub mod task;
pub mod version;

use std::collections::BTreeMap;

use crate::auth::{AccessControl, AclSpec, TokenSpec, UserSpec};
use crate::error::{ApiError, ApiResult};
use crate::netconf::{GuestKind, NetConfig};
use crate::scenario::{PowerSpec, Scenario, TaskTiming};
use crate::traffic::{Profile, SeedRng};
use guest::{Guest, Nic, Power};
use snapshot::StatusCache;
use task::{Job, Task};
use version::PveVersion;

/// One cluster node.
#[derive(Clone, Debug)]
pub struct Node {
    /// Node name.
    pub name: String,
    /// Whether it is reachable.
    pub online: bool,
    /// Cluster network address.
    pub ip: Option<String>,
    /// CPU count.
    pub cpus: u32,
    /// Memory in bytes.
    pub memory: u64,
    /// Simulated boot time, ms.
    pub boot_ms: u64,
    /// Its `pvestatd` is stalled: the node answers its API but pushes no stats.
    pub stalled: bool,
    /// Simulated time of its last stats push, ms.
    pub pushed_ms: Option<u64>,
}

impl Node {
    /// Whether its `pvestatd` pushes stats (online and not stalled).
    pub fn pushes(&self) -> bool {
        self.online && !self.stalled
    }
}

/// A task waiting to end.
#[derive(Clone, Debug)]
struct Timer {
    upid: String,
}

/// The whole simulated cluster.
#[derive(Debug)]
pub struct Cluster {
    /// Cluster name (`/cluster/status`).
    pub name: String,
    /// Release profile.
    pub version: PveVersion,
    /// Emit numbers as strings where old releases did.
    pub legacy_quirks: bool,
    /// SHA-256 fingerprint of the certificate the server presents, shown by `/nodes` as each
    /// node's `ssl_fingerprint` (one certificate serves every simulated node).
    pub certificate_fingerprint: Option<String>,
    /// Nodes in scenario order; the first is "local".
    pub nodes: Vec<Node>,
    /// Guests by VMID.
    pub guests: BTreeMap<u32, Guest>,
    /// Users, tokens and ACLs.
    pub access: AccessControl,
    /// Task durations.
    pub timing: TaskTiming,
    /// Every task by UPID.
    pub tasks: BTreeMap<String, Task>,
    /// Tasks due, by (end time ms, sequence).
    timers: BTreeMap<(u64, u64), Timer>,
    /// Simulated now, epoch ms.
    now_ms: u64,
    /// The stats each node's `pvestatd` last pushed.
    stats: StatusCache,
    /// Randomness for PIDs, MACs and new NICs' traffic.
    rng: SeedRng,
    /// Sequence number for timers and PIDs.
    seq: u64,
}

/// A token granted full rights, added on top of a scenario's own users (the CLI's `--token`).
#[derive(Clone)]
pub struct AdminToken {
    /// `user@realm!name`.
    pub id: String,
    /// The secret.
    pub secret: String,
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminToken")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl Cluster {
    /// Builds a cluster from a scenario. `now_ms` is used when the scenario sets no start
    /// time. Errors name the offending entry.
    pub fn new(scn: &Scenario, now_ms: u64, admin: Option<&AdminToken>) -> Result<Cluster, String> {
        let version = PveVersion::parse(&scn.pve_version)?;
        let now_ms = scn.start_time.map_or(now_ms, |s| s * 1000);
        if scn.nodes.is_empty() {
            return Err("`nodes` must name at least one node".to_string());
        }
        let nodes: Vec<Node> = scn
            .nodes
            .iter()
            .map(|n| Node {
                name: n.name.clone(),
                online: n.online,
                ip: n.ip.clone(),
                cpus: n.cpus,
                memory: n.memory_mb * 1024 * 1024,
                boot_ms: now_ms.saturating_sub(86_400_000),
                stalled: n.stalled,
                pushed_ms: None,
            })
            .collect();
        for n in &nodes {
            crate::params::node_format(&n.name)
                .map_err(|_| format!("node name '{}' is not a valid node name", n.name))?;
        }
        let access = build_access(scn, admin)?;
        let mut cluster = Cluster {
            name: scn.cluster_name.clone(),
            version,
            legacy_quirks: scn.legacy_quirks,
            certificate_fingerprint: None,
            nodes,
            guests: BTreeMap::new(),
            access,
            timing: scn.tasks.clone(),
            tasks: BTreeMap::new(),
            timers: BTreeMap::new(),
            now_ms,
            stats: StatusCache::default(),
            rng: SeedRng::new(scn.seed),
            seq: 0,
        };
        for g in &scn.guests {
            cluster
                .add_guest(g, scn.seed)
                .map_err(|e| format!("guest {}: {e}", g.vmid))?;
        }
        // The cluster has been running: every node that pushes has just pushed.
        cluster.push_stats();
        cluster.stats.through_ms = now_ms / snapshot::PUSH_MS * snapshot::PUSH_MS;
        Ok(cluster)
    }

    fn add_guest(&mut self, g: &crate::scenario::GuestSpec, seed: u64) -> Result<(), String> {
        crate::params::vmid_format(&g.vmid.to_string()).map_err(|_| "invalid VMID".to_string())?;
        if self.guests.contains_key(&g.vmid) {
            return Err("duplicate VMID".to_string());
        }
        if self.node(&g.node).is_none() {
            return Err(format!("unknown node '{}'", g.node));
        }
        let kind: GuestKind = g.kind.into();
        let mut config = BTreeMap::new();
        let name_key = if kind == GuestKind::Qemu {
            "name"
        } else {
            "hostname"
        };
        if let Some(name) = &g.name {
            config.insert(name_key.to_string(), name.clone());
        }
        config.insert("cores".to_string(), g.cores.to_string());
        config.insert("memory".to_string(), g.memory_mb.to_string());
        if let Some(tags) = &g.tags {
            config.insert("tags".to_string(), tags.clone());
        }
        if let Some(lock) = &g.lock {
            config.insert("lock".to_string(), lock.clone());
        }
        if g.template {
            config.insert("template".to_string(), "1".to_string());
        }
        if let Some(hotplug) = &g.hotplug {
            config.insert("hotplug".to_string(), hotplug.clone());
        }
        let mut guest = Guest::new(
            g.vmid,
            kind,
            g.node.clone(),
            config,
            g.pool.clone(),
            (g.memory_mb * 1024 * 1024, g.cores, g.disk_gb << 30),
            g.ignore_shutdown,
            crate::rrd::Rrd::new(self.version.rrd_layout()),
        );
        let mut next_index = 0u8;
        for (i, nic) in g.nics.iter().enumerate() {
            let index = nic.index.unwrap_or(next_index);
            if index > 31 || guest.nics.contains_key(&index) {
                return Err(format!(
                    "NIC {i}: index net{index} is out of range or used twice"
                ));
            }
            next_index = index + 1;
            let mut config = NetConfig::parse(kind, &nic.config)
                .map_err(|e| format!("net{index}: {}", e.trim_end()))?;
            let mac_seed = self.rng.next_u64();
            config.ensure_mac(|| crate::netconf::proxmox_mac(mac_seed));
            guest.config.insert(format!("net{index}"), config.print());
            let profile = Profile {
                rx_rate: nic.rx_rate,
                tx_rate: nic.tx_rate,
                seed: crate::traffic::mix(seed ^ (u64::from(g.vmid) << 8) ^ u64::from(index)),
                shaped: nic.shaped,
            };
            guest.nics.insert(index, Nic::new(profile, config));
        }
        match g.status {
            PowerSpec::Stopped => {}
            PowerSpec::Running | PowerSpec::Paused => {
                if g.template {
                    return Err("a template cannot be running".to_string());
                }
                let pid = self.next_pid();
                // The process has been up for an hour: counters start at zero now, uptime
                // says otherwise, as on a cluster the exporter meets for the first time.
                guest.start_process(self.now_ms.saturating_sub(3_600_000), pid);
                if let Power::Running { paused, .. } = &mut guest.power {
                    *paused = g.status == PowerSpec::Paused;
                }
            }
        }
        self.guests.insert(g.vmid, guest);
        Ok(())
    }

    /// Simulated now, epoch milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// Simulated now, epoch seconds.
    pub fn now_secs(&self) -> u64 {
        self.now_ms / 1000
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// Whether more than half of the nodes are online.
    pub fn quorate(&self) -> bool {
        let online = self.nodes.iter().filter(|n| n.online).count();
        online * 2 > self.nodes.len()
    }

    /// Routes a `/nodes/{node}/...` call: unknown node → hostname lookup error, offline → 595.
    pub fn route(&self, node: &str) -> ApiResult<&Node> {
        let n = self.node(node).ok_or_else(|| {
            ApiError::internal(format!(
                "hostname lookup '{node}' failed - failed to get address info for: {node}: Name or service not known"
            ))
        })?;
        if !n.online {
            return Err(ApiError::node_unreachable());
        }
        Ok(n)
    }

    /// The guest `vmid` of type `kind` on `node`, with PVE's errors when it is not there.
    pub fn guest_on(&self, node: &str, kind: GuestKind, vmid: u32) -> ApiResult<&Guest> {
        self.route(node)?;
        match self.guests.get(&vmid) {
            Some(g) if g.node == node && g.kind == kind => Ok(g),
            _ => Err(ApiError::internal(format!(
                "Configuration file '{}' does not exist",
                match kind {
                    GuestKind::Qemu => format!("nodes/{node}/qemu-server/{vmid}.conf"),
                    GuestKind::Lxc => format!("nodes/{node}/lxc/{vmid}.conf"),
                }
            ))),
        }
    }

    /// Moves simulated time forward to `t_ms` (never backwards): traffic flows, tasks due
    /// end in order, and nodes push their stats at the 10 s boundaries crossed (a task due
    /// on a boundary ends before that push).
    ///
    /// Between two tasks nothing changes but the counters, so only the last boundary
    /// before each task (and before `t_ms`) is pushed: the records come out the same as
    /// if every boundary had been.
    pub fn advance_to(&mut self, t_ms: u64) {
        if t_ms <= self.now_ms {
            return;
        }
        while let Some((&(at, seq), _)) = self.timers.first_key_value() {
            if at > t_ms {
                break;
            }
            self.push_through(at - 1);
            let timer = self.timers.remove(&(at, seq)).expect("first key exists");
            self.flow_to(at);
            self.finish_task(&timer.upid);
        }
        self.push_through(t_ms);
        self.flow_to(t_ms);
    }

    /// Integrates every guest's traffic from now to `t_ms`.
    fn flow_to(&mut self, t_ms: u64) {
        if t_ms <= self.now_ms {
            return;
        }
        let from = self.now_ms;
        for g in self.guests.values_mut() {
            g.run(from, t_ms);
        }
        self.now_ms = t_ms;
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// A fresh process id.
    fn next_pid(&mut self) -> u32 {
        1000 + (self.rng.next_u64() % 4_000_000) as u32
    }

    /// Schedules the end of task `upid` after `secs` simulated seconds.
    fn schedule(&mut self, upid: String, secs: u64) {
        let seq = self.next_seq();
        self.timers
            .insert((self.now_ms + secs * 1000, seq), Timer { upid });
    }

    /// Creates a task for `job` on `vmid` on behalf of `user` (`user@realm!token`), due in
    /// `secs` seconds, and returns its UPID.
    fn spawn_task(&mut self, node: &str, vmid: u32, job: Job, user: &str, secs: u64) -> String {
        let qemu = self
            .guests
            .get(&vmid)
            .is_none_or(|g| g.kind == GuestKind::Qemu);
        let pid = self.next_pid();
        let boot = self.node(node).map_or(0, |n| n.boot_ms);
        let pstart = (self.now_ms - boot) / 10;
        let starttime = self.now_secs();
        let kind = job.task_type(qemu);
        let upid = task::format_upid(node, pid, pstart, starttime, kind, &vmid.to_string(), user);
        let (user_part, token) = match user.split_once('!') {
            Some((u, t)) => (u.to_string(), Some(t.to_string())),
            None => (user.to_string(), None),
        };
        self.tasks.insert(
            upid.clone(),
            Task {
                upid: upid.clone(),
                node: node.to_string(),
                pid,
                pstart,
                starttime,
                kind: kind.to_string(),
                id: vmid.to_string(),
                user: user_part,
                tokenid: token,
                vmid,
                job,
                exitstatus: None,
            },
        );
        self.schedule(upid.clone(), secs);
        upid
    }
}

/// Users, tokens and ACLs of a scenario, plus the admin token if one is given.
fn build_access(scn: &Scenario, admin: Option<&AdminToken>) -> Result<AccessControl, String> {
    let mut users = scn.users.clone();
    let mut tokens = scn.tokens.clone();
    let mut acl = scn.acl.clone();
    if let Some(admin) = admin {
        let user = admin
            .id
            .split_once('!')
            .map(|(u, _)| u.to_string())
            .ok_or_else(|| format!("token id '{}' must look like user@realm!name", admin.id))?;
        if !users.iter().any(|u| u.userid == user) && user != "root@pam" {
            users.push(UserSpec {
                userid: user.clone(),
                enabled: true,
                expire: 0,
            });
            acl.push(AclSpec {
                path: "/".to_string(),
                ugid: user.clone(),
                roles: vec!["Administrator".to_string()],
                privs: Vec::new(),
                propagate: true,
            });
        }
        tokens.retain(|t| t.id != admin.id);
        tokens.push(TokenSpec {
            id: admin.id.clone(),
            secret: admin.secret.clone(),
            privsep: false,
            expire: 0,
        });
    }
    AccessControl::new(users, tokens, acl)
}
