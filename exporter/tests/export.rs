//! `pve-traffic-exporter export` and `cleanup` as an operator runs them, against a database
//! the exporter filled from pve-sim: totals equal `/sim/truth` and the store, guest names
//! cannot steer where files go, bad ranges exit 2, and cleanup deletes exactly what its dry
//! run listed; charts (HTML, PNG, SVG) come out whole, offline and in the asked size.
//!
//! The exporter runs in this process (`Exporter::poll_once`, the daemon's cycle) so the
//! simulated time of every poll is chosen here; it is dropped (stopped) before the tools run,
//! as the binary, on its database.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use pve_sim::testkit::TestSim;
use pve_traffic_exporter::Exporter;
use pve_traffic_store::{SqliteStore, Store};
use serde_json::Value;

const EXE: &str = env!("CARGO_BIN_EXE_pve-traffic-exporter");

/// 2026-01-01T00:00:00Z.
const START_S: u64 = 1_767_225_600;

const SCENARIO: &str = r#"
start_time: 1767225600
nodes: [{ name: pve1 }]
guests:
  - vmid: 100
    type: qemu
    node: pve1
    name: web1
    tags: "prod"
    nics:
      - { config: "virtio=BC:24:11:00:00:01,bridge=vmbr0", rx_rate: 400000, tx_rate: 40000 }
  - vmid: 101
    type: qemu
    node: pve1
    name: "../../etc/x"
    nics:
      - { config: "virtio=BC:24:11:00:00:02,bridge=vmbr0", rx_rate: 90000, tx_rate: 150000 }
  - vmid: 102
    type: lxc
    node: pve1
    name: "=cmd,quoted"
    nics:
      - { index: 0, config: "name=eth0,bridge=vmbr0,ip=dhcp", rx_rate: 5000, tx_rate: 7000 }
"#;

struct Fixture {
    _sim: TestSim,
    dir: tempfile::TempDir,
    config: PathBuf,
    truth: BTreeMap<u32, (u64, u64)>,
}

impl Fixture {
    fn db(&self) -> PathBuf {
        self.dir.path().join("traffic.db")
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("exports")
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(EXE)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Runs an export that must succeed; returns the file it wrote.
    fn export(&self, args: &[&str]) -> PathBuf {
        let out = self.run(&[&["export", "--tz", "UTC"], args].concat());
        assert!(out.status.success(), "{args:?}: {out:?}");
        // Not on a terminal: no progress bar, nothing on stderr.
        assert!(out.stderr.is_empty(), "{args:?}: {out:?}");
        let path = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
        assert_eq!(path.parent(), Some(self.out().as_path()), "{path:?}");
        path
    }

    fn json(&self, args: &[&str]) -> Value {
        let p = self.export(&[&["--format", "json"], args].concat());
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    }

    fn csv(&self, args: &[&str]) -> Vec<BTreeMap<String, String>> {
        let p = self.export(&[&["--format", "csv"], args].concat());
        parse_csv(&std::fs::read_to_string(p).unwrap())
    }
}

/// Polls pve-sim for five simulated hours at uneven intervals, then stops the exporter.
async fn fixture() -> Fixture {
    let sim = TestSim::yaml(SCENARIO).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "pve:\n  url: {}\n  token_id: \"{}\"\n  token_secret: \"{}\"\n  tls:\n    fingerprint: \"{}\"\n\
             monitor:\n  interval_seconds: 60\n  export_path: {}\nstorage:\n  dsn: {}\n\
             exporter:\n  listen: 127.0.0.1:0\n\
             rules:\n  - {{ name: monthly, period: month, limit_gb: 1, action: notify, vm_tags: [prod] }}\n  - {{ name: daily, period: day, limit: 2GB, direction: rx, action: notify }}\n",
            sim.base_url(),
            sim.token_id(),
            sim.token_secret(),
            sim.fingerprint().unwrap(),
            dir.path().join("exports").display(),
            dir.path().join("traffic.db").display(),
        ),
    )
    .unwrap();
    // The file holds the token secret: private, as the loader asks (else it warns on stderr).
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let loaded = pve_traffic_core::config::load(&config, &|_| None)
        .unwrap()
        .config;
    let mut exporter = Exporter::open(&loaded).unwrap();
    let mut now = START_S * 1000;
    exporter.poll_once(now as i64).await.unwrap();
    for step in [
        137u64, 300, 911, 60, 1800, 42, 600, 3600, 299, 1234, 5000, 2000, 333,
    ] {
        now += step * 1000;
        sim.with_cluster(|c| c.advance_to(now));
        exporter.poll_once(now as i64).await.unwrap();
    }
    // A last poll on a 10 s boundary, where pve-sim refreshes its status cache (as pvestatd
    // does): the counters it serves are then the truth at that instant.
    now = (now / 10_000 + 1) * 10_000;
    sim.with_cluster(|c| c.advance_to(now));
    exporter.poll_once(now as i64).await.unwrap();
    drop(exporter);
    let truth = sim.with_cluster(|c| {
        c.guests
            .iter()
            .map(|(&vmid, g)| (vmid, g.truth()))
            .collect::<BTreeMap<u32, (u64, u64)>>()
    });
    assert!(
        truth.values().all(|&(rx, tx)| rx > 0 && tx > 0),
        "{truth:?}"
    );
    Fixture {
        _sim: sim,
        dir,
        config,
        truth,
    }
}

fn parse_csv(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    lines
        .map(|l| {
            let fields = split_csv_line(l);
            assert_eq!(fields.len(), header.len(), "{l}");
            header.iter().cloned().zip(fields).collect()
        })
        .collect()
}

/// Splits one RFC 4180 line (quoted fields may hold commas and doubled quotes).
fn split_csv_line(l: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted, mut chars) =
        (vec![], String::new(), false, l.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not an integer: {v}"))
}

/// A ranking export's `(rx, tx)` per VMID.
fn ranking_totals(ranking: &Value) -> BTreeMap<u32, (u64, u64)> {
    ranking["guests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (u(&g["vmid"]) as u32, (u(&g["rx_bytes"]), u(&g["tx_bytes"]))))
        .collect()
}

fn num(row: &BTreeMap<String, String>, key: &str) -> u64 {
    row[key].parse().unwrap()
}

fn store_totals(db: &Path) -> BTreeMap<u32, (u64, u64)> {
    let s = SqliteStore::open_read_only(db).unwrap();
    s.load_state()
        .unwrap()
        .guests
        .into_iter()
        .map(|(v, (_, _, t))| (v, (t.rx, t.tx)))
        .collect()
}

fn series_sum(db: &Path, vmid: u32, from_ms: i64, to_ms: i64) -> (u64, u64) {
    let s = SqliteStore::open_read_only(db).unwrap();
    s.series(vmid, from_ms, to_ms)
        .unwrap()
        .iter()
        .fold((0, 0), |a, b| (a.0 + b.1, a.1 + b.2))
}

#[tokio::test(flavor = "multi_thread")]
async fn exports_match_the_truth_and_the_store() {
    let f = fixture().await;
    assert_eq!(store_totals(&f.db()), f.truth, "the store is exact");
    let day = ["--start", "2026-01-01", "--end", "2026-01-01"];

    // All guests, JSON and CSV: every guest's totals are the truth.
    let all = f.json(&[&["--vm", "all"], &day[..]].concat());
    assert_eq!(all["schema"], "pve-traffic-export/1");
    assert_eq!(all["kind"], "ranking");
    assert_eq!(all["start"], "2026-01-01T00:00:00+00:00");
    assert_eq!(all["end"], "2026-01-02T00:00:00+00:00");
    let got = ranking_totals(&all);
    assert_eq!(got, f.truth);
    let ranks: Vec<u64> = all["guests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| u(&g["total_bytes"]))
        .collect();
    assert!(
        ranks.windows(2).all(|w| w[0] >= w[1]),
        "largest first: {ranks:?}"
    );
    let rx_sum: u64 = f.truth.values().map(|t| t.0).sum();
    assert_eq!(u(&all["totals"]["rx_bytes"]), rx_sum);
    let rows = f.csv(&[&["--vm", "all", "--direction", "tx"], &day[..]].concat());
    let got: BTreeMap<u32, (u64, u64)> = rows
        .iter()
        .map(|r| {
            (
                num(r, "vmid") as u32,
                (num(r, "rx_bytes"), num(r, "tx_bytes")),
            )
        })
        .collect();
    assert_eq!(got, f.truth);
    assert_eq!(num(&rows[0], "vmid"), 101, "sorted by upload");
    let evil = rows.iter().find(|r| r["vmid"] == "102").unwrap();
    assert_eq!(
        evil["name"], "'=cmd,quoted",
        "formula defused, comma quoted"
    );

    // One guest at 5-minute resolution, and by the hour as CSV.
    let g = f.json(&["--vm", "100", "--period", "5m", "--date", "2026-01-01"]);
    assert_eq!(g["kind"], "guest");
    assert_eq!(g["resolution"], "5m");
    assert_eq!(g["buckets"].as_array().unwrap().len(), 288);
    let (rx, tx) = f.truth[&100];
    assert_eq!(
        (u(&g["totals"]["rx_bytes"]), u(&g["totals"]["tx_bytes"])),
        (rx, tx)
    );
    let bucket_rx: u64 = g["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| u(&b["rx_bytes"]))
        .sum();
    assert_eq!(bucket_rx, rx);
    let rows = f.csv(&["--vm", "100", "--period", "hour", "--date", "2026-01-01"]);
    assert_eq!(rows.len(), 24);
    assert_eq!(rows.iter().map(|r| num(r, "tx_bytes")).sum::<u64>(), tx);
    assert_eq!(rows[1]["start"], "2026-01-01T01:00:00+00:00");

    // A range with partial hours at both ends equals the store's buckets over it.
    let (from, to) = (
        START_S as i64 * 1000 + 65 * 60_000,
        START_S as i64 * 1000 + 220 * 60_000,
    );
    let part = f.json(&[
        "--vm",
        "all",
        "--start",
        "2026-01-01 01:05",
        "--end",
        "2026-01-01T03:40:00Z",
    ]);
    for g in part["guests"].as_array().unwrap() {
        let vmid = u(&g["vmid"]) as u32;
        assert_eq!(
            (u(&g["rx_bytes"]), u(&g["tx_bytes"])),
            series_sum(&f.db(), vmid, from, to)
        );
    }
    let one = f.json(&[
        "--vm",
        "101",
        "--period",
        "5m",
        "--start",
        "2026-01-01 01:05",
        "--end",
        "2026-01-01T03:40:00Z",
    ]);
    assert_eq!(
        (u(&one["totals"]["rx_bytes"]), u(&one["totals"]["tx_bytes"])),
        series_sum(&f.db(), 101, from, to)
    );

    // The guest named ../../etc/x: its file lands in --output, under a flattened name.
    let p = f.export(&["--vm", "101", "--format", "json", "--date", "2026-01-01"]);
    let name = p.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with("vm-101-.._.._etc_x-hour-2026-01-01_to_2026-01-02"),
        "{name}"
    );
    assert!(!f.dir.path().join("etc").exists());
    let elsewhere = f.dir.path().join("elsewhere");
    let out = f.run(&[
        "export",
        "--vm",
        "101",
        "--format",
        "csv",
        "--output",
        elsewhere.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
    for entry in std::fs::read_dir(&elsewhere).unwrap() {
        assert!(entry
            .unwrap()
            .file_name()
            .to_str()
            .unwrap()
            .starts_with("vm-101-"));
    }
    for entry in std::fs::read_dir(f.dir.path()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            ["config.yaml", "exports", "elsewhere"].contains(&name.as_str())
                || name.starts_with("traffic.db"),
            "{name}"
        );
    }

    // Quota statements: usage from the accumulators equals the truth.
    let q = f.json(&["--vm", "100", "--rule", "monthly", "--date", "2026-01-01"]);
    assert_eq!(q["kind"], "quota");
    assert_eq!(q["rule"]["limit_bytes"], 1u64 << 30, "limit_gb is GiB");
    assert_eq!(q["start"], "2026-01-01T00:00:00+00:00");
    assert_eq!(u(&q["guests"][0]["used_bytes"]), rx + tx);
    let steps = q["buckets"].as_array().unwrap();
    assert_eq!(u(&steps[steps.len() - 1]["cumulative_used_bytes"]), rx + tx);
    let rows = f.csv(&["--vm", "all", "--rule", "daily", "--date", "2026-01-01"]);
    assert_eq!(rows.len(), 3);
    for r in &rows {
        assert_eq!(
            num(r, "used_bytes"),
            f.truth[&(num(r, "vmid") as u32)].0,
            "direction rx"
        );
    }
    let rows = f.csv(&["--vm", "all", "--rule", "monthly", "--date", "2026-01-15"]);
    assert_eq!(rows.len(), 1, "the rule selects tag prod only");
}

/// Width and height from a PNG's IHDR chunk (after checking the signature).
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes(b.try_into().unwrap());
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

#[tokio::test(flavor = "multi_thread")]
async fn charts_come_out_offline_in_every_format() {
    let f = fixture().await;
    let day = ["--date", "2026-01-01"];

    // One guest as an HTML page: ECharts inlined, nothing fetched, the guest named.
    let html = f.export(&[&["--vm", "100", "--format", "html"], &day[..]].concat());
    assert_eq!(html.extension().unwrap(), "html");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("Guest 100 (web1)"), "title missing");
    assert!(page.len() > 500_000, "ECharts is not inlined");
    for remote in ["src=\"http", "href=\"http", "@import", "url(http"] {
        assert!(!page.contains(remote), "{remote} in the page");
    }

    // The guest named `../../etc/x` as a PNG of the asked size, inside --output.
    let png = f.export(
        &[
            &[
                "--vm", "101", "--format", "png", "--width", "800", "--height", "400",
            ],
            &day[..],
        ]
        .concat(),
    );
    assert_eq!(png_size(&std::fs::read(&png).unwrap()), (800, 400));
    assert!(!f.dir.path().join("etc").exists());

    // The ranking and a quota statement as SVG; --dark changes the palette.
    let light = f.export(&[&["--vm", "all", "--format", "svg"], &day[..]].concat());
    let light = std::fs::read_to_string(light).unwrap();
    let doc = roxmltree::Document::parse(&light).unwrap();
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    assert!(light.contains("web1"), "ranking without the top guest");
    let dark = f.export(&[
        "--vm", "100", "--rule", "monthly", "--format", "svg", "--dark",
    ]);
    let dark = std::fs::read_to_string(dark).unwrap();
    roxmltree::Document::parse(&dark).unwrap();
    let (d, l) = (
        pve_traffic_render::palette(pve_traffic_render::Theme::Dark),
        pve_traffic_render::palette(pve_traffic_render::Theme::Light),
    );
    // (The light text colour is the dark background: compare the series colours.)
    assert!(dark.contains(d.rx) && !dark.contains(l.rx), "dark palette");
    assert!(
        light.contains(l.rx) && !light.contains(d.rx),
        "light palette"
    );
    assert!(dark.contains(d.background), "dark background");

    // An unusable image size is the operator's mistake: exit 2, nothing written.
    let out = f.run(&["export", "--vm", "100", "--format", "png", "--width", "5"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--width/--height"));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_exit_2_with_a_clear_message() {
    let f = fixture().await;
    for (args, want) in [
        (
            vec![
                "--vm",
                "100",
                "--start",
                "2026-01-02",
                "--end",
                "2026-01-01",
            ],
            "empty or reversed",
        ),
        (
            vec!["--vm", "100", "--start", "1999-12-01"],
            "outside 2000-01-01 to 2100-01-01",
        ),
        (
            vec!["--vm", "all", "--start", "2026-01-01 10:03"],
            "not on a 5-minute boundary",
        ),
        (
            vec![
                "--vm",
                "100",
                "--period",
                "5m",
                "--start",
                "2020-01-01",
                "--end",
                "2026-01-01",
            ],
            "more than 50000",
        ),
        (vec!["--vm", "100", "--date", "01/02/2026"], "YYYY-MM-DD"),
        (vec!["--vm", "999"], "no guest 999"),
        (vec!["--vm", "web1"], "expected a VMID"),
        (
            vec!["--vm", "100", "--rule", "nope"],
            "rules: monthly, daily",
        ),
        (
            vec!["--vm", "101", "--rule", "monthly"],
            "does not apply to guest 101",
        ),
        (
            vec!["--vm", "100", "--tz", "Mars/Olympus"],
            "unknown time zone",
        ),
        (
            vec!["--vm", "100", "--format", "csv", "--dark"],
            "--dark applies to charts",
        ),
    ] {
        let format: &[&str] = if args.contains(&"--format") {
            &[]
        } else {
            &["--format", "json"]
        };
        let out = f.run(&[&["export"], format, &args[..]].concat());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
    }
    assert!(!f.out().exists(), "no file written by a failed export");
    let out = f.run(&[
        "cleanup",
        "range",
        "--start",
        "2026-01-01 00:30",
        "--end",
        "2026-01-01 02:00",
        "--dry-run",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not on a whole UTC hour"));
}

#[tokio::test(flavor = "multi_thread")]
async fn cleanup_deletes_exactly_what_the_dry_run_listed() {
    let f = fixture().await;
    let hours = |db: &Path| -> BTreeMap<u32, Vec<(i64, u64, u64)>> {
        let s = SqliteStore::open_read_only(db).unwrap();
        f.truth
            .keys()
            .map(|&v| (v, s.hourly(v, i64::MIN, i64::MAX).unwrap()))
            .collect()
    };
    let before = hours(&f.db());
    let range = [
        "cleanup",
        "range",
        "--start",
        "2026-01-01 01:00",
        "--end",
        "2026-01-01T03:00:00Z",
        "--tz",
        "UTC",
    ];
    let dry = f.run(&[&range[..], &["--dry-run"]].concat());
    assert!(dry.status.success(), "{dry:?}");
    let listing = String::from_utf8(dry.stdout).unwrap();
    assert!(listing.ends_with("dry run: nothing deleted\n"), "{listing}");
    assert_eq!(hours(&f.db()), before, "a dry run deletes nothing");

    // Not on a terminal and no --yes: refused, nothing deleted.
    let refused = f.run(&range);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--yes"));
    assert_eq!(hours(&f.db()), before);

    let real = f.run(&[&range[..], &["--yes"]].concat());
    assert!(real.status.success(), "{real:?}");
    let done = String::from_utf8(real.stdout).unwrap();
    let table = |s: &str| {
        s.lines()
            .take_while(|l| !l.starts_with("total:"))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        table(&done),
        table(&listing),
        "the real run listed the same plan"
    );
    assert!(done.contains("deleted: 3 guests"), "{done}");

    // What is gone is exactly what was listed, row for row and byte for byte.
    let after = hours(&f.db());
    let (lo, hi) = (
        START_S as i64 * 1000 + 3_600_000,
        START_S as i64 * 1000 + 3 * 3_600_000,
    );
    for line in table(&listing).iter().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let vmid: u32 = cols[0].parse().unwrap();
        let gone: Vec<_> = before[&vmid]
            .iter()
            .filter(|h| !after[&vmid].contains(h))
            .collect();
        assert!(gone.iter().all(|h| (lo..hi).contains(&h.0)), "{gone:?}");
        assert_eq!(gone.len() as u64, cols[1].parse::<u64>().unwrap());
        assert_eq!(
            gone.iter().map(|h| h.1).sum::<u64>(),
            cols[2].parse::<u64>().unwrap()
        );
        assert_eq!(
            gone.iter().map(|h| h.2).sum::<u64>(),
            cols[3].parse::<u64>().unwrap()
        );
        assert_eq!(after[&vmid].len() + gone.len(), before[&vmid].len());
    }
    assert_eq!(store_totals(&f.db()), f.truth, "lifetime totals are kept");
    let again = f.run(&[&range[..], &["--yes"]].concat());
    assert!(String::from_utf8(again.stdout)
        .unwrap()
        .contains("nothing to delete"));

    // On a terminal (a pseudo-terminal from util-linux `script`) it asks: "n" keeps
    // everything, "y" deletes.
    let ask = |answer: &str| -> Output {
        let cmd = format!(
            "{EXE} --config {} cleanup range --start '2026-01-01 03:00' --end '2026-01-01 04:00' --tz UTC",
            f.config.display()
        );
        let mut child = Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(answer.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let no = ask("n\n");
    let text = String::from_utf8_lossy(&no.stdout);
    assert!(text.contains("Delete this history?"), "{text}");
    assert!(text.contains("cancelled; nothing deleted"), "{text}");
    assert_eq!(hours(&f.db()), after);
    let yes = ask("y\n");
    let text = String::from_utf8_lossy(&yes.stdout);
    assert!(yes.status.success(), "{yes:?}");
    assert!(text.contains("deleted: 3 guests, 3 hour rows"), "{text}");
    let after: BTreeMap<u32, Vec<(i64, u64, u64)>> = hours(&f.db());
    let at3 = START_S as i64 * 1000 + 3 * 3_600_000;
    assert!(after.values().flatten().all(|h| h.0 != at3));

    // One guest, everything: only that guest's rows go.
    let vm = f.run(&["cleanup", "vm", "--vmid", "102", "--yes"]);
    assert!(vm.status.success(), "{vm:?}");
    let last = hours(&f.db());
    assert!(last[&102].is_empty());
    assert_eq!(last[&100], after[&100]);
}

/// Runs the binary on `config` without `PVE_API_TOKEN_SECRET`; a run that does not end
/// within a minute is killed and fails the test (a daemon that should have refused to start).
fn run_without_secret(config: &Path, args: &[&str]) -> Output {
    let child = Command::new(EXE)
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("PVE_API_TOKEN_SECRET")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output().unwrap()));
    match rx.recv_timeout(std::time::Duration::from_secs(60)) {
        Ok(out) => out,
        Err(_) => {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            panic!("{args:?} did not end: it should not have started");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_report_tools_run_without_the_token_secret() {
    let f = fixture().await;
    // A config like the demo's: the token id in the file, the secret only in the daemons'
    // environment.
    let text = std::fs::read_to_string(&f.config).unwrap();
    let without: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("token_secret:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(without.contains("token_id:") && !without.contains("token_secret"));
    let config = f.dir.path().join("no-secret.yaml");
    std::fs::write(&config, without).unwrap();

    let day = [
        "--start",
        "2026-01-01",
        "--end",
        "2026-01-01",
        "--tz",
        "UTC",
    ];
    let args = [&["export", "--vm", "all", "--format", "json"], &day[..]].concat();
    let out = run_without_secret(&config, &args);
    assert!(out.status.success(), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
    let path = String::from_utf8(out.stdout).unwrap();
    let all: Value = serde_json::from_str(&std::fs::read_to_string(path.trim()).unwrap()).unwrap();
    let got = ranking_totals(&all);
    assert_eq!(
        got, f.truth,
        "the report is the truth, read without the secret"
    );

    let before = ["cleanup", "before", "--before", "2026-01-01T03:00:00Z"];
    let dry = run_without_secret(&config, &[&before[..], &["--dry-run"]].concat());
    assert!(dry.status.success(), "{dry:?}");
    let listing = String::from_utf8(dry.stdout).unwrap();
    assert!(listing.ends_with("dry run: nothing deleted\n"), "{listing}");
    for vmid in f.truth.keys() {
        assert!(listing.contains(&format!("\n{vmid}\t")), "{listing}");
    }
    assert_eq!(store_totals(&f.db()), f.truth);

    // What talks to PVE still demands the secret, with the loader's message.
    let missing = format!(
        "pve-traffic-exporter: {}: `pve.token_secret`: missing; set it in the file, in \
         PVE_API_TOKEN_SECRET, or with `pve.token_secret_file`\n",
        config.display()
    );
    for command in [&["serve"][..], &["check-config"], &[]] {
        let out = run_without_secret(&config, command);
        assert_eq!(out.status.code(), Some(2), "{command:?}: {out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), missing, "{command:?}");
    }
}
