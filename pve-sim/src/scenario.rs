//! Scenarios: the cluster a simulator starts with, as data.
//!
//! A scenario is what a test or a demo wants PVE to look like: nodes, guests with their NICs
//! and offered traffic, API users, tokens and ACLs, and how long tasks take. It can be written
//! by hand (YAML, see `pve-sim/scenarios/`), posted as JSON to `/sim/scenario`, or generated
//! from a seed ([`Scenario::generate`]) for demos and benchmarks at any size.

use serde::{Deserialize, Serialize};

use crate::auth::{AclSpec, TokenSpec, UserSpec};
use crate::netconf::{proxmox_mac, GuestKind};
use crate::traffic::SeedRng;

/// A whole simulated cluster.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Cluster name shown by `/cluster/status` (only when there is more than one node).
    #[serde(default = "default_cluster_name")]
    pub cluster_name: String,
    /// PVE release whose behaviour to imitate: `7.4`, `8.2`, `8.4` or `9.1`.
    #[serde(default = "default_version")]
    pub pve_version: String,
    /// Simulated time at start, epoch seconds; absent = the real time at start.
    #[serde(default)]
    pub start_time: Option<u64>,
    /// Seed of everything random the scenario leaves open (bursts, PIDs, MACs of new NICs).
    #[serde(default)]
    pub seed: u64,
    /// Emit numbers as JSON strings where old PVE releases did, to test lenient clients.
    #[serde(default)]
    pub legacy_quirks: bool,
    /// The cluster's nodes; the first is the one the client talks to.
    pub nodes: Vec<NodeSpec>,
    /// Every guest, QEMU and LXC.
    #[serde(default)]
    pub guests: Vec<GuestSpec>,
    /// API users.
    #[serde(default)]
    pub users: Vec<UserSpec>,
    /// API tokens.
    #[serde(default)]
    pub tokens: Vec<TokenSpec>,
    /// ACL entries for users and tokens.
    #[serde(default)]
    pub acl: Vec<AclSpec>,
    /// How long simulated tasks take.
    #[serde(default)]
    pub tasks: TaskTiming,
}

/// One cluster node.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// Node name.
    pub name: String,
    /// Whether the node is reachable; requests routed to an offline node get 595.
    #[serde(default = "yes")]
    pub online: bool,
    /// Whether the node's `pvestatd` is stalled: the node answers, but pushes no stats.
    #[serde(default)]
    pub stalled: bool,
    /// Cluster network address shown by `/cluster/status`.
    #[serde(default)]
    pub ip: Option<String>,
    /// Number of CPUs.
    #[serde(default = "default_node_cpus")]
    pub cpus: u32,
    /// Memory in MiB.
    #[serde(default = "default_node_memory")]
    pub memory_mb: u64,
}

/// One guest.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuestSpec {
    /// Cluster-wide id, 100..=999999999.
    pub vmid: u32,
    /// `qemu` or `lxc`.
    #[serde(rename = "type")]
    pub kind: GuestKindSpec,
    /// Node the guest lives on.
    pub node: String,
    /// Guest name (QEMU `name`, LXC `hostname`).
    #[serde(default)]
    pub name: Option<String>,
    /// `running`, `stopped` or `paused` (QEMU only).
    #[serde(default)]
    pub status: PowerSpec,
    /// Raw `tags` config value, e.g. `prod;web`.
    #[serde(default)]
    pub tags: Option<String>,
    /// Whether the guest is a template (cannot start).
    #[serde(default)]
    pub template: bool,
    /// Pool membership.
    #[serde(default)]
    pub pool: Option<String>,
    /// Config lock, e.g. `backup`.
    #[serde(default)]
    pub lock: Option<String>,
    /// Memory in MiB.
    #[serde(default = "default_guest_memory")]
    pub memory_mb: u64,
    /// vCPUs.
    #[serde(default = "default_guest_cores")]
    pub cores: u32,
    /// Boot disk size in GiB.
    #[serde(default = "default_guest_disk")]
    pub disk_gb: u64,
    /// A guest that ignores ACPI shutdown requests (its shutdown tasks time out).
    #[serde(default)]
    pub ignore_shutdown: bool,
    /// QEMU `hotplug` config value; without `network`, NIC changes that need a new device
    /// stay pending until the next start.
    #[serde(default)]
    pub hotplug: Option<String>,
    /// Network interfaces, `net0` upwards unless an index is given.
    #[serde(default)]
    pub nics: Vec<NicSpec>,
}

/// Guest type in scenarios.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GuestKindSpec {
    /// A QEMU virtual machine.
    Qemu,
    /// An LXC container.
    Lxc,
}

impl From<GuestKindSpec> for GuestKind {
    fn from(k: GuestKindSpec) -> GuestKind {
        match k {
            GuestKindSpec::Qemu => GuestKind::Qemu,
            GuestKindSpec::Lxc => GuestKind::Lxc,
        }
    }
}

/// Power state in scenarios.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PowerSpec {
    /// Running (the default).
    #[default]
    Running,
    /// Stopped.
    Stopped,
    /// Running but paused (QEMU `suspend` without `todisk`).
    Paused,
}

/// One NIC and the traffic offered to it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NicSpec {
    /// `netN` index; default: the next free one.
    #[serde(default)]
    pub index: Option<u8>,
    /// The `netN` property string, e.g. `virtio,bridge=vmbr0,firewall=1` (a missing MAC is
    /// generated).
    pub config: String,
    /// Mean bytes per second sent to the guest.
    #[serde(default)]
    pub rx_rate: u64,
    /// Mean bytes per second sent by the guest.
    #[serde(default)]
    pub tx_rate: u64,
    /// Apply the daily pattern and bursts (`false` = perfectly flat rates).
    #[serde(default = "yes")]
    pub shaped: bool,
}

/// Simulated task durations, in simulated seconds.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TaskTiming {
    /// `start`.
    pub start: u64,
    /// `stop`.
    pub stop: u64,
    /// `shutdown` of a guest that honours it.
    pub shutdown: u64,
    /// `reboot` (shutdown plus start).
    pub reboot: u64,
    /// `suspend`, `resume`, `reset`, and asynchronous config writes.
    pub other: u64,
}

impl Default for TaskTiming {
    fn default() -> Self {
        TaskTiming {
            start: 1,
            stop: 1,
            shutdown: 3,
            reboot: 4,
            other: 1,
        }
    }
}

fn yes() -> bool {
    true
}
fn default_cluster_name() -> String {
    "sim".to_string()
}
fn default_version() -> String {
    "9.1".to_string()
}
fn default_node_cpus() -> u32 {
    32
}
fn default_node_memory() -> u64 {
    131_072
}
fn default_guest_memory() -> u64 {
    2048
}
fn default_guest_cores() -> u32 {
    2
}
fn default_guest_disk() -> u64 {
    32
}

/// Tags the generator picks from.
const TAGS: [&str; 6] = ["prod", "dev", "web", "db", "tenant-a", "monitored"];

impl Scenario {
    /// Reads a scenario from YAML (JSON is YAML too).
    pub fn from_yaml(text: &str) -> Result<Scenario, String> {
        serde_saphyr::from_str(text).map_err(|e| e.to_string())
    }

    /// A cluster of `nodes` nodes and `guests` guests, all fixed by `seed`: about 70 % QEMU,
    /// 85 % running, one or two NICs each with rates from 1 KB/s to 5 MB/s, a few tags,
    /// pools and templates, and some NICs that already carry an operator's `rate=`.
    pub fn generate(guests: u32, nodes: u32, seed: u64) -> Scenario {
        let mut rng = SeedRng::new(seed);
        let nodes: Vec<NodeSpec> = (1..=nodes.max(1))
            .map(|i| NodeSpec {
                name: format!("pve{i}"),
                online: true,
                stalled: false,
                ip: Some(format!("192.0.2.{}", 10 + i)),
                cpus: default_node_cpus(),
                memory_mb: default_node_memory(),
            })
            .collect();
        let guests = (0..guests)
            .map(|i| {
                let vmid = 100 + i;
                let kind = if rng.chance(70) {
                    GuestKindSpec::Qemu
                } else {
                    GuestKindSpec::Lxc
                };
                let template = kind == GuestKindSpec::Qemu && rng.chance(2);
                let status = if template || rng.chance(15) {
                    PowerSpec::Stopped
                } else {
                    PowerSpec::Running
                };
                let mut tags: Vec<&str> = TAGS.iter().copied().filter(|_| rng.chance(20)).collect();
                tags.sort_unstable();
                let nic_count = if rng.chance(20) { 2 } else { 1 };
                let nics = (0..nic_count)
                    .map(|n| {
                        let mac = proxmox_mac(rng.next_u64());
                        let rate = if rng.chance(10) {
                            format!(",rate={}", 1 + rng.below(50))
                        } else {
                            String::new()
                        };
                        let config = match kind {
                            GuestKindSpec::Qemu => {
                                format!("virtio={mac},bridge=vmbr{n},firewall=1{rate}")
                            }
                            GuestKindSpec::Lxc => format!(
                                "name=eth{n},bridge=vmbr{n},firewall=1,hwaddr={mac},ip=dhcp{rate},type=veth"
                            ),
                        };
                        NicSpec {
                            index: None,
                            config,
                            rx_rate: rng.log_uniform(1_000, 5_000_000),
                            tx_rate: rng.log_uniform(200, 1_000_000),
                            shaped: true,
                        }
                    })
                    .collect();
                let prefix = match kind {
                    GuestKindSpec::Qemu => "vm",
                    GuestKindSpec::Lxc => "ct",
                };
                GuestSpec {
                    vmid,
                    kind,
                    node: nodes[rng.below(nodes.len() as u64) as usize].name.clone(),
                    name: Some(format!("{prefix}-{vmid}")),
                    status,
                    tags: (!tags.is_empty()).then(|| tags.join(";")),
                    template,
                    pool: rng.chance(30).then(|| format!("pool{}", rng.below(3) + 1)),
                    lock: None,
                    memory_mb: 512 << rng.below(5),
                    cores: 1 << rng.below(3),
                    disk_gb: 8 << rng.below(4),
                    ignore_shutdown: false,
                    hotplug: None,
                    nics,
                }
            })
            .collect();
        Scenario {
            cluster_name: default_cluster_name(),
            pve_version: default_version(),
            start_time: None,
            seed,
            legacy_quirks: false,
            nodes,
            guests,
            users: Vec::new(),
            tokens: Vec::new(),
            acl: Vec::new(),
            tasks: TaskTiming::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_fixed_by_the_seed() {
        let a = serde_json::to_string(&Scenario::generate(50, 3, 7)).unwrap();
        let b = serde_json::to_string(&Scenario::generate(50, 3, 7)).unwrap();
        let c = serde_json::to_string(&Scenario::generate(50, 3, 8)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn generated_guests_spread_over_nodes_and_types() {
        let s = Scenario::generate(200, 4, 1);
        assert_eq!(s.guests.len(), 200);
        for node in &s.nodes {
            assert!(
                s.guests.iter().any(|g| g.node == node.name),
                "{}",
                node.name
            );
        }
        assert!(s.guests.iter().any(|g| g.kind == GuestKindSpec::Lxc));
        assert!(s.guests.iter().any(|g| g.kind == GuestKindSpec::Qemu));
        assert!(s.guests.iter().any(|g| g.status == PowerSpec::Stopped));
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = Scenario::from_yaml("nodes: [{name: pve1}]\nguestz: []\n").unwrap_err();
        assert!(err.contains("guestz"), "{err}");
    }

    #[test]
    fn the_example_scenario_builds_a_cluster() {
        let s = Scenario::from_yaml(include_str!("../scenarios/example.yaml")).unwrap();
        let c = crate::model::Cluster::new(&s, 0, None).unwrap();
        assert_eq!(c.guests.len(), 5);
        assert!(!c.nodes[2].online);
        assert_eq!(c.now_secs(), 1_767_225_600);
    }
}
