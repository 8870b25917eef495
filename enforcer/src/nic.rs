//! Editing one `netN` property string: put a rate limit or a disconnect in place, and take
//! exactly that back off again (docs/pve-api.md, "`netN` strings", "`rate`", "`link_down`").
//!
//! PVE has no per-key patching: the enforcer reads the whole `netN` string, changes `rate`
//! or `link_down`, and writes the whole string back. Two things follow, and this
//! module exists to get them right in one pure, tested place:
//!
//! - **Byte-exact round trips.** PVE prints a NIC as the default-key item first (QEMU
//!   `<model>=<MAC>`, LXC `name=eth0`), then the other keys in alphabetical order. The
//!   strings written here are in that same canonical form, so a canonical string that is
//!   limited and then restored reads back byte for byte as it was, and a diff of the
//!   config shows only the keys the enforcer touched.
//! - **Restoring only what the enforcer did.** [`NicChange`] records, per key, the value
//!   before the enforcer's first change (`original`) and the value it last wrote (`set`).
//!   `original` is taken only when the enforcer starts owning a key (`set` is `None`), so
//!   a repeated apply, a restart in between, or a failed write never loses it. At the end
//!   ([`restore`]), a key that still holds what the enforcer set gets its original back;
//!   a key an operator changed since keeps the operator's value.
//!
//! No I/O and no PVE knowledge beyond the grammar (comma-separated `key=value` items; the
//! first item may be a bare value, e.g. QEMU `virtio` before a MAC is assigned). Values are
//! never validated: PVE does that on write.

use pve_traffic_store::enforcement::{KeyChange, NicChange};

/// The `rate` key: MB/s (`int(rate × 1024 × 1024)` bytes/s, both directions), absent or `0`
/// = no limit.
const RATE: &str = "rate";
/// The `link_down` key: `1` = cable pulled (on LXC before PVE 9 any value is; see
/// docs/pve-api.md, "`link_down`").
const LINK_DOWN: &str = "link_down";

/// A NIC string cut into its first item (kept verbatim and first) and the other items.
struct Parsed<'a> {
    /// The default-key item (`virtio=BC:24:11:…`, `name=eth0`), or `None` for an empty string.
    first: Option<&'a str>,
    /// Every later item as `(key, value)`; an item without `=` has the whole item as key and
    /// `None` as value (PVE would reject it; it is kept, not dropped).
    rest: Vec<(&'a str, Option<&'a str>)>,
}

impl<'a> Parsed<'a> {
    fn new(net: &'a str) -> Parsed<'a> {
        // PVE skips empty items (`a,,b`), so do we.
        let mut items = net.split(',').filter(|i| !i.trim().is_empty());
        let first = items.next();
        let rest = items
            .map(|item| match item.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (item, None),
            })
            .collect();
        Parsed { first, rest }
    }

    /// The key of the first item, when it has the `key=value` form.
    fn first_key(&self) -> Option<&'a str> {
        self.first.and_then(|f| f.split_once('=')).map(|(k, _)| k)
    }

    /// The canonical print: first item, then the rest sorted by key (stable, byte order,
    /// like PVE's hash-key sort).
    fn print(mut self) -> String {
        self.rest.sort_by(|a, b| a.0.cmp(b.0));
        let mut out = String::with_capacity(64);
        if let Some(first) = self.first {
            out.push_str(first);
        }
        for (k, v) in self.rest {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(k);
            if let Some(v) = v {
                out.push('=');
                out.push_str(v);
            }
        }
        out
    }
}

/// The value of `key` in a NIC string (the first occurrence), `None` when absent.
///
/// `get_key("virtio=BC:24:11:3A:5F:01,bridge=vmbr0,rate=10", "rate") == Some("10")`; the
/// default-key item answers to its key too (`get_key(.., "virtio")` is the MAC).
pub fn get_key(net: &str, key: &str) -> Option<String> {
    let parsed = Parsed::new(net);
    if parsed.first_key() == Some(key) {
        return parsed
            .first
            .and_then(|f| f.split_once('='))
            .map(|(_, v)| v.to_string());
    }
    parsed
        .rest
        .iter()
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v.map(str::to_string))
}

/// The NIC string with `key` set to `value` (`Some`) or removed (`None`), in canonical
/// order: the first item stays first, the rest sorted by key. Later duplicates of the key
/// are dropped. Setting the first item's own key replaces its value in place.
pub fn with_key(net: &str, key: &str, value: Option<&str>) -> String {
    let mut parsed = Parsed::new(net);
    let owned;
    if parsed.first_key() == Some(key) {
        match value {
            Some(v) => {
                owned = format!("{key}={v}");
                parsed.first = Some(&owned);
            }
            None => parsed.first = None,
        }
        // Without its first item the string has no default key left (PVE would reject
        // it); the rest is printed in order.
        parsed.rest.retain(|(k, _)| *k != key);
        return parsed.print();
    }
    let mut replaced = false;
    parsed.rest.retain_mut(|(k, v)| {
        if *k != key {
            return true;
        }
        if replaced {
            return false;
        }
        replaced = true;
        match value {
            Some(new) => {
                *v = Some(new);
                true
            }
            None => false,
        }
    });
    if !replaced {
        if let Some(new) = value {
            parsed.rest.push((key, Some(new)));
        }
    }
    parsed.print()
}

/// A `rate` value as a limit in MB/s: `None` for absent, unreadable, `0` or below (all of
/// which PVE treats as "no limit").
fn rate_limit(value: Option<&str>) -> Option<f64> {
    value
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|r| r.is_finite() && *r > 0.0)
}

/// Whether two `rate` values are the same: numerically (`10` = `10.0`), else as text.
fn same_rate(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
            (Ok(x), Ok(y)) => x == y,
            _ => a == b,
        },
        _ => false,
    }
}

/// What a `link_down` key means on a guest.
///
/// QEMU (every version) and LXC from pve-container 6.0 (PVE 9) read the value: `1` takes
/// the link down, `0` leaves it up. pve-container before 6.0 (PVE 7.x and 8.x) brings the
/// veth down for any `link_down` key, `0` included; only an absent key means up. So on those
/// the enforcer never writes `link_down=0` to mean up (it removes the key, which is up
/// everywhere) and takes a `link_down=0` it finds for a link that is down.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LinkMeaning {
    /// A true value is down, a false one (or none) up.
    #[default]
    Value,
    /// Any `link_down` key is down; only an absent key is up.
    AnyKey,
}

/// Whether a `link_down` value takes the link down: `1`/`on`/`yes`/`true` (or another
/// non-zero number), or, with [`LinkMeaning::AnyKey`], any value at all.
fn is_down(value: Option<&str>, meaning: LinkMeaning) -> bool {
    match value.map(|v| v.trim().to_ascii_lowercase()) {
        None => false,
        Some(_) if meaning == LinkMeaning::AnyKey => true,
        Some(v) => match v.as_str() {
            "" | "0" | "off" | "no" | "false" => false,
            "1" | "on" | "yes" | "true" => true,
            other => other.parse::<f64>().is_ok_and(|f| f != 0.0),
        },
    }
}

/// Whether two `link_down` values mean the same. Under [`LinkMeaning::AnyKey`] an operator's
/// `link_down=0` where the enforcer wrote `1` is still down, so still the enforcer's to undo.
fn same_link(a: Option<&str>, b: Option<&str>, meaning: LinkMeaning) -> bool {
    a == b || (a.is_some() && b.is_some() && is_down(a, meaning) == is_down(b, meaning))
}

/// Whether the key still holds what the enforcer wrote.
fn still_ours(
    change: &KeyChange,
    current: Option<&str>,
    same: impl Fn(Option<&str>, Option<&str>) -> bool,
) -> bool {
    change
        .set
        .as_ref()
        .is_some_and(|set| same(set.as_deref(), current))
}

/// Records that the enforcer writes `value` to a key that holds `current`: the original is
/// taken only when the enforcer starts owning the key.
fn record(change: &mut KeyChange, current: Option<&str>, value: Option<&str>) {
    if change.set.is_none() {
        change.original = current.map(str::to_string);
    }
    change.set = Some(value.map(str::to_string));
}

/// The NIC string that applies a rate limit of `mb` MB/s, never loosening a lower rate an
/// operator put there; records originals and set values in `change`.
///
/// The floor is the operator's rate: the current one, or, while the key still holds what
/// the enforcer wrote, the original. The enforcer's own earlier (lower) rate is not a floor:
/// when the desired rate rises, the limit follows, but never above the operator's. When the
/// operator's rate is already at or below `mb`, nothing is written and nothing recorded for
/// `rate` (and a rate the enforcer had lowered further goes back to the original).
///
/// `mb` must be finite and above 0 (config validation sees to it); otherwise the NIC is
/// returned unchanged, as "no limit" is not a limit to apply.
pub fn apply_rate(net: &str, mb: f64, change: &mut NicChange) -> String {
    if !(mb.is_finite() && mb > 0.0) {
        return net.to_string();
    }
    let current = get_key(net, RATE);
    let ours = still_ours(&change.rate, current.as_deref(), same_rate);
    let operator = if ours {
        change.rate.original.clone()
    } else {
        current.clone()
    };
    match rate_limit(operator.as_deref()) {
        Some(floor) if floor <= mb => {
            if ours {
                // The enforcer's lower rate gives way to the operator's original one: the
                // key is back to what it was, and no longer the enforcer's.
                change.rate.set = None;
                with_key(net, RATE, operator.as_deref())
            } else {
                net.to_string()
            }
        }
        _ => {
            let value = format_rate(mb);
            if same_rate(current.as_deref(), Some(&value)) && ours {
                // Already in place; keep the string as it is (no reprint, no write needed).
                return net.to_string();
            }
            record(&mut change.rate, current.as_deref(), Some(&value));
            with_key(net, RATE, Some(&value))
        }
    }
}

/// The NIC string with `link_down=1`; records the original in `change` when the enforcer
/// is the one pulling the cable. A link an operator already took down (as `meaning` reads
/// it) is left alone and not recorded, so restoring does not bring it up.
pub fn apply_link_down(net: &str, change: &mut NicChange, meaning: LinkMeaning) -> String {
    let current = get_key(net, LINK_DOWN);
    if is_down(current.as_deref(), meaning) {
        return net.to_string();
    }
    record(&mut change.link_down, current.as_deref(), Some("1"));
    with_key(net, LINK_DOWN, Some("1"))
}

/// Undoes the enforcer's changes for the keys it set: a key still holding what the
/// enforcer set (as `meaning` reads `link_down`) gets its original back (removed if it was
/// absent); a key an operator changed since keeps the operator's value. Clears `set`;
/// `original` stays for the record.
pub fn restore(net: &str, change: &mut NicChange, meaning: LinkMeaning) -> String {
    let mut out = net.to_string();
    let current = get_key(&out, RATE);
    if still_ours(&change.rate, current.as_deref(), same_rate) {
        out = with_key(&out, RATE, change.rate.original.as_deref());
    }
    change.rate.set = None;
    let current = get_key(&out, LINK_DOWN);
    let same = |a: Option<&str>, b: Option<&str>| same_link(a, b, meaning);
    if still_ours(&change.link_down, current.as_deref(), same) {
        out = with_key(&out, LINK_DOWN, change.link_down.original.as_deref());
    }
    change.link_down.set = None;
    out
}

/// A rate in MB/s as PVE prints a number: `5`, `0.5`, `12.5` (no exponent, no trailing
/// zeros). Like Perl, at most 15 significant digits, so float noise such as
/// `0.30000000000000004` prints as `0.3`.
pub fn format_rate(mb: f64) -> String {
    if !mb.is_finite() {
        return mb.to_string();
    }
    // Round to 15 significant digits (Perl's `%.15g`), then print the shortest form.
    let rounded: f64 = format!("{mb:.14e}").parse().unwrap_or(mb);
    let text = format!("{rounded}");
    if text == "-0" {
        "0".to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// QEMU's meaning of `link_down` (and LXC's from pve-container 6.0).
    const V: LinkMeaning = LinkMeaning::Value;

    const QEMU: &str = "virtio=BC:24:11:3A:5F:01,bridge=vmbr0,firewall=1,tag=20";
    const LXC: &str =
        "name=eth0,bridge=vmbr0,firewall=1,hwaddr=BC:24:11:5E:7A:01,ip=dhcp,type=veth";

    #[test]
    fn get_key_reads_items_and_the_default_key() {
        let n = "virtio=BC:24:11:3A:5F:01,bridge=vmbr0,firewall=1,rate=12.5,tag=20";
        assert_eq!(get_key(n, "rate").as_deref(), Some("12.5"));
        assert_eq!(get_key(n, "bridge").as_deref(), Some("vmbr0"));
        assert_eq!(get_key(n, "virtio").as_deref(), Some("BC:24:11:3A:5F:01"));
        assert_eq!(get_key(n, "link_down"), None);
        assert_eq!(get_key(LXC, "name").as_deref(), Some("eth0"));
        assert_eq!(get_key("", "rate"), None);
        assert_eq!(get_key("virtio", "virtio"), None);
    }

    #[test]
    fn with_key_keeps_the_canonical_order() {
        assert_eq!(
            with_key(QEMU, "rate", Some("5")),
            "virtio=BC:24:11:3A:5F:01,bridge=vmbr0,firewall=1,rate=5,tag=20"
        );
        assert_eq!(
            with_key(QEMU, "link_down", Some("1")),
            "virtio=BC:24:11:3A:5F:01,bridge=vmbr0,firewall=1,link_down=1,tag=20"
        );
        assert_eq!(with_key(QEMU, "zzz", None), QEMU);
        assert_eq!(
            with_key("virtio=BC:24:11:3A:5F:01", "rate", Some("5")),
            "virtio=BC:24:11:3A:5F:01,rate=5"
        );
        assert_eq!(
            with_key(LXC, "rate", Some("0.5")),
            "name=eth0,bridge=vmbr0,firewall=1,hwaddr=BC:24:11:5E:7A:01,ip=dhcp,rate=0.5,type=veth"
        );
        assert_eq!(
            with_key(LXC, "link_down", Some("1")),
            "name=eth0,bridge=vmbr0,firewall=1,hwaddr=BC:24:11:5E:7A:01,ip=dhcp,link_down=1,type=veth"
        );
        // The first item stays first even when it would sort later.
        assert_eq!(
            with_key("virtio", "bridge", Some("vmbr0")),
            "virtio,bridge=vmbr0"
        );
        assert_eq!(
            with_key("name=eth0,type=veth", "bridge", Some("vmbr1")),
            "name=eth0,bridge=vmbr1,type=veth"
        );
        // Removing, replacing, duplicates, empty items.
        assert_eq!(
            with_key("virtio,rate=5,tag=3", "rate", None),
            "virtio,tag=3"
        );
        assert_eq!(
            with_key("virtio,rate=5,rate=6", "rate", Some("1")),
            "virtio,rate=1"
        );
        assert_eq!(
            with_key("virtio,,rate=5,", "tag", Some("2")),
            "virtio,rate=5,tag=2"
        );
        assert_eq!(
            with_key("name=eth0,ip=dhcp", "name", Some("eth1")),
            "name=eth1,ip=dhcp"
        );
        assert_eq!(with_key("", "rate", Some("5")), "rate=5");
    }

    #[test]
    fn with_key_sorts_a_shuffled_string_like_pve() {
        assert_eq!(
            with_key(
                "virtio=AA,tag=5,bridge=vmbr0,firewall=1",
                "rate",
                Some("10")
            ),
            "virtio=AA,bridge=vmbr0,firewall=1,rate=10,tag=5"
        );
    }

    #[test]
    fn format_rate_prints_like_pve() {
        assert_eq!(format_rate(5.0), "5");
        assert_eq!(format_rate(0.5), "0.5");
        assert_eq!(format_rate(12.5), "12.5");
        assert_eq!(format_rate(100.0), "100");
        assert_eq!(format_rate(0.1 + 0.2), "0.3");
        assert_eq!(format_rate(1e-7), "0.0000001");
        assert_eq!(format_rate(1e20), "100000000000000000000");
        assert_eq!(format_rate(-0.0), "0");
    }

    /// pve-container before 6.0: any `link_down` key is down.
    const OLD_LXC: LinkMeaning = LinkMeaning::AnyKey;

    #[test]
    fn an_old_containers_link_down_0_is_down_and_up_means_no_key() {
        let zero = "name=eth0,bridge=vmbr0,hwaddr=AA,link_down=0,type=veth";
        // Already down: left alone, nothing recorded, nothing to restore.
        let mut c = NicChange::default();
        assert_eq!(apply_link_down(zero, &mut c, OLD_LXC), zero);
        assert_eq!(c, NicChange::default());
        assert_eq!(restore(zero, &mut c, OLD_LXC), zero);
        // From pve-container 6.0 the same string is up: taken down, the 0 given back.
        let down = apply_link_down(zero, &mut c, V);
        assert_eq!(
            down,
            "name=eth0,bridge=vmbr0,hwaddr=AA,link_down=1,type=veth"
        );
        assert_eq!(restore(&down, &mut c, V), zero);
        // Up (no key): down with 1; back up by removing the key. An operator's
        // `link_down=0` meanwhile is still down on an old container, so still ours to undo;
        // from 6.0 it is the operator's "up" and stays.
        let up = "name=eth0,bridge=vmbr0,hwaddr=AA,type=veth";
        for (meaning, restored) in [(OLD_LXC, up), (V, zero)] {
            let mut c = NicChange::default();
            let down = apply_link_down(up, &mut c, meaning);
            assert!(down.contains("link_down=1"), "{down}");
            let op = with_key(&down, "link_down", Some("0"));
            assert_eq!(restore(&op, &mut c, meaning), restored, "{meaning:?}");
        }
    }

    fn limited(net: &str, mb: f64) -> (String, NicChange) {
        let mut c = NicChange::default();
        let out = apply_rate(net, mb, &mut c);
        (out, c)
    }

    #[test]
    fn rate_limit_then_restore_is_byte_exact() {
        let (out, mut c) = limited(QEMU, 5.0);
        assert_eq!(
            out,
            "virtio=BC:24:11:3A:5F:01,bridge=vmbr0,firewall=1,rate=5,tag=20"
        );
        assert_eq!(c.rate.original, None);
        assert_eq!(c.rate.set, Some(Some("5".into())));
        assert_eq!(restore(&out, &mut c, V), QEMU);
        assert_eq!(c.rate.set, None);
    }

    #[test]
    fn a_looser_operator_rate_is_tightened_and_comes_back() {
        let net = "virtio=BC:24:11:3A:5F:01,bridge=vmbr0,rate=12.50";
        let (out, mut c) = limited(net, 5.0);
        assert_eq!(out, "virtio=BC:24:11:3A:5F:01,bridge=vmbr0,rate=5");
        assert_eq!(c.rate.original.as_deref(), Some("12.50"));
        assert_eq!(
            restore(&out, &mut c, V),
            net,
            "the original text, not a reprint"
        );
    }

    #[test]
    fn a_rate_of_zero_is_no_limit() {
        let net = "virtio=AA,rate=0";
        let (out, mut c) = limited(net, 5.0);
        assert_eq!(out, "virtio=AA,rate=5");
        assert_eq!(restore(&out, &mut c, V), net);
    }

    #[test]
    fn never_loosens_a_lower_rate() {
        for net in [
            "virtio=AA,bridge=vmbr0,rate=2",
            "virtio=AA,rate=5.0",
            "name=eth0,rate=2,type=veth",
        ] {
            let (out, c) = limited(net, 5.0);
            assert_eq!(out, net);
            assert_eq!(c, NicChange::default(), "nothing recorded for {net}");
        }
    }

    #[test]
    fn the_enforcers_own_rate_follows_the_desired_rate_but_not_above_the_operators() {
        let net = "virtio=AA,rate=8";
        let mut c = NicChange::default();
        let tight = apply_rate(net, 1.0, &mut c);
        assert_eq!(tight, "virtio=AA,rate=1");
        // The strict rule ended; a 3 MB/s one remains.
        let mid = apply_rate(&tight, 3.0, &mut c);
        assert_eq!(mid, "virtio=AA,rate=3");
        assert_eq!(c.rate.original.as_deref(), Some("8"), "original kept");
        // Desired now above the operator's 8: back to the operator's own value.
        let back = apply_rate(&mid, 20.0, &mut c);
        assert_eq!(back, net);
        assert_eq!(c.rate.set, None);
        assert_eq!(restore(&back, &mut c, V), net);
    }

    #[test]
    fn numeric_compare_of_rates() {
        let mut c = NicChange::default();
        let out = apply_rate("virtio=AA", 10.0, &mut c);
        // The same rate, printed differently by someone else, is still the enforcer's.
        let reprinted = with_key(&out, "rate", Some("10.0"));
        assert_eq!(apply_rate(&reprinted, 10.0, &mut c), reprinted);
        assert_eq!(restore(&reprinted, &mut c, V), "virtio=AA");
    }

    #[test]
    fn apply_twice_is_apply_once() {
        for net in [QEMU, LXC, "virtio=AA,rate=50", "virtio=AA,link_down=0"] {
            let mut c1 = NicChange::default();
            let once = apply_rate(net, 5.0, &mut c1);
            let once = apply_link_down(&once, &mut c1, V);
            let mut c2 = c1.clone();
            let twice = apply_link_down(&apply_rate(&once, 5.0, &mut c2), &mut c2, V);
            assert_eq!(once, twice);
            assert_eq!(c1, c2);
        }
    }

    #[test]
    fn link_down_then_restore_is_byte_exact() {
        for net in [QEMU, LXC, "virtio=AA,link_down=0,rate=3"] {
            let mut c = NicChange::default();
            let down = apply_link_down(net, &mut c, V);
            assert_eq!(get_key(&down, "link_down").as_deref(), Some("1"));
            assert_eq!(restore(&down, &mut c, V), net);
        }
    }

    #[test]
    fn an_operators_disconnect_is_left_alone() {
        let net = "virtio=AA,link_down=1";
        let mut c = NicChange::default();
        assert_eq!(apply_link_down(net, &mut c, V), net);
        assert_eq!(c, NicChange::default());
        assert_eq!(restore(net, &mut c, V), net);
    }

    #[test]
    fn operator_changes_during_enforcement_survive_restore() {
        // The operator lowers the rate the enforcer set: the operator's 2 stays.
        let (out, mut c) = limited(QEMU, 5.0);
        let op = with_key(&out, "rate", Some("2"));
        assert_eq!(restore(&op, &mut c, V), op);
        // The operator removes the enforcer's rate: stays removed.
        let (out, mut c) = limited("virtio=AA,rate=9", 5.0);
        let op = with_key(&out, "rate", None);
        assert_eq!(restore(&op, &mut c, V), "virtio=AA");
        // The operator moves the NIC to another bridge while it is down: new bridge kept,
        // link restored.
        let mut c = NicChange::default();
        let down = apply_link_down(LXC, &mut c, V);
        let op = with_key(&down, "bridge", Some("vmbr9"));
        assert_eq!(
            restore(&op, &mut c, V),
            with_key(LXC, "bridge", Some("vmbr9"))
        );
        // The operator brings the link up himself: not taken down or touched again.
        let mut c = NicChange::default();
        let down = apply_link_down("virtio=AA,link_down=0", &mut c, V);
        let op = with_key(&down, "link_down", None);
        assert_eq!(restore(&op, &mut c, V), "virtio=AA");
    }

    #[test]
    fn the_original_survives_a_restart_and_a_reapply() {
        // Applied once, persisted, the write failed or the process restarted: the second
        // apply sees the enforcer's own value and keeps the true original.
        let net = "virtio=AA,link_down=0,rate=20";
        let mut c = NicChange::default();
        let first = apply_link_down(&apply_rate(net, 5.0, &mut c), &mut c, V);
        let persisted = c.clone();
        let mut c = persisted;
        let again = apply_link_down(&apply_rate(&first, 5.0, &mut c), &mut c, V);
        assert_eq!(again, first);
        assert_eq!(c.rate.original.as_deref(), Some("20"));
        assert_eq!(c.link_down.original.as_deref(), Some("0"));
        // The write never happened: PVE still has the original; re-applying keeps it.
        let mut retry = c.clone();
        assert_eq!(
            apply_link_down(&apply_rate(net, 5.0, &mut retry), &mut retry, V),
            first
        );
        assert_eq!(retry, c);
        assert_eq!(restore(&first, &mut c, V), net);
    }

    #[test]
    fn a_bad_rate_changes_nothing() {
        for mb in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let (out, c) = limited(QEMU, mb);
            assert_eq!(out, QEMU);
            assert_eq!(c, NicChange::default());
        }
    }

    // --- properties -------------------------------------------------------------------

    /// A canonical QEMU or LXC NIC string, with or without `rate` and `link_down`.
    fn canonical_nic() -> impl Strategy<Value = String> {
        let mac = "[0-9A-F]{2}(:[0-9A-F]{2}){5}";
        let rate = prop_oneof![
            Just(None),
            (0u32..200).prop_map(|r| Some(r.to_string())),
            (1u32..2000).prop_map(|r| Some(format_rate(f64::from(r) / 10.0))),
            Just(Some("12.50".to_string())),
        ];
        let link = prop_oneof![Just(None), Just(Some("0")), Just(Some("1"))];
        let qemu = (
            prop::sample::select(vec!["virtio", "e1000", "vmxnet3", "rtl8139"]),
            mac,
            prop::option::of(0u8..4),
            any::<bool>(),
            rate.clone(),
            link.clone(),
            prop::option::of(1u16..4095),
            prop::option::of(1u8..9),
        )
            .prop_map(|(model, mac, bridge, fw, rate, link, tag, queues)| {
                let mut items: Vec<(String, String)> = Vec::new();
                if let Some(b) = bridge {
                    items.push(("bridge".into(), format!("vmbr{b}")));
                }
                if fw {
                    items.push(("firewall".into(), "1".into()));
                }
                if let Some(l) = link {
                    items.push(("link_down".into(), l.into()));
                }
                if let Some(q) = queues {
                    items.push(("queues".into(), q.to_string()));
                }
                if let Some(r) = rate {
                    items.push(("rate".into(), r));
                }
                if let Some(t) = tag {
                    items.push(("tag".into(), t.to_string()));
                }
                join(&format!("{model}={mac}"), &items)
            });
        let lxc = (
            0u8..4,
            mac,
            any::<bool>(),
            rate,
            link,
            prop::option::of(1u16..4095),
            prop::sample::select(vec!["dhcp", "10.0.0.2/24", "manual"]),
        )
            .prop_map(|(n, mac, fw, rate, link, tag, ip)| {
                let mut items: Vec<(String, String)> = vec![("bridge".into(), "vmbr0".into())];
                if fw {
                    items.push(("firewall".into(), "1".into()));
                }
                if ip.contains('/') {
                    items.push(("gw".into(), "10.0.0.1".into()));
                }
                items.push(("hwaddr".into(), mac));
                items.push(("ip".into(), ip.into()));
                if let Some(l) = link {
                    items.push(("link_down".into(), l.into()));
                }
                if let Some(r) = rate {
                    items.push(("rate".into(), r));
                }
                if let Some(t) = tag {
                    items.push(("tag".into(), t.to_string()));
                }
                items.push(("type".into(), "veth".into()));
                join(&format!("name=eth{n}"), &items)
            });
        prop_oneof![qemu, lxc]
    }

    fn join(first: &str, items: &[(String, String)]) -> String {
        let mut out = first.to_string();
        for (k, v) in items {
            out.push_str(&format!(",{k}={v}"));
        }
        out
    }

    fn rate() -> impl Strategy<Value = f64> {
        prop_oneof![
            (1u32..500).prop_map(f64::from),
            (1u32..1000).prop_map(|r| f64::from(r) / 100.0)
        ]
    }

    /// What the enforcer can do to a NIC: limit, disconnect, or both.
    #[derive(Clone, Copy, Debug)]
    enum Apply {
        Rate(f64),
        Down,
        Both(f64),
    }

    fn apply(net: &str, what: Apply, c: &mut NicChange) -> String {
        match what {
            Apply::Rate(mb) => apply_rate(net, mb, c),
            Apply::Down => apply_link_down(net, c, V),
            Apply::Both(mb) => apply_link_down(&apply_rate(net, mb, c), c, V),
        }
    }

    fn action() -> impl Strategy<Value = Apply> {
        prop_oneof![
            rate().prop_map(Apply::Rate),
            Just(Apply::Down),
            rate().prop_map(Apply::Both)
        ]
    }

    proptest! {
        #[test]
        fn canonical_strings_print_unchanged(net in canonical_nic()) {
            prop_assert_eq!(with_key(&net, "no-such-key", None), net);
        }

        #[test]
        fn apply_then_restore_gives_back_the_same_bytes(net in canonical_nic(), what in action()) {
            let mut c = NicChange::default();
            let applied = apply(&net, what, &mut c);
            prop_assert_eq!(restore(&applied, &mut c, V), net);
            prop_assert_eq!(c.rate.set.clone(), None);
            prop_assert_eq!(c.link_down.set.clone(), None);
        }

        #[test]
        fn apply_twice_equals_apply_once(net in canonical_nic(), what in action()) {
            let mut c = NicChange::default();
            let once = apply(&net, what, &mut c);
            let mut c2 = c.clone();
            let twice = apply(&once, what, &mut c2);
            prop_assert_eq!(&once, &twice);
            prop_assert_eq!(c, c2);
        }

        #[test]
        fn a_sequence_of_applies_restores_the_true_original(
            net in canonical_nic(),
            steps in prop::collection::vec(action(), 1..6),
        ) {
            let mut c = NicChange::default();
            let mut cur = net.clone();
            for what in steps {
                cur = apply(&cur, what, &mut c);
            }
            prop_assert_eq!(restore(&cur, &mut c, V), net);
        }

        #[test]
        fn the_limit_is_never_looser_than_asked_or_than_before(net in canonical_nic(), mb in rate()) {
            let mut c = NicChange::default();
            let out = apply_rate(&net, mb, &mut c);
            let before = rate_limit(get_key(&net, "rate").as_deref());
            let after = rate_limit(get_key(&out, "rate").as_deref()).expect("a limit is in place");
            prop_assert!(after <= mb + 1e-9, "{} > {}", after, mb);
            if let Some(b) = before {
                prop_assert!(after <= b);
                if b <= mb {
                    prop_assert_eq!(&out, &net);
                    prop_assert_eq!(c.rate.set.clone(), None);
                }
            }
            // Only `rate` changed.
            prop_assert_eq!(with_key(&out, "rate", None), with_key(&net, "rate", None));
        }

        #[test]
        fn an_operators_rate_set_during_enforcement_survives(
            net in canonical_nic(),
            mb in rate(),
            op in (1u32..100).prop_map(|r| r.to_string()),
        ) {
            let mut c = NicChange::default();
            let applied = apply_rate(&net, mb, &mut c);
            prop_assume!(!same_rate(get_key(&applied, "rate").as_deref(), Some(&op)));
            let changed = with_key(&applied, "rate", Some(&op));
            prop_assert_eq!(restore(&changed, &mut c, V), changed);
        }

        #[test]
        fn an_operators_other_change_survives_and_ours_is_undone(
            net in canonical_nic(),
            what in action(),
            bridge in 10u8..20,
        ) {
            let mut c = NicChange::default();
            let applied = apply(&net, what, &mut c);
            let bridge = format!("vmbr{bridge}");
            let changed = with_key(&applied, "bridge", Some(&bridge));
            prop_assert_eq!(restore(&changed, &mut c, V), with_key(&net, "bridge", Some(&bridge)));
        }

        #[test]
        fn no_input_panics(net in "\\PC{0,80}", key in "[a-z_=]{0,8}", mb in any::<f64>()) {
            let mut c = NicChange::default();
            let _ = get_key(&net, &key);
            let _ = with_key(&net, &key, Some("1"));
            let _ = with_key(&net, &key, None);
            let out = apply_rate(&net, mb, &mut c);
            let out = apply_link_down(&out, &mut c, V);
            let _ = restore(&out, &mut c, V);
            let _ = format_rate(mb);
        }
    }
}
