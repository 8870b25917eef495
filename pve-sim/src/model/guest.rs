//! One guest: its config, its power state, and the host devices whose counters PVE reports.
//!
//! A guest holds two kinds of byte counts per NIC and keeps them strictly apart:
//! - the **device counters** (`netin`/`netout` of the tap or veth), which PVE reports and
//!   which die with the device: on stop, start, API reboot, migration and NIC re-creation;
//! - the **truth**, every byte the NIC ever moved, which nothing resets and which
//!   `/sim/truth` reports. An observer that handles resets perfectly and polls often enough
//!   sees exactly the truth; the difference is what the counters themselves lost.
//!
//! `/cluster/resources` shows the counters only as `pvestatd` last pushed them, so each NIC
//! also remembers its device counters at the guest's last push. When a device ends (its
//! process ends, or the NIC is re-created or removed while the process goes on), the bytes
//! it moved since that push were never shown by any push: they are added to the NIC's
//! **unobservable** bytes. When a device is re-created or removed while the process goes
//! on, the value it had at the last push leaves the pushed sum too, which an observer of
//! the sum alone cannot tell from no growth: that value is kept as **recreated-pushed**.

use std::collections::{BTreeMap, BTreeSet};

use sha1::{Digest, Sha1};

use super::ha::HaResource;
use crate::netconf::{GuestKind, NetConfig};
use crate::rrd::{Rrd, StepSample};
use crate::traffic::{mix, Flow, Profile};

/// RRD step: PVE's guest RRDs have a 60-second step.
pub const STEP_MS: u64 = 60_000;

/// Whether a guest's process exists, and since when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Power {
    /// No process: nothing moves, counters read 0.
    Stopped,
    /// A QEMU process or container exists.
    Running {
        /// Simulated time the process started (uptime counts from here).
        since_ms: u64,
        /// Process id shown by `status/current`.
        pid: u32,
        /// What the process is doing (QEMU's QMP run state).
        run: RunState,
    },
}

/// QEMU's run state as QMP `query-status` reports it while the process exists. Only
/// `Running` moves traffic: a paused or not yet launched VM has its vCPUs stopped, and a
/// suspended (ACPI S3) guest sleeps. LXC containers are always `Running` while they exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    /// vCPUs run.
    Running,
    /// Paused (`qm suspend` without `todisk`, or a QMP `stop`).
    Paused,
    /// Started with `-S` and never continued (e.g. a start that waits for an incoming state).
    Prelaunch,
    /// The guest put itself to sleep (ACPI S3, suspend-to-RAM).
    Suspended,
}

impl RunState {
    /// The QMP status name (`qmpstatus`, and the `status` pvestatd pushes).
    pub fn qmp_name(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Paused => "paused",
            RunState::Prelaunch => "prelaunch",
            RunState::Suspended => "suspended",
        }
    }

    /// Parses a QMP status name.
    pub fn parse(s: &str) -> Option<RunState> {
        [
            RunState::Running,
            RunState::Paused,
            RunState::Prelaunch,
            RunState::Suspended,
        ]
        .into_iter()
        .find(|r| r.qmp_name() == s)
    }
}

/// One NIC slot `netN`: its host device counters, its traffic, and its truth.
#[derive(Clone, Debug)]
pub struct Nic {
    /// Offered traffic.
    pub profile: Profile,
    /// Sub-byte carries of the traffic integration.
    flow: Flow,
    /// Host device counter: bytes sent to the guest (`netin`) since the device was created.
    pub counter_rx: u64,
    /// Host device counter: bytes sent by the guest (`netout`) since the device was created.
    pub counter_tx: u64,
    /// Every byte ever sent to the guest through this slot.
    pub truth_rx: u64,
    /// Every byte ever sent by the guest through this slot.
    pub truth_tx: u64,
    /// The applied `netN` config; `None` once the NIC was deleted (its truth stays).
    pub config: Option<NetConfig>,
    /// The device counters `(rx, tx)` at the guest's last push; 0 for a device never pushed.
    pub pushed: (u64, u64),
    /// Bytes `(rx, tx)` that ended devices moved after their last push: no push showed them.
    pub unobservable: (u64, u64),
    /// Counters `(rx, tx)` at their last push of the devices re-created or removed while the
    /// guest's process went on.
    pub recreated_pushed: (u64, u64),
    /// Whether the host device's link is up: set when the device is plugged (at start, on
    /// hot-plug, on a re-plug), from the config of that moment.
    pub link_up: bool,
}

impl Nic {
    /// A NIC with fresh counters.
    pub fn new(profile: Profile, config: NetConfig) -> Nic {
        Nic {
            profile,
            flow: Flow::default(),
            counter_rx: 0,
            counter_tx: 0,
            truth_rx: 0,
            truth_tx: 0,
            link_up: !config.link_down(),
            config: Some(config),
            pushed: (0, 0),
            unobservable: (0, 0),
            recreated_pushed: (0, 0),
        }
    }

    /// Whether bytes flow through the device at all (configured, has a host device, link up).
    pub fn moves(&self) -> bool {
        self.config.as_ref().is_some_and(NetConfig::has_host_device) && self.link_up
    }

    /// Whether a host device exists whose counters PVE would read.
    pub fn has_device(&self) -> bool {
        self.config.as_ref().is_some_and(NetConfig::has_host_device)
    }

    /// The device ends (and may be created again): its counters start over. What it moved
    /// since the last push becomes unobservable; if the process goes on (`recreated`), its
    /// pushed value leaves the pushed sum.
    pub fn end_device(&mut self, recreated: bool) {
        self.unobservable.0 += self.counter_rx - self.pushed.0;
        self.unobservable.1 += self.counter_tx - self.pushed.1;
        if recreated {
            self.recreated_pushed.0 += self.pushed.0;
            self.recreated_pushed.1 += self.pushed.1;
        }
        self.counter_rx = 0;
        self.counter_tx = 0;
        self.pushed = (0, 0);
    }
}

/// Bytes a guest moved in the current, not yet complete, RRD step.
#[derive(Clone, Copy, Debug, Default)]
struct StepAcc {
    /// Start of the step, ms.
    start_ms: u64,
    /// Whether the guest ran through the whole step without a counter reset.
    clean: bool,
    rx: u64,
    tx: u64,
}

/// One simulated guest.
#[derive(Clone, Debug)]
pub struct Guest {
    /// Cluster-wide id.
    pub vmid: u32,
    /// QEMU or LXC.
    pub kind: GuestKind,
    /// Node it lives on.
    pub node: String,
    /// Applied config, key to raw value (as in the config file). Includes `netN`, `tags`,
    /// `lock`, `template`.
    pub config: BTreeMap<String, String>,
    /// Pending config values (applied at the next start).
    pub pending: BTreeMap<String, String>,
    /// Pending deletions.
    pub pending_delete: BTreeSet<String>,
    /// Process state.
    pub power: Power,
    /// NIC slots by index; deleted NICs stay with `config: None` to keep their truth.
    pub nics: BTreeMap<u8, Nic>,
    /// Pool membership.
    pub pool: Option<String>,
    /// Ignores ACPI shutdown: shutdown tasks time out.
    pub ignore_shutdown: bool,
    /// LXC: a CRIU checkpoint from `status/suspend` waits for `status/resume`.
    pub checkpointed: bool,
    /// The HA resource, for an HA-managed guest.
    pub ha: Option<HaResource>,
    /// LXC before pve-container 6.0: a veth is plugged down whenever its config has a
    /// `link_down` key, `link_down=0` included; only an absent key means up.
    pub link_down_if_set: bool,
    /// Memory in bytes.
    pub maxmem: u64,
    /// vCPUs.
    pub cpus: u32,
    /// Boot disk size in bytes.
    pub maxdisk: u64,
    /// Times the device counters were reset (any NIC), for `/sim/truth`.
    pub counter_resets: u64,
    /// Round-robin history for `rrddata`.
    pub rrd: Rrd,
    /// The RRD step in progress.
    step: StepAcc,
}

impl Guest {
    /// A guest with the given config and no NICs; the caller adds NICs and sets power.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        vmid: u32,
        kind: GuestKind,
        node: String,
        config: BTreeMap<String, String>,
        pool: Option<String>,
        resources: (u64, u32, u64),
        ignore_shutdown: bool,
        rrd: Rrd,
    ) -> Guest {
        Guest {
            vmid,
            kind,
            node,
            config,
            pending: BTreeMap::new(),
            pending_delete: BTreeSet::new(),
            power: Power::Stopped,
            nics: BTreeMap::new(),
            pool,
            ignore_shutdown,
            checkpointed: false,
            ha: None,
            link_down_if_set: false,
            maxmem: resources.0,
            cpus: resources.1,
            maxdisk: resources.2,
            counter_resets: 0,
            rrd,
            step: StepAcc::default(),
        }
    }

    /// `qemu/100` or `lxc/101`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.type_name(), self.vmid)
    }

    /// `qemu` or `lxc`.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            GuestKind::Qemu => "qemu",
            GuestKind::Lxc => "lxc",
        }
    }

    /// Name as PVE reports it: config `name`/`hostname`, else `VM <id>` / `CT<id>`.
    pub fn name(&self) -> String {
        let key = match self.kind {
            GuestKind::Qemu => "name",
            GuestKind::Lxc => "hostname",
        };
        match self.config.get(key) {
            Some(n) => n.split_whitespace().collect(),
            None => match self.kind {
                GuestKind::Qemu => format!("VM {}", self.vmid),
                GuestKind::Lxc => format!("CT{}", self.vmid),
            },
        }
    }

    /// `hastate`, for an HA-managed guest.
    pub fn hastate(&self) -> Option<&'static str> {
        self.ha.as_ref().map(HaResource::hastate)
    }

    /// Whether the process exists.
    pub fn is_running(&self) -> bool {
        matches!(self.power, Power::Running { .. })
    }

    /// Whether the process exists but its vCPUs do not run (paused, prelaunch, suspended).
    pub fn is_paused(&self) -> bool {
        self.run_state().is_some_and(|r| r != RunState::Running)
    }

    /// The process's run state; `None` when stopped.
    pub fn run_state(&self) -> Option<RunState> {
        match self.power {
            Power::Running { run, .. } => Some(run),
            Power::Stopped => None,
        }
    }

    /// Sets the run state of a running process (no effect on a stopped guest).
    pub fn set_run_state(&mut self, state: RunState) {
        if let Power::Running { run, .. } = &mut self.power {
            *run = state;
        }
    }

    /// The status pvestatd reports: the QMP status of a QEMU process, else `running` or
    /// `stopped`.
    pub fn qmp_status(&self) -> &'static str {
        self.run_state().map_or("stopped", RunState::qmp_name)
    }

    /// Whether the guest is a template.
    pub fn is_template(&self) -> bool {
        self.config.get("template").is_some_and(|v| v == "1")
    }

    /// The config lock, if any.
    pub fn lock(&self) -> Option<&str> {
        self.config.get("lock").map(String::as_str)
    }

    /// Raw `tags` config value.
    pub fn tags(&self) -> Option<&str> {
        self.config.get("tags").map(String::as_str)
    }

    /// Uptime in whole seconds at `now_ms` (0 when stopped).
    pub fn uptime(&self, now_ms: u64) -> u64 {
        match self.power {
            Power::Running { since_ms, .. } => now_ms.saturating_sub(since_ms) / 1000,
            Power::Stopped => 0,
        }
    }

    /// Sum of the device counters `(netin, netout)`; 0 when stopped.
    pub fn counters(&self) -> (u64, u64) {
        if !self.is_running() {
            return (0, 0);
        }
        self.nics
            .values()
            .filter(|n| n.has_device())
            .fold((0, 0), |(r, t), n| (r + n.counter_rx, t + n.counter_tx))
    }

    /// Sum of the truth `(rx, tx)` over all NIC slots, deleted ones included.
    pub fn truth(&self) -> (u64, u64) {
        self.nics
            .values()
            .fold((0, 0), |(r, t), n| (r + n.truth_rx, t + n.truth_tx))
    }

    /// Sum of the unobservable bytes `(rx, tx)` over all NIC slots.
    pub fn unobservable(&self) -> (u64, u64) {
        sum(self.nics.values().map(|n| n.unobservable))
    }

    /// Sum of the recreated-pushed bytes `(rx, tx)` over all NIC slots.
    pub fn recreated_pushed(&self) -> (u64, u64) {
        sum(self.nics.values().map(|n| n.recreated_pushed))
    }

    /// `pvestatd` pushed this guest's counters: every device remembers its value.
    pub fn mark_pushed(&mut self) {
        for n in self.nics.values_mut() {
            n.pushed = (n.counter_rx, n.counter_tx);
        }
    }

    /// CPU use as a fraction of `cpus`, a deterministic wobble per minute.
    pub fn cpu(&self, now_ms: u64) -> f64 {
        if !self.is_running() || self.is_paused() {
            return 0.0;
        }
        let h = mix(u64::from(self.vmid) ^ (now_ms / 60_000));
        0.01 + (h % 2900) as f64 / 10_000.0
    }

    /// Memory in use, bytes.
    pub fn mem(&self) -> u64 {
        if !self.is_running() {
            return 0;
        }
        self.maxmem / 100 * (40 + mix(u64::from(self.vmid)) % 40)
    }

    /// Disk bytes read and written since the process started.
    pub fn disk_io(&self, now_ms: u64) -> (u64, u64) {
        let up = self.uptime(now_ms);
        (up * 2048, up * 4096)
    }

    /// The process starts (or starts again): every device is created anew, counters at 0.
    pub fn start_process(&mut self, now_ms: u64, pid: u32) {
        self.reset_all_counters(now_ms);
        let down_if_set = self.link_down_if_set;
        for nic in self.nics.values_mut() {
            nic.link_up = nic
                .config
                .as_ref()
                .is_some_and(|c| plugs_up(down_if_set, c));
        }
        self.power = Power::Running {
            since_ms: now_ms,
            pid,
            run: RunState::Running,
        };
    }

    /// The process ends: devices are gone, counters read 0.
    pub fn stop_process(&mut self, now_ms: u64) {
        self.reset_all_counters(now_ms);
        self.power = Power::Stopped;
    }

    /// Every NIC's device counters start over at `now_ms`.
    pub fn reset_all_counters(&mut self, now_ms: u64) {
        if self.counters() != (0, 0) {
            self.counter_resets += 1;
        }
        for nic in self.nics.values_mut() {
            nic.end_device(false);
        }
        self.mark_disturbed(now_ms);
    }

    /// Something happened at `now_ms` that DERIVE cannot bridge (a reset, a start): the RRD
    /// step in progress becomes unknown.
    pub fn mark_disturbed(&mut self, now_ms: u64) {
        if self.step.start_ms == now_ms / STEP_MS * STEP_MS {
            self.step.clean = false;
        }
    }

    /// Moves traffic over `[from_ms, to_ms)` and records finished RRD steps.
    pub fn run(&mut self, from_ms: u64, to_ms: u64) {
        if self.run_state() != Some(RunState::Running) {
            return;
        }
        let mut t = from_ms;
        while t < to_ms {
            let step_start = t / STEP_MS * STEP_MS;
            let step_end = step_start + STEP_MS;
            let end = step_end.min(to_ms);
            if self.step.start_ms != step_start {
                self.step = StepAcc {
                    start_ms: step_start,
                    clean: t == step_start,
                    rx: 0,
                    tx: 0,
                };
            }
            for nic in self.nics.values_mut().filter(|n| n.moves()) {
                let cap = nic.config.as_ref().and_then(NetConfig::rate_limit_bytes);
                let (rx, tx) = nic.flow.integrate(&nic.profile, cap, t, end);
                nic.counter_rx += rx;
                nic.counter_tx += tx;
                nic.truth_rx += rx;
                nic.truth_tx += tx;
                self.step.rx += rx;
                self.step.tx += tx;
            }
            if end == step_end {
                let sample = self.step.clean.then(|| StepSample {
                    netin: self.step.rx,
                    netout: self.step.tx,
                    diskread: 2048 * 60,
                    diskwrite: 4096 * 60,
                    cpu: self.cpu(step_start),
                    mem: self.mem(),
                });
                self.rrd.record(step_start / 1000, sample);
                // Mark the accumulator as used so a later run in the same step cannot
                // record it twice.
                self.step.start_ms = u64::MAX;
            }
            t = end;
        }
    }

    /// The config file's text, which `digest` hashes: applied keys, then the pending section.
    pub fn config_file(&self) -> String {
        let mut text = String::new();
        for (k, v) in &self.config {
            text.push_str(&format!("{k}: {v}\n"));
        }
        if !self.pending.is_empty() || !self.pending_delete.is_empty() {
            text.push_str("\n[PENDING]\n");
            for (k, v) in &self.pending {
                text.push_str(&format!("{k}: {v}\n"));
            }
            if !self.pending_delete.is_empty() {
                let keys: Vec<&str> = self.pending_delete.iter().map(String::as_str).collect();
                text.push_str(&format!("delete: {}\n", keys.join(",")));
            }
        }
        text
    }

    /// SHA-1 hex of [`Guest::config_file`], as PVE's `digest`.
    pub fn digest(&self) -> String {
        let hash = Sha1::digest(self.config_file().as_bytes());
        hash.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Config path as PVE names it in errors.
    pub fn config_path(&self, node: &str) -> String {
        match self.kind {
            GuestKind::Qemu => format!("nodes/{node}/qemu-server/{}.conf", self.vmid),
            GuestKind::Lxc => format!("nodes/{node}/lxc/{}.conf", self.vmid),
        }
    }
}

/// Traffic offered to a NIC slot that the scenario did not describe (one added through the
/// API later): modest, fixed by the VMID and slot.
pub fn default_profile(vmid: u32, index: u8) -> Profile {
    let seed = mix((u64::from(vmid) << 8) ^ u64::from(index) ^ 0x5EED);
    Profile {
        rx_rate: 10_000 + seed % 200_000,
        tx_rate: 2_000 + (seed >> 20) % 50_000,
        seed,
        shaped: true,
    }
}

/// Adds up pairs.
fn sum(pairs: impl Iterator<Item = (u64, u64)>) -> (u64, u64) {
    pairs.fold((0, 0), |(r, t), (a, b)| (r + a, t + b))
}

/// The NIC slot index of a `netN` key.
pub fn net_index(key: &str) -> Option<u8> {
    let n: u8 = key.strip_prefix("net")?.parse().ok()?;
    (n <= 31 && key == format!("net{n}")).then_some(n)
}

impl Guest {
    /// Installs `config` into NIC slot `index` at `now_ms` (`None` removes the device).
    /// `recreate` means a new host device: its counters start over.
    pub fn set_nic(&mut self, index: u8, config: Option<NetConfig>, now_ms: u64, recreate: bool) {
        let had_device = self.nics.get(&index).is_some_and(Nic::has_device);
        let (kind, down_if_set) = (self.kind, self.link_down_if_set);
        let (nic, old) = self.install_nic(index, config);
        let replug = recreate || !had_device || !nic.has_device();
        if let Some(new) = &nic.config {
            nic.link_up = match (kind, &old) {
                _ if replug => plugs_up(down_if_set, new),
                (GuestKind::Lxc, Some(old)) if old.replugs_veth(new) => plugs_up(down_if_set, new),
                (GuestKind::Lxc, _) => nic.link_up,
                // qemu-server sets the link with QMP `set_link`, by the boolean value.
                (GuestKind::Qemu, _) => !new.link_down(),
            };
        }
        if !replug {
            return;
        }
        let had_bytes = nic.counter_rx != 0 || nic.counter_tx != 0;
        nic.end_device(true);
        self.counter_resets += u64::from(had_bytes);
        self.mark_disturbed(now_ms);
    }

    /// Writes `config` into slot `index` (creating the slot) without touching its device.
    /// Returns the slot and the config it had.
    fn install_nic(
        &mut self,
        index: u8,
        config: Option<NetConfig>,
    ) -> (&mut Nic, Option<NetConfig>) {
        let key = format!("net{index}");
        match &config {
            Some(c) => self.config.insert(key, c.print()),
            None => self.config.remove(&key),
        };
        let vmid = self.vmid;
        let nic = self.nics.entry(index).or_insert_with(|| {
            Nic::new(
                default_profile(vmid, index),
                config.clone().expect("new NIC has a config"),
            )
        });
        let old = std::mem::replace(&mut nic.config, config);
        (nic, old)
    }

    /// Moves pending config into the applied config (PVE does this at start).
    pub fn apply_pending(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        let deletes = std::mem::take(&mut self.pending_delete);
        for key in deletes {
            if let Some(i) = net_index(&key) {
                if let Some(nic) = self.nics.get_mut(&i) {
                    nic.config = None;
                }
            }
            self.config.remove(&key);
        }
        for (key, value) in pending {
            if let Some(i) = net_index(&key) {
                if let Ok(cfg) = NetConfig::parse(self.kind, &value) {
                    // The start that follows creates every device anew.
                    self.install_nic(i, Some(cfg));
                    continue;
                }
            }
            self.config.insert(key, value);
        }
    }
}

/// Whether a device plugged with `config` comes up (`down_if_set`: see
/// [`Guest::link_down_if_set`]).
fn plugs_up(down_if_set: bool, config: &NetConfig) -> bool {
    if down_if_set {
        !config.has_link_down_key()
    } else {
        !config.link_down()
    }
}
