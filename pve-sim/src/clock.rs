//! The simulated clock: manual (moves only on `/sim/advance`) or real time times a speed.
//!
//! The clock only says what time it *should* be; the cluster catches up to it lazily before
//! each request. So a simulator at speed 60 does no work between requests, yet every request
//! sees a cluster that has lived through each simulated minute.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// How simulated time passes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ClockMode {
    /// Time moves only when told to (tests).
    Manual,
    /// Simulated time runs at `speed` times real time (demos).
    RealTime {
        /// Simulated seconds per real second.
        speed: f64,
    },
}

/// The simulated clock.
#[derive(Clone, Debug)]
pub struct Clock {
    mode: ClockMode,
    real_origin: Instant,
    sim_origin_ms: u64,
}

impl Clock {
    /// A clock reading `start_ms` now.
    pub fn new(mode: ClockMode, start_ms: u64) -> Clock {
        Clock {
            mode,
            real_origin: Instant::now(),
            sim_origin_ms: start_ms,
        }
    }

    /// The mode.
    pub fn mode(&self) -> ClockMode {
        self.mode
    }

    /// Simulated now, epoch milliseconds.
    pub fn now_ms(&self) -> u64 {
        match self.mode {
            ClockMode::Manual => self.sim_origin_ms,
            ClockMode::RealTime { speed } => {
                let real = self.real_origin.elapsed().as_secs_f64() * 1000.0;
                self.sim_origin_ms + (real * speed) as u64
            }
        }
    }

    /// Jumps forward by `ms`.
    pub fn advance(&mut self, ms: u64) {
        self.sim_origin_ms += ms;
    }

    /// Restarts the clock at `start_ms`.
    pub fn reset(&mut self, start_ms: u64) {
        self.real_origin = Instant::now();
        self.sim_origin_ms = start_ms;
    }
}

/// The real wall-clock time, epoch milliseconds.
pub fn wall_clock_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
