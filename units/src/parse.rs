//! Sizes, bandwidths and the original tool's `limit_gb`, read into exact byte counts.

use crate::decimal::split_number;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
