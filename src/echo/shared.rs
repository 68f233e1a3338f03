//! State shared by the workers of one run: configuration, counters, log, the time of the
//! last datagram (for silence and idle timeout) and why the run ended.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::config::EchoConfig;
use super::output::LogFile;
use super::printer::Printer;
use super::stats::Counters;

/// Why a run ended by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The stop sentinel arrived (v1 server's `'.'`).
    Sentinel,
    /// No datagram for the idle timeout (exercise 9, final 2).
    Idle,
}

/// What the workers of one run share.
#[derive(Debug)]
pub(super) struct Shared {
    /// The configuration.
    pub cfg: Arc<EchoConfig>,
    /// The counters.
    pub counters: Arc<Counters>,
    /// The log file, if any.
    pub log: Option<Arc<LogFile>>,
    /// Where the per-datagram lines and the silence message go (`None` with nothing to
    /// print).
    pub printer: Option<Printer>,
    /// The server's ports (the guard drops datagrams from them).
    pub ports: Vec<u16>,
    epoch: Instant,
    last_rx: AtomicU64,
    end: AtomicU8,
}

impl Shared {
    /// State for a run starting now.
    #[must_use]
    pub(super) fn new(
        cfg: Arc<EchoConfig>,
        counters: Arc<Counters>,
        log: Option<Arc<LogFile>>,
        printer: Option<Printer>,
        ports: Vec<u16>,
    ) -> Self {
        Shared {
            cfg,
            counters,
            log,
            printer,
            ports,
            epoch: Instant::now(),
            last_rx: AtomicU64::new(0),
            end: AtomicU8::new(0),
        }
    }

    /// Notes that a datagram arrived at `now`.
    #[inline]
    pub(super) fn touch(&self, now: Instant) {
        let nanos =
            u64::try_from(now.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX);
        self.last_rx.store(nanos, Ordering::Relaxed);
    }

    /// When the last datagram arrived (the start of the run if none did).
    #[must_use]
    pub(super) fn last_rx(&self) -> Instant {
        self.epoch + Duration::from_nanos(self.last_rx.load(Ordering::Relaxed))
    }

    /// Prints `bytes` (`lines` lines) through the printer, if any.
    pub(super) fn print(&self, bytes: &[u8], lines: u64) {
        if let Some(p) = &self.printer {
            p.push(bytes, lines);
        }
    }

    /// Records why the run ends; the first reason wins.
    pub(super) fn set_end(&self, end: End) {
        let code = match end {
            End::Sentinel => 1,
            End::Idle => 2,
        };
        let _ = self
            .end
            .compare_exchange(0, code, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// Why the run ended by itself, if it did.
    #[must_use]
    pub(super) fn end(&self) -> Option<End> {
        match self.end.load(Ordering::SeqCst) {
            1 => Some(End::Sentinel),
            2 => Some(End::Idle),
            _ => None,
        }
    }
}
