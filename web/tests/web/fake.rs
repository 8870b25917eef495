//! An in-memory `WebSource` with a fixed clock and a small cluster: what the exporter's
//! implementation would answer, kept simple enough to check answers against.
//!
//! Guests 101 (`web`, qemu, over its quota and throttled), 102 (`db`, qemu) and 203
//! (`proxy`, lxc), plus `extra` generated guests from 1000 up for the large-table tests.
//! VMID 503 answers as if the store were unreachable, VMID 500 as if the read failed.

use std::sync::Mutex;

use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use pve_traffic_web::model::{
    Component, Enforcement, Export, ExportFormat, ExportRequest, Guest, GuestDetail, History,
    HistoryPoint, LogEntry, LogQuery, Quota, Release, ReleaseRequest, Rule, Stats, SystemStats,
    TopGuest,
};
use pve_traffic_web::{CalendarPeriod, SourceError, TimeRange, WebSource};

/// 2025-03-15T12:00:00Z, a Saturday.
pub const NOW: &str = "2025-03-15T12:00:00Z";
const GIB: u64 = 1 << 30;

pub struct FakeSource {
    extra: u32,
    released: Mutex<Vec<u32>>,
    log: Mutex<Vec<LogEntry>>,
}

impl FakeSource {
    /// The three named guests and `extra` generated ones.
    pub fn new(extra: u32) -> FakeSource {
        let now = now_ms();
        FakeSource {
            extra,
            released: Mutex::new(Vec::new()),
            log: Mutex::new(vec![
                entry(
                    now - 3_600_000,
                    101,
                    "monthly-cap",
                    "throttle",
                    "ok",
                    "enforcer",
                ),
                entry(
                    now - 7_200_000,
                    102,
                    "daily-burst",
                    "restore",
                    "ok",
                    "enforcer",
                ),
                entry(
                    now - 40 * 86_400_000,
                    203,
                    "monthly-cap",
                    "disconnect",
                    "failed",
                    "enforcer",
                ),
            ]),
        }
    }

    fn guest(&self, vmid: u32) -> Option<Guest> {
        let released = self.released.lock().unwrap().contains(&vmid);
        let (name, node, kind, tags, rx, tx, rate) = match vmid {
            101 => (
                "web",
                "pve1",
                "qemu",
                vec!["prod", "web"],
                900 * GIB,
                210 * GIB,
                12.5e6,
            ),
            102 => (
                "db",
                "pve1",
                "qemu",
                vec!["prod"],
                40 * GIB,
                12 * GIB,
                1.25e6,
            ),
            203 => ("proxy", "pve2", "lxc", vec![], 3 * GIB, 5 * GIB, 250e3),
            n if (1000..1000 + self.extra).contains(&n) => (
                "",
                "pve3",
                "qemu",
                vec!["bulk"],
                u64::from(n) * 1_000_000,
                u64::from(n) * 500_000,
                1e3,
            ),
            _ => return None,
        };
        let name = if name.is_empty() {
            format!("guest-{vmid}")
        } else {
            name.to_string()
        };
        let quota_percent = match vmid {
            101 => Some(if released { 0.0 } else { 110.0 }),
            102 => Some(26.0),
            _ => None,
        };
        Some(Guest {
            vmid,
            name,
            node: node.into(),
            kind: kind.into(),
            status: "running".into(),
            tags: tags.into_iter().map(String::from).collect(),
            month_rx_bytes: rx,
            month_tx_bytes: tx,
            rx_rate: rate,
            tx_rate: rate / 4.0,
            quota_percent,
            enforced: vmid == 101 && !released,
        })
    }

    fn all(&self) -> Vec<Guest> {
        [101, 102, 203]
            .into_iter()
            .chain(1000..1000 + self.extra)
            .filter_map(|id| self.guest(id))
            .collect()
    }

    fn check(vmid: u32) -> Result<(), SourceError> {
        match vmid {
            503 => Err(SourceError::Unavailable(
                "the store is not reachable; retry in a minute".into(),
            )),
            500 => Err(SourceError::Internal("reading the store failed".into())),
            _ => Ok(()),
        }
    }

    fn known(&self, vmid: u32) -> Result<Guest, SourceError> {
        Self::check(vmid)?;
        self.guest(vmid)
            .ok_or_else(|| SourceError::NotFound(format!("no guest {vmid}")))
    }

    /// The action log as it is now (releases included).
    pub fn log(&self) -> Vec<LogEntry> {
        self.log.lock().unwrap().clone()
    }
}

fn entry(time_ms: i64, vmid: u32, rule: &str, action: &str, result: &str, actor: &str) -> LogEntry {
    LogEntry {
        time_ms,
        vmid: Some(vmid),
        rule: Some(rule.into()),
        action: action.into(),
        result: result.into(),
        message: format!("{action} {vmid}"),
        actor: actor.into(),
    }
}

pub fn now_ms() -> i64 {
    NOW.parse::<Timestamp>().unwrap().as_millisecond()
}

fn month_end() -> i64 {
    "2025-04-01T00:00:00Z"
        .parse::<Timestamp>()
        .unwrap()
        .as_millisecond()
}

impl WebSource for FakeSource {
    fn vms(&self) -> Result<Vec<Guest>, SourceError> {
        Ok(self.all())
    }

    fn vm(&self, vmid: u32) -> Result<GuestDetail, SourceError> {
        let guest = self.known(vmid)?;
        let quotas = self
            .quotas()?
            .into_iter()
            .filter(|q| q.vmid == vmid)
            .collect();
        let enforcement = self.enforcements()?.into_iter().find(|e| e.vmid == vmid);
        Ok(GuestDetail {
            guest,
            quotas,
            enforcement,
        })
    }

    fn stats(&self, range: TimeRange) -> Result<Stats, SourceError> {
        let hours = u64::try_from(range.len_ms() / 3_600_000)
            .unwrap_or(0)
            .max(1);
        let top = self
            .all()
            .into_iter()
            .take(10)
            .map(|g| TopGuest {
                vmid: g.vmid,
                name: g.name,
                rx_bytes: g.month_rx_bytes / 720 * hours,
                tx_bytes: g.month_tx_bytes / 720 * hours,
            })
            .collect::<Vec<_>>();
        Ok(Stats {
            range,
            rx_bytes: top.iter().map(|t| t.rx_bytes).sum(),
            tx_bytes: top.iter().map(|t| t.tx_bytes).sum(),
            active_guests: u32::try_from(top.len()).unwrap(),
            top,
        })
    }

    fn history(&self, vmid: u32, range: TimeRange) -> Result<History, SourceError> {
        self.known(vmid)?;
        let step_seconds: u32 = if range.len_ms() <= 2 * 86_400_000 {
            300
        } else {
            3600
        };
        let step_ms = i64::from(step_seconds) * 1000;
        let points = (0..)
            .map(|i| range.start_ms + i * step_ms)
            .take_while(|t| *t < range.end_ms)
            .map(|t| {
                let phase = ((t / step_ms) % 24) as u64;
                HistoryPoint {
                    time_ms: t,
                    rx_bytes: (phase + 1) * 40_000_000,
                    tx_bytes: (24 - phase) * 10_000_000,
                }
            })
            .collect();
        Ok(History {
            vmid,
            range,
            step_seconds,
            points,
        })
    }

    fn logs(&self, query: &LogQuery) -> Result<Vec<LogEntry>, SourceError> {
        let mut out: Vec<LogEntry> = self
            .log()
            .into_iter()
            .filter(|e| query.range.start_ms <= e.time_ms && e.time_ms < query.range.end_ms)
            .filter(|e| query.vmid.is_none_or(|v| e.vmid == Some(v)))
            .filter(|e| {
                query
                    .rule
                    .as_ref()
                    .is_none_or(|r| e.rule.as_ref() == Some(r))
            })
            .filter(|e| query.action.as_ref().is_none_or(|a| &e.action == a))
            .filter(|e| query.result.as_ref().is_none_or(|r| &e.result == r))
            .collect();
        out.sort_by_key(|e| std::cmp::Reverse(e.time_ms));
        out.truncate(query.limit as usize);
        Ok(out)
    }

    fn rules(&self) -> Result<Vec<Rule>, SourceError> {
        Ok(vec![
            Rule {
                name: "monthly-cap".into(),
                applies_to: "tag prod".into(),
                period: "month".into(),
                direction: "both".into(),
                limit_bytes: 1000 * GIB,
                action: "throttle 10 Mbit/s".into(),
                enabled: true,
            },
            Rule {
                name: "daily-burst".into(),
                applies_to: "vmid 102".into(),
                period: "day".into(),
                direction: "tx".into(),
                limit_bytes: 50 * GIB,
                action: "disconnect".into(),
                enabled: true,
            },
        ])
    }

    fn system_stats(&self) -> Result<SystemStats, SourceError> {
        Ok(SystemStats {
            exporter: Component {
                state: "ok".into(),
                version: Some("0.1.0".into()),
                last_cycle_ms: Some(now_ms() - 15_000),
                last_error: None,
            },
            enforcer: Component {
                state: "degraded".into(),
                version: Some("0.1.0".into()),
                last_cycle_ms: Some(now_ms() - 60_000),
                last_error: Some("pve2: connection refused".into()),
            },
            guests: u32::try_from(self.all().len()).unwrap(),
            nodes: 3,
            rx_rate: 14e6,
            tx_rate: 3.5e6,
        })
    }

    fn quotas(&self) -> Result<Vec<Quota>, SourceError> {
        let released = self.released.lock().unwrap().contains(&101);
        let used = if released { 0 } else { 1100 * GIB };
        Ok(vec![
            Quota {
                vmid: 101,
                name: "web".into(),
                rule: "monthly-cap".into(),
                used_bytes: used,
                limit_bytes: 1000 * GIB,
                percent: if released { 0.0 } else { 110.0 },
                projected_bytes: 2200 * GIB,
                period_end_ms: month_end(),
                state: if released { "released" } else { "enforced" }.into(),
            },
            Quota {
                vmid: 102,
                name: "db".into(),
                rule: "monthly-cap".into(),
                used_bytes: 52 * GIB,
                limit_bytes: 1000 * GIB,
                percent: 5.2,
                projected_bytes: 104 * GIB,
                period_end_ms: month_end(),
                state: "ok".into(),
            },
            Quota {
                vmid: 102,
                name: "db".into(),
                rule: "daily-burst".into(),
                used_bytes: 13 * GIB,
                limit_bytes: 50 * GIB,
                percent: 26.0,
                projected_bytes: 26 * GIB,
                period_end_ms: now_ms() + 12 * 3_600_000,
                state: "ok".into(),
            },
        ])
    }

    fn enforcements(&self) -> Result<Vec<Enforcement>, SourceError> {
        if self.released.lock().unwrap().contains(&101) {
            return Ok(vec![]);
        }
        Ok(vec![Enforcement {
            vmid: 101,
            name: "web".into(),
            rule: "monthly-cap".into(),
            action: "throttle 10 Mbit/s".into(),
            since_ms: now_ms() - 3_600_000,
            until_ms: month_end(),
        }])
    }

    fn export(&self, request: &ExportRequest) -> Result<Export, SourceError> {
        if let Some(vmid) = request.vmid {
            self.known(vmid)?;
        }
        if request.width > 8000 || request.height > 8000 {
            return Err(SourceError::Invalid(
                "images are at most 8000 x 8000 pixels".into(),
            ));
        }
        let subject = request.vmid.map_or("all".to_string(), |v| v.to_string());
        let (content_type, bytes) = match request.format {
            ExportFormat::Csv => (
                "text/csv",
                format!("vmid,rx,tx\n{subject},1,2\n").into_bytes(),
            ),
            ExportFormat::Json => (
                "application/json",
                format!("{{\"vm\":\"{subject}\"}}").into_bytes(),
            ),
            ExportFormat::Html => (
                "text/html; charset=utf-8",
                b"<!doctype html><title>export</title>".to_vec(),
            ),
            ExportFormat::Svg => (
                "image/svg+xml",
                b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_vec(),
            ),
            ExportFormat::Png => ("image/png", b"\x89PNG\r\n\x1a\n".to_vec()),
        };
        Ok(Export {
            content_type: content_type.into(),
            file_name: format!("pve-traffic-{subject}.{}", request.format.name()),
            bytes,
        })
    }

    fn release(&self, request: &ReleaseRequest) -> Result<Release, SourceError> {
        self.known(request.vmid)?;
        let mut released = self.released.lock().unwrap();
        if request.vmid != 101 || released.contains(&101) {
            return Err(SourceError::Conflict(format!(
                "guest {} has no penalty in force",
                request.vmid
            )));
        }
        released.push(101);
        let mut log = entry(
            now_ms(),
            101,
            "monthly-cap",
            "release",
            "ok",
            &request.actor,
        );
        log.message = request.reason.clone();
        self.log.lock().unwrap().push(log);
        Ok(Release {
            vmid: 101,
            rules: vec!["monthly-cap".into()],
            until_ms: month_end(),
        })
    }

    fn calendar_window(&self, period: CalendarPeriod, at: Timestamp) -> TimeRange {
        let day = at.to_zoned_datetime(TimeZone::UTC).date();
        let start = match period {
            CalendarPeriod::Day => day,
            CalendarPeriod::Week => day
                .checked_sub(i64::from(day.weekday().to_monday_zero_offset()).days())
                .unwrap(),
            CalendarPeriod::Month => day.first_of_month(),
        };
        let end = match period {
            CalendarPeriod::Day => start.checked_add(1.day()).unwrap(),
            CalendarPeriod::Week => start.checked_add(7.days()).unwrap(),
            CalendarPeriod::Month => start.checked_add(1.month()).unwrap(),
        };
        let ms = |d: jiff::civil::Date| {
            d.to_zoned_datetime(TimeZone::UTC)
                .unwrap()
                .timestamp()
                .as_millisecond()
        };
        TimeRange {
            start_ms: ms(start),
            end_ms: ms(end),
        }
    }

    fn now(&self) -> Timestamp {
        NOW.parse().unwrap()
    }
}
