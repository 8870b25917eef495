//! The config file the wizard writes: a serde struct serialised to YAML, never text pasted
//! together, so no answer (a tag with a colon, a name with a quote) can change the file's
//! structure. Only the keys the wizard asks about are written; every other key keeps the
//! default that `config.yaml` in the source documents.
//!
//! The file holds the token secret, so it is created with mode 0600 before a byte is
//! written, in the target's directory, and renamed over the target: a reader never sees a
//! half-written file, and no moment exists where the secret is readable by others. Before
//! writing, the YAML is read back by the same loader the daemons use, so a file the wizard
//! writes always passes `check-config`.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use pve_traffic_core::config;
use pve_traffic_core::secret::Secret;
use serde::{Serialize, Serializer};

/// The whole file.
#[derive(Debug, Serialize)]
pub struct ConfigFile {
    /// `pve:`.
    pub pve: PveSection,
    /// `monitor:`.
    pub monitor: MonitorSection,
    /// `storage:`.
    pub storage: StorageSection,
    /// `rules:` (may be empty: accounting only).
    pub rules: Vec<RuleSection>,
}

/// `pve:`: where PVE is, the token, and how its certificate is trusted.
#[derive(Debug, Serialize)]
pub struct PveSection {
    /// `https://host:port`.
    pub url: String,
    /// `user@realm!tokenname`.
    pub token_id: String,
    /// Written in clear: the file is mode 0600.
    #[serde(serialize_with = "expose_secret")]
    pub token_secret: Secret,
    /// Left out for plain-HTTP URLs (pve-sim only).
    #[serde(skip_serializing_if = "TlsSection::is_default")]
    pub tls: TlsSection,
}

/// `pve.tls:`: one of the two ways the wizard offers.
#[derive(Debug, Default, Serialize)]
pub struct TlsSection {
    /// A PEM file of CA certificates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// The pinned SHA-256 fingerprint, `AB:CD:…`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

impl TlsSection {
    fn is_default(&self) -> bool {
        self.ca_file.is_none() && self.fingerprint.is_none()
    }
}

/// `monitor:`: the answers about polling and history.
#[derive(Debug, Serialize)]
pub struct MonitorSection {
    /// Seconds between polls.
    pub interval_seconds: u32,
    /// IANA time zone of the periods.
    pub timezone: String,
    /// Days of 5-minute history; 0 = forever.
    pub data_retention_days: u32,
}

/// `storage:`.
#[derive(Debug, Serialize)]
pub struct StorageSection {
    /// Always `sqlite` (the only store).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The SQLite database file.
    pub dsn: String,
}

/// One entry of `rules:`, in the loader's terms.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleSection {
    /// Unique name.
    pub name: String,
    /// Always true for a new rule.
    pub enabled: bool,
    /// A [`pve_traffic_core::period::PeriodKind`] name.
    pub period: String,
    /// Month only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reset_day: Option<u8>,
    /// A [`pve_traffic_core::rules::Direction`] name.
    pub direction: String,
    /// A size with its unit, as typed (`1TB`, `500GiB`).
    pub limit: String,
    /// A [`pve_traffic_core::rules::Action`] name.
    pub action: String,
    /// rate_limit only: MB/s per NIC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit_mb: Option<u32>,
    /// Guests selected; empty = all.
    pub vm_ids: Vec<u32>,
    /// Tags selecting guests; empty = no tag filter.
    pub vm_tags: Vec<String>,
    /// Guests never affected.
    pub exclude_vm_ids: Vec<u32>,
}

/// The one place besides the HTTP client that reads the secret: to put it in the 0600 file.
fn expose_secret<S: Serializer>(secret: &Secret, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret.expose())
}

/// First lines of every written file.
const HEADER: &str = "# pve-traffic configuration, written by `pve-traffic-exporter init`.\n\
# Keys left out take their defaults; config.yaml in the source documents every key.\n\
# This file holds the API token secret: keep it mode 0600.\n";

impl ConfigFile {
    /// The file's text, checked by the daemons' own loader (which names the key at fault if
    /// an answer got through the prompts' checks yet is not acceptable).
    pub fn render(&self, path: &Path) -> Result<String, String> {
        // Plain one-line scalars: a fingerprint or a long path folded over two lines reads
        // back the same but is harder to compare by eye.
        let mut options = serde_saphyr::SerializerOptions::default();
        options.prefer_block_scalars = false;
        let body = serde_saphyr::to_string_with_options(self, options)
            .map_err(|e| format!("cannot serialise the config: {e}"))?;
        let text = format!("{HEADER}{body}");
        let no_env = |_: &str| None;
        config::parse(&text, path, &no_env).map_err(|e| e.to_string())?;
        Ok(text)
    }
}

/// Writes `text` to `path` with mode 0600: a new file beside it, synced, then renamed over
/// it. An existing file is kept as `<path>.bak` (mode 0600 too), and its owner and group
/// pass to the new file, so replacing the package's config (owned by the service user) as
/// root leaves it readable by the services. Creates the directory (mode 0750) if missing.
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o750)
            .create(&dir)?;
    }
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        if let Ok(old) = std::fs::metadata(path) {
            if (old.uid(), old.gid()) != (f.metadata()?.uid(), f.metadata()?.gid()) {
                std::os::unix::fs::fchown(&f, Some(old.uid()), Some(old.gid()))?;
            }
            let backup = dir.join(format!("{name}.bak"));
            std::fs::copy(path, &backup)?;
            std::fs::set_permissions(&backup, std::fs::Permissions::from_mode(0o600))?;
        }
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ConfigFile {
        ConfigFile {
            pve: PveSection {
                url: "https://pve1.example.com:8006".into(),
                token_id: "traffic@pve!enforcer".into(),
                token_secret: Secret::new("5f1d2c3b-0000-4000-8000-00000000f011"),
                tls: TlsSection {
                    ca_file: None,
                    fingerprint: Some(["AB"; 32].join(":")),
                },
            },
            monitor: MonitorSection {
                interval_seconds: 60,
                timezone: "Europe/Berlin".into(),
                data_retention_days: 90,
            },
            storage: StorageSection {
                kind: "sqlite",
                dsn: "/var/lib/pve-traffic/pve_traffic.db".into(),
            },
            rules: vec![RuleSection {
                name: "monthly: \"tenant\" #1".into(),
                enabled: true,
                period: "month".into(),
                reset_day: Some(15),
                direction: "both".into(),
                limit: "1TB".into(),
                action: "rate_limit".into(),
                rate_limit_mb: Some(10),
                vm_ids: vec![100, 101],
                vm_tags: vec!["a: b".into(), "- c".into()],
                exclude_vm_ids: vec![],
            }],
        }
    }

    #[test]
    fn answers_with_yaml_syntax_in_them_round_trip_through_the_loader() {
        let text = sample().render(Path::new("config.yaml")).unwrap();
        let loaded = config::parse(&text, Path::new("config.yaml"), &|_| None).unwrap();
        let c = loaded.config;
        assert_eq!(
            c.pve.token_secret.expose(),
            "5f1d2c3b-0000-4000-8000-00000000f011"
        );
        assert_eq!(c.pve.tls.fingerprint, Some([0xAB; 32]));
        assert_eq!(c.monitor.timezone_name, "Europe/Berlin");
        assert_eq!(c.rules[0].name, "monthly: \"tenant\" #1");
        assert_eq!(c.rules[0].vm_tags, ["a: b", "- c"]);
        assert_eq!(c.rules[0].limit_bytes, 1_000_000_000_000);
        assert_eq!(c.rules[0].period.reset_day, 15);
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    }

    #[test]
    fn a_bad_answer_is_refused_by_the_loader_with_the_key_named() {
        let mut f = sample();
        f.rules[0].period = "day".into();
        let e = f.render(Path::new("config.yaml")).unwrap_err();
        assert!(e.contains("reset_day"), "{e}");
    }

    #[test]
    fn written_files_are_private_and_the_old_one_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/config.yaml");
        write_private(&path, "a: 1\n").unwrap();
        write_private(&path, "a: 2\n").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a: 2\n");
        let backup = dir.path().join("sub/config.yaml.bak");
        assert_eq!(std::fs::read_to_string(&backup).unwrap(), "a: 1\n");
        assert_eq!(mode(&backup), 0o600);
        let left: Vec<_> = std::fs::read_dir(dir.path().join("sub")).unwrap().collect();
        assert_eq!(left.len(), 2, "no temporary file is left behind");
    }

    #[test]
    fn a_replaced_file_keeps_its_owner() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        std::fs::write(&path, "old\n").unwrap();
        // As root (CI, packaging), hand the old file to `nobody` as the package hands it to
        // the service user; otherwise only the caller's own ids are possible.
        let me = std::fs::metadata("/proc/self").unwrap();
        let owner = if me.uid() == 0 {
            (65534, 65534)
        } else {
            (me.uid(), me.gid())
        };
        std::os::unix::fs::chown(&path, Some(owner.0), Some(owner.1)).unwrap();
        write_private(&path, "new\n").unwrap();
        let new = std::fs::metadata(&path).unwrap();
        assert_eq!((new.uid(), new.gid()), owner);
        assert_eq!(new.permissions().mode() & 0o777, 0o600);
    }
}
