//! `GET /cluster/resources?type=vm`: every guest of the cluster, with its traffic counters,
//! in one call (docs/pve-api.md, "`GET /cluster/resources?type=vm`").
//!
//! This is the exporter's poll: one request per cycle, whatever the cluster size. Fetching
//! ([`Client::cluster_guests`]) is apart from parsing ([`parse_cluster_guests`]), which is
//! pure and tested on recorded JSON with odd values. The answer (3 MB of JSON at 10,000
//! guests) is read in one pass straight into guests, never into a tree of the whole
//! answer. PVE's output is loosely typed (numbers as strings, booleans as `0`/`""`/absent)
//! and may hold entries this client does not know (a future guest type, a half-written
//! entry); those are skipped with a note for the caller to log, never a panic and never a
//! failed poll. Only a `data` that is not a list at all is an error.
//!
//! The counters here come from PVE's status cache, refreshed every 10 s, so they may lag the
//! live `status/current` by up to that much; a guest whose node stopped reporting has
//! `status: "unknown"` and no counters at all (`None`, not 0: absent is not a reset).
//! `node`, `lock`, `tags`, `pool` and `hastate` are read live from the cluster config.

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use super::lenient::{self, Invalid};
use super::{parse_envelope, Client, PveError};
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
    /// Tags, split on `;`, `,` and whitespace (a hand-edited config may use any), in PVE's
    /// order.
    pub tags: Vec<String>,
    /// Config lock (`backup`, `migrate`, …), if any.
    pub lock: Option<String>,
    /// Pool name, if any (visible only with `Pool.Audit`).
    pub pool: Option<String>,
    /// The HA manager's state of the guest's service (`started`, `request_start`,
    /// `request_stop`, `stopped`, …) when the guest is HA-managed; read live, like `node`.
    pub hastate: Option<String>,
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
        let list: GuestList = self.get_typed(PATH, &[("type", "vm")]).await?;
        let (guests, notes) = list.finish()?;
        for note in &notes {
            tracing::warn!(path = PATH, "{note}");
        }
        Ok(guests)
    }
}

/// Parses an answer of `/cluster/resources` (`?type=vm` or unfiltered; the whole body,
/// `{"data": […]}`) into guests, sorted by VMID, plus notes on what was skipped or ignored
/// (an unknown guest type, a bad VMID, an unreadable field). Only a body that is not JSON,
/// has no `data`, or whose `data` is not a list is an error.
pub fn parse_cluster_guests(body: &[u8]) -> Result<(Vec<GuestResource>, Vec<String>), PveError> {
    parse_envelope::<GuestList>(body, PATH)?.finish()
}

/// The `data` of `/cluster/resources`, read in one pass: each entry becomes a guest (or a
/// note) as soon as it is read. Neither a [`Value`] tree of the answer nor a list of raw
/// entries is ever held: at 10,000 guests the tree alone cost about 30 MB of heap.
enum GuestList {
    Entries {
        guests: Vec<GuestResource>,
        notes: Vec<String>,
    },
    /// `data` was not a list; what it was instead (`null`, `an object`…).
    NotList(&'static str),
}

impl GuestList {
    /// Sorts by VMID and drops repeated VMIDs, with a note; refuses a `data` that is not a
    /// list.
    fn finish(self) -> Result<(Vec<GuestResource>, Vec<String>), PveError> {
        let (mut guests, mut notes) = match self {
            GuestList::Entries { guests, notes } => (guests, notes),
            GuestList::NotList(kind) => {
                return Err(PveError::Malformed {
                    path: PATH.to_string(),
                    detail: format!("expected a list of resources, got {kind}"),
                })
            }
        };
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
        // The list grew by doubling; the poll keeps it for a whole cycle.
        guests.shrink_to_fit();
        Ok((guests, notes))
    }
}

/// Visitor methods for the JSON values a visitor does not want besides arrays and objects:
/// each gives `$other(kind)`, the kind named as in the notes ("got a string").
macro_rules! other_scalars {
    ($other:expr) => {
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($other("null"))
        }

        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($other("a boolean"))
        }

        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($other("a number"))
        }

        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($other("a number"))
        }

        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($other("a number"))
        }

        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok($other("a string"))
        }
    };
}

impl<'de> Deserialize<'de> for GuestList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(GuestListVisitor)
    }
}

struct GuestListVisitor;

impl<'de> Visitor<'de> for GuestListVisitor {
    type Value = GuestList;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of resources")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<GuestList, A::Error> {
        let mut guests = Vec::new();
        let mut notes = Vec::new();
        let mut index = 0;
        while let Some(entry) = seq.next_element::<Entry>()? {
            if let Some(g) = parse_entry(index, entry, &mut notes) {
                guests.push(g);
            }
            index += 1;
        }
        Ok(GuestList::Entries { guests, notes })
    }

    // Other values are read to their end, so that broken JSON still shows as such.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<GuestList, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(GuestList::NotList("an object"))
    }

    other_scalars!(GuestList::NotList);
}

/// One entry of the list as it came.
// Only one entry exists at a time, on the stack: boxing `RawEntry` would cost an
// allocation per entry for nothing.
#[allow(clippy::large_enum_variant)]
enum Entry {
    Object(RawEntry),
    /// Not a JSON object; what it was instead.
    NotObject(&'static str),
}

/// The members of an entry this client reads, each as it came (almost always a scalar, so
/// no tree); the others (`cpu`, `maxmem`, `diskread`…) are skipped unread. A repeated
/// member counts with its last value, as in a JSON object read whole.
#[derive(Default)]
struct RawEntry {
    id: Option<Value>,
    kind: Option<Value>,
    vmid: Option<Value>,
    node: Option<Value>,
    status: Option<Value>,
    name: Option<Value>,
    uptime: Option<Value>,
    netin: Option<Value>,
    netout: Option<Value>,
    template: Option<Value>,
    tags: Option<Value>,
    lock: Option<Value>,
    pool: Option<Value>,
    hastate: Option<Value>,
}

/// The member names of [`RawEntry`], matched without allocating.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Member {
    Id,
    Type,
    Vmid,
    Node,
    Status,
    Name,
    Uptime,
    Netin,
    Netout,
    Template,
    Tags,
    Lock,
    Pool,
    Hastate,
    #[serde(other)]
    Other,
}

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(EntryVisitor)
    }
}

struct EntryVisitor;

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = Entry;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a resource object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entry, A::Error> {
        let mut e = RawEntry::default();
        while let Some(member) = map.next_key::<Member>()? {
            let slot = match member {
                Member::Id => &mut e.id,
                Member::Type => &mut e.kind,
                Member::Vmid => &mut e.vmid,
                Member::Node => &mut e.node,
                Member::Status => &mut e.status,
                Member::Name => &mut e.name,
                Member::Uptime => &mut e.uptime,
                Member::Netin => &mut e.netin,
                Member::Netout => &mut e.netout,
                Member::Template => &mut e.template,
                Member::Tags => &mut e.tags,
                Member::Lock => &mut e.lock,
                Member::Pool => &mut e.pool,
                Member::Hastate => &mut e.hastate,
                Member::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = Some(map.next_value()?);
        }
        Ok(Entry::Object(e))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Entry, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Entry::NotObject("an array"))
    }

    other_scalars!(Entry::NotObject);
}

/// One entry; `None` (with a note, unless it is a known non-guest kind) when it cannot
/// describe a guest.
fn parse_entry(index: usize, entry: Entry, notes: &mut Vec<String>) -> Option<GuestResource> {
    let e = match entry {
        Entry::Object(e) => e,
        Entry::NotObject(kind) => {
            notes.push(format!(
                "skipped entry #{index}: expected an object, got {kind}"
            ));
            return None;
        }
    };
    let id = e.id.as_ref().and_then(Value::as_str).unwrap_or("");
    let label = if id.is_empty() {
        format!("entry #{index}")
    } else {
        format!("entry #{index} ({id})")
    };
    // `type` is authoritative; an entry without it may still say it in its id.
    let kind = e
        .kind
        .as_ref()
        .and_then(Value::as_str)
        .or_else(|| id.split_once('/').map(|(k, _)| k))
        .unwrap_or("");
    let guest_type = match GuestType::parse(kind) {
        Ok(t) => t,
        Err(_) if NON_GUEST_KINDS.contains(&kind) => return None,
        Err(_) => {
            notes.push(format!(
                "skipped {label}: unknown guest type {:?} (expected qemu or lxc)",
                kind
            ));
            return None;
        }
    };
    // `vmid` is authoritative; without it, the number in the id (`qemu/100`).
    let vmid = match lenient::u32_value(e.vmid.as_ref()) {
        Ok(Some(v)) => Some(v),
        Ok(None) => id.split_once('/').and_then(|(_, n)| n.parse::<u32>().ok()),
        Err(err) => {
            notes.push(format!("skipped {label}: vmid: {err}"));
            return None;
        }
    };
    let Some(vmid) = vmid.filter(|v| *v > 0) else {
        notes.push(format!("skipped {label}: no valid vmid"));
        return None;
    };
    let node = match lenient::string_value(e.node.as_ref()) {
        Ok(Some(n)) => n,
        Ok(None) => {
            notes.push(format!("skipped {label}: no node"));
            return None;
        }
        Err(err) => {
            notes.push(format!("skipped {label}: node: {err}"));
            return None;
        }
    };
    let mut field = Fields {
        label: &label,
        notes,
    };
    Some(GuestResource {
        vmid,
        guest_type,
        status: field
            .string("status", e.status.as_ref())
            .unwrap_or_else(|| "unknown".into()),
        name: field.string("name", e.name.as_ref()),
        uptime: field.u64("uptime", e.uptime.as_ref()),
        netin: field.u64("netin", e.netin.as_ref()),
        netout: field.u64("netout", e.netout.as_ref()),
        template: field.bool("template", e.template.as_ref()),
        tags: field.tags("tags", e.tags.as_ref()),
        lock: field.string("lock", e.lock.as_ref()),
        pool: field.string("pool", e.pool.as_ref()),
        hastate: field.string("hastate", e.hastate.as_ref()),
        node,
    })
}

/// Reads optional fields of one entry; an unreadable field becomes absent with a note.
struct Fields<'a> {
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

    fn u64(&mut self, key: &str, v: Option<&Value>) -> Option<u64> {
        let r = lenient::u64_value(v);
        self.note(key, r)
    }

    fn string(&mut self, key: &str, v: Option<&Value>) -> Option<String> {
        let r = lenient::string_value(v);
        self.note(key, r)
    }

    fn bool(&mut self, key: &str, v: Option<&Value>) -> bool {
        let r = lenient::bool_value(v);
        self.note(key, r)
    }

    /// A tag string split on `[;,\s]+`, or (leniently) a list of tags.
    fn tags(&mut self, key: &str, v: Option<&Value>) -> Vec<String> {
        match v {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A recorded answer, whole (`{"data": […]}`).
    fn fixture(name: &str) -> &'static str {
        match name {
            "pve9" => include_str!("../../tests/fixtures/cluster_resources_pve9.json"),
            "odd" => include_str!("../../tests/fixtures/cluster_resources_odd.json"),
            "sim" => include_str!("../../tests/fixtures/cluster_resources_sim.json"),
            "sim_legacy" => include_str!("../../tests/fixtures/cluster_resources_sim_legacy.json"),
            "unfiltered" => include_str!("../../tests/fixtures/cluster_resources_unfiltered.json"),
            _ => unreachable!("no fixture {name}"),
        }
    }

    fn parse(name: &str) -> Result<(Vec<GuestResource>, Vec<String>), PveError> {
        parse_cluster_guests(fixture(name).as_bytes())
    }

    fn by_vmid(guests: &[GuestResource], vmid: u32) -> &GuestResource {
        guests
            .iter()
            .find(|g| g.vmid == vmid)
            .unwrap_or_else(|| panic!("no guest {vmid}"))
    }

    #[test]
    fn canonical_pve9_answer() {
        let (guests, notes) = parse("pve9").unwrap();
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
                hastate: Some("started".into()),
            }
        );
        let ct = by_vmid(&guests, 101);
        assert_eq!(ct.guest_type, GuestType::Lxc);
        assert_eq!(ct.id(), "lxc/101");
        assert_eq!(ct.lock.as_deref(), Some("backup"));
        assert_eq!((ct.netin, ct.netout), (Some(0), Some(0)));
        assert!(by_vmid(&guests, 9000).template);
        assert_eq!(ct.hastate, None, "not HA-managed");
    }

    #[test]
    fn odd_values_are_read_leniently() {
        let (guests, notes) = parse("odd").unwrap();
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
        let (guests, notes) = parse("sim").unwrap();
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
        let (canonical, _) = parse("sim").unwrap();
        let (legacy, notes) = parse("sim_legacy").unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        let raw: Value = serde_json::from_str(fixture("sim_legacy")).unwrap();
        assert!(
            raw["data"][0]["netin"].is_string(),
            "the fixture has quirks"
        );
        assert_eq!(legacy, canonical);
    }

    #[test]
    fn unfiltered_lists_keep_only_guests_without_notes() {
        let (guests, notes) = parse("unfiltered").unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(
            guests.iter().map(GuestResource::id).collect::<Vec<_>>(),
            vec!["qemu/100", "lxc/101"]
        );
    }

    #[test]
    fn data_that_is_not_a_list_is_malformed() {
        for data in [
            json!(null),
            json!({"data": []}),
            json!("x"),
            json!(1),
            json!(true),
        ] {
            let body = json!({ "data": data }).to_string();
            let e = parse_cluster_guests(body.as_bytes()).unwrap_err();
            assert_eq!(e.reason_label(), "malformed");
            assert!(
                e.to_string().starts_with(
                    "PVE sent an unreadable answer for /cluster/resources: expected a list of resources"
                ),
                "{e}"
            );
        }
        assert_eq!(parse_cluster_guests(br#"{"data":[]}"#).unwrap().0, vec![]);
    }

    /// Shapes the recorded fixtures lack, read member by member as a whole-object reading
    /// would: other members skipped whatever they hold, a repeated member's last value,
    /// non-scalars where scalars belong noted with their JSON.
    #[test]
    fn odd_shapes_inside_entries() {
        let body = json!({"data": [
            null,
            [1, {"vmid": 5}],
            {"id": "qemu/100", "type": "qemu", "vmid": 1, "vmid": "100", "node": "pve1",
             "cpu": {"deep": [[{}]]}, "netin": [7], "tags": ["a;b", 3, null, ["x"]],
             "template": {"x": 1}, "name": "first", "name": "web"},
            {"id": 7, "type": "lxc", "vmid": 101, "node": ["pve1"]},
            {"id": "lxc/102", "node": "pve2", "status": "", "pool": false}
        ]})
        .to_string();
        let (guests, notes) = parse_cluster_guests(body.as_bytes()).unwrap();
        assert_eq!(
            notes,
            [
                "skipped entry #0: expected an object, got null",
                "skipped entry #1: expected an object, got an array",
                "ignored netin of entry #2 (qemu/100): expected a non-negative integer, got [7]",
                r#"ignored template of entry #2 (qemu/100): expected a boolean (0/1), got {"x":1}"#,
                r#"skipped entry #3: node: expected a string, got ["pve1"]"#,
            ]
        );
        let g = by_vmid(&guests, 100);
        assert_eq!((g.name.as_deref(), g.netin), (Some("web"), None));
        assert_eq!(g.tags, ["a", "b", "3"]);
        let g = by_vmid(&guests, 102);
        assert_eq!(
            (g.guest_type, g.status.as_str()),
            (GuestType::Lxc, "unknown")
        );
        assert_eq!(g.pool.as_deref(), Some("false"));
        assert_eq!(guests.len(), 2);
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
                let body = json!({ "data": entries }).to_string();
                let _ = parse_cluster_guests(body.as_bytes());
            }
        }
    }
}
