//! Config loading, end to end: the shipped `config.yaml`, the original tool's `config.json`,
//! every class of bad input with its full message (cargo's `bad_config.rs` style: the whole
//! text is the contract), environment overrides, and the token secret never leaking.
//!
//! Themes: `example` (config.yaml), `original` (the original tool's files), `every_key`
//! (config.yaml documents the whole Config), `bad_config` (errors verbatim), `env` (variables
//! and `token_secret_file`), `secrets` (nothing prints the secret).

use std::path::Path;
use std::time::Duration;

use pve_traffic_core::config::{self, ConfigError, ConfigErrorKind, Loaded};
use pve_traffic_core::guest::GuestType;
use pve_traffic_core::period::{PeriodKind, PeriodSpec};
use pve_traffic_core::rules::{Action, Direction, Rule};

/// The example config shipped at the repository root.
const EXAMPLE: &str = include_str!("../../config.yaml");
/// The original tool's `config.example.json`, byte for byte.
const ORIGINAL: &str = include_str!("fixtures/original-config.json");
/// The original tool's `config.sqlite.example.json`, byte for byte.
const ORIGINAL_SQLITE: &str = include_str!("fixtures/original-config-sqlite.json");

mod util {
    use super::*;

    /// No environment variables.
    pub fn no_env(_: &str) -> Option<String> {
        None
    }

    /// Parses YAML as if read from `config.yaml`, without environment.
    pub fn yaml(text: &str) -> Result<Loaded, ConfigError> {
        config::parse(text, Path::new("config.yaml"), &no_env)
    }

    /// The full error message for `text`; panics if it loads.
    pub fn error(text: &str) -> String {
        match yaml(text) {
            Ok(_) => panic!("loaded, but should not have:\n{text}"),
            Err(e) => e.to_string(),
        }
    }

    /// The smallest valid config, with `extra` appended (more sections or rules).
    pub fn minimal(extra: &str) -> String {
        format!(
            "pve:\n  url: https://pve1:8006\n  token_id: monitor@pve!traffic\n  token_secret: \
             s3cr3t-0b7e-4c55\n{extra}"
        )
    }

    /// A minimal config with one rule whose body is `rule` (indented lines).
    pub fn with_rule(rule: &str) -> String {
        minimal(&format!("rules:\n  - name: r1\n{rule}"))
    }
}

use util::*;

mod example {
    use super::*;

    #[test]
    fn loads_as_shipped() {
        let loaded = yaml(EXAMPLE).unwrap();
        assert_eq!(
            loaded.warnings,
            [
                "config.yaml: `pve.token_secret` is still the example placeholder; set the real \
              secret (in the file, in PVE_API_TOKEN_SECRET, or with `pve.token_secret_file`)"
            ]
        );
        let c = loaded.config;
        assert_eq!(c.pve.url, "https://pve1.example.com:8006");
        assert_eq!(c.pve.token_id, "monitor@pve!traffic");
        assert_eq!(
            c.pve.token_secret.expose(),
            "00000000-0000-0000-0000-000000000000"
        );
        assert_eq!(c.pve.node, None);
        assert_eq!(c.pve.tls.ca_file, None);
        assert_eq!(c.pve.tls.fingerprint, None);
        assert!(!c.pve.tls.insecure);
        assert_eq!(c.pve.timeout, Duration::from_secs(10));
        assert_eq!(c.monitor.interval, Duration::from_secs(60));
        assert_eq!(c.monitor.timezone_name, "UTC");
        assert!(!c.monitor.include_templates);
        assert_eq!(c.monitor.guest_types, [GuestType::Qemu, GuestType::Lxc]);
        assert_eq!(c.monitor.data_retention_days, 90);
        assert_eq!(c.monitor.max_bandwidth, 12_500_000_000);
        assert_eq!(c.monitor.export_path, Path::new("./exports"));
        assert_eq!(c.storage.dsn, "./data/pve_traffic.db");
        assert_eq!(c.exporter.listen.to_string(), "0.0.0.0:9811");
        assert_eq!(c.enforcer.listen.to_string(), "127.0.0.1:9812");
        assert_eq!(c.enforcer.interval, Duration::from_secs(60));
        assert_eq!(c.enforcer.shutdown_timeout, Duration::from_secs(120));
        assert!(!c.enforcer.dry_run);
        assert_eq!(c.enforcer.max_data_age, Duration::from_secs(300));
        assert_eq!(
            c.rules,
            [
                Rule {
                    name: "monthly_limit".into(),
                    enabled: true,
                    period: PeriodSpec {
                        kind: PeriodKind::Month,
                        reset_day: 1
                    },
                    direction: Direction::Both,
                    limit_bytes: 1000 << 30,
                    action: Action::Shutdown,
                    rate_limit_mb: None,
                    vm_ids: vec![100, 101],
                    vm_tags: vec!["monitored".into()],
                    exclude_vm_ids: vec![999],
                },
                Rule {
                    name: "daily_throttle".into(),
                    enabled: true,
                    period: PeriodSpec {
                        kind: PeriodKind::Day,
                        reset_day: 1
                    },
                    direction: Direction::Tx,
                    limit_bytes: 50 << 30,
                    action: Action::RateLimit,
                    rate_limit_mb: Some(10.0),
                    vm_ids: vec![],
                    vm_tags: vec!["limited".into()],
                    exclude_vm_ids: vec![],
                },
            ]
        );
    }

    #[test]
    fn every_default_is_the_documented_one() {
        // config.yaml shows the defaults; a config that omits everything optional must equal
        // it in every section but pve and rules.
        let full = yaml(EXAMPLE).unwrap().config;
        let bare = yaml(&minimal("")).unwrap().config;
        assert_eq!(bare.monitor, full.monitor);
        assert_eq!(bare.storage, full.storage);
        assert_eq!(bare.exporter, full.exporter);
        assert_eq!(bare.enforcer, full.enforcer);
        assert_eq!(bare.pve.tls, full.pve.tls);
        assert_eq!(bare.pve.timeout, full.pve.timeout);
        assert_eq!(bare.pve.node, full.pve.node);
        assert!(bare.rules.is_empty());
    }

    #[test]
    fn load_reads_the_file_and_picks_the_format() {
        let dir = tempdir("load");
        let path = dir.join("pve-traffic.yaml");
        std::fs::write(&path, EXAMPLE).unwrap();
        let loaded = config::load(&path, &no_env).unwrap();
        assert_eq!(loaded.config, yaml(EXAMPLE).unwrap().config);

        // JSON by extension, even with leading whitespace.
        let json = dir.join("config.json");
        std::fs::write(&json, format!("\n  {ORIGINAL}")).unwrap();
        assert!(config::load(&json, &no_env).is_ok());

        let missing = dir.join("nope.yaml");
        let e = config::load(&missing, &no_env).unwrap_err();
        assert_eq!(e.kind(), ConfigErrorKind::Io);
        assert_eq!(
            e.to_string(),
            format!(
                "{}: cannot read the config file: No such file or directory (os error 2); pass \
                 `--config PATH` or set PVE_TRAFFIC_CONFIG",
                missing.display()
            )
        );
    }

    #[cfg(unix)]
    #[test]
    fn warns_when_others_can_read_a_file_with_the_secret() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempdir("mode");
        let path = dir.join("config.yaml");
        std::fs::write(&path, minimal("")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let loaded = config::load(&path, &no_env).unwrap();
        assert_eq!(
            loaded.warnings,
            [format!(
                "{p}: holds `pve.token_secret` but is readable by other users (mode 0644); run \
                 `chmod 600 {p}` or move the secret to `pve.token_secret_file`",
                p = path.display()
            )]
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(config::load(&path, &no_env).unwrap().warnings.is_empty());
    }
}

mod original {
    use super::*;

    #[test]
    fn example_config_json_loads_unchanged() {
        let loaded = config::parse(ORIGINAL, Path::new("config.json"), &no_env).unwrap();
        let w = |s: &str| format!("config.json: {s}");
        assert_eq!(
            loaded.warnings,
            [
                w("`pve.api_token_id` is now `pve.token_id`"),
                w("`pve.api_token_secret` is now `pve.token_secret`"),
                w("`storage.type: file` is not supported; using SQLite at \
                   \"./data/pve_traffic.db\" instead (the original tool's files are not \
                   imported); set `storage.type: sqlite` and `storage.dsn`"),
                w("`api.enabled` has no effect: the exporter always serves /metrics on \
                   `exporter.listen`, and the original web UI and JSON API are not built yet; \
                   remove it"),
                w("`api.host` and `api.port` are now `exporter.listen` (set to \"0.0.0.0:8080\"), \
                   where the exporter serves /metrics"),
                w("`rules[0].traffic_direction` is now `rules[0].direction` (download = `rx`, \
                   upload = `tx`)"),
                w("`rules[0].use_creation_time` is not supported: periods start at calendar \
                   boundaries in `monitor.timezone` (a month on `reset_day`), not at the guest's \
                   creation; remove it"),
                w("`rules[1].traffic_direction` is now `rules[1].direction` (download = `rx`, \
                   upload = `tx`)"),
                w("`rules[1].use_creation_time` is not supported: periods start at calendar \
                   boundaries in `monitor.timezone` (a month on `reset_day`), not at the guest's \
                   creation; remove it"),
                w("`rules[2].traffic_direction` is now `rules[2].direction` (download = `rx`, \
                   upload = `tx`)"),
                w("`rules[2].use_creation_time` is not supported: periods start at calendar \
                   boundaries in `monitor.timezone` (a month on `reset_day`), not at the guest's \
                   creation; remove it"),
                w("`rules[3].use_creation_time` has no effect (periods are always \
                   calendar-aligned); remove it"),
                w("`pve.token_secret` is still the example placeholder; set the real secret (in \
                   the file, in PVE_API_TOKEN_SECRET, or with `pve.token_secret_file`)"),
                w("periods (hour, day, week, month) now start at boundaries in \
                   `monitor.timezone`, which is UTC unless set; the original tool used the \
                   host's local time, so set `monitor.timezone` (like \"Asia/Shanghai\")"),
            ]
        );
        let c = loaded.config;
        assert_eq!(c.pve.url, "https://localhost:8006");
        assert_eq!(c.pve.token_id, "monitor@pve!traffic-monitor");
        assert_eq!(c.pve.node.as_deref(), Some("pve"));
        assert_eq!(c.monitor.interval, Duration::from_secs(60));
        assert_eq!(c.monitor.data_retention_days, 90);
        assert_eq!(c.storage.dsn, "./data/pve_traffic.db");
        assert_eq!(c.exporter.listen.to_string(), "0.0.0.0:8080");
        let summary: Vec<_> = c
            .rules
            .iter()
            .map(|r| {
                (
                    r.name.as_str(),
                    r.enabled,
                    r.period.kind,
                    r.direction,
                    r.limit_bytes >> 30,
                    r.action,
                    r.rate_limit_mb,
                )
            })
            .collect();
        use {Action::*, Direction::*, PeriodKind::*};
        assert_eq!(
            summary,
            [
                (
                    "monthly_both_traffic",
                    false,
                    Month,
                    Both,
                    1000,
                    Disconnect,
                    None
                ),
                (
                    "monthly_upload_only",
                    false,
                    Month,
                    Tx,
                    500,
                    RateLimit,
                    Some(0.5)
                ),
                (
                    "monthly_download_only",
                    false,
                    Month,
                    Rx,
                    2000,
                    Disconnect,
                    None
                ),
                ("daily_limit", false, Day, Both, 50, RateLimit, Some(10.0)),
            ]
        );
        assert_eq!(c.rules[0].vm_tags, ["vps"]);
    }

    #[test]
    fn sqlite_example_loads_unchanged() {
        let loaded = config::parse(ORIGINAL_SQLITE, Path::new("config.json"), &no_env).unwrap();
        let w = |s: &str| format!("config.json: {s}");
        assert_eq!(
            loaded.warnings[2..5],
            [
                w(
                    "`storage.max_open_conns` has no effect (SQLite needs no connection pool); \
                   remove it"
                ),
                w(
                    "`storage.max_idle_conns` has no effect (SQLite needs no connection pool); \
                   remove it"
                ),
                w(
                    "`storage.conn_max_lifetime` has no effect (SQLite needs no connection pool); \
                   remove it"
                ),
            ]
        );
        assert_eq!(loaded.config.storage.dsn, "./data/pve_traffic.db");
    }

    #[test]
    fn force_stop_becomes_action_stop() {
        let text = with_rule(
            "    period: day\n    limit_gb: 1\n    action: shutdown\n    force_stop: true\n",
        );
        let loaded = yaml(&text).unwrap();
        assert_eq!(loaded.config.rules[0].action, Action::Stop);
        assert_eq!(
            loaded.warnings,
            [
                "config.yaml: `rules[0].force_stop: true` is now `rules[0].action: stop`",
                "config.yaml: `rules[0].enabled` is not set; the original tool read that as \
                 false, so the rule stays disabled; set `enabled: true` to enforce it",
            ]
        );
        assert!(!loaded.config.rules[0].enabled);
    }

    #[test]
    fn old_and_new_name_together_is_an_error() {
        let text = minimal("").replace("token_id:", "api_token_id: a@b!c\n  token_id:");
        assert_eq!(
            error(&text),
            "config.yaml: `pve.api_token_id`: `pve.token_id` is also set; keep only \
             `pve.token_id` (the new name)"
        );
    }

    #[test]
    fn errors_name_the_key_as_written() {
        let text = minimal("").replace("token_id: monitor@pve!traffic", "api_token_id: 12");
        assert_eq!(
            error(&text),
            "config.yaml: `pve.api_token_id`: expected a string, found 12"
        );
    }

    #[test]
    fn host_and_port_build_the_url() {
        let text = minimal("").replace("url: https://pve1:8006", "host: 10.0.0.5\n  port: 8443");
        assert_eq!(yaml(&text).unwrap().config.pve.url, "https://10.0.0.5:8443");
        let text = minimal("").replace("url: https://pve1:8006", "host: pve1");
        assert_eq!(yaml(&text).unwrap().config.pve.url, "https://pve1:8006");
    }
}

mod every_key {
    use super::*;

    /// Every key of the effective config (as `to_masked_yaml` shows it) is documented in
    /// config.yaml, as a key or in a comment.
    #[test]
    fn config_yaml_documents_every_key() {
        let masked = yaml(EXAMPLE).unwrap().config.to_masked_yaml();
        let mut keys = Vec::new();
        for line in masked.lines() {
            let line = line.trim_start().trim_start_matches("- ");
            if let Some((key, _)) = line.split_once(':') {
                keys.push(key.to_string());
            }
        }
        assert!(keys.len() >= 35, "{keys:?}");
        for key in [
            "rate_limit_mb",
            "reset_day",
            "limit",
            "fingerprint",
            "timezone",
        ] {
            assert!(keys.iter().any(|k| k == key), "{key} missing from {masked}");
        }
        for key in &keys {
            assert!(
                EXAMPLE.contains(&format!("{key}:")) || EXAMPLE.contains(&format!("{key}: ")),
                "config.yaml does not mention `{key}:`"
            );
        }
        // And the keys only the loader reads.
        for key in ["token_secret_file:", "host:", "port:", "limit_gb:"] {
            assert!(
                EXAMPLE.contains(key),
                "config.yaml does not mention `{key}`"
            );
        }
    }

    #[test]
    fn masked_yaml_is_the_whole_config() {
        let c = yaml(EXAMPLE).unwrap().config;
        assert_eq!(
            c.to_masked_yaml(),
            r#"pve:
  url: "https://pve1.example.com:8006"
  token_id: "monitor@pve!traffic"
  token_secret: "********"
  node: ""
  tls:
    ca_file: ""
    fingerprint: ""
    insecure: false
  timeout_seconds: 10
monitor:
  interval_seconds: 60
  timezone: "UTC"
  include_templates: false
  guest_types: [qemu, lxc]
  data_retention_days: 90
  max_bandwidth: 12500000000  # bytes per second (100 Gbit/s)
  export_path: "./exports"
storage:
  type: sqlite
  dsn: "./data/pve_traffic.db"
exporter:
  listen: "0.0.0.0:9811"
enforcer:
  listen: "127.0.0.1:9812"
  interval_seconds: 60
  shutdown_timeout_seconds: 120
  dry_run: false
  max_data_age_seconds: 300
rules:
  - name: "monthly_limit"
    enabled: true
    period: month
    reset_day: 1
    direction: both
    limit: "1000GiB"  # 1000 GiB
    action: shutdown
    vm_ids: [100, 101]
    vm_tags: ["monitored"]
    exclude_vm_ids: [999]
  - name: "daily_throttle"
    enabled: true
    period: day
    direction: tx
    limit: "50GiB"  # 50 GiB
    action: rate_limit
    rate_limit_mb: 10
    vm_ids: []
    vm_tags: ["limited"]
    exclude_vm_ids: []
"#
        );
    }

    /// What `to_masked_yaml` prints loads back to the same config, secret aside.
    #[test]
    fn masked_yaml_reads_back() {
        let fp = (0..32)
            .map(|i| format!("{i:02x}"))
            .collect::<Vec<_>>()
            .join(":");
        let text = minimal(&format!(
            "  node: pve2\n  tls: {{ fingerprint: \"{fp}\" }}\n\
             monitor:\n  timezone: Asia/Shanghai\n  guest_types: [lxc]\n  max_bandwidth: 10Gbps\n\
             rules:\n  - name: w\n    period: week\n    direction: max\n    limit: 1.5TB\n    \
             action: notify\n  - name: m\n    period: month\n    reset_day: 31\n    limit_gb: 0.5\n    \
             action: disconnect\n    vm_tags: [\"a b\", 'q\"x']\n"
        ));
        let first = yaml(&text).unwrap().config;
        let masked = first.to_masked_yaml();
        let mut again = yaml(&masked).unwrap().config;
        again.pve.token_secret = first.pve.token_secret.clone();
        assert_eq!(again, first, "{masked}");
        assert!(masked.contains("fingerprint: \"00:01:02:03:"), "{masked}");
        assert!(masked.contains("timezone: \"Asia/Shanghai\""), "{masked}");
    }
}

mod bad_config {
    use super::*;

    #[test]
    fn wrong_type() {
        assert_eq!(
            error(&minimal("monitor:\n  interval_seconds: abc\n")),
            "config.yaml: `monitor.interval_seconds`: expected an integer from 1 to 3600, found \
             \"abc\""
        );
        assert_eq!(
            error(&minimal("monitor:\n  interval_seconds: 0\n")),
            "config.yaml: `monitor.interval_seconds`: expected an integer from 1 to 3600, found 0"
        );
        assert_eq!(
            error(&minimal("enforcer:\n  dry_run: maybe\n")),
            "config.yaml: `enforcer.dry_run`: expected true or false, found \"maybe\""
        );
        assert_eq!(
            error(&minimal("monitor: 5\n")),
            "config.yaml: `monitor`: expected a mapping of keys (`key: value` lines), found 5"
        );
        assert_eq!(
            error(&minimal("monitor:\n  guest_types: [qemu, vm]\n")),
            "config.yaml: `monitor.guest_types[1]`: expected one of `qemu`, `lxc`, found \"vm\""
        );
        assert_eq!(
            error(&with_rule(
                "    period: day\n    limit_gb: 1\n    action: stop\n    vm_ids: [100, 7]\n"
            )),
            "config.yaml: `rules[0].vm_ids[1]`: expected a VMID from 100 to 999999999, found 7"
        );
        assert_eq!(
            error(&with_rule(
                "    period: day\n    limit_gb: 1\n    action: stop\n    vm_ids: 100\n"
            )),
            "config.yaml: `rules[0].vm_ids`: expected a list like [100, 101], found 100"
        );
    }

    #[test]
    fn unknown_key_with_suggestion() {
        assert_eq!(
            error(&minimal("monitor:\n  intervall: 60\n")),
            "config.yaml: `monitor.intervall`: unknown key; did you mean \
             `monitor.interval_seconds`?"
        );
        assert_eq!(
            error(&minimal("monitor:\n  listen: 0.0.0.0:1\n")),
            "config.yaml: `monitor.listen`: unknown key here; did you mean `exporter.listen`?"
        );
        assert_eq!(
            error(&minimal("exporters:\n  listen: 0.0.0.0:1\n")),
            "config.yaml: `exporters`: unknown key; did you mean `exporter`?"
        );
        assert_eq!(
            error(&with_rule(
                "    period: day\n    limit_gb: 1\n    action: stop\n    exclude: [100]\n"
            )),
            "config.yaml: `rules[0].exclude`: unknown key; did you mean `rules[0].exclude_vm_ids`?"
        );
        assert_eq!(
            error(&minimal("storage:\n  colour: blue\n")),
            "config.yaml: `storage.colour`: unknown key; remove it (known keys here: `type`, `dsn`)"
        );
        let e = yaml(&minimal("monitor:\n  intervall: 60\n")).unwrap_err();
        assert_eq!(e.kind(), ConfigErrorKind::UnknownKey);
        assert_eq!(e.key(), Some("monitor.intervall"));
    }

    #[test]
    fn bad_timezone() {
        assert_eq!(
            error(&minimal("monitor:\n  timezone: Mars/Olympus_Mons\n")),
            "config.yaml: `monitor.timezone`: unknown time zone \"Mars/Olympus_Mons\"; use an \
             IANA name like \"UTC\", \"Europe/Berlin\" or \"America/New_York\" (`timedatectl \
             list-timezones` lists them)"
        );
    }

    #[test]
    fn bad_limit_unit() {
        assert_eq!(
            error(&with_rule(
                "    period: day\n    limit: 10 GX\n    action: stop\n"
            )),
            "config.yaml: `rules[0].limit`: expected a size like \"1.5TB\" or \"800GiB\", found \
             \"10 GX\""
        );
        assert_eq!(
            error(&with_rule(
                "    period: day\n    limit: 1000\n    action: stop\n"
            )),
            "config.yaml: `rules[0].limit`: expected a size with a unit like \"1.5TB\" or \
             \"800GiB\", found 1000; for GiB use `limit_gb`"
        );
        assert_eq!(
            error(&with_rule(
                "    period: day\n    limit: 1TB\n    limit_gb: 5\n    action: stop\n"
            )),
            "config.yaml: `rules[0].limit`: `limit_gb` is also set; keep only one of `limit_gb` \
             (GiB) and `limit` (like \"1.5TB\")"
        );
        assert_eq!(
            error(&with_rule("    period: day\n    action: stop\n")),
            "config.yaml: `rules[0].limit_gb`: missing; set `limit_gb` (GiB, like 1000) or \
             `limit` (like \"1.5TB\" or \"800GiB\")"
        );
        assert_eq!(
            error(&minimal("monitor:\n  max_bandwidth: fast\n")),
            "config.yaml: `monitor.max_bandwidth`: expected a bandwidth like \"100Gbit\", \"10 \
             Gbps\", \"800Mbit/s\" or \"1.25GB/s\", found \"fast\""
        );
    }

    #[test]
    fn missing_token() {
        let no_secret = minimal("").replace("  token_secret: s3cr3t-0b7e-4c55\n", "");
        assert_eq!(
            error(&no_secret),
            "config.yaml: `pve.token_secret`: missing; set it in the file, in \
             PVE_API_TOKEN_SECRET, or with `pve.token_secret_file`"
        );
        let no_id = minimal("").replace("  token_id: monitor@pve!traffic\n", "");
        assert_eq!(
            error(&no_id),
            "config.yaml: `pve.token_id`: missing; set it in the file (like \
             \"monitor@pve!traffic\") or in PVE_API_TOKEN_ID"
        );
        let bad_id = minimal("").replace("monitor@pve!traffic", "monitor");
        assert_eq!(
            error(&bad_id),
            "config.yaml: `pve.token_id`: expected a token id like \"monitor@pve!traffic\" \
             (user@realm!token), found \"monitor\""
        );
        assert_eq!(
            error("pve:\n  token_id: a@b!c\n  token_secret: x\n"),
            "config.yaml: `pve.url`: missing; set it to the PVE API address, like \
             \"https://pve1.example.com:8006\""
        );
        assert_eq!(
            yaml(&no_secret).unwrap_err().kind(),
            ConfigErrorKind::Missing
        );
    }

    #[test]
    fn reset_day_on_a_day_rule() {
        assert_eq!(
            error(&with_rule(
                "    period: day\n    reset_day: 5\n    limit_gb: 1\n    action: stop\n"
            )),
            "config.yaml: `rules[0].reset_day`: only applies to `period: month`, but this rule's \
             period is `day`; remove it"
        );
        assert_eq!(
            error(&with_rule(
                "    period: month\n    reset_day: 32\n    limit_gb: 1\n    action: stop\n"
            )),
            "config.yaml: `rules[0].reset_day`: expected an integer from 1 to 31, found 32"
        );
    }

    #[test]
    fn duplicate_rule_name() {
        let rule = "    period: day\n    limit_gb: 1\n    action: stop\n";
        let text = minimal(&format!(
            "rules:\n  - name: r1\n{rule}  - name: r2\n{rule}  - name: r1\n{rule}"
        ));
        assert_eq!(
            error(&text),
            "config.yaml: `rules[2].name`: \"r1\" is already the name of `rules[0]`; rule names \
             must be unique (they label metrics and logs)"
        );
    }

    #[test]
    fn rate_limit_without_rate() {
        assert_eq!(
            error(&with_rule(
                "    period: day\n    limit_gb: 1\n    action: rate_limit\n"
            )),
            "config.yaml: `rules[0].rate_limit_mb`: missing; `action: rate_limit` needs the rate \
             in MB/s, like 10"
        );
        assert_eq!(
            error(&with_rule(
                "    period: day\n    limit_gb: 1\n    action: rate_limit\n    rate_limit_mb: 0\n"
            )),
            "config.yaml: `rules[0].rate_limit_mb`: expected a rate in MB/s greater than 0, like \
             10, found 0"
        );
    }

    #[test]
    fn other_rule_mistakes() {
        assert_eq!(
            error(&with_rule(
                "    period: montly\n    limit_gb: 1\n    action: stop\n"
            )),
            "config.yaml: `rules[0].period`: expected one of `hour`, `day`, `week`, `month`, \
             found \"montly\"; did you mean `month`?"
        );
        assert_eq!(
            error(&with_rule("    period: day\n    limit_gb: 1\n")),
            "config.yaml: `rules[0].action`: missing; expected one of `shutdown`, `stop`, \
             `disconnect`, `rate_limit`, `notify`"
        );
        assert_eq!(
            error(&with_rule(
                "    period: day\n    direction: download\n    limit_gb: 1\n    action: stop\n"
            )),
            "config.yaml: `rules[0].direction`: expected one of `both`, `rx`, `tx`, `max`, found \
             \"download\"; download is `rx`, upload is `tx`"
        );
        assert_eq!(
            error(&minimal("rules:\n  - period: day\n")),
            "config.yaml: `rules[0].name`: missing; every rule needs a unique name (it labels \
             metrics and logs)"
        );
        let loaded = yaml(&with_rule(
            "    period: day\n    limit_gb: 1\n    action: stop\n    rate_limit_mb: 5\n",
        ))
        .unwrap();
        assert_eq!(
            loaded.warnings,
            ["config.yaml: `rules[0].rate_limit_mb` only applies to `action: rate_limit`; ignored"]
        );
        assert_eq!(loaded.config.rules[0].rate_limit_mb, None);
    }

    #[test]
    fn storage_and_listeners() {
        assert_eq!(
            error(&minimal("storage:\n  type: postgresql\n")),
            "config.yaml: `storage.type`: \"postgresql\" is not supported yet, use sqlite (`type: \
             sqlite`, with `dsn` the database file)"
        );
        assert_eq!(
            error(&minimal("exporter:\n  listen: localhost:9811\n")),
            "config.yaml: `exporter.listen`: expected an address like \"0.0.0.0:9811\" or \
             \"[::]:9811\", found \"localhost:9811\""
        );
        assert_eq!(
            error(&minimal("enforcer:\n  listen: 127.0.0.1:9811\n")),
            "config.yaml: `enforcer.listen`: \"127.0.0.1:9811\" clashes with `exporter.listen` \
             \"0.0.0.0:9811\"; give the enforcer another port (the default is 127.0.0.1:9812)"
        );
    }

    #[test]
    fn pve_connection_mistakes() {
        assert_eq!(
            error(&minimal("").replace("https://pve1:8006", "ftp://pve1")),
            "config.yaml: `pve.url`: expected a URL like \"https://pve1.example.com:8006\", found \
             \"ftp://pve1\""
        );
        assert_eq!(
            error(&minimal("  tls:\n    fingerprint: \"AB:CD\"\n")),
            "config.yaml: `pve.tls.fingerprint`: expected a SHA-256 fingerprint, 32 hex pairs \
             like \"AB:CD:EF:...\" as PVE shows it (`pvenode cert info`) or 64 hex digits, \
             found \"AB:CD\"; that is 4 hex digits, not 64"
        );
        assert_eq!(
            error(&minimal("  port: 8006\n")),
            "config.yaml: `pve.url`: `pve.port` is also set (the original tool's form); put the \
             port in `pve.url`"
        );
        assert_eq!(
            error(&minimal(&format!(
                "  tls: {{ ca_file: /ca.pem, fingerprint: \"{}\" }}\n",
                "ab".repeat(32)
            ))),
            "config.yaml: `pve.tls.fingerprint`: `pve.tls.ca_file` is also set; choose one (the \
             fingerprint pins PVE's own certificate, the CA file trusts what it signs)"
        );
        assert_eq!(
            error(&minimal("  tls: { ca_file: /ca.pem, insecure: true }\n")),
            "config.yaml: `pve.tls.insecure`: turns certificate checks off, yet `pve.tls.ca_file` \
             or `pve.tls.fingerprint` is set; remove one"
        );
        let ca = yaml(&minimal("  tls: { ca_file: /etc/pve/pve-root-ca.pem }\n")).unwrap();
        assert_eq!(
            ca.config.pve.tls.ca_file.as_deref(),
            Some(Path::new("/etc/pve/pve-root-ca.pem"))
        );
        let insecure = yaml(&minimal("  tls: { insecure: true }\n")).unwrap();
        assert_eq!(
            insecure.warnings,
            [
                "config.yaml: `pve.tls.insecure` is true: PVE's certificate is not checked, so \
              anyone on the path can take the API token; pin it with `pve.tls.fingerprint` \
              instead (`pvenode cert info` shows it)"
            ]
        );
    }

    #[test]
    fn fingerprints_as_pve_openssl_and_browsers_show_them() {
        let pin = |fp: &str| {
            let text = minimal(&format!("  tls:\n    fingerprint: \"{fp}\"\n"));
            yaml(&text).map(|l| l.config.pve.tls.fingerprint)
        };
        let pairs: Vec<String> = (0..32u8).map(|b| format!("{b:02X}")).collect();
        let want = Some(std::array::from_fn(|i| i as u8));
        for fp in [
            pairs.join(":"),
            pairs.join(":").to_lowercase(),
            pairs.concat(),
            pairs.join(" "),
            format!("sha256 Fingerprint={}", pairs.join(":")),
        ] {
            assert_eq!(pin(&fp).unwrap(), want, "{fp}");
        }
        let e = pin(&format!("SHA256:{}", pairs.concat())).unwrap_err();
        assert_eq!(e.kind(), ConfigErrorKind::Invalid);
        assert!(
            e.to_string().starts_with(
                "config.yaml: `pve.tls.fingerprint`: expected a SHA-256 fingerprint, 32 hex pairs"
            ) && e.to_string().ends_with("; drop the \"SHA256:\" in front"),
            "{e}"
        );
    }

    #[test]
    fn syntax_errors() {
        assert_eq!(
            error("pve:\n  url: 'unterminated\n"),
            "config.yaml: invalid YAML: line 2 column 8: unclosed quote; fix the syntax there"
        );
        let e = config::parse("{\"pve\": {,}}", Path::new("config.json"), &no_env).unwrap_err();
        assert_eq!(
            e.to_string(),
            "config.json: invalid JSON: key must be a string at line 1 column 10; fix the syntax \
             there"
        );
        assert_eq!(e.kind(), ConfigErrorKind::Syntax);
        assert_eq!(
            error("- a\n- b\n"),
            "config.yaml: expected a mapping of sections (`pve:`, `monitor:`, `rules:` ...), \
             found a list"
        );
    }
}

mod env {
    use super::*;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn variables_override_the_file() {
        let env = vars(&[
            ("PVE_API_TOKEN_ID", "env@pve!tok"),
            ("PVE_API_TOKEN_SECRET", "from-env-secret"),
        ]);
        let c = config::parse(&minimal(""), Path::new("config.yaml"), &env)
            .unwrap()
            .config;
        assert_eq!(c.pve.token_id, "env@pve!tok");
        assert_eq!(c.pve.token_secret.expose(), "from-env-secret");
    }

    #[test]
    fn variables_fill_what_the_file_lacks() {
        let env = vars(&[
            ("PVE_API_TOKEN_ID", "env@pve!tok"),
            ("PVE_API_TOKEN_SECRET", "from-env-secret"),
        ]);
        let c = config::parse("pve:\n  url: pve1\n", Path::new("config.yaml"), &env)
            .unwrap()
            .config;
        assert_eq!(c.pve.token_secret.expose(), "from-env-secret");
        let empty = vars(&[("PVE_API_TOKEN_SECRET", "")]);
        let no_secret = minimal("").replace("  token_secret: s3cr3t-0b7e-4c55\n", "");
        assert!(config::parse(&no_secret, Path::new("config.yaml"), &empty).is_err());
        let bad = vars(&[("PVE_API_TOKEN_ID", "nope")]);
        assert_eq!(
            config::parse(&minimal(""), Path::new("config.yaml"), &bad)
                .unwrap_err()
                .to_string(),
            "config.yaml: `pve.token_id`: expected a token id like \"monitor@pve!traffic\" \
             (user@realm!token), found \"nope\" in PVE_API_TOKEN_ID"
        );
    }

    #[test]
    fn read_only_tools_load_without_the_secret() {
        use config::SecretNeed::{NotNeeded, Required};
        let origin = Path::new("config.yaml");
        let load = |text: &str, need| config::parse_with(text, origin, &no_env, need);
        let no_secret = minimal("").replace("  token_secret: s3cr3t-0b7e-4c55\n", "");

        // `export` and `cleanup` (and, once it opens only the store, the enforcer's `status`).
        let loaded = load(&no_secret, NotNeeded).unwrap();
        assert!(loaded.config.pve.token_secret.is_empty());
        assert_eq!(loaded.config.pve.token_id, "monitor@pve!traffic");
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        // The secret is not looked up at all: an unreadable secret file is no error either,
        // and a secret that is there is not carried.
        let unreadable = minimal("").replace(
            "token_secret: s3cr3t-0b7e-4c55",
            "token_secret_file: /nonexistent/pve-token",
        );
        assert!(load(&unreadable, NotNeeded)
            .unwrap()
            .config
            .pve
            .token_secret
            .is_empty());
        assert_eq!(
            load(&unreadable, Required).unwrap_err().kind(),
            ConfigErrorKind::Io
        );
        assert!(load(&minimal(""), NotNeeded)
            .unwrap()
            .config
            .pve
            .token_secret
            .is_empty());
        // The rest of the file is checked as always, the secret keys' shape included.
        let e = load(&minimal("  token_secret_file: /x\n"), NotNeeded).unwrap_err();
        assert_eq!(
            e.to_string(),
            "config.yaml: `pve.token_secret_file`: `pve.token_secret` is also set; keep only \
             one of them"
        );
        let e = load(&no_secret.replace("pve1:8006", "pve1:0"), NotNeeded).unwrap_err();
        assert_eq!(e.kind(), ConfigErrorKind::Invalid);

        // What talks to PVE (`serve`, `run`, `release`, `check-config`) still demands it.
        let missing = "config.yaml: `pve.token_secret`: missing; set it in the file, in \
                       PVE_API_TOKEN_SECRET, or with `pve.token_secret_file`";
        assert_eq!(load(&no_secret, Required).unwrap_err().to_string(), missing);
        assert_eq!(yaml(&no_secret).unwrap_err().to_string(), missing);
    }

    #[test]
    fn plan_takes_the_secret_when_there_is_one_and_runs_without_it() {
        use config::SecretNeed::IfPresent;
        let origin = Path::new("config.yaml");
        let no_secret = minimal("").replace("  token_secret: s3cr3t-0b7e-4c55\n", "");
        let without = config::parse_with(&no_secret, origin, &no_env, IfPresent).unwrap();
        assert!(without.config.pve.token_secret.is_empty());
        let with = config::parse_with(&minimal(""), origin, &no_env, IfPresent).unwrap();
        assert_eq!(with.config.pve.token_secret.expose(), "s3cr3t-0b7e-4c55");
        let env = vars(&[("PVE_API_TOKEN_SECRET", "from-the-env-77")]);
        let from_env = config::parse_with(&no_secret, origin, &env, IfPresent).unwrap();
        assert_eq!(from_env.config.pve.token_secret.expose(), "from-the-env-77");
        // A secret file that is named must still be readable.
        let unreadable = minimal("").replace(
            "token_secret: s3cr3t-0b7e-4c55",
            "token_secret_file: /nonexistent/pve-token",
        );
        let e = config::parse_with(&unreadable, origin, &no_env, IfPresent).unwrap_err();
        assert_eq!(e.kind(), ConfigErrorKind::Io);
    }

    #[test]
    fn token_secret_file() {
        let dir = tempdir("secret-file");
        let file = dir.join("token");
        std::fs::write(&file, "  file-secret-1234\n").unwrap();
        set_mode(&file, 0o600);
        let text = minimal("").replace(
            "token_secret: s3cr3t-0b7e-4c55",
            &format!("token_secret_file: {}", file.display()),
        );
        let loaded = yaml(&text).unwrap();
        assert_eq!(loaded.config.pve.token_secret.expose(), "file-secret-1234");
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);

        // The environment still wins, and the file is then not needed.
        let env = vars(&[("PVE_API_TOKEN_SECRET", "from-env-secret")]);
        let c = config::parse(&text, Path::new("config.yaml"), &env)
            .unwrap()
            .config;
        assert_eq!(c.pve.token_secret.expose(), "from-env-secret");

        #[cfg(unix)]
        {
            set_mode(&file, 0o640);
            assert_eq!(
                yaml(&text).unwrap().warnings,
                [format!(
                    "config.yaml: `pve.token_secret_file`: {p:?} is readable by other users \
                     (mode 0640); run `chmod 600 {p}`",
                    p = file.display().to_string()
                )]
            );
        }

        let missing = dir.join("absent");
        let text_missing = minimal("").replace(
            "token_secret: s3cr3t-0b7e-4c55",
            &format!("token_secret_file: {}", missing.display()),
        );
        let e = yaml(&text_missing).unwrap_err();
        assert_eq!(e.kind(), ConfigErrorKind::Io);
        assert_eq!(
            e.to_string(),
            format!(
                "config.yaml: `pve.token_secret_file`: cannot read {:?}: No such file or \
                 directory (os error 2); create it with the token secret (mode 0600) or set \
                 `pve.token_secret`",
                missing.display().to_string()
            )
        );

        let both = format!("{text}  token_secret: also-here\n");
        assert_eq!(
            error(&both),
            "config.yaml: `pve.token_secret_file`: `pve.token_secret` is also set; keep only one \
             of them"
        );
    }
}

mod secrets {
    use super::*;

    const SECRET: &str = "s3cr3t-0b7e-4c55";

    #[test]
    fn debug_and_masked_yaml_hide_the_secret() {
        let loaded = yaml(&minimal("")).unwrap();
        assert_eq!(loaded.config.pve.token_secret.expose(), SECRET);
        for text in [
            format!("{:?}", loaded.config),
            format!("{loaded:?}"),
            loaded.config.to_masked_yaml(),
        ] {
            assert!(!text.contains(SECRET), "{text}");
            assert!(!text.contains("0b7e"), "{text}");
        }
        assert!(loaded
            .config
            .to_masked_yaml()
            .contains("token_secret: \"********\""));
    }

    #[test]
    fn no_error_or_warning_shows_the_secret() {
        let mistakes = [
            // The secret in the wrong place, or next to a syntax error.
            minimal("").replace(
                "token_id: monitor@pve!traffic",
                &format!("token_id: {SECRET}"),
            ),
            minimal("").replace("url: https://pve1:8006", &format!("url: ftp://{SECRET}")),
            minimal("  tls: { fingerprint: \"s3cr3t-0b7e-4c55\" }\n"),
            minimal("monitor:\n  timezone: s3cr3t-0b7e-4c55\n"),
            minimal("monitor: [\n"),
            format!("pve:\n  token_secret: \"{SECRET}\n"),
            format!("pve:\n  token_secret: {SECRET}\n  token_secret: {SECRET}\n"),
            format!("{{\"pve\": {{\"api_token_secret\": \"{SECRET}\" \"x\": 1}}}}"),
            minimal("").replace(&format!("token_secret: {SECRET}"), "token_secret: [1, 2]"),
        ];
        for text in &mistakes {
            let e = yaml(text).unwrap_err();
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains(SECRET), "leaked in: {shown}");
        }
        let env = |k: &str| (k == "PVE_API_TOKEN_SECRET").then(|| SECRET.to_string());
        let e = config::parse(
            &minimal("monitor:\n  timezone: s3cr3t-0b7e-4c55\n"),
            Path::new("c.yaml"),
            &env,
        )
        .unwrap_err();
        assert!(!e.to_string().contains(SECRET), "{e}");
        assert_eq!(
            e.to_string(),
            "c.yaml: `monitor.timezone`: unknown time zone \"********\"; use an IANA name like \
             \"UTC\", \"Europe/Berlin\" or \"America/New_York\" (`timedatectl list-timezones` \
             lists them)"
        );
    }
}

/// A fresh directory under the system temp dir for one test.
fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "pve-traffic-config-test-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Sets a file's permission bits (no-op off Unix).
fn set_mode(path: &Path, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
}
