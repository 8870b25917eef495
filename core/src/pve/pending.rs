//! `GET /nodes/{node}/{qemu|lxc}/{vmid}/pending`: the guest's config keys with their current
//! and pending values.
//!
//! An operator's change that PVE cannot apply to a running guest (a NIC model change without
//! network hotplug, say) waits in the config's pending section until the next start. A `PUT`
//! of that key replaces the pending value, and may apply the new one live, so a writer that
//! does not look here can wipe an operator's pending change without a trace. Rows carry
//! `key`, `value` (in effect), `pending` (waiting) and `delete` (`1`/`2`: a deletion waits).
//! Fetch is apart from [`parse_pending`], which is pure and lenient.

use std::collections::BTreeMap;

use serde_json::Value;

use super::lenient;
use super::{Client, PveError};
use crate::guest::GuestType;

/// What waits for one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PendingChange {
    /// A new value waits.
    Value(String),
    /// The key's deletion waits.
    Delete,
}

/// `/nodes/{node}/{qemu|lxc}/{vmid}/pending`.
pub fn path(node: &str, guest_type: GuestType, vmid: u32) -> String {
    format!("/nodes/{node}/{guest_type}/{vmid}/pending")
}

impl Client {
    /// The keys with a pending change, by key.
    pub async fn guest_pending(
        &self,
        node: &str,
        guest_type: GuestType,
        vmid: u32,
    ) -> Result<BTreeMap<String, PendingChange>, PveError> {
        let path = path(node, guest_type, vmid);
        let data = self.get(&path, &[]).await?;
        parse_pending(&data).map_err(|detail| PveError::Malformed { path, detail })
    }
}

/// The rows of `GET .../pending` that hold a pending change. A pending deletion wins over a
/// pending value of the same key (PVE deletes it at the next start).
pub fn parse_pending(data: &Value) -> Result<BTreeMap<String, PendingChange>, String> {
    let Value::Array(rows) = data else {
        return Err(format!("expected a list of keys, got {data}"));
    };
    let mut out = BTreeMap::new();
    for row in rows {
        let Some(key) = lenient::string_value(row.get("key")).map_err(|e| format!("key: {e}"))?
        else {
            continue;
        };
        let delete = lenient::u64_value(row.get("delete"))
            .map_err(|e| format!("{key}: delete: {e}"))?
            .unwrap_or(0);
        let pending =
            lenient::string_value(row.get("pending")).map_err(|e| format!("{key}: {e}"))?;
        let change = match (delete, pending) {
            (d, _) if d > 0 => PendingChange::Delete,
            (_, Some(v)) => PendingChange::Value(v),
            (_, None) => continue,
        };
        out.insert(key, change);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_keys_with_a_pending_change() {
        let data = json!([
            {"key": "memory", "value": 2048},
            {"key": "net0", "value": "virtio=AA,bridge=vmbr0", "pending": "e1000=AA,bridge=vmbr0"},
            {"key": "net1", "value": "virtio=BB,bridge=vmbr1", "delete": 1},
            {"key": "net2", "pending": "virtio=CC,bridge=vmbr2"},
            {"key": "net3", "value": "x", "pending": "y", "delete": "2"},
            {"value": "no key"}
        ]);
        let p = parse_pending(&data).unwrap();
        assert_eq!(
            p.into_iter().collect::<Vec<_>>(),
            vec![
                (
                    "net0".to_string(),
                    PendingChange::Value("e1000=AA,bridge=vmbr0".into())
                ),
                ("net1".to_string(), PendingChange::Delete),
                (
                    "net2".to_string(),
                    PendingChange::Value("virtio=CC,bridge=vmbr2".into())
                ),
                ("net3".to_string(), PendingChange::Delete),
            ]
        );
    }

    #[test]
    fn odd_answers() {
        assert!(parse_pending(&json!({})).is_err());
        assert!(parse_pending(&json!([])).unwrap().is_empty());
        assert!(parse_pending(&json!([{"key": "net0", "pending": ["x"]}])).is_err());
    }
}
