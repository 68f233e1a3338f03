//! The load generator behind `udpeco bench`: how many echoes per second a UDP echo server
//! answers, with what round-trip times, and how many datagrams it loses.
//!
//! Two modes, both on one connected, non-blocking socket with batched I/O (`crate::mmsg`):
//! - **closed loop** (default): keeps `window` datagrams in flight; each reply lets the next
//!   datagram go (window 1 is ping-pong latency). After `grace` of silence with datagrams
//!   still in flight, they are counted lost and the window refilled, as `udpload` does after
//!   50 ms.
//! - **open loop** (`rate`): sends at a fixed rate whatever the replies, so a slow server
//!   shows up as loss and growing round-trip times instead of a lower send rate.
//!
//!   With a `window` too, at most that many are in flight (as wrk2's connections): datagrams
//!   that fall due while the window is full leave when it has room.
//!
//! Round trips are timed from the moment each datagram was due (wrk2's correction for
//! coordinated omission) and from its actual send (`stats`). Every datagram carries its
//! sequence number in its first 8 bytes and its send time in the next 8 (when it is at least
//! 16 bytes long); send times stay in a ring (`ring`) and round trips go into HDR
//! histograms, so the hot loop allocates nothing and reads the clock once per batch.

mod engine;
mod ring;
mod stats;

pub use stats::{Counts, Interval, Latency};

use std::net::SocketAddr;
use std::time::Duration;

use crate::cancel::Cancel;
use crate::error::{Error, Result};

/// Bytes at the start of each datagram that carry its sequence number.
pub const SEQ_BYTES: usize = 8;
/// Datagrams at least this long also carry their send time (bytes 8-15).
pub const STAMP_BYTES: usize = 16;
/// The closed loop's window when none is given.
pub const DEFAULT_WINDOW: usize = 64;
/// Largest UDP payload over IPv4.
pub const MAX_SIZE: usize = 65_507;
/// Largest window accepted.
pub const MAX_WINDOW: usize = 1 << 16;
/// Highest open-loop rate accepted, datagrams per second.
pub const MAX_RATE: f64 = 100_000_000.0;
/// Shortest reporting interval accepted (iperf3's).
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// How long to send.
    pub duration: Duration,
    /// Datagrams in flight: the closed loop's window ([`DEFAULT_WINDOW`] when `None`), or
    /// the open loop's cap (none when `None`).
    pub window: Option<usize>,
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
    /// How often the progress callback runs (when `interval` is `None`).
    pub progress_every: Duration,
    /// Sending before the measured phase, left out of every figure.
    pub warmup: Duration,
    /// Per-interval reports: the progress callback runs at this period and the intervals
    /// are kept in the report.
    pub interval: Option<Duration>,
    /// Send with UDP GSO and receive with GRO where the kernel has them.
    pub gso: bool,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            duration: Duration::from_secs(3),
            window: None,
            size: 64,
            rate: None,
            grace: Duration::from_millis(50),
            batch: 64,
            portable: false,
            progress_every: Duration::from_secs(1),
            warmup: Duration::ZERO,
            interval: None,
            gso: true,
        }
    }
}

impl BenchConfig {
    /// The closed loop's window.
    #[must_use]
    pub fn closed_window(&self) -> usize {
        self.window.unwrap_or(DEFAULT_WINDOW)
    }

    /// Checks every field; the message names the bad one.
    ///
    /// # Errors
    /// [`Error::Value`] describing the first invalid field.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Value(m));
        if self.duration.is_zero() {
            return bad("duration must be greater than 0".into());
        }
        if let Some(w) = self.window.filter(|&w| w == 0 || w > MAX_WINDOW) {
            return bad(format!(
                "window must be between 1 and {MAX_WINDOW}, not {w}"
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
        if let Some(i) = self.interval {
            if i < MIN_INTERVAL {
                return bad(format!(
                    "interval must be at least {} s, not {}",
                    MIN_INTERVAL.as_secs_f64(),
                    i.as_secs_f64()
                ));
            }
        }
        Ok(())
    }
}

/// A snapshot passed to the progress callback while the load runs (after the warm-up).
#[derive(Clone, Debug)]
pub struct Progress {
    /// Time since the start of the measured phase.
    pub elapsed: Duration,
    /// Datagrams sent so far.
    pub sent: u64,
    /// Replies matched so far.
    pub received: u64,
    /// Datagrams given up so far (not counting those still in flight).
    pub lost: u64,
    /// Replies per second since the previous snapshot.
    pub rate: f64,
    /// The figures since the previous snapshot.
    pub interval: Interval,
}

/// The outcome of a run (the measured phase, after the warm-up).
#[derive(Clone, Debug, Default)]
pub struct BenchReport {
    /// Datagrams sent.
    pub sent: u64,
    /// Replies matched to a datagram in time (each datagram counted once).
    pub received: u64,
    /// `sent - received`: datagrams with no reply in time.
    pub lost: u64,
    /// Replies that came after their datagram had been given up (not in `received`).
    pub late: u64,
    /// Datagrams received that match nothing sent (too short, unknown sequence number).
    pub stray: u64,
    /// Second and later replies to one datagram.
    pub duplicates: u64,
    /// First replies that arrived after a reply to a later datagram.
    pub out_of_order: u64,
    /// Replies per second during the sending phase.
    pub rate: f64,
    /// Length of the measured sending phase.
    pub elapsed: Duration,
    /// Length of the warm-up left out.
    pub warmup: Duration,
    /// CPU time (user and system) the load's thread used during the measured sending
    /// phase: `received / cpu` is a cost figure that other load on the machine barely moves.
    pub cpu: Duration,
    /// RFC 3550 interarrival jitter at the end, ns.
    pub jitter_ns: f64,
    /// Round trips timed from the moment each datagram was due (wrk2's corrected figure).
    pub latency: Latency,
    /// Round trips timed from the actual send.
    pub uncorrected: Latency,
    /// Per-interval figures (when an interval was asked for).
    pub intervals: Vec<Interval>,
    /// Whether batches were sent with UDP GSO.
    pub gso: bool,
    /// Whether replies were received with UDP GRO.
    pub gro: bool,
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
    cfg: &BenchConfig,
    cancel: &Cancel,
    progress: &mut dyn FnMut(&Progress) -> Result<()>,
) -> Result<BenchReport> {
    cfg.validate()?;
    let sock = crate::host::connect_udp(target, Some(4 << 20))?;
    engine::Engine::new(&sock, cfg, cancel).run(progress)
}

#[cfg(test)]
mod tests;
