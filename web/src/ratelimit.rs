//! Failed logins per client address: after [`MAX_FAILURES`] wrong tokens within [`WINDOW`],
//! the address gets 429 until the window that started with its first failure has passed.
//! Guessing a 256-bit token is hopeless anyway; this keeps the log readable and the hashing
//! cheap under a scan. Memory is bounded: at [`MAX_TRACKED`] addresses, expired ones are
//! dropped, and if none has expired the oldest is.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Wrong tokens allowed per address within [`WINDOW`].
pub(crate) const MAX_FAILURES: u32 = 10;
/// How long failures are remembered.
pub(crate) const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at most.
const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    first: Instant,
    count: u32,
}

/// The failures of each address in the current window.
#[derive(Debug, Default)]
pub(crate) struct FailedLogins {
    by_address: Mutex<HashMap<IpAddr, Failures>>,
}

impl FailedLogins {
    /// `Err(seconds to wait)` if `ip` has used up its failures.
    pub(crate) fn check(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        let map = self.lock();
        match map.get(&ip) {
            Some(f) if f.count >= MAX_FAILURES && now < f.first + WINDOW => {
                let left = (f.first + WINDOW).saturating_duration_since(now);
                Err(left.as_secs().max(1))
            }
            _ => Ok(()),
        }
    }

    /// Counts one wrong token from `ip`.
    pub(crate) fn record(&self, ip: IpAddr, now: Instant) {
        let mut map = self.lock();
        if map.len() >= MAX_TRACKED && !map.contains_key(&ip) {
            map.retain(|_, f| now < f.first + WINDOW);
            if map.len() >= MAX_TRACKED {
                let oldest = map.iter().min_by_key(|(_, f)| f.first).map(|(ip, _)| *ip);
                oldest.map(|ip| map.remove(&ip));
            }
        }
        let entry = map.entry(ip).or_insert(Failures {
            first: now,
            count: 0,
        });
        if now >= entry.first + WINDOW {
            *entry = Failures {
                first: now,
                count: 0,
            };
        }
        entry.count += 1;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Failures>> {
        self.by_address
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn an_address_is_refused_after_its_failures_until_the_window_passes() {
        let limits = FailedLogins::default();
        let t0 = Instant::now();
        for _ in 0..MAX_FAILURES - 1 {
            limits.record(A, t0);
        }
        assert_eq!(limits.check(A, t0), Ok(()));
        limits.record(A, t0);
        assert_eq!(limits.check(A, t0), Err(WINDOW.as_secs()));
        assert_eq!(
            limits.check(B, t0),
            Ok(()),
            "other addresses are not affected"
        );
        assert_eq!(limits.check(A, t0 + WINDOW), Ok(()));
    }

    #[test]
    fn failures_older_than_the_window_start_a_new_count() {
        let limits = FailedLogins::default();
        let t0 = Instant::now();
        for _ in 0..MAX_FAILURES - 1 {
            limits.record(A, t0);
        }
        limits.record(A, t0 + WINDOW);
        assert_eq!(limits.check(A, t0 + WINDOW), Ok(()));
    }

    #[test]
    fn memory_stays_bounded() {
        let limits = FailedLogins::default();
        let t0 = Instant::now();
        for i in 0..(MAX_TRACKED as u32 + 5) {
            limits.record(IpAddr::V4(i.into()), t0);
        }
        assert_eq!(limits.lock().len(), MAX_TRACKED);
    }
}
