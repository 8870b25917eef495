//! The traffic model: how many bytes each NIC moves, second by second.
//!
//! Everything the simulator claims about bytes flows from here, so the model is built to be
//! *exact* and *deterministic*:
//!
//! - A NIC's offered load is a pure function of `(nic seed, time)`: a base rate in bytes per
//!   second, shaped by a daily pattern (quiet nights, busy evenings, in UTC) and by bursts
//!   that hit a few five-minute slots at random (decided by hashing the slot number). Within
//!   one five-minute slot the rate is constant.
//! - A NIC's `rate=` caps both directions at `int(rate × 1024 × 1024)` bytes per second, as
//!   PVE's `tc` setup does; a `link_down` NIC, a NIC without a host device, and a guest that is
//!   not running move nothing. Those switches are the caller's business: it passes the cap and
//!   whether the NIC is moving at all.
//! - Time is in milliseconds; bytes are integers. Each direction keeps a sub-byte remainder
//!   ("carry", in milli-bytes) so that the bytes moved over `[a, c)` are the same whether the
//!   interval is integrated in one piece or split at `b`. That is what lets tests compare an
//!   observer's sums with `/sim/truth` to the byte.

use serde::{Deserialize, Serialize};

/// Length of a traffic slot: within a slot a NIC's offered rate is constant.
pub const SLOT_MS: u64 = 300_000;

/// Relative load per UTC hour of the day, in per mille of the base rate.
const DAILY_PERMILLE: [u64; 24] = [
    350, 300, 250, 250, 300, 400, 550, 700, 800, 850, 900, 900, //
    900, 900, 900, 950, 1000, 1100, 1250, 1400, 1500, 1400, 1000, 600,
];

/// One in `BURST_ONE_IN` slots is a burst slot.
const BURST_ONE_IN: u64 = 40;
/// A burst multiplies the offered rate by this factor.
const BURST_FACTOR: u64 = 8;

/// The offered load of one NIC: what it would move if nothing held it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Mean bytes per second sent *to* the guest (PVE `netin`, our rx) at a daily factor of 1.
    pub rx_rate: u64,
    /// Mean bytes per second sent *by* the guest (PVE `netout`, our tx) at a daily factor of 1.
    pub tx_rate: u64,
    /// Seed of this NIC's bursts; two NICs with the same seed burst together.
    pub seed: u64,
    /// Whether the daily pattern and bursts apply; `false` gives a perfectly flat rate,
    /// which hand-written scenarios use when a test wants easy arithmetic.
    pub shaped: bool,
}

impl Profile {
    /// The offered rates `(rx, tx)` in bytes per second during the slot containing `t_ms`.
    pub fn rates_at(&self, t_ms: u64) -> (u64, u64) {
        if !self.shaped {
            return (self.rx_rate, self.tx_rate);
        }
        let slot = t_ms / SLOT_MS;
        let hour = ((t_ms / 3_600_000) % 24) as usize;
        let mut permille = DAILY_PERMILLE[hour];
        if mix(self.seed ^ slot.wrapping_mul(0x9E37_79B9_7F4A_7C15)) % BURST_ONE_IN == 0 {
            permille *= BURST_FACTOR;
        }
        (
            self.rx_rate * permille / 1000,
            self.tx_rate * permille / 1000,
        )
    }
}

/// Byte counters of one NIC in one direction pair, with the sub-byte carry that makes
/// integration exact under any split of time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    /// Milli-bytes owed to rx that have not yet made a whole byte.
    carry_rx: u64,
    /// Milli-bytes owed to tx that have not yet made a whole byte.
    carry_tx: u64,
}

impl Flow {
    /// Bytes `(rx, tx)` moved during `[from_ms, to_ms)`, with every offered rate capped at
    /// `cap` bytes per second (PVE `rate=`), when `cap` is set.
    pub fn integrate(
        &mut self,
        profile: &Profile,
        cap: Option<u64>,
        from_ms: u64,
        to_ms: u64,
    ) -> (u64, u64) {
        let (mut rx, mut tx) = (0, 0);
        let mut t = from_ms;
        while t < to_ms {
            let slot_end = (t / SLOT_MS + 1) * SLOT_MS;
            let end = slot_end.min(to_ms);
            let (mut r, mut w) = profile.rates_at(t);
            if let Some(cap) = cap {
                r = r.min(cap);
                w = w.min(cap);
            }
            let dt = end - t;
            rx += take_bytes(&mut self.carry_rx, r, dt);
            tx += take_bytes(&mut self.carry_tx, w, dt);
            t = end;
        }
        (rx, tx)
    }
}

/// Adds `rate × dt_ms` milli-bytes to `carry` and takes out the whole bytes.
fn take_bytes(carry: &mut u64, rate: u64, dt_ms: u64) -> u64 {
    let milli = *carry + rate * dt_ms;
    *carry = milli % 1000;
    milli / 1000
}

/// SplitMix64 finaliser: a fast, well-mixed hash of one word. Stable across versions, so a
/// seed always yields the same cluster.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A tiny deterministic generator over [`mix`], for building clusters from a seed.
#[derive(Clone, Debug)]
pub struct SeedRng(u64);

impl SeedRng {
    /// A generator whose whole output is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        SeedRng(mix(seed))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(1);
        mix(self.0)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// `true` with probability `percent / 100`.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A log-uniform integer in `lo..=hi`: small values as likely per decade as large ones.
    pub fn log_uniform(&mut self, lo: u64, hi: u64) -> u64 {
        let (ln_lo, ln_hi) = ((lo.max(1) as f64).ln(), (hi.max(1) as f64).ln());
        let x = self.below(1_000_000) as f64 / 1_000_000.0;
        let v = (ln_lo + (ln_hi - ln_lo).max(0.0) * x).exp() as u64;
        v.clamp(lo, hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn flat(rx: u64, tx: u64) -> Profile {
        Profile {
            rx_rate: rx,
            tx_rate: tx,
            seed: 1,
            shaped: false,
        }
    }

    #[test]
    fn flat_rate_moves_rate_times_seconds() {
        let mut f = Flow::default();
        assert_eq!(f.integrate(&flat(1000, 10), None, 0, 60_000), (60_000, 600));
    }

    #[test]
    fn cap_limits_both_directions() {
        let mut f = Flow::default();
        let (rx, tx) = f.integrate(&flat(5_000_000, 3_000_000), Some(1_048_576), 0, 10_000);
        assert_eq!((rx, tx), (10_485_760, 10_485_760));
    }

    #[test]
    fn sub_byte_rates_accumulate_through_the_carry() {
        let mut f = Flow::default();
        let mut total = 0;
        for i in 0..1000 {
            total += f.integrate(&flat(3, 0), None, i, i + 1).0;
        }
        assert_eq!(total, 3, "1000 ms at 3 B/s is exactly 3 bytes");
    }

    #[test]
    fn shaped_profile_follows_the_day() {
        let p = Profile {
            rx_rate: 10_000,
            tx_rate: 1_000,
            seed: 42,
            shaped: true,
        };
        // 03:00 UTC is quieter than 20:00 UTC unless a burst hits the night slot.
        let night = (0..12)
            .map(|s| p.rates_at(3 * 3_600_000 + s * SLOT_MS).0)
            .min();
        let evening = (0..12)
            .map(|s| p.rates_at(20 * 3_600_000 + s * SLOT_MS).0)
            .min();
        assert!(night < evening, "{night:?} vs {evening:?}");
    }

    proptest! {
        #[test]
        fn integration_is_additive_under_any_split(
            rx in 0u64..50_000_000, tx in 0u64..50_000_000, seed: u64,
            start in 0u64..10_000_000_000, cuts in proptest::collection::vec(1u64..2_000_000, 1..20),
            cap in proptest::option::of(1u64..20_000_000),
        ) {
            let p = Profile { rx_rate: rx, tx_rate: tx, seed, shaped: true };
            let end = start + cuts.iter().sum::<u64>();
            let whole = Flow::default().integrate(&p, cap, start, end);
            let mut f = Flow::default();
            let mut t = start;
            let mut sum = (0, 0);
            for c in cuts {
                let (r, w) = f.integrate(&p, cap, t, t + c);
                sum = (sum.0 + r, sum.1 + w);
                t += c;
            }
            prop_assert_eq!(whole, sum);
        }
    }
}
