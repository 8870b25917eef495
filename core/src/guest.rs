//! Guest identity: the VMID is unique cluster-wide and survives migrations; the type says
//! how PVE names it (`qemu/100`, `lxc/101`).

use std::fmt;

/// A guest's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GuestType {
    /// A QEMU virtual machine.
    Qemu,
    /// An LXC container.
    Lxc,
}

impl GuestType {
    /// PVE's name: `qemu` or `lxc`.
    pub fn as_str(self) -> &'static str {
        match self {
            GuestType::Qemu => "qemu",
            GuestType::Lxc => "lxc",
        }
    }

    /// Parses PVE's name; anything else is `None` (the caller decides whether to skip it).
    pub fn parse(s: &str) -> Option<GuestType> {
        match s {
            "qemu" => Some(GuestType::Qemu),
            "lxc" => Some(GuestType::Lxc),
            _ => None,
        }
    }

    /// The metric label `id`: `qemu/100`.
    pub fn id(self, vmid: u32) -> String {
        format!("{}/{vmid}", self.as_str())
    }
}

impl fmt::Display for GuestType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
