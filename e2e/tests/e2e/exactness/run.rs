//! One case: a simulator and an exporter, the walk through simulated time (polls on a
//! schedule, on every local hour boundary and before every event that ends a device), what
//! each successful poll saw of the truth, and the checks.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use jiff::tz::TimeZone;
use pve_traffic_core::config::Config;
use pve_traffic_exporter::Exporter;
use pve_traffic_store::{SqliteStore, Store};
use serde_json::{json, Value};

use super::windows::{self, check_growth, check_windows, iso, Kind, Observable};
use super::{nic_config, scenario, Event, Outage, Step, Zone, GUESTS, NODES};
use crate::util::Env;

/// `/cluster/resources` serves a pushed record while it is at most 300 s old; one that old
/// or older is not counted as seen (the bound is conservative by one push).
const SERVED_SECS: i64 = 300;

/// A process younger than this is not replaced or stopped. A new process is told from the
/// old one only by an uptime shorter than the old one could show by now; when the new one is
/// first seen (after a poll gap, a stall, an outage) with an uptime as long as the old one
/// had, the two are indistinguishable: with flat rates even the counters are equal, and a
/// re-read of a stalled node's push looks the same. An old process of ten minutes or more
/// is always told apart by what the exporter can know: a row with stats was pushed at most
/// 300 s before the poll, so the same process would show at least its old uptime plus the
/// time since then, less 300 s.
const YOUNG_SECS: i64 = 600;

/// One guest as `/sim/truth` shows it now.
struct GuestNow {
    node: String,
    running: bool,
    pushed_at: Option<i64>,
    obs: Observable,
}

/// A running case.
pub struct Run<'z> {
    zone: &'z Zone,
    tz: TimeZone,
    env: Env,
    config: Config,
    exporter: Option<Exporter>,
    reader: SqliteStore,
    /// Simulated now, epoch seconds.
    now: i64,
    poll_every: i64,
    next_poll: i64,
    last_poll: i64,
    outage: bool,
    /// Per guest: the push (epoch s) the exporter last saw.
    seen: Vec<Option<i64>>,
    /// Per guest: when its current process started, as far as this run made it.
    started: Vec<i64>,
    macs: u8,
    /// Per guest: the instants a successful poll saw its fresh stats, with the truth then.
    cuts: Vec<BTreeMap<i64, Observable>>,
    log: String,
}

/// Runs one case; on failure the message ends with what happened when.
pub async fn case(zone: &Zone, steps: &[Step]) -> Result<String, String> {
    let mut run = Run::start(zone).await;
    match run.walk(steps).await {
        Ok(summary) => Ok(summary),
        Err(e) => Err(format!("{e}\nwhat happened:\n{}", run.log)),
    }
}

impl<'z> Run<'z> {
    async fn start(zone: &'z Zone) -> Run<'z> {
        let start = zone.start.parse::<jiff::Timestamp>().unwrap().as_second();
        let env = Env::start(&scenario(start)).await;
        assert_eq!(env.now_ms().await, start * 1000);
        let config = env.config(&format!("  timezone: {}\n", zone.tz), "");
        let exporter = Exporter::open(&config).unwrap();
        let reader = SqliteStore::open_read_only(&env.db_path()).unwrap();
        Run {
            zone,
            tz: TimeZone::get(zone.tz).unwrap(),
            env,
            config,
            exporter: Some(exporter),
            reader,
            now: start,
            poll_every: 60,
            next_poll: start,
            last_poll: i64::MIN,
            outage: false,
            seen: vec![None; GUESTS.len()],
            started: vec![i64::MIN / 2; GUESTS.len()],
            macs: 0,
            cuts: vec![BTreeMap::new(); GUESTS.len()],
            log: String::new(),
        }
    }

    async fn walk(&mut self, steps: &[Step]) -> Result<String, String> {
        self.poll().await?;
        if self.cuts.iter().any(|c| c.is_empty()) {
            return Err("harness: a guest was not fresh at the first poll".into());
        }
        for s in steps {
            self.poll_every = s.poll_every as i64;
            self.go_to(self.now + s.after as i64).await?;
            let note = self.apply(&s.event).await?;
            let _ = writeln!(self.log, "{} {:?}: {note}", iso(self.now), s.event);
        }
        let until = self.zone.until.parse::<jiff::Timestamp>().unwrap();
        self.go_to(until.as_second().max(self.now)).await?;
        self.finish().await
    }

    /// Advances to `target`, polling when the schedule says and on every local hour start.
    async fn go_to(&mut self, target: i64) -> Result<(), String> {
        while self.now < target {
            let hour = windows::start(Kind::Hour, &self.tz, self.now);
            let next_hour = windows::next(Kind::Hour, &self.tz, hour);
            let next = target.min(self.next_poll).min(next_hour);
            self.env.advance((next - self.now) as u64).await;
            self.now = next;
            if next == self.next_poll || next == next_hour {
                self.poll().await?;
            }
        }
        Ok(())
    }

    /// One exporter cycle now (if the exporter runs), recording what the truth says of
    /// every guest whose stats are fresh and checking its lifetime totals.
    async fn poll(&mut self) -> Result<(), String> {
        self.next_poll = self.now + self.poll_every;
        if self.last_poll == self.now {
            return Ok(());
        }
        let Some(exporter) = self.exporter.as_mut() else {
            return Ok(());
        };
        self.last_poll = self.now;
        match (exporter.poll_once(self.now * 1000).await, self.outage) {
            (Err(_), true) => return Ok(()),
            (Ok(_), true) => {
                return Err(format!("{}: a poll succeeded in an outage", iso(self.now)))
            }
            (Err(e), false) => return Err(format!("{}: poll failed: {e}", iso(self.now))),
            (Ok(_), false) => {}
        }
        let truth = self.truth().await;
        let totals = self.reader.load_state().unwrap().guests;
        for (i, g) in truth.iter().enumerate() {
            if let Some(p) = g.pushed_at.filter(|p| self.now - p < SERVED_SECS) {
                self.seen[i] = Some(p);
            }
            if g.pushed_at != Some(self.now) {
                continue;
            }
            self.cuts[i].insert(self.now, g.obs);
            let vmid = GUESTS[i].vmid;
            let accounted = totals.get(&vmid).map_or((0, 0), |t| (t.2.rx, t.2.tx));
            let (&first, base) = self.cuts[i].first_key_value().unwrap();
            let what = format!(
                "lifetime of {vmid} from {} to {}",
                iso(first),
                iso(self.now)
            );
            check_growth(&what, accounted, base, &g.obs)?;
        }
        Ok(())
    }

    async fn truth(&self) -> Vec<GuestNow> {
        let t = self.env.control("GET", "/truth", None).await;
        let n = |v: &Value, k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
        GUESTS
            .iter()
            .map(|g| {
                let v = &t["guests"][g.vmid.to_string()];
                GuestNow {
                    node: v["node"].as_str().unwrap().to_string(),
                    running: v["running"].as_bool().unwrap(),
                    pushed_at: v["pushed_at"].as_i64(),
                    obs: Observable {
                        rx: n(v, "rx_bytes") - n(v, "unobservable_rx_bytes"),
                        tx: n(v, "tx_bytes") - n(v, "unobservable_tx_bytes"),
                        recreated_rx: n(v, "recreated_pushed_rx_bytes"),
                        recreated_tx: n(v, "recreated_pushed_tx_bytes"),
                    },
                }
            })
            .collect()
    }

    async fn node_online(&self, node: &str) -> bool {
        let t = self.env.control("GET", "/truth?vmid=100", None).await;
        t["nodes"][node]["online"].as_bool().unwrap()
    }

    /// Applies one event; returns what was done (or why nothing was).
    async fn apply(&mut self, event: &Event) -> Result<String, String> {
        match *event {
            Event::Offline(n) => self.node("offline", n).await,
            Event::Online(n) => self.node("online", n).await,
            Event::Stall(n) => self.node("stall", n).await,
            Event::Unstall(n) => self.node("unstall", n).await,
            Event::OutageStart(kind) => Ok(self.outage_start(kind).await),
            Event::OutageEnd => {
                self.env.control("DELETE", "/faults", None).await;
                self.outage = false;
                Ok("PVE answers again".into())
            }
            Event::Kill => Ok(match self.exporter.take() {
                Some(_) => "exporter killed".into(),
                None => "exporter already down".into(),
            }),
            Event::Reopen => Ok(self.reopen()),
            _ => self.guest_event(event).await,
        }
    }

    async fn node(&self, what: &str, n: usize) -> Result<String, String> {
        self.env
            .control("POST", &format!("/nodes/{}/{what}", NODES[n]), None)
            .await;
        Ok(format!("{} {what}", NODES[n]))
    }

    async fn outage_start(&mut self, kind: Outage) -> String {
        if self.outage {
            return "already in an outage".into();
        }
        let kind = match kind {
            Outage::Malformed => "malformed",
            Outage::Http595 => "http595",
        };
        let fault = json!({"kind": kind, "count": 0, "path_prefix": "/cluster/resources"});
        self.env.control("POST", "/faults", Some(fault)).await;
        self.outage = true;
        format!("every poll fails ({kind})")
    }

    fn reopen(&mut self) -> String {
        if self.exporter.is_some() {
            return "exporter already up".into();
        }
        self.exporter = Some(Exporter::open(&self.config).unwrap());
        "exporter reopened on its database".into()
    }

    /// A guest event. One that ends a running guest's devices is applied only after the
    /// exporter saw the guest's last push: `unobservable` counts the bytes after the last
    /// push, so the equation holds for an observer that saw every process's last push.
    async fn guest_event(&mut self, event: &Event) -> Result<String, String> {
        let i = match *event {
            Event::Migrate { guest, .. }
            | Event::NewMac { guest, .. }
            | Event::Reboot(guest)
            | Event::GuestReboot(guest)
            | Event::Stop(guest)
            | Event::Start(guest) => guest,
            _ => unreachable!("not a guest event"),
        };
        let def = &GUESTS[i];
        let g = self.truth().await.swap_remove(i);
        // Whether the running process ends (and, but for a stop, a new one starts), and
        // whether devices end: the process's, or one NIC's.
        let process_ends = g.running
            && match *event {
                Event::Start(_) | Event::NewMac { .. } => false,
                Event::GuestReboot(_) => def.lxc,
                _ => true,
            };
        let ends = process_ends || (g.running && matches!(event, Event::NewMac { .. }));
        let new_process = match *event {
            Event::Start(_) => !g.running,
            Event::Stop(_) => false,
            _ => process_ends,
        };
        let vmid = def.vmid;
        let sim = |action: String| format!("/guests/{vmid}/{action}");
        let (path, note) = match *event {
            Event::Start(_) if g.running => return Ok("already running".into()),
            Event::Start(_) => (sim("start".into()), "started".to_string()),
            _ if !g.running && !matches!(event, Event::Migrate { .. } | Event::NewMac { .. }) => {
                return Ok("not running".into())
            }
            Event::Stop(_) => (sim("stop".into()), "stopped".into()),
            Event::Reboot(_) => (sim("reboot".into()), "rebooted".into()),
            Event::GuestReboot(_) => (sim("guest-reboot".into()), "rebooted inside".into()),
            Event::Migrate { to, .. } => {
                let mut to = to;
                if NODES[to] == g.node {
                    to = (to + 1) % NODES.len();
                }
                if !self.node_online(NODES[to]).await {
                    return Ok(format!("target {} offline", NODES[to]));
                }
                let path = sim(format!("migrate?node={}", NODES[to]));
                (path, format!("{} -> {}", g.node, NODES[to]))
            }
            Event::NewMac { nic, .. } => {
                if !self.node_online(&g.node).await {
                    return Ok(format!("{} offline: PUT impossible", g.node));
                }
                (
                    String::new(),
                    format!("net{} gets a new MAC", nic % def.nics),
                )
            }
            _ => unreachable!(),
        };
        let age = self.now - self.started[i];
        if process_ends && age < YOUNG_SECS {
            return Ok(format!("skipped: the process started {age} s ago"));
        }
        if ends {
            self.poll().await?;
            let pushed_at = self.truth().await[i].pushed_at;
            if self.seen[i] != pushed_at {
                return Ok(format!(
                    "skipped: the exporter did not see the last push ({:?}, saw {:?})",
                    pushed_at.map(iso),
                    self.seen[i].map(iso)
                ));
            }
        }
        match *event {
            Event::NewMac { nic, .. } => self.put_nic(i, &g.node, nic % def.nics).await?,
            _ => {
                self.env.control("POST", &path, None).await;
            }
        }
        if new_process {
            self.started[i] = self.now;
        }
        Ok(note)
    }

    async fn put_nic(&mut self, i: usize, node: &str, nic: usize) -> Result<(), String> {
        self.macs += 1;
        let def = &GUESTS[i];
        let kind = if def.lxc { "lxc" } else { "qemu" };
        let url = format!(
            "{}/nodes/{node}/{kind}/{}/config",
            self.env.sim.api_url(),
            def.vmid
        );
        let r = self
            .env
            .sim
            .http()
            .put(url)
            .header("Authorization", self.env.sim.authorization())
            .form(&[(format!("net{nic}"), nic_config(def, nic, self.macs))])
            .send()
            .await
            .unwrap();
        match r.status().as_u16() {
            200 => Ok(()),
            s => Err(format!("PUT net{nic} of {}: {s}", def.vmid)),
        }
    }

    /// Ends every disturbance, lets every node push, polls, and checks the lifetime totals
    /// (in that poll) and every window.
    async fn finish(&mut self) -> Result<String, String> {
        self.env.control("DELETE", "/faults", None).await;
        self.outage = false;
        for n in 0..NODES.len() {
            self.node("online", n).await?;
            self.node("unstall", n).await?;
        }
        self.reopen();
        self.env.advance(10).await;
        self.now += 10;
        self.poll().await?;
        let _ = writeln!(self.log, "{} final poll", iso(self.now));
        let mut compared = 0;
        for (i, def) in GUESTS.iter().enumerate() {
            if !self.cuts[i].contains_key(&self.now) {
                return Err(format!("harness: {} is not fresh at the end", def.vmid));
            }
            for kind in Kind::ALL {
                let reader = &self.reader;
                let mut usage = |start: i64| {
                    reader
                        .period_usage(kind.key(), start * 1000)
                        .unwrap()
                        .get(&def.vmid)
                        .copied()
                        .unwrap_or((0, 0))
                };
                compared += check_windows(kind, &self.tz, &self.cuts[i], &mut usage)
                    .map_err(|e| format!("guest {}: {e}", def.vmid))?;
            }
        }
        let polls: usize = self.cuts.iter().map(BTreeMap::len).sum();
        Ok(format!("{polls} fresh guest polls, {compared} window sums"))
    }
}
