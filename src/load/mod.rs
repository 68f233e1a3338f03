//! The load generator behind `udpeco bench`: how many echoes per second a UDP echo server
//! answers, with what round-trip times, and how many datagrams it loses.
//!
//! Two modes, both on one connected, non-blocking socket with batched I/O ([`batch`]):
//! - **closed loop** (default): keeps `window` datagrams in flight; each reply lets the next
//!   datagram go (window 1 is ping-pong latency). After `grace` of silence with datagrams
//!   still in flight, they are counted lost and the window refilled, as `udpload` does after
//!   50 ms.
//! - **open loop** (`rate`): sends at a fixed rate whatever the replies, so a slow server
//!   shows up as loss and growing round-trip times instead of a lower send rate.
//!
//! Every datagram carries its sequence number in its first 8 bytes; send times stay in a
//! ring ([`ring`]) and round trips go into a fixed-size histogram ([`histogram`]), so the
//! hot loop allocates nothing and reads the clock once per batch.

pub mod batch;
mod engine;
pub mod histogram;
pub mod ring;
pub mod target;

use std::net::SocketAddr;
use std::time::Duration;

use crate::cancel::Cancel;
use crate::error::{Error, Result};

/// Bytes at the start of each datagram that carry its sequence number.
pub const SEQ_BYTES: usize = 8;
/// Largest UDP payload over IPv4.
pub const MAX_SIZE: usize = 65_507;
/// Largest window accepted.
pub const MAX_WINDOW: usize = 1 << 16;
/// Highest open-loop rate accepted, datagrams per second.
pub const MAX_RATE: f64 = 100_000_000.0;

/// What to run.
#[derive(Clone, Debug)]
pub struct LoadConfig {
    /// How long to send.
    pub duration: Duration,
    /// Datagrams in flight in the closed loop (ignored in the open loop).
    pub window: usize,
    /// Payload bytes per datagram (at least [`SEQ_BYTES`]).
    pub size: usize,
    /// Open loop: datagrams per second; `None` for the closed loop.
    pub rate: Option<f64>,
    /// Silence after which datagrams in flight are given up (at least this long; it grows to
    /// twice the slowest round trip seen, up to one second, for slow servers).
    pub grace: Duration,
    /// Datagrams per `sendmmsg`/`recvmmsg` call.
    pub batch: usize,
    /// Use one `send`/`recv` per datagram even where batching exists (for tests).
    pub portable: bool,
    /// How often the progress callback runs.
    pub progress_every: Duration,
}

impl Default for LoadConfig {
    fn default() -> Self {
        LoadConfig {
            duration: Duration::from_secs(3),
            window: 64,
            size: 64,
            rate: None,
            grace: Duration::from_millis(50),
            batch: 64,
            portable: false,
            progress_every: Duration::from_secs(1),
        }
    }
}

impl LoadConfig {
    /// Checks every field; the message names the bad one.
    ///
    /// # Errors
    /// [`Error::Value`] describing the first invalid field.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Value(m));
        if self.duration.is_zero() {
            return bad("duration must be greater than 0".into());
        }
        if self.window == 0 || self.window > MAX_WINDOW {
            return bad(format!(
                "window must be between 1 and {MAX_WINDOW}, not {}",
                self.window
            ));
        }
        if self.size < SEQ_BYTES || self.size > MAX_SIZE {
            return bad(format!(
                "size must be between {SEQ_BYTES} and {MAX_SIZE} bytes (the first {SEQ_BYTES} carry a \
                 sequence number), not {}",
                self.size
            ));
        }
        if let Some(r) = self.rate {
            if !(r.is_finite() && r > 0.0 && r <= MAX_RATE) {
                return bad(format!(
                    "rate must be greater than 0 and at most {MAX_RATE:.0}/s, not {r}"
                ));
            }
        }
        if self.batch == 0 || self.batch > 1024 {
            return bad(format!(
                "batch must be between 1 and 1024, not {}",
                self.batch
            ));
        }
        if self.progress_every.is_zero() {
            return bad("progress interval must be greater than 0".into());
        }
        Ok(())
    }
}

/// A snapshot passed to the progress callback while the load runs.
#[derive(Clone, Debug)]
pub struct Progress {
    /// Time since the start.
    pub elapsed: Duration,
    /// Datagrams sent so far.
    pub sent: u64,
    /// Replies matched so far.
    pub received: u64,
    /// Datagrams given up so far (not counting those still in flight).
    pub lost: u64,
    /// Replies per second since the previous snapshot.
    pub rate: f64,
}

/// The outcome of a run. Times are in nanoseconds.
#[derive(Clone, Debug, Default)]
pub struct LoadReport {
    /// Datagrams sent.
    pub sent: u64,
    /// Replies matched to a datagram in time (each datagram counted once).
    pub received: u64,
    /// `sent - received`: datagrams with no reply in time.
    pub lost: u64,
    /// Replies that came after their datagram had been given up (not in `received`).
    pub late: u64,
    /// Datagrams received that match no datagram in flight (duplicates, too short).
    pub stray: u64,
    /// Replies per second during the sending phase.
    pub rate: f64,
    /// Length of the sending phase.
    pub elapsed: Duration,
    /// Round-trip median.
    pub p50_ns: u64,
    /// Round-trip 90th percentile.
    pub p90_ns: u64,
    /// Round-trip 99th percentile.
    pub p99_ns: u64,
    /// Round-trip 99.9th percentile.
    pub p999_ns: u64,
    /// Fastest round trip.
    pub min_ns: u64,
    /// Slowest round trip.
    pub max_ns: u64,
    /// Mean round trip.
    pub mean_ns: f64,
}

/// Runs the load described by `cfg` against `target` until the duration passes or `cancel`
/// stops it. `progress` is called about every `cfg.progress_every`; an error it returns
/// ends the run with that error.
///
/// # Errors
/// [`Error::Value`] for a bad configuration, [`Error::Io`] for socket errors (including
/// `ECONNREFUSED` when the port is closed and nothing ever answered),
/// [`Error::Interrupted`] when cancelled.
pub fn run(
    target: SocketAddr,
    cfg: &LoadConfig,
    cancel: &Cancel,
    progress: &mut dyn FnMut(&Progress) -> Result<()>,
) -> Result<LoadReport> {
    cfg.validate()?;
    let sock = target::connect_udp(target, Some(4 << 20))?;
    engine::Engine::new(&sock, cfg, cancel).run(progress)
}

#[cfg(test)]
mod tests;
