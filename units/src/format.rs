//! Bytes written for people, in binary units.

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_size;
    use proptest::prelude::*;

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
