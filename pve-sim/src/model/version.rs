//! Which PVE release the simulator imitates, and every behaviour that depends on it.
//!
//! Each fact names the upstream package version that changed it. Keeping them in one enum
//! means a handler asks "does this release do X?" instead of comparing version strings.

use crate::rrd::RrdLayout;

/// A PVE release profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PveVersion {
    /// PVE 7.4: no `message` in error bodies, legacy 401 texts, old RRD layout.
    V7_4,
    /// PVE 8.2: `SDN.Use` needed for NIC changes, QEMU `memory` printed as a string.
    V8_2,
    /// PVE 8.4: error bodies carry `message`.
    V8_4,
    /// PVE 9.1 (9.1.5): unified 401 text, new RRD layout, `memhost`.
    V9_1,
}

impl PveVersion {
    /// Parses a profile name: `7.4`, `8.2`, `8.4` or `9.1`.
    pub fn parse(s: &str) -> Result<PveVersion, String> {
        match s {
            "7.4" => Ok(PveVersion::V7_4),
            "8.2" => Ok(PveVersion::V8_2),
            "8.4" => Ok(PveVersion::V8_4),
            "9.1" => Ok(PveVersion::V9_1),
            other => Err(format!(
                "unknown pve_version '{other}': expected one of 7.4, 8.2, 8.4, 9.1"
            )),
        }
    }

    /// `GET /version` `version` field.
    pub fn package_version(self) -> &'static str {
        match self {
            PveVersion::V7_4 => "7.4-3",
            PveVersion::V8_2 => "8.2.4",
            PveVersion::V8_4 => "8.4.1",
            PveVersion::V9_1 => "9.1.5",
        }
    }

    /// `GET /version` `release` field.
    pub fn release(self) -> &'static str {
        match self {
            PveVersion::V7_4 => "7.4",
            PveVersion::V8_2 => "8.2",
            PveVersion::V8_4 => "8.4",
            PveVersion::V9_1 => "9.1",
        }
    }

    /// `GET /version` `repoid` field (8 hex digits before 8.0, 16 after).
    pub fn repoid(self) -> &'static str {
        match self {
            PveVersion::V7_4 => "b0ba9a1c",
            _ => "0fe1d2c3b4a59687",
        }
    }

    /// Whether JSON error bodies carry `message` (libpve-http-server-perl ≥ 5.2.0).
    pub fn error_message_field(self) -> bool {
        self >= PveVersion::V8_4
    }

    /// Whether every 401 but "No ticket" reads "Authentication failed!" (pve-manager ≥ 9.1.5).
    pub fn unified_auth_errors(self) -> bool {
        self >= PveVersion::V9_1
    }

    /// Whether NIC changes need `SDN.Use` on the bridge (qemu-server ≥ 8.0.2).
    pub fn needs_sdn_use(self) -> bool {
        self >= PveVersion::V8_2
    }

    /// Whether QEMU's `memory` config value is a string (qemu-server ≥ 8.0.8).
    pub fn memory_is_string(self) -> bool {
        self >= PveVersion::V8_2
    }

    /// Whether QEMU shutdown and reboot refuse a `prelaunch` or `suspended` VM as well as a
    /// `paused` one (qemu-server ≥ 8.0.8, `vm_is_paused($vmid, 1)`); before, only `paused`.
    pub fn refuses_shutdown_when_halted(self) -> bool {
        self >= PveVersion::V8_2
    }

    /// Whether an LXC `link_down=0` leaves the veth up (pve-container ≥ 6.0.0). Before, any
    /// `link_down` key, `0` included, took the veth down when it was plugged.
    pub fn lxc_link_down_by_value(self) -> bool {
        self >= PveVersion::V9_1
    }

    /// Whether status objects carry `memhost` (PVE 9).
    pub fn has_memhost(self) -> bool {
        self >= PveVersion::V9_1
    }

    /// Which RRD layout `rrddata` follows.
    pub fn rrd_layout(self) -> RrdLayout {
        if self >= PveVersion::V9_1 {
            RrdLayout::Pve9
        } else {
            RrdLayout::Pve8
        }
    }
}
