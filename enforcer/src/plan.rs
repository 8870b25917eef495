//! The plan: the enforcer's decision as a table an operator can read before trusting it.
//!
//! A dry run (`enforcer.dry_run`) and an operator asking "what would you do now?" need the
//! same answer the reconciler acts on, so this renders [`Evaluation`]s (from
//! [`evaluate`](super::desired::evaluate)) rather than deciding anything itself. What a guest
//! is like now and what would be run for it are the reconciler's knowledge (PVE, persisted
//! state), so they come in as functions. Pure: text in memory, no I/O.

use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::desired::Evaluation;
use pve_traffic_core::period::PeriodSpec;
use pve_traffic_core::units::format_bytes;
use pve_traffic_store::enforcement::Desired;

/// The columns, and whether each is right-aligned (numbers are, so digits line up).
const COLUMNS: [(&str, bool); 9] = [
    ("guest", true),
    ("rule", false),
    ("period", false),
    ("used", true),
    ("limit", true),
    ("%", true),
    ("current", false),
    ("desired", false),
    ("action", false),
];

/// Renders a fixed-width table, one line per applicable rule of each guest:
/// `guest rule period used limit % current desired action`.
///
/// - `period` is the rule's period kind and the local end of its current window in `tz`
///   (`month → 2026-12-01`, `hour → 2026-11-15 14:00`): when the penalty ends by itself.
/// - `used`/`limit` in binary units ([`format_bytes`]); `%` is used/limit with one decimal
///   (`-` for a zero limit). A rule released by an operator reads `name (released)`.
/// - `current` (`current(vmid)`, e.g. [`Desired::as_str`] of what PVE shows), `desired` and
///   `action` (`action(evaluation)`, what would run) describe the guest, so they are written
///   on its first line only.
/// - A guest no rule applies to is listed (rule `-`) only when `current` is not `normal`:
///   then something the enforcer changed is to be restored.
///
/// Columns are separated by two spaces; lines carry no trailing spaces; the header comes
/// first, even when there is nothing else.
pub fn render_plan(
    evals: &[Evaluation],
    current: &dyn Fn(u32) -> String,
    action: &dyn Fn(&Evaluation) -> String,
    tz: &TimeZone,
) -> String {
    let mut rows: Vec<[String; 9]> = vec![COLUMNS.map(|(name, _)| name.to_string())];
    for eval in evals {
        let now = current(eval.vmid);
        if eval.applicable.is_empty() && now == Desired::Normal.as_str() {
            continue;
        }
        let mut guest_cells = Some([now, eval.desired.as_str().to_string(), action(eval)]);
        let mut push = |rule: String, period: String, used: String, limit: String, pct: String| {
            let [now, desired, act] = guest_cells.take().unwrap_or_default();
            rows.push([
                eval.vmid.to_string(),
                rule,
                period,
                used,
                limit,
                pct,
                now,
                desired,
                act,
            ]);
        };
        if eval.applicable.is_empty() {
            let dash = || "-".to_string();
            push(dash(), dash(), dash(), dash(), dash());
        }
        for s in &eval.applicable {
            let rule = if s.released {
                format!("{} (released)", s.rule)
            } else {
                s.rule.clone()
            };
            push(
                rule,
                period_cell(s.period, s.window.end, tz),
                format_bytes(s.used),
                format_bytes(s.limit),
                percent(s.used, s.limit),
            );
        }
    }

    // Widths in chars, not bytes: `→` and non-ASCII rule names are one column each.
    let mut widths = [0usize; 9];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = " ".repeat(widths[i] - cell.chars().count());
            if COLUMNS[i].1 {
                line.push_str(&pad);
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&pad);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `month → 2026-12-01`: the period kind and the local end of the window, with the time of
/// day only when the end is not a midnight (hours, or a day starting in a DST gap).
fn period_cell(period: PeriodSpec, end: Timestamp, tz: &TimeZone) -> String {
    let local = tz.to_datetime(end);
    let kind = period.kind.as_str();
    if (local.hour(), local.minute()) == (0, 0) {
        format!("{kind} → {}", local.date())
    } else {
        format!(
            "{kind} → {} {:02}:{:02}",
            local.date(),
            local.hour(),
            local.minute()
        )
    }
}

/// `used` as a percentage of `limit`, one decimal; `-` when there is no limit to divide by.
fn percent(used: u64, limit: u64) -> String {
    if limit == 0 {
        return "-".to_string();
    }
    // f64 is exact enough for a display with one decimal, even for exabytes.
    format!("{:.1}%", used as f64 * 100.0 / limit as f64)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{guest, rule};
    use super::*;
    use crate::desired::{evaluate, GuestFacts, Usage};
    use pve_traffic_core::rules::{Action, Rule};
    use pve_traffic_store::enforcement::Release;

    const GIB: u64 = 1 << 30;

    #[test]
    fn plan_is_an_aligned_table_of_usage_and_decisions() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let now: Timestamp = "2026-11-15T12:30Z".parse().unwrap();
        let rules = [
            rule(
                "monthly_limit",
                PeriodSpec::month(1),
                Action::Shutdown,
                1000 * GIB,
            ),
            rule("hourly", PeriodSpec::hour(), Action::RateLimit, 10 * GIB),
            Rule {
                vm_ids: vec![101],
                ..rule("vip", PeriodSpec::day(), Action::Stop, 512)
            },
        ];
        let mut usage = Usage::new();
        let mut put = |rule: &str, vmid: u32, rx: u64, tx: u64| {
            usage
                .entry(rule.to_string())
                .or_default()
                .insert(vmid, (rx, tx));
        };
        put("monthly_limit", 101, 1000 * GIB, 1);
        put("hourly", 101, 3 * GIB, 0);
        put("vip", 101, 512, 0);
        put("monthly_limit", 7, 250 * GIB, 0);
        let releases = [Release {
            vmid: 101,
            rule: Some("vip".to_string()),
            until_ms: "2026-11-16T00:00Z"
                .parse::<Timestamp>()
                .unwrap()
                .as_millisecond(),
            at_ms: 0,
        }];
        let template = GuestFacts {
            vmid: 9000,
            tags: &[],
            template: true,
        };
        let guests = [guest(101), guest(7), template, guest(8)];
        let evals = evaluate(&rules, &guests, &usage, &releases, now, &tz);
        // Guest 8 has no usage yet: listed with 0 B. 9000 is a template, so no rule applies;
        // it looks like a guest the enforcer once changed, so it is listed, to be restored.
        let current = |vmid: u32| {
            match vmid {
                9000 => "rate_limit",
                _ => "normal",
            }
            .to_string()
        };
        let action = |e: &Evaluation| match (&e.desired, e.vmid) {
            (Desired::Shutdown, _) => "shutdown (ACPI), stop after 120s".to_string(),
            (_, 9000) => "restore net0 rate".to_string(),
            _ => "-".to_string(),
        };
        let text = render_plan(&evals, &current, &action, &tz);
        let want = "\
guest  rule            period                       used     limit       %  current     desired   action
    7  monthly_limit   month → 2026-12-01        250 GiB  1000 GiB   25.0%  normal      normal    -
    7  hourly          hour → 2026-11-15 14:00       0 B    10 GiB    0.0%
    8  monthly_limit   month → 2026-12-01            0 B  1000 GiB    0.0%  normal      normal    -
    8  hourly          hour → 2026-11-15 14:00       0 B    10 GiB    0.0%
  101  monthly_limit   month → 2026-12-01       1000 GiB  1000 GiB  100.0%  normal      shutdown  shutdown (ACPI), stop after 120s
  101  hourly          hour → 2026-11-15 14:00     3 GiB    10 GiB   30.0%
  101  vip (released)  day → 2026-11-16            512 B     512 B  100.0%
 9000  -               -                               -         -       -  rate_limit  normal    restore net0 rate
";
        assert_eq!(text, want, "\n{text}");
        // The numbers line up: every cell of a right-aligned column ends where its header does.
        let header: Vec<char> = text.lines().next().unwrap().chars().collect();
        for name in ["guest", "used", "limit", "%"] {
            let start = (0..header.len())
                .find(|&i| header[i..].starts_with(&name.chars().collect::<Vec<_>>()[..]))
                .unwrap();
            let end = start + name.chars().count();
            for line in text.lines() {
                let chars: Vec<char> = line.chars().collect();
                assert_ne!(chars[end - 1], ' ', "{name} in {line:?}");
                // The cell ends the line or is followed by the separator.
                assert!(
                    chars.get(end).is_none_or(|c| *c == ' '),
                    "{name} in {line:?}"
                );
            }
        }
        for needle in [
            "1000 GiB",
            "250 GiB",
            "25.0%",
            "100.0%",
            "month → 2026-12-01",
        ] {
            assert!(text.contains(needle), "{needle}");
        }
    }

    #[test]
    fn percent_has_one_decimal_and_survives_a_zero_limit() {
        assert_eq!(percent(1, 3), "33.3%");
        assert_eq!(percent(2, 3), "66.7%");
        assert_eq!(percent(u64::MAX, 1), "1844674407370955161600.0%");
        assert_eq!(percent(5, 0), "-");
    }

    #[test]
    fn an_empty_plan_is_just_the_header() {
        let text = render_plan(&[], &|_| String::new(), &|_| String::new(), &TimeZone::UTC);
        assert_eq!(
            text,
            "guest  rule  period  used  limit  %  current  desired  action\n"
        );
    }
}
