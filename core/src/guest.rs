//! Guest identity: the VMID is unique cluster-wide and survives migrations; the type says
//! how PVE names it (`qemu/100`, `lxc/101`).

crate::vocabulary! {
    /// A guest's type, as PVE names it (`type` in `/cluster/resources`, the path segment of
    /// `/nodes/{node}/{type}/{vmid}`) and as the config's `monitor.guest_types` and the
    /// metric label `guest_type` spell it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum GuestType ("guest type") {
        /// A QEMU virtual machine.
        Qemu = "qemu",
        /// An LXC container.
        Lxc = "lxc",
    }
}

impl GuestType {
    /// The metric label `id`: `qemu/100`.
    pub fn id(self, vmid: u32) -> String {
        format!("{}/{vmid}", self.as_str())
    }
}
