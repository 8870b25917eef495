//! The status cache behind `/cluster/resources`.
//!
//! On a real cluster `/cluster/resources` does not read live counters: each node's `pvestatd`
//! pushes guest stats into pmxcfs every 10 seconds, and the endpoint serves that cache. So its
//! `netin`/`netout` lag the live `status/current` by up to 10 s, and a guest on a node that
//! stopped reporting shows `status: unknown` with only its identity. The simulator keeps the
//! same cache: [`Snapshot::take`] runs at every 10 s boundary of simulated time.

use serde::Serialize;

use super::Cluster;

/// One guest entry of `/cluster/resources`, as cached.
#[derive(Clone, Debug, Serialize)]
pub struct GuestRow {
    /// `qemu/100`.
    pub id: String,
    /// `qemu` or `lxc`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// VMID.
    pub vmid: u32,
    /// Node.
    pub node: String,
    /// QMP run state (`running`, `paused`, `prelaunch`, `suspended`, `stopped`), or `unknown` without status data.
    pub status: &'static str,
    /// Pool, shown only with `Pool.Audit` on it (filtered at render time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// Raw tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<String>,
    /// Config lock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock: Option<String>,
    /// HA service state, for HA-managed guests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hastate: Option<&'static str>,
    /// Stats, absent when the node sends no status data.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub stats: Option<GuestStats>,
}

/// The status-data part of a guest entry.
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
    /// Bytes sent to the guest since its process started.
    pub netin: u64,
    /// Bytes sent by the guest since its process started.
    pub netout: u64,
    /// Disk bytes read.
    pub diskread: u64,
    /// Disk bytes written.
    pub diskwrite: u64,
}

/// The cache: guest rows sorted as PVE sorts them (VMID as a string), taken at `taken_ms`.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Simulated time the cache was filled, ms.
    pub taken_ms: u64,
    /// Guest entries.
    pub guests: Vec<GuestRow>,
}

impl Snapshot {
    /// Fills the cache from the cluster's live state.
    pub fn take(cluster: &Cluster) -> Snapshot {
        let now = cluster.now_ms();
        let mut guests: Vec<GuestRow> = cluster
            .guests
            .values()
            .map(|g| {
                let online = cluster.node(&g.node).is_some_and(|n| n.online);
                let status = if online { g.qmp_status() } else { "unknown" };
                let stats = online.then(|| {
                    let (netin, netout) = g.counters();
                    let (diskread, diskwrite) = g.disk_io(now);
                    let qemu = g.type_name() == "qemu";
                    GuestStats {
                        name: g.name(),
                        uptime: g.uptime(now),
                        template: u8::from(g.is_template()),
                        maxcpu: g.cpus,
                        cpu: g.cpu(now),
                        maxmem: g.maxmem,
                        mem: g.mem(),
                        memhost: (qemu && cluster.version.has_memhost()).then(|| g.mem()),
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
                    }
                });
                GuestRow {
                    id: g.id(),
                    kind: g.type_name(),
                    vmid: g.vmid,
                    node: g.node.clone(),
                    status,
                    pool: g.pool.clone(),
                    tags: g.tags().map(str::to_string),
                    lock: g.lock().map(str::to_string),
                    hastate: g.hastate(),
                    stats,
                }
            })
            .collect();
        guests.sort_by_cached_key(|r| r.vmid.to_string());
        Snapshot {
            taken_ms: now,
            guests,
        }
    }
}
