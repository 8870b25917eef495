//! Sizes and bandwidths as operators write them, and bytes as operators read them.
//!
//! Quotas are written `1.5TB`, `800GiB` or (as in the original tool) `limit_gb: 1000`, and the
//! sanity bound on deltas as `100Gbit`. This module turns those strings into exact byte counts
//! and back into short human text. It knows nothing about config keys: callers put the key
//! path in front of the error text, which only says what was expected.
//!
//! Parsing is exact: the number is read as a decimal fraction and multiplied in integer
//! arithmetic, so `0.1KB` is 100 bytes, never 100.00000000000001 rounded by luck. A result that
//! is not a whole number of bytes (`1.5B`, `1bit/s`) is rounded to the nearest byte, half up.

/// What [`parse_size`] says it expected.
const SIZE_EXPECTED: &str = "expected a size like \"1.5TB\" or \"800GiB\"";

/// What [`parse_bandwidth`] says it expected.
const BANDWIDTH_EXPECTED: &str =
    "expected a bandwidth like \"100Gbit\", \"10 Gbps\", \"800Mbit/s\" or \"1.25GB/s\"";

/// Size units: SI (powers of 1000) and IEC (powers of 1024), lower-cased.
const SIZE_UNITS: &[(&str, u128)] = &[
    ("", 1),
    ("b", 1),
    ("byte", 1),
    ("bytes", 1),
    ("kb", 1_000),
    ("mb", 1_000_000),
    ("gb", 1_000_000_000),
    ("tb", 1_000_000_000_000),
    ("pb", 1_000_000_000_000_000),
    ("eb", 1_000_000_000_000_000_000),
    ("kib", 1 << 10),
    ("mib", 1 << 20),
    ("gib", 1 << 30),
    ("tib", 1 << 40),
    ("pib", 1 << 50),
    ("eib", 1 << 60),
];

/// Parses a size in bytes: `1.5TB` (SI, 10^12), `800GiB` (2^30), `500 MB`, `1024` (bytes).
///
/// Units B, KB, MB, GB, TB, PB, EB and KiB, MiB, GiB, TiB, PiB, EiB, in any case, with or
/// without a space; the number may have decimals. The error says what was expected and what
/// was found, without a key path (the caller knows it).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let fail = || format!("{SIZE_EXPECTED}, found {s:?}");
    let (number, unit) = split_number(s).ok_or_else(fail)?;
    let unit = unit.to_ascii_lowercase();
    let &(_, mult) = SIZE_UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .ok_or_else(fail)?;
    let bytes = number
        .times(mult, 1)
        .ok_or_else(|| format!("{s:?} is too large: sizes must be below 16 EiB (2^64 bytes)"))?;
    Ok(bytes)
}

/// Converts the original tool's `limit_gb` (which it compared as GiB, 2^30 bytes) to bytes,
/// rounded to the nearest byte. Negative and NaN give 0, huge values saturate; callers
/// validate the range first.
pub fn gib(value: f64) -> u64 {
    // `as` saturates and maps NaN to 0, which is what the doc promises.
    (value * (1u64 << 30) as f64).round() as u64
}

/// Parses a bandwidth into bytes per second: `100Gbit`, `10 Gbps`, `800Mbit/s`, `1.25GB/s`.
///
/// Bit units (`bit`, `Kbit`..`Tbit`, optionally `/s`, or `bps`, `Kbps`..`Tbps`) are SI and
/// divided by 8; byte units are those of [`parse_size`] followed by `/s`. A bare number is
/// bytes per second. Case does not matter, so `Gbps` is bits and `GB/s` is bytes.
pub fn parse_bandwidth(s: &str) -> Result<u64, String> {
    let fail = || format!("{BANDWIDTH_EXPECTED}, found {s:?}");
    let (number, unit) = split_number(s).ok_or_else(fail)?;
    let unit = unit.to_ascii_lowercase();
    let bits = |prefix: &str| -> Option<u128> {
        Some(match prefix {
            "" => 1,
            "k" => 1_000,
            "m" => 1_000_000,
            "g" => 1_000_000_000,
            "t" => 1_000_000_000_000,
            _ => return None,
        })
    };
    // (multiplier, divisor): bits are bytes / 8.
    let (mult, div) = if unit.is_empty() {
        (1, 1)
    } else if let Some(prefix) = unit.strip_suffix("bps") {
        (bits(prefix).ok_or_else(fail)?, 8)
    } else if let Some(prefix) = unit
        .strip_suffix("bit/s")
        .or_else(|| unit.strip_suffix("bits"))
        .or_else(|| unit.strip_suffix("bit"))
    {
        (bits(prefix).ok_or_else(fail)?, 8)
    } else if let Some(size) = unit.strip_suffix("/s") {
        let &(_, mult) = SIZE_UNITS
            .iter()
            .find(|(name, _)| !name.is_empty() && *name == size)
            .ok_or_else(fail)?;
        (mult, 1)
    } else {
        return Err(fail());
    };
    number
        .times(mult, div)
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// Formats bytes for people: `512 B`, `1.5 GiB`, `1023.99 MiB`, binary units, at most two
/// decimals (trailing zeros dropped), so the text is within 0.5 % of the value.
pub fn format_bytes(bytes: u64) -> String {
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut unit = binary_unit_index(bytes);
    let mut scale = 1u128 << (10 * unit);
    // Hundredths of the unit, rounded half up, in integers so the text is reproducible.
    let mut hundredths = (u128::from(bytes) * 100 + scale / 2) / scale;
    if hundredths >= 1024 * 100 && unit + 1 < BINARY_UNITS.len() {
        // 1023.999 MiB rounds to 1024.00 MiB: say 1 GiB instead.
        unit += 1;
        scale *= 1024;
        hundredths = (u128::from(bytes) * 100 + scale / 2) / scale;
    }
    let whole = hundredths / 100;
    let frac = hundredths % 100;
    let text = match frac {
        0 => format!("{whole}"),
        f if f % 10 == 0 => format!("{whole}.{}", f / 10),
        f => format!("{whole}.{f:02}"),
    };
    format!("{text} {}", BINARY_UNITS[unit])
}

/// Binary units, each 1024 times the one before.
const BINARY_UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

/// The unit people read `bytes` in: the largest binary unit (B, KiB, MiB, GiB, TiB, PiB,
/// EiB) not above `bytes` (B for 0), and its size in bytes. A chart scales its whole axis by
/// the unit of its largest value, so the axis reads "0, 0.5, 1, 1.5 GiB" rather than
/// "0 B, 500000000 B".
pub fn binary_unit(bytes: u64) -> (&'static str, u64) {
    let index = binary_unit_index(bytes);
    (BINARY_UNITS[index], 1 << (10 * index))
}

/// Index into [`BINARY_UNITS`] of the largest unit not above `bytes`.
fn binary_unit_index(bytes: u64) -> usize {
    let bits = 64 - bytes.leading_zeros() as usize; // 0 for 0
    (bits.saturating_sub(1) / 10).min(BINARY_UNITS.len() - 1)
}

/// A non-negative decimal number, exactly: `digits / 10^scale`.
struct Decimal {
    digits: u128,
    scale: u32,
}

impl Decimal {
    /// `self * mult / div`, rounded half up; `None` if it does not fit in a `u64`.
    fn times(&self, mult: u128, div: u128) -> Option<u64> {
        let denom = 10u128.checked_pow(self.scale)?.checked_mul(div)?;
        let num = self.digits.checked_mul(mult)?;
        let rounded = num.checked_add(denom / 2)? / denom;
        u64::try_from(rounded).ok()
    }
}

/// Splits `" 1.5 TB "` into the number `1.5` and the unit `TB`. `None` if there is no
/// well-formed non-negative decimal number at the start.
fn split_number(s: &str) -> Option<(Decimal, &str)> {
    let s = s.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(end);
    let number: String = number.chars().filter(|&c| c != '_').collect();
    let (int, frac) = number.split_once('.').unwrap_or((&number, ""));
    if int.is_empty() && frac.is_empty() || frac.contains('.') {
        return None;
    }
    // More than 30 digits cannot be a sensible size; refusing them keeps u128 from overflowing.
    if int.len() + frac.len() > 30 {
        return None;
    }
    let digits: u128 = format!("{int}{frac}").parse().ok()?;
    let scale = u32::try_from(frac.len()).ok()?;
    Some((Decimal { digits, scale }, unit.trim_start()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1.5TB"), Ok(1_500_000_000_000));
        assert_eq!(parse_size("800GiB"), Ok(800 << 30));
        assert_eq!(parse_size("500 MB"), Ok(500_000_000));
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size(" 2 kib "), Ok(2048));
        assert_eq!(parse_size("0.1KB"), Ok(100));
        assert_eq!(parse_size("1.5B"), Ok(2), "half rounds up");
        assert_eq!(parse_size("1PB"), Ok(1_000_000_000_000_000));
        assert_eq!(parse_size("1pib"), Ok(1 << 50));
        assert_eq!(parse_size(".5GiB"), Ok(1 << 29));
        assert_eq!(parse_size("1_000 B"), Ok(1000));
        assert_eq!(parse_size("10 bytes"), Ok(10));
    }

    #[test]
    fn size_errors_say_what_was_expected() {
        assert_eq!(
            parse_size("abc"),
            Err(r#"expected a size like "1.5TB" or "800GiB", found "abc""#.into())
        );
        assert_eq!(
            parse_size("10 GX"),
            Err(r#"expected a size like "1.5TB" or "800GiB", found "10 GX""#.into())
        );
        for bad in ["", "-1GB", "1.2.3GB", "GB", "1G", "1e3", "."] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_size("20EiB"),
            Err(r#""20EiB" is too large: sizes must be below 16 EiB (2^64 bytes)"#.into())
        );
    }

    #[test]
    fn gib_is_the_original_tools_gb() {
        assert_eq!(gib(1000.0), 1000 << 30);
        assert_eq!(gib(0.5), 1 << 29);
        assert_eq!(gib(-1.0), 0);
        assert_eq!(gib(f64::NAN), 0);
    }

    #[test]
    fn bandwidths() {
        assert_eq!(parse_bandwidth("100Gbit"), Ok(12_500_000_000));
        assert_eq!(parse_bandwidth("10 Gbps"), Ok(1_250_000_000));
        assert_eq!(parse_bandwidth("1.25GB/s"), Ok(1_250_000_000));
        assert_eq!(parse_bandwidth("800Mbit/s"), Ok(100_000_000));
        assert_eq!(parse_bandwidth("1 MiB/s"), Ok(1 << 20));
        assert_eq!(parse_bandwidth("1000"), Ok(1000));
        assert_eq!(parse_bandwidth("12bits"), Ok(2), "1.5 bytes rounds up");
        assert_eq!(
            parse_bandwidth("100GB"),
            Err(r#"expected a bandwidth like "100Gbit", "10 Gbps", "800Mbit/s" or "1.25GB/s", found "100GB""#.into())
        );
        for bad in ["", "fast", "1Xbit", "1 Pbps", "1 b/s/s"] {
            assert!(parse_bandwidth(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn human_bytes() {
        assert_eq!(format_bytes(0), "0 B");
        assert_eq!(format_bytes(1023), "1023 B");
        assert_eq!(format_bytes(1024), "1 KiB");
        assert_eq!(format_bytes(3 << 29), "1.5 GiB");
        assert_eq!(format_bytes((1 << 30) + (1 << 28)), "1.25 GiB");
        assert_eq!(
            format_bytes((1 << 30) - 1),
            "1 GiB",
            "1023.999 MiB reads as 1 GiB"
        );
        assert_eq!(format_bytes(u64::MAX), "16 EiB");
    }

    #[test]
    fn binary_units() {
        assert_eq!(binary_unit(0), ("B", 1));
        assert_eq!(binary_unit(1023), ("B", 1));
        assert_eq!(binary_unit(1024), ("KiB", 1024));
        assert_eq!(binary_unit((1 << 30) - 1), ("MiB", 1 << 20));
        assert_eq!(binary_unit(5 << 30), ("GiB", 1 << 30));
        assert_eq!(binary_unit(u64::MAX), ("EiB", 1 << 60));
    }

    proptest! {
        /// What we print, we read back within the printing's rounding (0.5 %).
        #[test]
        fn format_then_parse_round_trips(n in 0u64..=u64::MAX / 2) {
            let text = format_bytes(n);
            let back = parse_size(&text).unwrap();
            let err = back.abs_diff(n);
            prop_assert!(err as f64 <= n as f64 * 0.005 + 0.5, "{n} -> {text} -> {back}");
        }

        /// Plain byte counts read back exactly.
        #[test]
        fn integers_are_bytes(n in any::<u64>()) {
            prop_assert_eq!(parse_size(&n.to_string()), Ok(n));
        }
    }
}
