//! Quota rules as the wizard takes them: one checker per answer, shared by the prompts
//! (which re-ask on a bad answer) and by `--rule` (which reads all answers from one flag).
//!
//! The checks catch typos while the operator is still at the prompt; the final word is the
//! daemons' loader, which reads the written file back before it is saved (see `file.rs`).

use pve_traffic_core::period::PeriodKind;
use pve_traffic_core::rules::{Action, Direction};
use pve_traffic_core::units;
use pve_traffic_core::vocabulary::Vocabulary;

use super::file::RuleSection;

/// A name of vocabulary `V` (a period, a direction, an action), read as the config loader
/// reads it (trimmed, any case) and written as the file spells it.
pub fn word<V: Vocabulary>(s: &str) -> Result<String, String> {
    match V::from_name(&s.trim().to_ascii_lowercase()) {
        Ok(v) => Ok(v.name().to_string()),
        Err(_) => Err(format!(
            "{} must be one of: {}",
            V::WHAT,
            V::NAMES.join(", ")
        )),
    }
}

/// A rule name: not empty, not taken.
pub fn name(s: &str, taken: &[RuleSection]) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("give the rule a name (it labels metrics and logs)".into());
    }
    if taken.iter().any(|r| r.name == s) {
        return Err(format!(
            "a rule named {s:?} exists already; choose another name"
        ));
    }
    Ok(s.to_string())
}

/// The day a monthly period starts.
pub fn reset_day(s: &str) -> Result<u8, String> {
    match s.trim().parse::<u8>() {
        Ok(d @ 1..=31) => Ok(d),
        _ => Err("the reset day is a day of the month, 1 to 31 (31 = the last day)".into()),
    }
}

/// A limit with its unit, kept as typed once it parses to more than zero bytes.
pub fn limit(s: &str) -> Result<String, String> {
    let s = s.trim();
    match units::parse_size(s) {
        Ok(0) => Err("the limit must be above zero".into()),
        Ok(_) => Ok(s.to_string()),
        Err(e) => Err(e),
    }
}

/// MB/s per NIC for `rate_limit`.
pub fn rate(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(r) if r > 0 => Ok(r),
        _ => Err("the rate is a whole number of MB/s above zero, e.g. 10".into()),
    }
}

/// VMIDs separated by spaces or commas; empty = none.
pub fn vmids(s: &str) -> Result<Vec<u32>, String> {
    words(s)
        .map(|w| match w.parse::<u32>() {
            Ok(id @ 100..=999_999_999) => Ok(id),
            _ => Err(format!("{w:?} is not a VMID (100 to 999999999)")),
        })
        .collect()
}

/// Tags separated by spaces or commas; empty = none.
pub fn tags(s: &str) -> Vec<String> {
    words(s).map(str::to_string).collect()
}

fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split([' ', ',', ';']).filter(|w| !w.is_empty())
}

/// Whether a period takes a reset day.
pub fn is_month(period: &str) -> bool {
    PeriodKind::parse(period) == Ok(PeriodKind::Month)
}

/// Reads `--rule name=N,period=month,limit=1TB,action=shutdown[,reset_day=1][,direction=both]
/// [,rate=10][,vm_ids=100 101][,tags=a b][,exclude=999]`.
pub fn from_spec(spec: &str, taken: &[RuleSection]) -> Result<RuleSection, String> {
    let mut rule = RuleSection {
        name: String::new(),
        enabled: true,
        period: String::new(),
        reset_day: None,
        direction: Direction::Both.as_str().into(),
        limit: String::new(),
        action: String::new(),
        rate_limit_mb: None,
        vm_ids: Vec::new(),
        vm_tags: Vec::new(),
        exclude_vm_ids: Vec::new(),
    };
    for pair in spec.split(',') {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("--rule: {pair:?} is not key=value"))?;
        match key.trim() {
            "name" => rule.name = name(value, taken)?,
            "period" => rule.period = word::<PeriodKind>(value)?,
            "reset_day" => rule.reset_day = Some(reset_day(value)?),
            "direction" => rule.direction = word::<Direction>(value)?,
            "limit" => rule.limit = limit(value)?,
            "action" => rule.action = word::<Action>(value)?,
            "rate" => rule.rate_limit_mb = Some(rate(value)?),
            "vm_ids" => rule.vm_ids = vmids(value)?,
            "tags" => rule.vm_tags = tags(value),
            "exclude" => rule.exclude_vm_ids = vmids(value)?,
            other => {
                return Err(format!(
                    "--rule: unknown key {other:?}; known: name, period, reset_day, direction, \
                     limit, action, rate, vm_ids, tags, exclude"
                ))
            }
        }
    }
    for (key, value) in [
        ("name", &rule.name),
        ("period", &rule.period),
        ("limit", &rule.limit),
        ("action", &rule.action),
    ] {
        if value.is_empty() {
            return Err(format!("--rule {spec:?}: {key}= is required"));
        }
    }
    if is_month(&rule.period) && rule.reset_day.is_none() {
        rule.reset_day = Some(1);
    }
    Ok(rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_spec() {
        let r = from_spec(
            "name=daily,period=day,direction=tx,limit=50GiB,action=rate_limit,rate=10,\
             vm_ids=100 101,tags=limited,exclude=999",
            &[],
        )
        .unwrap();
        assert_eq!(
            (r.period.as_str(), r.direction.as_str(), r.limit.as_str()),
            ("day", "tx", "50GiB")
        );
        assert_eq!((r.rate_limit_mb, r.reset_day), (Some(10), None));
        assert_eq!(
            (r.vm_ids, r.vm_tags, r.exclude_vm_ids),
            (vec![100, 101], vec!["limited".to_string()], vec![999])
        );
    }

    #[test]
    fn a_month_gets_day_one_and_missing_keys_are_named() {
        let r = from_spec("name=m,period=month,limit=1TB,action=notify", &[]).unwrap();
        assert_eq!(r.reset_day, Some(1));
        let e = from_spec("name=m,period=month,limit=1TB", &[]).unwrap_err();
        assert!(e.contains("action= is required"), "{e}");
        let e = from_spec("name=m,period=m,limit=1TB", &[]).unwrap_err();
        assert!(e.contains("period must be one of"), "{e}");
        let e = from_spec("name=m,speed=1", &[]).unwrap_err();
        assert!(e.contains("unknown key \"speed\""), "{e}");
        let e = from_spec("name=m,period=day,limit=1TB,action=notify", &[r]).unwrap_err();
        assert!(e.contains("exists already"), "{e}");
    }

    #[test]
    fn answers_are_checked() {
        assert!(limit("0GB").is_err());
        assert!(limit("lots").is_err());
        assert_eq!(limit(" 1.5TB ").unwrap(), "1.5TB");
        assert_eq!(vmids("100, 101 102").unwrap(), [100, 101, 102]);
        assert!(vmids("99").unwrap_err().contains("not a VMID"));
        assert!(reset_day("32").is_err());
        assert!(rate("0").is_err());
        assert_eq!(word::<Action>(" Notify").unwrap(), "notify");
        assert_eq!(
            word::<Action>("halt").unwrap_err(),
            "action must be one of: shutdown, stop, disconnect, rate_limit, notify"
        );
    }

    /// Whether the daemons' loader takes `value` for the rule key `key`.
    fn config_accepts(key: &str, value: &str) -> bool {
        let mut rule = vec![
            ("name", "r1".to_string()),
            ("period", "month".into()),
            ("limit", "1TB".into()),
            ("action", "rate_limit".into()),
            ("rate_limit_mb", "10".into()),
        ];
        rule.retain(|(k, _)| *k != key);
        rule.push((key, format!("{value:?}")));
        let body: Vec<String> = rule.iter().map(|(k, v)| format!("    {k}: {v}")).collect();
        let text = format!(
            "pve:\n  url: https://pve1:8006\n  token_id: monitor@pve!traffic\n  \
             token_secret: s3cr3t\nrules:\n  -\n{}\n",
            body.join("\n")
        );
        pve_traffic_core::config::parse(&text, std::path::Path::new("config.yaml"), &|_| None)
            .is_ok()
    }

    #[test]
    fn the_config_the_rule_flag_and_the_prompts_take_the_same_names() {
        let mut candidates: Vec<String> = Vec::new();
        for names in [PeriodKind::NAMES, Direction::NAMES, Action::NAMES] {
            for name in names {
                candidates.extend([name.to_string(), name.to_uppercase(), format!(" {name} ")]);
                candidates.push(format!("{name}s"));
            }
        }
        candidates.extend(
            [
                "",
                "5m",
                "year",
                "download",
                "upload",
                "limit",
                "halt",
                "rate-limit",
                "none",
            ]
            .map(String::from),
        );
        for key in ["period", "direction", "action"] {
            for value in &candidates {
                let spec = format!("name=n,period=month,limit=1TB,action=notify,{key}={value}");
                let flag = from_spec(&spec, &[]);
                let prompt = match key {
                    "period" => word::<PeriodKind>(value),
                    "direction" => word::<Direction>(value),
                    _ => word::<Action>(value),
                };
                let config = config_accepts(key, value);
                assert_eq!(flag.is_ok(), config, "--rule {key}={value:?}: {flag:?}");
                assert_eq!(prompt.is_ok(), config, "prompt {key} {value:?}: {prompt:?}");
                if let Ok(name) = prompt {
                    assert_eq!(
                        name,
                        value.trim().to_ascii_lowercase(),
                        "written as spelled"
                    );
                }
            }
        }
    }
}
