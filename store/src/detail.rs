//! The twelve 5-minute buckets of one guest-hour, and their compact encoding.
//!
//! Why not one row per bucket: at 60 s polls a guest fills 8,928 buckets a month; as rows, the
//! key (vmid, start) and per-row overhead alone cost more than the data. One row per
//! guest-hour holding the hour's totals plus this blob costs about a tenth (the aim: under
//! 150 KB per guest per month; see BENCHMARKS.md).
//!
//! Format (version tied to the schema version, so a change comes with a migration):
//! a LEB128 varint `mask` (bit i set = bucket i of the hour is non-empty), then for each set
//! bit, ascending, the varints `rx` and `tx`. Empty buckets cost nothing, so a partial hour
//! (guest first seen, stopped, or retention-trimmed) is short; a full hour of realistic
//! traffic is 2 + 24 × 3–4 bytes. Decoding checks everything (mask range, varint length,
//! trailing bytes) and reports [`None`] on any doubt; the caller turns that into
//! `StoreError::Corrupt`.

/// Buckets per hour.
pub(crate) const PER_HOUR: usize = 12;

/// rx and tx of the 12 buckets of one hour; bucket `i` starts `i * 5` minutes past the hour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct HourDetail {
    pub(crate) rx: [u64; PER_HOUR],
    pub(crate) tx: [u64; PER_HOUR],
}

impl HourDetail {
    /// Sum of rx and tx over the hour (u128: cannot overflow on corrupt input).
    pub(crate) fn totals(&self) -> (u128, u128) {
        let sum = |a: &[u64; PER_HOUR]| a.iter().map(|&v| u128::from(v)).sum();
        (sum(&self.rx), sum(&self.tx))
    }

    /// The non-empty buckets of the hour starting at `hour_ms` whose start lies in
    /// `from_ms..to_ms`, as `(start ms, rx, tx)`, ascending.
    pub(crate) fn buckets_in(
        &self,
        hour_ms: i64,
        from_ms: i64,
        to_ms: i64,
    ) -> impl Iterator<Item = (i64, u64, u64)> + '_ {
        (0..PER_HOUR)
            .map(move |k| {
                (
                    hour_ms + k as i64 * super::BUCKET_MS,
                    self.rx[k],
                    self.tx[k],
                )
            })
            .filter(move |&(start, rx, tx)| {
                (rx != 0 || tx != 0) && (from_ms..to_ms).contains(&start)
            })
    }

    /// The compact encoding described in the module doc.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut mask = 0u64;
        for i in 0..PER_HOUR {
            if self.rx[i] != 0 || self.tx[i] != 0 {
                mask |= 1 << i;
            }
        }
        let mut out = Vec::with_capacity(2 + 2 * PER_HOUR * 4);
        put_varint(&mut out, mask);
        for i in (0..PER_HOUR).filter(|i| mask & (1 << i) != 0) {
            put_varint(&mut out, self.rx[i]);
            put_varint(&mut out, self.tx[i]);
        }
        out
    }

    /// Decodes [`HourDetail::encode`]'s output; `None` if the bytes are not exactly that.
    pub(crate) fn decode(mut bytes: &[u8]) -> Option<HourDetail> {
        let mask = get_varint(&mut bytes)?;
        if mask >> PER_HOUR != 0 {
            return None;
        }
        let mut d = HourDetail::default();
        for i in (0..PER_HOUR).filter(|i| mask & (1 << i) != 0) {
            d.rx[i] = get_varint(&mut bytes)?;
            d.tx[i] = get_varint(&mut bytes)?;
            if d.rx[i] == 0 && d.tx[i] == 0 {
                return None; // the encoder never marks an empty bucket
            }
        }
        bytes.is_empty().then_some(d)
    }
}

/// Appends `v` as a LEB128 varint.
pub(super) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a LEB128 varint of at most 64 bits from the front of `bytes`.
pub(super) fn get_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = bytes.split_first()?;
        *bytes = rest;
        let part = u64::from(b & 0x7f);
        if shift == 63 && part > 1 {
            return None; // more than 64 bits
        }
        v |= part << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn empty_hour_is_one_byte() {
        assert_eq!(HourDetail::default().encode(), vec![0]);
        assert_eq!(HourDetail::decode(&[0]), Some(HourDetail::default()));
    }

    #[test]
    fn full_hour_of_realistic_traffic_is_small() {
        let d = HourDetail {
            rx: [30_000_000; PER_HOUR], // ~100 kB/s
            tx: [1_500_000; PER_HOUR],
        };
        assert_eq!(d.encode().len(), 2 + PER_HOUR * (4 + 3));
    }

    #[test]
    fn rejects_anything_not_produced_by_encode() {
        assert_eq!(HourDetail::decode(&[]), None);
        assert_eq!(HourDetail::decode(&[0x80, 0x20]), None); // mask bit 12
        assert_eq!(HourDetail::decode(&[0x01, 0x05]), None); // tx missing
        assert_eq!(HourDetail::decode(&[0x01, 0x00, 0x00]), None); // marked but empty
        assert_eq!(HourDetail::decode(&[0x00, 0x00]), None); // trailing byte
        let eleven_bytes = [0xff; 10].into_iter().chain([0x01]).collect::<Vec<_>>();
        assert_eq!(get_varint(&mut &eleven_bytes[..]), None);
        let max = [0xff; 9].into_iter().chain([0x01]).collect::<Vec<_>>();
        assert_eq!(get_varint(&mut &max[..]), Some(u64::MAX));
        let over = [0xff; 9].into_iter().chain([0x02]).collect::<Vec<_>>();
        assert_eq!(get_varint(&mut &over[..]), None);
    }

    proptest! {
        #[test]
        fn round_trips(rx in prop::array::uniform12(prop_oneof![Just(0u64), any::<u64>(), 0..1u64 << 30]),
                       tx in prop::array::uniform12(prop_oneof![Just(0u64), any::<u64>(), 0..1u64 << 30])) {
            let d = HourDetail { rx, tx };
            prop_assert_eq!(HourDetail::decode(&d.encode()), Some(d));
        }

        #[test]
        fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = HourDetail::decode(&bytes);
        }
    }
}
