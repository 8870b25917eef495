//! `GET /cluster/resources?type=vm`: every guest of the cluster, with its traffic counters,
//! in one call (pve-api.md §3.4).
//!
//! This is the exporter's poll: one request per cycle, whatever the cluster size. Fetching
//! ([`Client::cluster_guests`]) is apart from parsing ([`parse_cluster_guests`]), which is
//! pure and tested on recorded JSON with odd values. PVE's output is loosely typed (numbers
//! as strings, booleans as `0`/`""`/absent) and may hold entries this client does not know
//! (a future guest type, a half-written entry); those are skipped with a note for the
//! caller to log, never a panic and never a failed poll. Only a `data` that is not a list
//! at all is an error.
//!
//! The counters here come from PVE's status cache, refreshed every 10 s, so they may lag the
//! live `status/current` by up to that much; a guest whose node stopped reporting has
//! `status: "unknown"` and no counters at all (`None`, not 0: absent is not a reset).

use serde_json::{Map, Value};

use super::lenient::{self, Invalid};
use super::{Client, PveError};
use crate::guest::GuestType;

/// The API path of this resource.
pub const PATH: &str = "/cluster/resources";

/// Resource kinds `/cluster/resources` lists besides guests; skipped without a note if an
/// unfiltered list is parsed.
const NON_GUEST_KINDS: &[&str] = &["node", "storage", "pool", "sdn", "network"];

/// One guest as `/cluster/resources` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestResource {
    /// The VMID, unique cluster-wide.
    pub vmid: u32,
    /// QEMU or LXC.
    pub guest_type: GuestType,
    /// The node the guest is on now.
    pub node: String,
    /// `running`, `stopped`, `paused` (and QEMU's other run states), or `unknown` when the
    /// node sent no status; kept as PVE's text.
    pub status: String,
    /// The guest's name, when status data exists.
    pub name: Option<String>,
    /// Seconds since the guest (process) started; `None` without status data.
    pub uptime: Option<u64>,
    /// Cumulative bytes sent *to* the guest since it started (host TX of its tap/veth);
    /// `None` without status data.
    pub netin: Option<u64>,
    /// Cumulative bytes sent *by* the guest since it started; `None` without status data.
    pub netout: Option<u64>,
    /// Whether the guest is a template (absent = false).
    pub template: bool,
    /// Tags, split on `;`, `,` and whitespace (pve-api.md §8), in PVE's order.
    pub tags: Vec<String>,
    /// Config lock (`backup`, `migrate`, …), if any.
    pub lock: Option<String>,
    /// Pool name, if any (visible only with `Pool.Audit`).
    pub pool: Option<String>,
}

impl GuestResource {
    /// The metric label `id`: `qemu/100`.
    pub fn id(&self) -> String {
        self.guest_type.id(self.vmid)
    }
}

impl Client {
    /// Every guest of the cluster, in VMID order, with exactly one
    /// `GET /cluster/resources?type=vm`. Skipped entries are logged at `warn`.
    pub async fn cluster_guests(&self) -> Result<Vec<GuestResource>, PveError> {
        let data = self.get(PATH, &[("type", "vm")]).await?;
        let (guests, notes) = parse_cluster_guests(&data)?;
        for note in &notes {
            tracing::warn!(path = PATH, "{note}");
        }
        Ok(guests)
    }
}

/// Parses the `data` of `/cluster/resources` (`?type=vm` or unfiltered) into guests, sorted
/// by VMID, plus notes on what was skipped or ignored (an unknown guest type, a bad VMID, an
/// unreadable field). Only a `data` that is not an array is an error.
pub fn parse_cluster_guests(data: &Value) -> Result<(Vec<GuestResource>, Vec<String>), PveError> {
    let Value::Array(entries) = data else {
        return Err(PveError::Malformed {
            path: PATH.to_string(),
            detail: format!("expected a list of resources, got {}", lenient_kind(data)),
        });
    };
    let mut guests: Vec<GuestResource> = Vec::with_capacity(entries.len());
    let mut notes = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        if let Some(g) = parse_entry(index, entry, &mut notes) {
            guests.push(g);
        }
    }
    guests.sort_by_key(|g| g.vmid);
    // PVE keys guests by VMID, so a repeat means a broken answer; keep the first.
    guests.dedup_by(|later, first| {
        let dup = later.vmid == first.vmid;
        if dup {
            notes.push(format!(
                "skipped a second entry for VMID {} ({} on {}): VMIDs are unique",
                later.vmid,
                later.id(),
                later.node
            ));
        }
        dup
    });
    Ok((guests, notes))
}

/// One entry; `None` (with a note, unless it is a known non-guest kind) when it cannot
/// describe a guest.
fn parse_entry(index: usize, entry: &Value, notes: &mut Vec<String>) -> Option<GuestResource> {
    let Value::Object(obj) = entry else {
        notes.push(format!(
            "skipped entry #{index}: expected an object, got {}",
            lenient_kind(entry)
        ));
        return None;
    };
    let id = obj.get("id").and_then(Value::as_str).unwrap_or("");
    let label = if id.is_empty() {
        format!("entry #{index}")
    } else {
        format!("entry #{index} ({id})")
    };
    // `type` is authoritative; an entry without it may still say it in its id.
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .or_else(|| id.split_once('/').map(|(k, _)| k))
        .unwrap_or("");
    let guest_type = match GuestType::parse(kind) {
        Some(t) => t,
        None if NON_GUEST_KINDS.contains(&kind) => return None,
        None => {
            notes.push(format!(
                "skipped {label}: unknown guest type {:?} (expected qemu or lxc)",
                kind
            ));
            return None;
        }
    };
    // `vmid` is authoritative; without it, the number in the id (`qemu/100`).
    let vmid = match lenient::u32_value(obj.get("vmid")) {
        Ok(Some(v)) => Some(v),
        Ok(None) => id.split_once('/').and_then(|(_, n)| n.parse::<u32>().ok()),
        Err(e) => {
            notes.push(format!("skipped {label}: vmid: {e}"));
            return None;
        }
    };
    let Some(vmid) = vmid.filter(|v| *v > 0) else {
        notes.push(format!("skipped {label}: no valid vmid"));
        return None;
    };
    let node = match lenient::string_value(obj.get("node")) {
        Ok(Some(n)) => n,
        Ok(None) => {
            notes.push(format!("skipped {label}: no node"));
            return None;
        }
        Err(e) => {
            notes.push(format!("skipped {label}: node: {e}"));
            return None;
        }
    };
    let mut field = Fields {
        obj,
        label: &label,
        notes,
    };
    Some(GuestResource {
        vmid,
        guest_type,
        status: field.string("status").unwrap_or_else(|| "unknown".into()),
        name: field.string("name"),
        uptime: field.u64("uptime"),
        netin: field.u64("netin"),
        netout: field.u64("netout"),
        template: field.bool("template"),
        tags: field.tags("tags"),
        lock: field.string("lock"),
        pool: field.string("pool"),
        node,
    })
}

/// Reads optional fields of one entry; an unreadable field becomes absent with a note.
struct Fields<'a> {
    obj: &'a Map<String, Value>,
    label: &'a str,
    notes: &'a mut Vec<String>,
}

impl Fields<'_> {
    fn note<T: Default>(&mut self, key: &str, r: Result<T, Invalid>) -> T {
        r.unwrap_or_else(|e| {
            self.notes
                .push(format!("ignored {key} of {}: {e}", self.label));
            T::default()
        })
    }

    fn u64(&mut self, key: &str) -> Option<u64> {
        let r = lenient::u64_value(self.obj.get(key));
        self.note(key, r)
    }

    fn string(&mut self, key: &str) -> Option<String> {
        let r = lenient::string_value(self.obj.get(key));
        self.note(key, r)
    }

    fn bool(&mut self, key: &str) -> bool {
        let r = lenient::bool_value(self.obj.get(key));
        self.note(key, r)
    }

    /// A tag string split on `[;,\s]+`, or (leniently) a list of tags.
    fn tags(&mut self, key: &str) -> Vec<String> {
        match self.obj.get(key) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| lenient::string_value(Some(v)).ok().flatten())
                .flat_map(|s| split_tags(&s))
                .collect(),
            other => {
                let r = lenient::string_value(other);
                self.note(key, r)
                    .map(|s| split_tags(&s))
                    .unwrap_or_default()
            }
        }
    }
}

/// Splits a PVE tag string on `;`, `,` and whitespace, dropping empty pieces.
pub fn split_tags(s: &str) -> Vec<String> {
    s.split(|c: char| c == ';' || c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

fn lenient_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture(name: &str) -> Value {
        let text = match name {
            "pve9" => include_str!("../../tests/fixtures/cluster_resources_pve9.json"),
            "odd" => include_str!("../../tests/fixtures/cluster_resources_odd.json"),
            "sim" => include_str!("../../tests/fixtures/cluster_resources_sim.json"),
            "sim_legacy" => include_str!("../../tests/fixtures/cluster_resources_sim_legacy.json"),
            "unfiltered" => include_str!("../../tests/fixtures/cluster_resources_unfiltered.json"),
            _ => unreachable!("no fixture {name}"),
        };
        let envelope: Value = serde_json::from_str(text).expect("fixture is JSON");
        envelope["data"].clone()
    }

    fn by_vmid(guests: &[GuestResource], vmid: u32) -> &GuestResource {
        guests
            .iter()
            .find(|g| g.vmid == vmid)
            .unwrap_or_else(|| panic!("no guest {vmid}"))
    }

    #[test]
    fn canonical_pve9_answer() {
        let (guests, notes) = parse_cluster_guests(&fixture("pve9")).unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(
            guests.iter().map(|g| g.vmid).collect::<Vec<_>>(),
            vec![100, 101, 9000]
        );
        assert_eq!(
            guests[0],
            GuestResource {
                vmid: 100,
                guest_type: GuestType::Qemu,
                node: "pve1".into(),
                status: "running".into(),
                name: Some("web1".into()),
                uptime: Some(86400),
                netin: Some(734003200),
                netout: Some(52428800),
                template: false,
                tags: vec!["prod".into(), "web".into()],
                lock: None,
                pool: Some("tenant-a".into()),
            }
        );
        let ct = by_vmid(&guests, 101);
        assert_eq!(ct.guest_type, GuestType::Lxc);
        assert_eq!(ct.id(), "lxc/101");
        assert_eq!(ct.lock.as_deref(), Some("backup"));
        assert_eq!((ct.netin, ct.netout), (Some(0), Some(0)));
        assert!(by_vmid(&guests, 9000).template);
    }

    #[test]
    fn odd_values_are_read_leniently() {
        let (guests, notes) = parse_cluster_guests(&fixture("odd")).unwrap();
        // Strings for numbers, vmid as a string.
        let g = by_vmid(&guests, 100);
        assert_eq!(g.netin, Some(734003200));
        assert_eq!(g.netout, Some(52428800));
        assert_eq!(g.uptime, Some(86400));
        assert!(!g.template, "template absent = false");
        assert_eq!(g.tags, vec!["prod", "web", "eu-west"]);
        // Float notation and template "1".
        let g = by_vmid(&guests, 102);
        assert_eq!(g.netin, Some(1_200_000_000_000_000));
        assert!(g.template);
        // Status unknown: no stats at all, None rather than 0.
        let g = by_vmid(&guests, 103);
        assert_eq!(g.status, "unknown");
        assert_eq!((g.uptime, g.netin, g.netout), (None, None, None));
        assert_eq!(g.name, None);
        assert_eq!(g.lock.as_deref(), Some("migrate"));
        // Template given as "" and as JSON true; a numeric name; empty lock = none.
        assert!(!by_vmid(&guests, 104).template);
        assert!(by_vmid(&guests, 105).template);
        assert_eq!(by_vmid(&guests, 104).name.as_deref(), Some("1234"));
        assert_eq!(by_vmid(&guests, 104).lock, None);
        // No type member: taken from the id. No status member: unknown.
        let g = by_vmid(&guests, 107);
        assert_eq!(g.guest_type, GuestType::Lxc);
        assert_eq!(g.status, "unknown");
        // A negative counter is dropped with a note, the guest is kept.
        let g = by_vmid(&guests, 108);
        assert_eq!(g.netin, None);
        assert_eq!(g.netout, Some(5));
        // openvz, bad vmid, no node, not an object, duplicate: skipped.
        assert_eq!(
            guests.iter().map(|g| g.vmid).collect::<Vec<_>>(),
            vec![100, 101, 102, 103, 104, 105, 107, 108]
        );
        let all = notes.join("\n");
        for expected in [
            r#"unknown guest type "openvz""#,
            "vmid: expected a non-negative integer, got \"abc\"",
            "no node",
            "entry #13: expected an object, got a string",
            "ignored netin of entry #10 (qemu/108): expected a non-negative integer, got -1",
            "skipped a second entry for VMID 101",
        ] {
            assert!(
                all.contains(expected),
                "missing note {expected:?} in:\n{all}"
            );
        }
        assert_eq!(notes.len(), 6, "{all}");
    }

    #[test]
    fn recorded_from_pve_sim() {
        let (guests, notes) = parse_cluster_guests(&fixture("sim")).unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        assert!(!guests.is_empty());
        assert!(guests.windows(2).all(|w| w[0].vmid < w[1].vmid));
        for g in &guests {
            assert!(g.netin.is_some() && g.netout.is_some(), "{}", g.id());
            if g.status == "stopped" {
                assert_eq!((g.netin, g.netout), (Some(0), Some(0)), "{}", g.id());
            }
        }
    }

    /// The same cluster at the same moment, recorded once as PVE 9.1 and once as 7.4 with
    /// numbers as strings: the same guests.
    #[test]
    fn legacy_strings_parse_like_canonical_numbers() {
        let (canonical, _) = parse_cluster_guests(&fixture("sim")).unwrap();
        let (legacy, notes) = parse_cluster_guests(&fixture("sim_legacy")).unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        assert!(
            fixture("sim_legacy")[0]["netin"].is_string(),
            "the fixture has quirks"
        );
        assert_eq!(legacy, canonical);
    }

    #[test]
    fn unfiltered_lists_keep_only_guests_without_notes() {
        let (guests, notes) = parse_cluster_guests(&fixture("unfiltered")).unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(
            guests.iter().map(GuestResource::id).collect::<Vec<_>>(),
            vec!["qemu/100", "lxc/101"]
        );
    }

    #[test]
    fn data_that_is_not_a_list_is_malformed() {
        for data in [json!(null), json!({"data": []}), json!("x")] {
            let e = parse_cluster_guests(&data).unwrap_err();
            assert_eq!(e.reason_label(), "malformed");
            assert!(
                e.to_string().starts_with(
                    "PVE sent an unreadable answer for /cluster/resources: expected a list of resources"
                ),
                "{e}"
            );
        }
        assert_eq!(parse_cluster_guests(&json!([])).unwrap().0, vec![]);
    }

    #[test]
    fn tags_split_on_every_separator() {
        assert_eq!(split_tags("a;b,c d\te;;"), vec!["a", "b", "c", "d", "e"]);
        assert!(split_tags("").is_empty());
        assert!(split_tags(" ; ").is_empty());
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn any_json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(|n| json!(n)),
                any::<f64>().prop_map(|f| json!(f)),
                "[a-z0-9;, .-]{0,12}".prop_map(Value::String),
            ];
            leaf.prop_recursive(2, 16, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::btree_map(
                        prop_oneof![
                            Just("vmid".to_string()),
                            Just("type".to_string()),
                            Just("node".to_string()),
                            Just("netin".to_string()),
                            Just("tags".to_string()),
                            Just("template".to_string()),
                            "[a-z]{1,6}"
                        ],
                        inner,
                        0..6
                    )
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #[test]
            fn never_panics(entries in prop::collection::vec(any_json(), 0..8)) {
                let _ = parse_cluster_guests(&Value::Array(entries));
            }
        }
    }
}
