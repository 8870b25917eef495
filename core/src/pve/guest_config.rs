//! A guest's NIC config: `GET .../{qemu|lxc}/{vmid}/config?current=1` to read the `netN`
//! strings and the `digest`, `PUT .../config` to write changed `netN` strings back
//! (docs/pve-api.md, "Guest config").
//!
//! The enforcer's write is a read-modify-write of whole `netN` strings (PVE has no per-key
//! patching), guarded by the `digest`: if anyone changed the config between the read and
//! the write, PVE refuses the write ([`is_digest_conflict`]) instead of silently undoing
//! their change, and the caller re-reads and tries again. The read asks for `current=1`:
//! the values in effect, not pending ones merged in, because the enforcer must compare and
//! restore what the guest actually runs with.
//!
//! Both QEMU and LXC are written with `PUT`, which is synchronous on both (QEMU's `POST`
//! variant would return a task). Editing the strings themselves is `enforcer::nic`'s job;
//! this module only moves them. Fetch is apart from [`parse_guest_config`], which is pure
//! and lenient (a value may come as a JSON number).

use std::collections::BTreeMap;

use serde_json::Value;

use super::lenient;
use super::{Client, PveError};
use crate::guest::GuestType;

/// The `netN` strings of one guest and the digest of the config they were read from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GuestConfig {
    /// `net0` → raw property string, exactly as PVE sent it.
    pub nets: BTreeMap<String, String>,
    /// SHA-1 of the whole config file; send it back with a write ([`Client::set_guest_nets`]).
    pub digest: String,
}

/// `/nodes/{node}/{qemu|lxc}/{vmid}/config`.
pub fn path(node: &str, guest_type: GuestType, vmid: u32) -> String {
    format!("/nodes/{node}/{guest_type}/{vmid}/config")
}

impl Client {
    /// The NIC config in effect (`current=1`) and its digest.
    pub async fn guest_config(
        &self,
        node: &str,
        guest_type: GuestType,
        vmid: u32,
    ) -> Result<GuestConfig, PveError> {
        let path = path(node, guest_type, vmid);
        let data = self.get(&path, &[("current", "1")]).await?;
        parse_guest_config(&data).map_err(|detail| PveError::Malformed { path, detail })
    }

    /// Writes whole `netN` strings (`changes` = `[("net0", "virtio=…,rate=5"), …]`) with
    /// `PUT .../config`, guarded by `digest` from [`Client::guest_config`]. Synchronous for
    /// QEMU and LXC alike: when this returns `Ok`, PVE has applied the change. A config
    /// changed since the read fails with an error for which [`is_digest_conflict`] is true.
    /// No changes, no request (PVE would answer `no options specified`).
    ///
    /// Like every write, retried only when PVE surely did not act on it (see the `pve`
    /// module doc); a retry after a write that did land fails on the digest, never
    /// writes twice.
    pub async fn set_guest_nets(
        &self,
        node: &str,
        guest_type: GuestType,
        vmid: u32,
        changes: &[(String, String)],
        digest: &str,
    ) -> Result<(), PveError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut form: Vec<(&str, &str)> = changes
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        form.push(("digest", digest));
        self.put(&path(node, guest_type, vmid), &form).await?;
        Ok(())
    }
}

/// Parses the `data` of `GET .../config`: every `netN` key (values read leniently: a
/// number is taken as its text) and the `digest`. Other keys are ignored. `Err` says what
/// is wrong: `data` not an object, no digest (a write could not be guarded), or a `netN`
/// value that is not text.
pub fn parse_guest_config(data: &Value) -> Result<GuestConfig, String> {
    let Value::Object(obj) = data else {
        return Err(format!("expected the config as an object, got {data}"));
    };
    let digest = lenient::string_value(obj.get("digest"))
        .map_err(|e| format!("digest: {e}"))?
        .ok_or(
            "no `digest` in the config: a write could not be guarded against concurrent changes",
        )?;
    let mut nets = BTreeMap::new();
    for (key, value) in obj {
        if !is_net_key(key) {
            continue;
        }
        match lenient::string_value(Some(value)) {
            Ok(Some(v)) => {
                nets.insert(key.clone(), v);
            }
            // An empty value is no NIC.
            Ok(None) => {}
            Err(e) => return Err(format!("{key}: {e}")),
        }
    }
    Ok(GuestConfig { nets, digest })
}

/// `net0` … `net31` (any number is accepted: the limit is PVE's business).
fn is_net_key(key: &str) -> bool {
    key.strip_prefix("net")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether a write failed because the config changed since it was read (the digest no
/// longer matches): QEMU `checksum mismatch (file change by other user?)`, LXC `detected
/// modified configuration - file changed by other user? Try again.`, both HTTP 500.
/// The remedy is to read again and redo the change.
pub fn is_digest_conflict(e: &PveError) -> bool {
    match e {
        PveError::Api { reason, .. } => {
            reason.contains("checksum mismatch")
                || reason.contains("detected modified configuration")
                || reason.contains("file changed by other user")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn qemu_config_from_the_spec() {
        let data = json!({"boot":"order=scsi0;net0","cores":2,"cpu":"x86-64-v2-AES","memory":"2048","name":"web1",
            "net0":"virtio=BC:24:11:3A:5F:01,bridge=vmbr0,firewall=1,rate=12.5,tag=20",
            "net1":"e1000=BC:24:11:3A:5F:02,bridge=vmbr1,link_down=1",
            "ostype":"l26","scsi0":"local-lvm:vm-100-disk-0,size=32G","scsihw":"virtio-scsi-single",
            "sockets":1,"tags":"prod;web","vmgenid":"1e0d6c4a-6b7e-4f7c-9a53-2f1b8d2c7e90",
            "digest":"3f786850e387550fdab836ed7e6dc881de23001b"});
        let c = parse_guest_config(&data).unwrap();
        assert_eq!(c.digest, "3f786850e387550fdab836ed7e6dc881de23001b");
        assert_eq!(
            c.nets.into_iter().collect::<Vec<_>>(),
            vec![
                (
                    "net0".to_string(),
                    "virtio=BC:24:11:3A:5F:01,bridge=vmbr0,firewall=1,rate=12.5,tag=20".to_string()
                ),
                (
                    "net1".to_string(),
                    "e1000=BC:24:11:3A:5F:02,bridge=vmbr1,link_down=1".to_string()
                ),
            ]
        );
    }

    #[test]
    fn lxc_config_with_odd_values() {
        let data = json!({"arch":"amd64","hostname":"ct1","memory":512,
            "net0":"name=eth0,bridge=vmbr0,hwaddr=BC:24:11:5E:7A:01,ip=dhcp,rate=5,type=veth",
            "net12":"name=eth12,bridge=vmbr0,type=veth",
            "net2": 7, "net3": "", "netmask": "ignored", "network": 1, "net": "x",
            "digest": "ab"});
        let c = parse_guest_config(&data).unwrap();
        assert_eq!(
            c.nets.keys().collect::<Vec<_>>(),
            ["net0", "net12", "net2"],
            "only netN keys with a value"
        );
        assert_eq!(c.nets["net2"], "7", "a number is read as its text");
        assert_eq!(c.digest, "ab");
    }

    #[test]
    fn no_nics_is_fine() {
        let c = parse_guest_config(&json!({"digest": "d"})).unwrap();
        assert!(c.nets.is_empty());
    }

    #[test]
    fn unusable_answers_say_why() {
        assert_eq!(
            parse_guest_config(&json!({"net0": "virtio"})).unwrap_err(),
            "no `digest` in the config: a write could not be guarded against concurrent changes"
        );
        assert!(parse_guest_config(&json!([]))
            .unwrap_err()
            .contains("object"));
        assert_eq!(
            parse_guest_config(&json!({"digest": "d", "net0": ["x"]})).unwrap_err(),
            "net0: expected a string, got [\"x\"]"
        );
    }

    #[test]
    fn digest_conflicts_of_both_guest_types_are_recognised() {
        let api = |reason: &str| PveError::Api {
            status: 500,
            reason: reason.into(),
            path: "/nodes/pve1/qemu/100/config".into(),
        };
        assert!(is_digest_conflict(&api(
            "checksum mismatch (file change by other user?)"
        )));
        assert!(is_digest_conflict(&api(
            "detected modified configuration - file changed by other user? Try again."
        )));
        assert!(!is_digest_conflict(&api("VM is locked (backup)")));
        assert!(!is_digest_conflict(&PveError::Config(
            "checksum mismatch".into()
        )));
    }

    #[test]
    fn paths() {
        assert_eq!(
            path("pve1", GuestType::Lxc, 101),
            "/nodes/pve1/lxc/101/config"
        );
        assert_eq!(
            path("pve1", GuestType::Qemu, 100),
            "/nodes/pve1/qemu/100/config"
        );
    }
}
