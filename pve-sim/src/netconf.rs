//! Guest NIC property strings (`netN`) and guest `tags`, parsed, checked and printed the
//! way PVE does (qemu-server's `PVE::QemuServer::Network`, pve-container's
//! `PVE::LXC::Config`, pve-common's `PVE::JSONSchema` with its `pve-tag` format).
//!
//! Why a module of its own: the enforcer changes `rate` and `link_down` by reading a `netN`
//! string, editing it and writing the whole string back (PVE's config API takes only whole
//! values, no per-sub-key patch). For that round trip to be tested against something
//! faithful, the simulator must accept exactly what PVE accepts, reject the rest with PVE's
//! own error text (the value of `errors.netN` in a 400 answer), and store the string in PVE's
//! canonical form. This module is that parser and printer, plus the two facts about a NIC
//! that the traffic model needs: the rate cap in bytes/s (`rate` is MiB/s, turned into bytes
//! as `int(rate × 1024 × 1024)` by pve-common's `PVE::Network::tap_rate_limit`) and whether a
//! change on a running guest recreates the host device and so resets its counters
//! (qemu-server's `vmconfig_update_net`, pve-container's `update_net`; see
//! [`NetConfig::recreates_device`]).
//!
//! It leaves to others: applying a change to a running guest (the guest model), MAC
//! uniqueness and the `mac_prefix` setting (the caller supplies generated MACs), the
//! `tag-style` datacenter options (the defaults are hard-wired: lower-case, sorted).
//!
//! The checks mirror PVE's JSONSchema (`parse_property_string`, `check_object`,
//! `check_prop`), in the same order, with the same messages. Where Perl hash order
//! would make PVE's output order random (several errors in one string), errors are
//! listed sorted by key so the simulator stays deterministic.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;

/// The kind of guest a `netN` string belongs to. The two kinds have different keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuestKind {
    /// A QEMU virtual machine (`/nodes/{node}/qemu/...`).
    Qemu,
    /// An LXC container (`/nodes/{node}/lxc/...`).
    Lxc,
}

/// The QEMU NIC models, in the order PVE lists them in its enumeration error.
const NIC_MODELS: &[&str] = &[
    "e1000",
    "e1000-82540em",
    "e1000-82544gc",
    "e1000-82545em",
    "e1000e",
    "i82551",
    "i82557b",
    "i82559er",
    "ne2k_isa",
    "ne2k_pci",
    "pcnet",
    "rtl8139",
    "virtio",
    "vmxnet3",
];

/// A parsed `netN` property string of a QEMU or LXC guest.
///
/// Holds the validated values as PVE keeps them after parsing: strings and numbers as
/// given (so `rate=12.5` prints back as `12.5`), booleans as `1`/`0`. Two configs are
/// equal when they would print the same.
#[derive(Clone, Debug, PartialEq)]
pub struct NetConfig {
    kind: GuestKind,
    /// Schema key -> value. Keys are always keys of `schema(kind)`; a `BTreeMap` because
    /// PVE prints the optional keys in byte order, which is the map's order.
    values: BTreeMap<&'static str, String>,
}

impl NetConfig {
    /// Parse as PVE's API does on input, with error paths naming `net0`.
    ///
    /// `Err` is the PVE text for `errors.net0`, e.g.
    /// `"invalid format - format error\nnet0.rate: type check ('number') failed - got 'abc'\n"`.
    /// Use [`NetConfig::parse_param`] when the parameter is another `netN`, so the error
    /// names the right one.
    pub fn parse(kind: GuestKind, s: &str) -> Result<NetConfig, String> {
        Self::parse_param(kind, "net0", s)
    }

    /// Parse the value of API parameter `param` (e.g. `"net3"`), as [`NetConfig::parse`].
    ///
    /// PVE puts the parameter name into each nested error path (`net3.rate: ...`), so the
    /// name is needed to reproduce the text of `errors.net3`.
    pub fn parse_param(kind: GuestKind, param: &str, s: &str) -> Result<NetConfig, String> {
        parse_property_string(kind, param, s)
            .map(|mut values| {
                if kind == GuestKind::Lxc {
                    // pve-container's parse_lxc_network: `$res->{type} = 'veth'`.
                    values.insert("type", "veth".to_string());
                }
                NetConfig { kind, values }
            })
            .map_err(|e| format!("invalid format - {e}"))
    }

    /// Canonical string as PVE prints it after an API write.
    ///
    /// QEMU: `<model>=<MAC>` first (just `<model>` while no MAC is set), then the other
    /// keys in alphabetical order. LXC: `name` first (PVE prints required keys first),
    /// then the rest alphabetically, ending with `type=veth`.
    pub fn print(&self) -> String {
        let mut parts = Vec::with_capacity(self.values.len());
        let first: &[&str] = match self.kind {
            GuestKind::Qemu => {
                let model = self.get("model").unwrap_or_default();
                parts.push(match self.get("macaddr") {
                    Some(mac) => format!("{model}={mac}"),
                    None => model.to_string(),
                });
                &["model", "macaddr"]
            }
            GuestKind::Lxc => {
                parts.push(format!("name={}", self.get("name").unwrap_or_default()));
                &["name"]
            }
        };
        for (k, v) in &self.values {
            if !first.contains(k) {
                parts.push(format!("{k}={v}"));
            }
        }
        parts.join(",")
    }

    /// Which kind of guest this NIC belongs to.
    pub fn kind(&self) -> GuestKind {
        self.kind
    }

    /// The `rate` in MB/s; `None` when absent. `Some(0.0)` is possible and means no
    /// limit; an LXC rate may even be negative (PVE declares no minimum there).
    pub fn rate_mb(&self) -> Option<f64> {
        self.get("rate").map(parse_f64)
    }

    /// The rate cap in bytes/s as PVE computes it: `int(rate × 1024 × 1024)`.
    ///
    /// `None` when `rate` is absent or the cap comes out as 0 (or below): PVE then
    /// removes the `tc` rules instead of installing a limit (`setup_tc_rate_limit`
    /// returns early on a false rate).
    pub fn rate_limit_bytes(&self) -> Option<u64> {
        let bytes = (self.rate_mb()? * 1024.0 * 1024.0).trunc();
        // `as` saturates, so an absurd rate such as 1e300 becomes u64::MAX.
        (bytes >= 1.0).then_some(bytes as u64)
    }

    /// Whether `link_down` is set to 1.
    pub fn link_down(&self) -> bool {
        self.get("link_down") == Some("1")
    }

    /// Whether the config carries a `link_down` key at all, whatever its value (before
    /// pve-container 6.0, any such key took an LXC veth down).
    pub fn has_link_down_key(&self) -> bool {
        self.values.contains_key("link_down")
    }

    /// Whether a live change from `self` to `new` re-plugs an LXC veth, which sets its link
    /// state anew (pve-container's `update_net`: a different bridge, `tag` or `firewall`, or
    /// `link_down` different as a boolean). Any other change leaves the link as it is.
    pub fn replugs_veth(&self, new: &NetConfig) -> bool {
        self.bridge() != new.bridge()
            || num_ne(self.get("tag"), new.get("tag"))
            || num_ne(self.get("firewall"), new.get("firewall"))
            || self.link_down() != new.link_down()
    }

    /// Set or clear `link_down`. Clearing removes the key (`link_down` absent rather than
    /// `link_down=0`, which PVE reads the same), as the enforcer writes it when it restores.
    pub fn set_link_down(&mut self, down: bool) {
        if down {
            self.values.insert("link_down", "1".to_string());
        } else {
            self.values.remove("link_down");
        }
    }

    /// The bridge; `None` for a QEMU NIC in user-mode NAT (or an unbridged LXC veth).
    pub fn bridge(&self) -> Option<&str> {
        self.get("bridge")
    }

    /// The VLAN tag (`tag`, 1..4094).
    pub fn vlan_tag(&self) -> Option<u16> {
        // Validated as an integer in 1..4094, so only a form like "+5" needs care.
        self.get("tag")
            .and_then(|t| t.trim_start_matches('+').parse().ok())
    }

    /// The MAC address: QEMU `macaddr`, LXC `hwaddr`, as given (case kept).
    pub fn mac(&self) -> Option<&str> {
        self.get(self.mac_key())
    }

    /// Fill in a missing MAC, as PVE does on write with the datacenter `mac_prefix`
    /// (`BC:24:11` by default, see [`proxmox_mac`]). `gen` is called only when needed
    /// and must return a valid unicast MAC.
    pub fn ensure_mac(&mut self, gen: impl FnOnce() -> String) {
        let key = self.mac_key();
        self.values.entry(key).or_insert_with(gen);
    }

    /// Whether switching from `self` to `new` on a running guest recreates the host
    /// device, which resets that NIC's counters.
    ///
    /// QEMU (qemu-server `vmconfig_update_net`): a different `model` or `macaddr`, a
    /// numerically different `queues` or `mtu`, or either side without a bridge. The
    /// last test is PVE's `!($newnet->{bridge} && $oldnet->{bridge})`: besides going
    /// from or to user-mode NAT it also means that *any* change to a NAT NIC re-plugs
    /// it (harmless for accounting: such a NIC has no host device). LXC (pve-container
    /// `update_net`): a different `hwaddr` or `name`. Everything else (`rate`,
    /// `link_down`, bridge name, `tag`, `trunks`, `firewall`) is applied in place.
    /// An unchanged config never recreates anything (PVE drops unchanged pending values
    /// before hot-plugging); a config of the other guest kind always does.
    pub fn recreates_device(&self, new: &NetConfig) -> bool {
        if self == new {
            return false;
        }
        match (self.kind, new.kind) {
            (GuestKind::Qemu, GuestKind::Qemu) => {
                self.get("model") != new.get("model")
                    || self.get("macaddr") != new.get("macaddr")
                    || num_ne(self.get("queues"), new.get("queues"))
                    || num_ne(self.get("mtu"), new.get("mtu"))
                    || !(self.bridge().is_some() && new.bridge().is_some())
            }
            (GuestKind::Lxc, GuestKind::Lxc) => {
                self.get("hwaddr") != new.get("hwaddr") || self.get("name") != new.get("name")
            }
            _ => true,
        }
    }

    /// Whether the device exists on the host at all. A QEMU NIC without a bridge is
    /// user-mode NAT inside the QEMU process: no tap, so no host counters. An LXC veth
    /// always has a host end, bridged or not.
    pub fn has_host_device(&self) -> bool {
        match self.kind {
            GuestKind::Qemu => self.bridge().is_some(),
            GuestKind::Lxc => true,
        }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    fn mac_key(&self) -> &'static str {
        match self.kind {
            GuestKind::Qemu => "macaddr",
            GuestKind::Lxc => "hwaddr",
        }
    }
}

/// Deterministic MAC in the Proxmox OUI: `BC:24:11:XX:XX:XX` (uppercase hex).
///
/// The last three octets are the low 24 bits of `seed`, so seeds that differ in those
/// bits (a counter, say) never collide.
pub fn proxmox_mac(seed: u64) -> String {
    let [_, _, _, _, _, a, b, c] = seed.to_be_bytes();
    format!("BC:24:11:{a:02X}:{b:02X}:{c:02X}")
}

/// Normalise a `tags` value written through the API, with PVE's default `tag-style`.
///
/// Splits on `;`, `,` and whitespace (PVE `split_list`), checks each tag against
/// `^[a-z0-9_][a-z0-9_\-+.]*$` (case-insensitive), lower-cases, de-duplicates, sorts and
/// joins with `;`. `Err` is the text of `errors.tags`: PVE's `pve-tag` format check
/// says `invalid characters in tag` without naming the tag, and so does this.
pub fn normalize_tags(raw: &str) -> Result<String, String> {
    let mut tags = Vec::new();
    for tag in split_tags(raw) {
        if !is_valid_tag(&tag) {
            return Err("invalid format - invalid characters in tag\n".to_string());
        }
        tags.push(tag.to_lowercase());
    }
    tags.sort();
    tags.dedup();
    Ok(tags.join(";"))
}

/// Split a stored `tags` value the way a client should: on `[;,\s]+`, empty parts
/// dropped. Stored values are normally `;`-joined, but a hand-edited config may not be.
pub fn split_tags(stored: &str) -> Vec<String> {
    stored
        .split(|c: char| c == ';' || c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// PVE's `$PVE_TAG_RE`, anchored, case-insensitive.
fn is_valid_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    let head_ok = |c: char| c.is_ascii_alphanumeric() || c == '_';
    match chars.next() {
        Some(c) if head_ok(c) => chars.all(|c| head_ok(c) || matches!(c, '-' | '+' | '.')),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------
// The schema and the checks, transcribed from PVE's JSONSchema.pm.
// ---------------------------------------------------------------------------------------

/// A registered PVE format verifier; `Err` is its `die` text, without the newline.
type Verifier = fn(&str) -> Result<(), String>;

/// JSONSchema base type of a property.
#[derive(Clone, Copy, PartialEq)]
enum Type {
    Str,
    Bool,
    Int,
    Num,
}

/// One property of a property-string schema. Fields are checked in the order PVE's
/// `check_prop` checks them: type, format, pattern, maximum, minimum, enum.
struct Prop {
    key: &'static str,
    ty: Type,
    /// Not `optional`: a missing value is an error.
    required: bool,
    /// A registered format.
    format: Option<Verifier>,
    /// A `pattern`, anchored at both ends as PVE does.
    pattern: Option<fn(&str) -> bool>,
    max: Option<i64>,
    min: Option<i64>,
    enumeration: Option<&'static [&'static str]>,
}

impl Prop {
    const fn new(key: &'static str, ty: Type) -> Prop {
        Prop {
            key,
            ty,
            required: false,
            format: None,
            pattern: None,
            max: None,
            min: None,
            enumeration: None,
        }
    }
    const fn required(mut self) -> Prop {
        self.required = true;
        self
    }
    const fn format(mut self, f: Verifier) -> Prop {
        self.format = Some(f);
        self
    }
    const fn pattern(mut self, p: fn(&str) -> bool) -> Prop {
        self.pattern = Some(p);
        self
    }
    const fn range(mut self, min: Option<i64>, max: Option<i64>) -> Prop {
        self.min = min;
        self.max = max;
        self
    }
    const fn one_of(mut self, values: &'static [&'static str]) -> Prop {
        self.enumeration = Some(values);
        self
    }
}

/// qemu-server `$net_fmt`. The per-model aliases (`virtio=<MAC>` meaning
/// `model=virtio,macaddr=<MAC>`) are handled in the parser; `model` is the default key.
const QEMU_SCHEMA: &[Prop] = &[
    Prop::new("bridge", Type::Str).format(verify_bridge_id),
    Prop::new("firewall", Type::Bool),
    Prop::new("host-tunnel", Type::Bool),
    Prop::new("link_down", Type::Bool),
    Prop::new("macaddr", Type::Str).format(verify_mac_addr),
    Prop::new("model", Type::Str).required().one_of(NIC_MODELS),
    Prop::new("mtu", Type::Int).range(Some(1), Some(65520)),
    Prop::new("queues", Type::Int).range(Some(0), Some(64)),
    Prop::new("rate", Type::Num).range(Some(0), None),
    Prop::new("tag", Type::Int).range(Some(1), Some(4094)),
    Prop::new("trunks", Type::Str).pattern(is_qemu_trunks),
];

/// pve-container `$netconf_desc`. No default key.
const LXC_SCHEMA: &[Prop] = &[
    Prop::new("bridge", Type::Str).pattern(is_word),
    Prop::new("firewall", Type::Bool),
    Prop::new("gw", Type::Str).format(verify_ipv4),
    Prop::new("gw6", Type::Str).format(verify_ipv6),
    Prop::new("host-managed", Type::Bool),
    Prop::new("hwaddr", Type::Str).format(verify_mac_addr),
    Prop::new("ip", Type::Str).format(verify_ipv4_config),
    Prop::new("ip6", Type::Str).format(verify_ipv6_config),
    Prop::new("link_down", Type::Bool),
    Prop::new("mtu", Type::Int).range(Some(64), Some(65535)),
    Prop::new("name", Type::Str).required().pattern(is_word),
    // pve-container's schema declares no minimum for rate (qemu-server's declares 0).
    Prop::new("rate", Type::Num),
    Prop::new("tag", Type::Int).range(Some(1), Some(4094)),
    Prop::new("trunks", Type::Str).pattern(is_lxc_trunks),
    Prop::new("type", Type::Str).one_of(&["veth"]),
];

fn schema(kind: GuestKind) -> &'static [Prop] {
    match kind {
        GuestKind::Qemu => QEMU_SCHEMA,
        GuestKind::Lxc => LXC_SCHEMA,
    }
}

fn prop(kind: GuestKind, key: &str) -> Option<&'static Prop> {
    schema(kind).iter().find(|p| p.key == key)
}

/// `PVE::JSONSchema::parse_property_string` for one `netN` value. `Err` is the message
/// that follows `invalid format - ` in the API error.
fn parse_property_string(
    kind: GuestKind,
    path: &str,
    data: &str,
) -> Result<BTreeMap<&'static str, String>, String> {
    // Raw keys as written (unknown ones included: `check_object` reports them).
    let mut res: BTreeMap<String, String> = BTreeMap::new();
    let mut default_key_used = false;

    for part in data.split(',') {
        if part.trim().is_empty() {
            continue;
        }
        match part.split_once('=') {
            // `^([^=]+)=(.+)$`: a non-empty key before the first `=`, a non-empty value.
            Some((k, v)) if !k.is_empty() && !v.is_empty() => {
                if res.contains_key(k) {
                    return Err(format!(
                        "duplicate key in comma-separated list property: {k}\n"
                    ));
                }
                let mut k = k;
                if kind == GuestKind::Qemu && NIC_MODELS.contains(&k) {
                    // `<model>=<MAC>`: alias for macaddr, keyAlias model. PVE checks only
                    // `model` here, so a `macaddr=` given earlier is silently replaced.
                    if res.contains_key("model") {
                        return Err("key alias 'model' is already defined\n".to_string());
                    }
                    res.insert("model".to_string(), k.to_string());
                    k = "macaddr";
                }
                let v = match prop(kind, k) {
                    Some(p) if p.ty == Type::Bool => parse_boolean(v).unwrap_or(v),
                    _ => v,
                };
                res.insert(k.to_string(), v.to_string());
            }
            None => {
                if kind != GuestKind::Qemu {
                    return Err(
                        "value without key, but schema does not define a default key\n".to_string(),
                    );
                }
                // Perl tests `!$res->{model}`: a previous value of "0" counts as unset.
                let taken = res.get("model").is_some_and(|m| m != "0");
                if default_key_used || taken {
                    return Err(
                        "duplicate key in comma-separated list property: model\n".to_string()
                    );
                }
                default_key_used = true;
                res.insert("model".to_string(), part.to_string());
            }
            Some(_) => return Err("missing key in comma-separated list property\n".to_string()),
        }
    }

    // check_object: every schema property, then every key the schema does not know.
    let mut errors: BTreeMap<String, String> = BTreeMap::new();
    for p in schema(kind) {
        if let Some(msg) = check_prop(p, res.get(p.key).map(String::as_str)) {
            errors.insert(format!("{path}.{}", p.key), msg);
        }
    }
    for k in res.keys().filter(|k| prop(kind, k).is_none()) {
        errors.insert(
            format!("{path}.{k}"),
            "property is not defined in schema and the schema does not allow additional properties"
                .to_string(),
        );
    }
    if !errors.is_empty() {
        // PVE::Exception::stringify: the message, then one "path: error\n" per error.
        let mut msg = "format error\n".to_string();
        for (p, e) in &errors {
            msg.push_str(&format!("{p}: {e}\n"));
        }
        return Err(msg);
    }

    Ok(res
        .into_iter()
        .map(|(k, v)| (prop(kind, &k).expect("unknown keys rejected above").key, v))
        .collect())
}

/// `PVE::JSONSchema::check_prop` for a scalar value; `Some` is the error for its path.
fn check_prop(p: &Prop, value: Option<&str>) -> Option<String> {
    let Some(v) = value else {
        return p
            .required
            .then(|| "property is missing and it is not optional".to_string());
    };
    let type_ok = match p.ty {
        Type::Str => true,
        // Booleans arrive here already mapped to 1/0 when they were spelled validly.
        Type::Bool => v == "1" || v == "0",
        Type::Int => is_integer(v),
        Type::Num => is_number(v),
    };
    if !type_ok {
        let name = match p.ty {
            Type::Str => "string",
            Type::Bool => "boolean",
            Type::Int => "integer",
            Type::Num => "number",
        };
        return Some(format!("type check ('{name}') failed - got '{v}'"));
    }
    if let Some(verify) = p.format {
        if let Err(e) = verify(v) {
            // The verifier's `die` text keeps its newline inside the message, so
            // stringify's own "\n" makes an empty line after it, as on a real PVE.
            return Some(format!("invalid format - {e}\n"));
        }
    }
    if let Some(matches) = p.pattern {
        if !matches(v) {
            return Some("value does not match the regex pattern".to_string());
        }
    }
    if is_number(v) {
        let n = parse_f64(v);
        if let Some(max) = p.max.filter(|&m| n > m as f64) {
            return Some(format!("value must have a maximum value of {max}"));
        }
        if let Some(min) = p.min.filter(|&m| n < m as f64) {
            return Some(format!("value must have a minimum value of {min}"));
        }
    }
    if let Some(values) = p.enumeration {
        if !values.contains(&v) {
            return Some(format!(
                "value '{v}' does not have a value in the enumeration '{}'",
                values.join(", ")
            ));
        }
    }
    None
}

/// `PVE::JSONSchema::parse_boolean`.
fn parse_boolean(v: &str) -> Option<&'static str> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "on" | "yes" | "true" => Some("1"),
        "0" | "off" | "no" | "false" => Some("0"),
        _ => None,
    }
}

/// `m/^[+-]?\d+$/`
fn is_integer(v: &str) -> bool {
    let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `/^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$/`
fn is_number(v: &str) -> bool {
    let v = v.strip_prefix(['+', '-']).unwrap_or(v);
    let (mantissa, exponent) = match v.find(['e', 'E']) {
        Some(i) => (&v[..i], Some(&v[i + 1..])),
        None => (v, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = all_digits(int) && all_digits(frac) && !(int.is_empty() && frac.is_empty());
    let exponent_ok = exponent.is_none_or(is_integer);
    mantissa_ok && exponent_ok
}

/// Perl's numeric value of a string that passed `is_number`.
fn parse_f64(v: &str) -> f64 {
    // Rust accepts every form `is_number` accepts ("1.", ".5", "+1e3").
    v.parse().unwrap_or(0.0)
}

/// qemu-server's `safe_num_ne`: absent equals absent, otherwise compare numerically.
fn num_ne(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (None, None) => false,
        (Some(a), Some(b)) => parse_f64(a) != parse_f64(b),
        _ => true,
    }
}

/// Pattern `[-_.\w\d]+` (LXC `name` and `bridge`).
fn is_word(v: &str) -> bool {
    !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn is_digits(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())
}

/// QEMU trunks pattern `\d+(?:-\d+)?(?:;\d+(?:-\d+)?)*`.
fn is_qemu_trunks(v: &str) -> bool {
    v.split(';').all(|part| match part.split_once('-') {
        Some((a, b)) => is_digits(a) && is_digits(b),
        None => is_digits(part),
    })
}

/// LXC trunks pattern `\d+(?:;\d+)*` (no ranges in pve-container).
fn is_lxc_trunks(v: &str) -> bool {
    v.split(';').all(is_digits)
}

/// Format `mac-addr`: unicast, i.e. the I/G bit of the first octet clear.
fn verify_mac_addr(v: &str) -> Result<(), String> {
    let octets: Vec<&str> = v.split(':').collect();
    let hex_pair = |o: &&str| o.len() == 2 && o.bytes().all(|b| b.is_ascii_hexdigit());
    let unicast = u8::from_str_radix(octets[0], 16).is_ok_and(|b| b & 1 == 0);
    if octets.len() == 6 && octets.iter().all(hex_pair) && unicast {
        Ok(())
    } else {
        Err("value does not look like a valid unicast MAC address".to_string())
    }
}

/// Format `pve-bridge-id`.
fn verify_bridge_id(v: &str) -> Result<(), String> {
    if is_word(v) {
        Ok(())
    } else {
        Err(format!("invalid bridge ID '{v}'"))
    }
}

/// `$IPV4RE`: four dotted decimal octets of up to three digits, each at most 255.
fn is_ipv4(v: &str) -> bool {
    let octets: Vec<&str> = v.split('.').collect();
    octets.len() == 4
        && octets
            .iter()
            .all(|o| is_digits(o) && o.len() <= 3 && o.parse::<u16>().is_ok_and(|n| n <= 255))
}

/// Loose `$IPV6RE`: whatever the standard library accepts as an IPv6 address.
fn is_ipv6(v: &str) -> bool {
    v.parse::<Ipv6Addr>().is_ok()
}

/// `<address>/<mask>` with PVE's mask bounds (`$1 > 7 && $1 <= max`).
fn is_cidr(v: &str, is_addr: fn(&str) -> bool, max_mask: u32) -> bool {
    v.split_once('/').is_some_and(|(addr, mask)| {
        is_addr(addr)
            && is_digits(mask)
            && mask.parse::<u32>().is_ok_and(|m| m > 7 && m <= max_mask)
    })
}

/// Format `ipv4`.
fn verify_ipv4(v: &str) -> Result<(), String> {
    if is_ipv4(v) {
        Ok(())
    } else {
        Err("value does not look like a valid IPv4 address".to_string())
    }
}

/// Format `ipv6`.
fn verify_ipv6(v: &str) -> Result<(), String> {
    if is_ipv6(v) {
        Ok(())
    } else {
        Err("value does not look like a valid IPv6 address".to_string())
    }
}

/// Format `pve-ipv4-config`: `dhcp`, `manual` or a CIDR.
fn verify_ipv4_config(v: &str) -> Result<(), String> {
    if matches!(v, "dhcp" | "manual") || is_cidr(v, is_ipv4, 32) {
        Ok(())
    } else {
        Err("value does not look like a valid ipv4 network configuration".to_string())
    }
}

/// Format `pve-ipv6-config`: `auto`, `dhcp`, `manual` or a CIDR.
fn verify_ipv6_config(v: &str) -> Result<(), String> {
    if matches!(v, "auto" | "dhcp" | "manual") || is_cidr(v, is_ipv6, 128) {
        Ok(())
    } else {
        Err("value does not look like a valid ipv6 network configuration".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn qemu(s: &str) -> NetConfig {
        NetConfig::parse(GuestKind::Qemu, s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn lxc(s: &str) -> NetConfig {
        NetConfig::parse(GuestKind::Lxc, s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn qemu_err(s: &str) -> String {
        NetConfig::parse(GuestKind::Qemu, s).expect_err(s)
    }

    fn lxc_err(s: &str) -> String {
        NetConfig::parse(GuestKind::Lxc, s).expect_err(s)
    }

    #[test]
    fn qemu_examples_from_the_spec_are_canonical() {
        for s in [
            "virtio=BC:24:11:3A:5F:01,bridge=vmbr0,firewall=1,rate=12.5,tag=20",
            "e1000=BC:24:11:3A:5F:02,bridge=vmbr1,link_down=1",
            "virtio=BC:24:11:3A:5F:01,bridge=vmbr0,firewall=1,link_down=1,rate=10,tag=5",
        ] {
            assert_eq!(qemu(s).print(), s);
        }
    }

    #[test]
    fn qemu_shuffled_input_prints_in_canonical_order() {
        let n = qemu("trunks=10;20-30,tag=5,rate=0.5,queues=4,mtu=1500,link_down=yes,host-tunnel=0,firewall=on,bridge=vmbr0,virtio=bc:24:11:00:00:01");
        assert_eq!(
            n.print(),
            "virtio=bc:24:11:00:00:01,bridge=vmbr0,firewall=1,host-tunnel=0,link_down=1,mtu=1500,queues=4,rate=0.5,tag=5,trunks=10;20-30"
        );
    }

    #[test]
    fn qemu_model_and_macaddr_keys_print_as_default_key_form() {
        let n = qemu("bridge=vmbr0,macaddr=BC:24:11:00:00:02,model=e1000e");
        assert_eq!(n.print(), "e1000e=BC:24:11:00:00:02,bridge=vmbr0");
        assert_eq!(n, qemu("e1000e=BC:24:11:00:00:02,bridge=vmbr0"));
    }

    #[test]
    fn qemu_bare_model_has_no_mac_until_ensured() {
        let mut n = qemu("virtio,bridge=vmbr0");
        assert_eq!(n.mac(), None);
        assert_eq!(n.print(), "virtio,bridge=vmbr0");
        n.ensure_mac(|| proxmox_mac(0x0A0B0C));
        assert_eq!(n.print(), "virtio=BC:24:11:0A:0B:0C,bridge=vmbr0");
        n.ensure_mac(|| panic!("MAC already present, generator must not run"));
        assert_eq!(n.mac(), Some("BC:24:11:0A:0B:0C"));
    }

    #[test]
    fn lxc_example_from_the_spec_is_canonical() {
        let s =
            "name=eth0,bridge=vmbr0,firewall=1,hwaddr=BC:24:11:5E:7A:01,ip=dhcp,rate=5,type=veth";
        assert_eq!(lxc(s).print(), s);
    }

    #[test]
    fn lxc_shuffled_input_prints_name_first_then_alphabetical() {
        let n = lxc("type=veth,trunks=3;4,tag=7,rate=2.5,mtu=1400,link_down=0,ip6=auto,ip=10.0.0.5/24,hwaddr=BC:24:11:00:00:03,host-managed=1,gw6=fe80::1,gw=10.0.0.1,firewall=true,bridge=vmbr1,name=eth1");
        assert_eq!(
            n.print(),
            "name=eth1,bridge=vmbr1,firewall=1,gw=10.0.0.1,gw6=fe80::1,host-managed=1,hwaddr=BC:24:11:00:00:03,ip=10.0.0.5/24,ip6=auto,link_down=0,mtu=1400,rate=2.5,tag=7,trunks=3;4,type=veth"
        );
    }

    #[test]
    fn lxc_type_veth_is_always_added() {
        assert_eq!(lxc("name=eth0").print(), "name=eth0,type=veth");
        assert_eq!(
            lxc("bridge=vmbr0,name=eth0").print(),
            "name=eth0,bridge=vmbr0,type=veth"
        );
        assert_eq!(lxc("name=eth0"), lxc("name=eth0,type=veth"));
    }

    #[test]
    fn boolean_spellings_are_stored_as_1_and_0() {
        for yes in ["1", "on", "yes", "true", "TRUE", "Yes"] {
            let n = qemu(&format!("virtio,link_down={yes}"));
            assert!(n.link_down(), "{yes}");
            assert_eq!(n.print(), "virtio,link_down=1");
        }
        for no in ["0", "off", "no", "false", "OFF"] {
            let n = lxc(&format!("name=eth0,link_down={no}"));
            assert!(!n.link_down(), "{no}");
            assert_eq!(n.print(), "name=eth0,link_down=0,type=veth");
        }
        assert!(!qemu("virtio").link_down());
    }

    #[test]
    fn set_link_down_sets_and_removes_the_key() {
        let mut n = qemu("virtio=BC:24:11:00:00:01,bridge=vmbr0");
        n.set_link_down(true);
        assert_eq!(
            n.print(),
            "virtio=BC:24:11:00:00:01,bridge=vmbr0,link_down=1"
        );
        n.set_link_down(false);
        assert_eq!(n.print(), "virtio=BC:24:11:00:00:01,bridge=vmbr0");
    }

    #[test]
    fn rate_is_printed_as_given_and_converted_like_pve() {
        let r = |s: &str| qemu(&format!("virtio,rate={s}"));
        assert_eq!(r("12.5").print(), "virtio,rate=12.5");
        assert_eq!(r("12.50").print(), "virtio,rate=12.50");
        assert_eq!(r("12.5").rate_mb(), Some(12.5));
        assert_eq!(r("1").rate_limit_bytes(), Some(1_048_576));
        assert_eq!(r("12.5").rate_limit_bytes(), Some(13_107_200));
        assert_eq!(r("0.5").rate_limit_bytes(), Some(524_288));
        assert_eq!(r(".5").rate_limit_bytes(), Some(524_288));
        assert_eq!(r("1e1").rate_limit_bytes(), Some(10_485_760));
        // int() truncates: 0.3 MB/s = 314572.8 bytes/s.
        assert_eq!(r("0.3").rate_limit_bytes(), Some(314_572));
        assert_eq!(r("0").rate_mb(), Some(0.0));
        assert_eq!(r("0").rate_limit_bytes(), None);
        assert_eq!(r("0.0000001").rate_limit_bytes(), None);
        assert_eq!(qemu("virtio").rate_mb(), None);
        assert_eq!(qemu("virtio").rate_limit_bytes(), None);
        // LXC declares no minimum: accepted, but no cap.
        let neg = lxc("name=eth0,rate=-1");
        assert_eq!(neg.rate_mb(), Some(-1.0));
        assert_eq!(neg.rate_limit_bytes(), None);
    }

    #[test]
    fn accessors() {
        let n = qemu("virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=+20");
        assert_eq!(n.bridge(), Some("vmbr0"));
        assert_eq!(n.vlan_tag(), Some(20));
        assert_eq!(n.mac(), Some("BC:24:11:00:00:01"));
        assert_eq!(n.kind(), GuestKind::Qemu);
        let c = lxc("name=eth0,hwaddr=bc:24:11:00:00:09");
        assert_eq!(c.mac(), Some("bc:24:11:00:00:09"));
        assert_eq!(c.bridge(), None);
        assert_eq!(c.vlan_tag(), None);
    }

    #[test]
    fn nested_errors_follow_pve_jsonschema_text() {
        let cases: &[(GuestKind, &str, &str)] = &[
            (
                GuestKind::Qemu,
                "virtio,rate=abc",
                "invalid format - format error\nnet0.rate: type check ('number') failed - got 'abc'\n",
            ),
            (
                GuestKind::Qemu,
                "virtio,rate=-1",
                "invalid format - format error\nnet0.rate: value must have a minimum value of 0\n",
            ),
            (
                GuestKind::Qemu,
                "virtio,tag=4095",
                "invalid format - format error\nnet0.tag: value must have a maximum value of 4094\n",
            ),
            (
                GuestKind::Qemu,
                "virtio,tag=1.5",
                "invalid format - format error\nnet0.tag: type check ('integer') failed - got '1.5'\n",
            ),
            (
                GuestKind::Qemu,
                "virtio,queues=65",
                "invalid format - format error\nnet0.queues: value must have a maximum value of 64\n",
            ),
            (
                GuestKind::Qemu,
                "virtio,mtu=0",
                "invalid format - format error\nnet0.mtu: value must have a minimum value of 1\n",
            ),
            (
                GuestKind::Qemu,
                "virtio,firewall=maybe",
                "invalid format - format error\nnet0.firewall: type check ('boolean') failed - got 'maybe'\n",
            ),
            (
                GuestKind::Qemu,
                "virtio,speed=10",
                "invalid format - format error\nnet0.speed: property is not defined in schema and the schema does not allow additional properties\n",
            ),
            (
                GuestKind::Qemu,
                "bridge=vmbr0",
                "invalid format - format error\nnet0.model: property is missing and it is not optional\n",
            ),
            (
                GuestKind::Qemu,
                "model=virtio2",
                "invalid format - format error\nnet0.model: value 'virtio2' does not have a value in the enumeration 'e1000, e1000-82540em, e1000-82544gc, e1000-82545em, e1000e, i82551, i82557b, i82559er, ne2k_isa, ne2k_pci, pcnet, rtl8139, virtio, vmxnet3'\n",
            ),
            (
                GuestKind::Qemu,
                "virtio=BD:24:11:00:00:01",
                "invalid format - format error\nnet0.macaddr: invalid format - value does not look like a valid unicast MAC address\n\n",
            ),
            (
                GuestKind::Qemu,
                "virtio=BC:24:11:00:00",
                "invalid format - format error\nnet0.macaddr: invalid format - value does not look like a valid unicast MAC address\n\n",
            ),
            (
                GuestKind::Qemu,
                "virtio,bridge=vm br0",
                "invalid format - format error\nnet0.bridge: invalid format - invalid bridge ID 'vm br0'\n\n",
            ),
            (
                GuestKind::Qemu,
                "virtio,trunks=10,20",
                "invalid format - duplicate key in comma-separated list property: model\n",
            ),
            (
                GuestKind::Qemu,
                "virtio,trunks=10;x",
                "invalid format - format error\nnet0.trunks: value does not match the regex pattern\n",
            ),
            // An unknown "model" key is an unknown property, and the model is then missing.
            (
                GuestKind::Qemu,
                "virtio2=BC:24:11:00:00:01",
                "invalid format - format error\nnet0.model: property is missing and it is not optional\nnet0.virtio2: property is not defined in schema and the schema does not allow additional properties\n",
            ),
            (
                GuestKind::Lxc,
                "bridge=vmbr0",
                "invalid format - format error\nnet0.name: property is missing and it is not optional\n",
            ),
            (
                GuestKind::Lxc,
                "name=eth0,type=macvlan",
                "invalid format - format error\nnet0.type: value 'macvlan' does not have a value in the enumeration 'veth'\n",
            ),
            (
                GuestKind::Lxc,
                "name=eth0,mtu=63",
                "invalid format - format error\nnet0.mtu: value must have a minimum value of 64\n",
            ),
            (
                GuestKind::Lxc,
                "name=eth 0",
                "invalid format - format error\nnet0.name: value does not match the regex pattern\n",
            ),
            (
                GuestKind::Lxc,
                "name=eth0,trunks=10-20",
                "invalid format - format error\nnet0.trunks: value does not match the regex pattern\n",
            ),
            (
                GuestKind::Lxc,
                "name=eth0,ip=10.0.0.300/24",
                "invalid format - format error\nnet0.ip: invalid format - value does not look like a valid ipv4 network configuration\n\n",
            ),
            (
                GuestKind::Lxc,
                "name=eth0,ip=10.0.0.3/4",
                "invalid format - format error\nnet0.ip: invalid format - value does not look like a valid ipv4 network configuration\n\n",
            ),
            (
                GuestKind::Lxc,
                "name=eth0,ip6=fe80::zz/64",
                "invalid format - format error\nnet0.ip6: invalid format - value does not look like a valid ipv6 network configuration\n\n",
            ),
            (
                GuestKind::Lxc,
                "name=eth0,gw=dhcp",
                "invalid format - format error\nnet0.gw: invalid format - value does not look like a valid IPv4 address\n\n",
            ),
            (
                GuestKind::Lxc,
                "name=eth0,gw6=10.0.0.1",
                "invalid format - format error\nnet0.gw6: invalid format - value does not look like a valid IPv6 address\n\n",
            ),
            (
                GuestKind::Lxc,
                "name=eth0,hwaddr=01:24:11:00:00:01",
                "invalid format - format error\nnet0.hwaddr: invalid format - value does not look like a valid unicast MAC address\n\n",
            ),
            (
                GuestKind::Lxc,
                "name=eth0,virtio=BC:24:11:00:00:01",
                "invalid format - format error\nnet0.virtio: property is not defined in schema and the schema does not allow additional properties\n",
            ),
        ];
        for (kind, input, want) in cases {
            assert_eq!(
                NetConfig::parse(*kind, input).expect_err(input),
                *want,
                "{kind:?} {input}"
            );
        }
    }

    #[test]
    fn structural_errors_are_single_messages() {
        assert_eq!(
            qemu_err("virtio,firewall=1,firewall=0"),
            "invalid format - duplicate key in comma-separated list property: firewall\n"
        );
        assert_eq!(
            qemu_err("virtio=BC:24:11:00:00:01,e1000=BC:24:11:00:00:02"),
            "invalid format - key alias 'model' is already defined\n"
        );
        assert_eq!(
            qemu_err("model=virtio,e1000=BC:24:11:00:00:02"),
            "invalid format - key alias 'model' is already defined\n"
        );
        assert_eq!(
            qemu_err("virtio,e1000"),
            "invalid format - duplicate key in comma-separated list property: model\n"
        );
        assert_eq!(
            qemu_err("virtio=BC:24:11:00:00:01,model=e1000"),
            "invalid format - duplicate key in comma-separated list property: model\n"
        );
        assert_eq!(
            qemu_err("virtio,bridge="),
            "invalid format - missing key in comma-separated list property\n"
        );
        assert_eq!(
            lxc_err("eth0,bridge=vmbr0"),
            "invalid format - value without key, but schema does not define a default key\n"
        );
        assert_eq!(
            lxc_err("name=eth0,name=eth1"),
            "invalid format - duplicate key in comma-separated list property: name\n"
        );
    }

    #[test]
    fn several_errors_are_listed_sorted_by_key() {
        assert_eq!(
            qemu_err("virtio,tag=0,rate=x,foo=1"),
            "invalid format - format error\nnet0.foo: property is not defined in schema and the schema does not allow additional properties\nnet0.rate: type check ('number') failed - got 'x'\nnet0.tag: value must have a minimum value of 1\n"
        );
    }

    #[test]
    fn parse_param_names_the_parameter_in_error_paths() {
        assert_eq!(
            NetConfig::parse_param(GuestKind::Lxc, "net7", "name=eth0,rate=fast").unwrap_err(),
            "invalid format - format error\nnet7.rate: type check ('number') failed - got 'fast'\n"
        );
    }

    #[test]
    fn macaddr_before_model_alias_is_replaced_like_pve() {
        let n = qemu("macaddr=BC:24:11:00:00:01,virtio=BC:24:11:00:00:02");
        assert_eq!(n.mac(), Some("BC:24:11:00:00:02"));
    }

    #[test]
    fn empty_parts_are_ignored() {
        assert_eq!(
            qemu("virtio,,bridge=vmbr0, ,").print(),
            "virtio,bridge=vmbr0"
        );
    }

    #[test]
    fn recreates_device_table() {
        let base_q = "virtio=BC:24:11:00:00:01,bridge=vmbr0,queues=2,mtu=1500";
        let cases: &[(&str, &str, bool)] = &[
            (base_q, base_q, false),
            (
                base_q,
                "virtio=BC:24:11:00:00:01,bridge=vmbr0,queues=2,mtu=1500,rate=5",
                false,
            ),
            (
                base_q,
                "virtio=BC:24:11:00:00:01,bridge=vmbr0,queues=2,mtu=1500,link_down=1",
                false,
            ),
            (
                base_q,
                "virtio=BC:24:11:00:00:01,bridge=vmbr1,queues=2,mtu=1500",
                false,
            ),
            (
                base_q,
                "virtio=BC:24:11:00:00:01,bridge=vmbr0,queues=2,mtu=1500,tag=5",
                false,
            ),
            (
                base_q,
                "virtio=BC:24:11:00:00:01,bridge=vmbr0,queues=2,mtu=1500,trunks=1;2",
                false,
            ),
            (
                base_q,
                "virtio=BC:24:11:00:00:01,bridge=vmbr0,queues=2,mtu=1500,firewall=1",
                false,
            ),
            // Numeric comparison, as safe_num_ne: 02 == 2.
            (
                base_q,
                "virtio=BC:24:11:00:00:01,bridge=vmbr0,queues=02,mtu=1500",
                false,
            ),
            (
                base_q,
                "e1000=BC:24:11:00:00:01,bridge=vmbr0,queues=2,mtu=1500",
                true,
            ),
            (
                base_q,
                "virtio=BC:24:11:00:00:02,bridge=vmbr0,queues=2,mtu=1500",
                true,
            ),
            (
                base_q,
                "virtio=BC:24:11:00:00:01,bridge=vmbr0,queues=4,mtu=1500",
                true,
            ),
            (
                base_q,
                "virtio=BC:24:11:00:00:01,bridge=vmbr0,mtu=1500",
                true,
            ),
            (
                base_q,
                "virtio=BC:24:11:00:00:01,bridge=vmbr0,queues=2,mtu=9000",
                true,
            ),
            (base_q, "virtio=BC:24:11:00:00:01,queues=2,mtu=1500", true),
            ("virtio=BC:24:11:00:00:01", base_q, true),
            // NAT to NAT: PVE re-plugs on any change.
            (
                "virtio=BC:24:11:00:00:01",
                "virtio=BC:24:11:00:00:01,rate=1",
                true,
            ),
        ];
        for (old, new, want) in cases {
            assert_eq!(
                qemu(old).recreates_device(&qemu(new)),
                *want,
                "{old} -> {new}"
            );
        }

        let base_l = "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01";
        let cases: &[(&str, &str, bool)] = &[
            (base_l, base_l, false),
            (
                base_l,
                "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,rate=3",
                false,
            ),
            (
                base_l,
                "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,link_down=1",
                false,
            ),
            (
                base_l,
                "name=eth0,bridge=vmbr9,hwaddr=BC:24:11:00:00:01,tag=3",
                false,
            ),
            (
                base_l,
                "name=eth0,hwaddr=BC:24:11:00:00:01,firewall=1,mtu=1400",
                false,
            ),
            (
                base_l,
                "name=eth1,bridge=vmbr0,hwaddr=BC:24:11:00:00:01",
                true,
            ),
            (
                base_l,
                "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:02",
                true,
            ),
        ];
        for (old, new, want) in cases {
            assert_eq!(
                lxc(old).recreates_device(&lxc(new)),
                *want,
                "{old} -> {new}"
            );
        }

        assert!(qemu("virtio,bridge=vmbr0").recreates_device(&lxc("name=eth0,bridge=vmbr0")));
    }

    #[test]
    fn host_device_exists_unless_qemu_nat() {
        assert!(qemu("virtio,bridge=vmbr0").has_host_device());
        assert!(!qemu("virtio").has_host_device());
        assert!(lxc("name=eth0").has_host_device());
        assert!(lxc("name=eth0,bridge=vmbr0").has_host_device());
    }

    #[test]
    fn proxmox_mac_is_deterministic_uppercase_unicast() {
        assert_eq!(proxmox_mac(0), "BC:24:11:00:00:00");
        assert_eq!(proxmox_mac(0xABCDEF), "BC:24:11:AB:CD:EF");
        assert_eq!(proxmox_mac(0xFFFF_FF00_0000_0001), "BC:24:11:00:00:01");
        assert_ne!(proxmox_mac(1), proxmox_mac(2));
        assert!(verify_mac_addr(&proxmox_mac(u64::MAX)).is_ok());
    }

    #[test]
    fn tags_are_lowercased_deduplicated_sorted_and_joined() {
        assert_eq!(normalize_tags("web;Prod,prod  db").unwrap(), "db;prod;web");
        assert_eq!(normalize_tags(" a-1.b+c ; _x ").unwrap(), "_x;a-1.b+c");
        assert_eq!(normalize_tags("WEB,web,Web").unwrap(), "web");
        assert_eq!(normalize_tags("").unwrap(), "");
        assert_eq!(normalize_tags(";;,").unwrap(), "");
    }

    #[test]
    fn bad_tags_are_rejected_with_pve_text() {
        for bad in ["prod;-web", "ok;has/slash", "ümlaut", ".dot", "a:b"] {
            assert_eq!(
                normalize_tags(bad).unwrap_err(),
                "invalid format - invalid characters in tag\n",
                "{bad}"
            );
        }
    }

    #[test]
    fn split_tags_accepts_any_separator() {
        assert_eq!(split_tags("prod;web"), ["prod", "web"]);
        assert_eq!(split_tags(" a ,b;;c\td "), ["a", "b", "c", "d"]);
        assert!(split_tags("").is_empty());
    }

    #[test]
    fn number_grammar_matches_perl_is_number() {
        for ok in [
            "1", "+1", "-1", "1.5", "1.", ".5", "1e3", "1.5E-2", "-.5e+1",
        ] {
            assert!(is_number(ok), "{ok}");
        }
        for bad in [
            "", ".", "e3", "1e", "1.5.5", "inf", "NaN", "0x10", "1 ", "++1",
        ] {
            assert!(!is_number(bad), "{bad}");
        }
    }

    /// One optional key of a valid config, with a value spelled in any valid way.
    fn qemu_option() -> impl Strategy<Value = (&'static str, String)> {
        prop_oneof![
            "vmbr[0-9]{1,2}".prop_map(|v| ("bridge", v)),
            bool_spelling().prop_map(|v| ("firewall", v)),
            bool_spelling().prop_map(|v| ("link_down", v)),
            bool_spelling().prop_map(|v| ("host-tunnel", v)),
            (0u32..1000, proptest::option::of(0u32..100))
                .prop_map(|(i, f)| ("rate", f.map_or(i.to_string(), |f| format!("{i}.{f}")))),
            (1u16..=4094).prop_map(|v| ("tag", v.to_string())),
            (0u8..=64).prop_map(|v| ("queues", v.to_string())),
            (1u32..=65520).prop_map(|v| ("mtu", v.to_string())),
            "[0-9]{1,4}(-[0-9]{1,4})?(;[0-9]{1,4}(-[0-9]{1,4})?){0,3}".prop_map(|v| ("trunks", v)),
        ]
    }

    fn lxc_option() -> impl Strategy<Value = (&'static str, String)> {
        prop_oneof![
            "vmbr[0-9]{1,2}".prop_map(|v| ("bridge", v)),
            bool_spelling().prop_map(|v| ("firewall", v)),
            bool_spelling().prop_map(|v| ("link_down", v)),
            bool_spelling().prop_map(|v| ("host-managed", v)),
            (-5i32..1000).prop_map(|v| ("rate", v.to_string())),
            (1u16..=4094).prop_map(|v| ("tag", v.to_string())),
            (64u32..=65535).prop_map(|v| ("mtu", v.to_string())),
            "[0-9]{1,4}(;[0-9]{1,4}){0,3}".prop_map(|v| ("trunks", v)),
            mac().prop_map(|v| ("hwaddr", v)),
            prop_oneof![
                Just("dhcp".to_string()),
                Just("manual".to_string()),
                (any::<[u8; 4]>(), 8u8..=32)
                    .prop_map(|(a, m)| format!("{}.{}.{}.{}/{m}", a[0], a[1], a[2], a[3])),
            ]
            .prop_map(|v| ("ip", v)),
            any::<[u8; 4]>().prop_map(|a| ("gw", format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3]))),
            prop_oneof![
                Just("auto".to_string()),
                (any::<u16>(), 8u8..=128).prop_map(|(a, m)| format!("fd00:{a:x}::1/{m}")),
            ]
            .prop_map(|v| ("ip6", v)),
            any::<u16>().prop_map(|a| ("gw6", format!("fd00::{a:x}"))),
            Just(("type", "veth".to_string())),
        ]
    }

    fn bool_spelling() -> impl Strategy<Value = String> {
        prop::sample::select(vec!["1", "0", "on", "off", "Yes", "no", "TRUE", "false"])
            .prop_map(str::to_string)
    }

    fn mac() -> impl Strategy<Value = String> {
        any::<[u8; 6]>().prop_map(|b| {
            let b0 = b[0] & 0xFE; // unicast
            format!(
                "{b0:02x}:{:02X}:{:02x}:{:02X}:{:02x}:{:02X}",
                b[1], b[2], b[3], b[4], b[5]
            )
        })
    }

    /// A valid QEMU `netN` string with keys in random order and random spellings.
    fn qemu_input() -> impl Strategy<Value = String> {
        (
            prop::sample::select(NIC_MODELS.to_vec()),
            proptest::option::of(mac()),
            any::<bool>(),
            prop::collection::vec(qemu_option(), 0..8),
        )
            .prop_flat_map(|(model, mac, explicit_keys, opts)| {
                let mut parts: Vec<String> = match (explicit_keys, &mac) {
                    (true, Some(m)) => vec![format!("model={model}"), format!("macaddr={m}")],
                    (true, None) => vec![format!("model={model}")],
                    (false, Some(m)) => vec![format!("{model}={m}")],
                    (false, None) => vec![model.to_string()],
                };
                parts.extend(dedup_keys(opts.into_iter()));
                Just(parts).prop_shuffle().prop_map(|p| p.join(","))
            })
    }

    /// A valid LXC `netN` string with keys in random order and random spellings.
    fn lxc_input() -> impl Strategy<Value = String> {
        ("eth[0-9]{1,2}", prop::collection::vec(lxc_option(), 0..10)).prop_flat_map(
            |(name, opts)| {
                let mut parts = vec![format!("name={name}")];
                parts.extend(dedup_keys(opts.into_iter()));
                Just(parts).prop_shuffle().prop_map(|p| p.join(","))
            },
        )
    }

    /// Keep the first value for each key, as `key=value` parts.
    fn dedup_keys(opts: impl Iterator<Item = (&'static str, String)>) -> Vec<String> {
        let mut seen = std::collections::BTreeSet::new();
        opts.filter(|(k, _)| seen.insert(*k))
            .map(|(k, v)| format!("{k}={v}"))
            .collect()
    }

    proptest! {
        #[test]
        fn qemu_print_round_trips_and_is_idempotent(input in qemu_input()) {
            let x = NetConfig::parse(GuestKind::Qemu, &input).expect("generated input is valid");
            let printed = x.print();
            let y = NetConfig::parse(GuestKind::Qemu, &printed).expect("printed form is valid");
            prop_assert_eq!(&y, &x);
            prop_assert_eq!(y.print(), printed.clone());
            prop_assert!(printed.starts_with(x.get("model").unwrap()));
        }

        #[test]
        fn lxc_print_round_trips_and_is_idempotent(input in lxc_input()) {
            let x = NetConfig::parse(GuestKind::Lxc, &input).expect("generated input is valid");
            let printed = x.print();
            let y = NetConfig::parse(GuestKind::Lxc, &printed).expect("printed form is valid");
            prop_assert_eq!(&y, &x);
            prop_assert_eq!(y.print(), printed.clone());
            prop_assert!(printed.starts_with("name=eth"));
            prop_assert!(printed.ends_with(",type=veth"));
        }

        #[test]
        fn normalized_tags_are_a_fixed_point(raw in "([A-Za-z0-9_][A-Za-z0-9_+.-]{0,5}[;, ]{1,2}){0,6}") {
            let once = normalize_tags(&raw).expect("generated tags are valid");
            prop_assert_eq!(normalize_tags(&once).unwrap(), once.clone());
            let parts = split_tags(&once);
            let mut sorted = parts.clone();
            sorted.sort();
            sorted.dedup();
            prop_assert_eq!(parts, sorted);
        }
    }
}
