//! Exact non-negative decimal numbers, as they start a size or a bandwidth.

/// A non-negative decimal number, exactly: `digits / 10^scale`.
pub(crate) struct Decimal {
    digits: u128,
    scale: u32,
}

impl Decimal {
    /// `self * mult / div`, rounded half up; `None` if it does not fit in a `u64`.
    pub(crate) fn times(&self, mult: u128, div: u128) -> Option<u64> {
        let denom = 10u128.checked_pow(self.scale)?.checked_mul(div)?;
        let num = self.digits.checked_mul(mult)?;
        let rounded = num.checked_add(denom / 2)? / denom;
        u64::try_from(rounded).ok()
    }
}

/// Splits `" 1.5 TB "` into the number `1.5` and the unit `TB`. `None` if there is no
/// well-formed non-negative decimal number at the start.
pub(crate) fn split_number(s: &str) -> Option<(Decimal, &str)> {
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
