//! Guest config: reading it (`GET .../config`) and changing it (`PUT`/`POST .../config`).
//!
//! This is where the enforcer's disconnect and rate limit land, so the details matter:
//! - Reads merge pending values unless `current=1`, and carry a `digest` (SHA-1 of the whole
//!   config file); a write with a stale digest fails, so concurrent edits are never lost.
//! - `netN` values are parsed and printed back canonically, exactly as PVE does; a value
//!   sent without its MAC gets a new one, which means a new device and reset counters.
//! - On a running guest, `rate`, `link_down`, `bridge`, `tag`, `firewall` apply live and keep
//!   the counters; a model/MAC/queues/mtu change re-creates the device (its counters reset)
//!   when `hotplug` includes `network`, and otherwise stays pending until the next start.

use serde_json::{Map, Value};

use super::guest::{net_index, Guest};
use super::task::Job;
use super::Cluster;
use crate::error::{ApiError, ApiResult};
use crate::netconf::{normalize_tags, proxmox_mac, GuestKind, NetConfig};
use crate::params::Params;

/// Parameters of a config write that are not config keys.
pub const WRITE_CONTROL_PARAMS: [&str; 5] =
    ["delete", "revert", "digest", "skiplock", "background_delay"];

/// Config keys that are integers in the schema (printed as JSON numbers).
const INTEGER_KEYS: [&str; 5] = ["cores", "sockets", "template", "onboot", "protection"];

/// Whether `key` is a config key the simulator accepts for `kind`.
pub fn is_config_key(kind: GuestKind, key: &str) -> bool {
    if net_index(key).is_some() {
        return true;
    }
    let common = [
        "tags",
        "memory",
        "cores",
        "onboot",
        "description",
        "protection",
    ];
    let own: &[&str] = match kind {
        GuestKind::Qemu => &["name", "sockets", "hotplug"],
        GuestKind::Lxc => &["hostname", "swap"],
    };
    common.contains(&key) || own.contains(&key)
}

impl Cluster {
    /// The guest's config as `GET .../config` returns it.
    pub fn read_config(
        &self,
        node: &str,
        kind: GuestKind,
        vmid: u32,
        current: bool,
    ) -> ApiResult<Map<String, Value>> {
        let g = self.guest_on(node, kind, vmid)?;
        let mut merged = g.config.clone();
        if !current {
            for (k, v) in &g.pending {
                merged.insert(k.clone(), v.clone());
            }
            // PVE's vm_config drops keys whose deletion is pending from the merged view.
            for k in &g.pending_delete {
                merged.remove(k);
            }
        }
        let mut out = Map::new();
        for (k, v) in merged {
            let number = INTEGER_KEYS.contains(&k.as_str())
                || (k == "memory" && (kind == GuestKind::Lxc || !self.version.memory_is_string()));
            let value = match v.parse::<i64>() {
                Ok(n) if number => Value::from(n),
                _ => Value::from(v),
            };
            out.insert(k, value);
        }
        out.insert("digest".to_string(), Value::from(g.digest()));
        Ok(out)
    }

    /// Applies a config write. Returns the UPID for an asynchronous QEMU `POST`, `None` for a
    /// synchronous write. Permissions are the caller's business (they need the identity).
    pub fn write_config(
        &mut self,
        node: &str,
        kind: GuestKind,
        vmid: u32,
        params: &Params,
        user: &str,
        asynchronous: bool,
    ) -> ApiResult<Option<String>> {
        let g = self.guest_on(node, kind, vmid)?;
        if params.contains_key("skiplock") {
            return Err(ApiError::param(
                "skiplock",
                "Only root may use this option.",
            ));
        }
        let changes: Vec<(&String, &String)> = params
            .iter()
            .filter(|(k, _)| !["digest", "skiplock", "background_delay"].contains(&k.as_str()))
            .collect();
        if changes.is_empty() {
            return Err(ApiError::internal("no options specified"));
        }
        let what = if kind == GuestKind::Qemu { "VM" } else { "CT" };
        if let Some(lock) = g.lock() {
            return Err(ApiError::internal(format!("{what} is locked ({lock})")));
        }
        if let Some(digest) = params.get("digest") {
            if *digest != g.digest() {
                return Err(ApiError::internal(match kind {
                    GuestKind::Qemu => "checksum mismatch (file change by other user?)",
                    GuestKind::Lxc => {
                        "detected modified configuration - file changed by other user? Try again."
                    }
                }));
            }
        }
        let mac_seed = self.rng.next_u64();
        let g = self.guests.get(&vmid).expect("guest checked above");
        let plan = plan_write(g, params, mac_seed)?;
        let now = self.now_ms();
        let g = self.guests.get_mut(&vmid).expect("guest checked above");
        apply_plan(g, plan, now);
        if asynchronous {
            let background = params.get("background_delay").is_some();
            let upid = self.spawn_task(node, vmid, Job::Config, user, self.timing.other);
            if background {
                return Ok(None);
            }
            return Ok(Some(upid));
        }
        Ok(None)
    }
}

/// Validates every change of a write and decides how each one lands, before anything is
/// applied (a bad value changes nothing). New MACs are derived from `mac_seed`.
fn plan_write(g: &Guest, params: &Params, mac_seed: u64) -> ApiResult<Vec<Change>> {
    let mut plan = Vec::new();
    let running = g.is_running();
    let hotplug_net = g.kind == GuestKind::Lxc
        || g.config
            .get("hotplug")
            .is_none_or(|h| h.split(',').any(|p| p == "network" || p == "1"));
    for (key, value) in params {
        if WRITE_CONTROL_PARAMS.contains(&key.as_str()) {
            continue;
        }
        if let Some(index) = net_index(key) {
            let mut new =
                NetConfig::parse_param(g.kind, key, value).map_err(|e| ApiError::param(key, e))?;
            new.ensure_mac(|| proxmox_mac(mac_seed ^ u64::from(index)));
            let old = g.nics.get(&index).and_then(|n| n.config.clone());
            let change = match (&old, running) {
                (_, false) => Change::Nic {
                    index,
                    config: Some(new),
                    recreate: false,
                },
                (None, true) if hotplug_net => Change::Nic {
                    index,
                    config: Some(new),
                    recreate: true,
                },
                (Some(old), true) if old.recreates_device(&new) && hotplug_net => Change::Nic {
                    index,
                    config: Some(new),
                    recreate: true,
                },
                (Some(old), true) if !old.recreates_device(&new) => Change::Nic {
                    index,
                    config: Some(new),
                    recreate: false,
                },
                _ => Change::Pending {
                    key: key.clone(),
                    value: new.print(),
                },
            };
            plan.push(change);
        } else if key == "tags" {
            let tags = normalize_tags(value).map_err(|e| ApiError::param("tags", e))?;
            plan.push(Change::Set {
                key: key.clone(),
                value: tags,
            });
        } else if running
            && g.kind == GuestKind::Qemu
            && ["memory", "cores", "sockets"].contains(&key.as_str())
        {
            plan.push(Change::Pending {
                key: key.clone(),
                value: value.clone(),
            });
        } else {
            plan.push(Change::Set {
                key: key.clone(),
                value: value.clone(),
            });
        }
    }
    for key in list(params.get("delete")) {
        if !is_config_key(g.kind, &key) {
            return Err(ApiError::param(
                "delete",
                format!("invalid configuration key '{key}'"),
            ));
        }
        match net_index(&key) {
            Some(_) if running && !hotplug_net => plan.push(Change::PendingDelete { key }),
            Some(index) => plan.push(Change::Nic {
                index,
                config: None,
                recreate: true,
            }),
            None => plan.push(Change::Delete { key }),
        }
    }
    for key in list(params.get("revert")) {
        plan.push(Change::Revert { key });
    }
    Ok(plan)
}

/// How one change of a config write lands.
#[derive(Debug)]
enum Change {
    /// A plain key written to the config.
    Set { key: String, value: String },
    /// A key removed from the config.
    Delete { key: String },
    /// A NIC slot written (or removed, `config: None`), live or on a stopped guest.
    Nic {
        index: u8,
        config: Option<NetConfig>,
        recreate: bool,
    },
    /// A value that waits for the next start.
    Pending { key: String, value: String },
    /// A deletion that waits for the next start.
    PendingDelete { key: String },
    /// A pending change dropped.
    Revert { key: String },
}

fn apply_plan(g: &mut Guest, plan: Vec<Change>, now_ms: u64) {
    for change in plan {
        match change {
            Change::Set { key, value } => {
                g.pending.remove(&key);
                g.config.insert(key, value);
            }
            Change::Delete { key } => {
                g.pending.remove(&key);
                g.config.remove(&key);
            }
            Change::Nic {
                index,
                config,
                recreate,
            } => {
                g.pending.remove(&format!("net{index}"));
                if config.is_some() || g.nics.contains_key(&index) {
                    g.set_nic(index, config, now_ms, recreate);
                }
            }
            Change::Pending { key, value } => {
                g.pending.insert(key, value);
            }
            Change::PendingDelete { key } => {
                g.pending_delete.insert(key);
            }
            Change::Revert { key } => {
                g.pending.remove(&key);
                g.pending_delete.remove(&key);
            }
        }
    }
}

/// Splits a `delete`/`revert` list on commas, semicolons and whitespace.
fn list(value: Option<&String>) -> Vec<String> {
    value
        .map(|v| {
            v.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}
