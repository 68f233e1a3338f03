//! The hot loop of the load generator.
//!
//! One thread, one connected non-blocking socket. Each turn: send what the mode allows (one
//! `sendmmsg`), wait for readiness (a `ppoll` bounded by the next event: a due send, the
//! silence deadline, the end, or [`TICK`]), receive what is queued (one `recvmmsg`) and match
//! replies to send times. The clock is read once per turn and per batch received. The
//! cancellation hook (which may take the GIL) runs once per [`TICK`], not per turn.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use socket2::Socket;

use super::batch::Batch;
use super::histogram::Histogram;
use super::ring::Ring;
use super::{LoadConfig, LoadReport, Progress, SEQ_BYTES};
use crate::cancel::{Cancel, TICK};
use crate::error::{Error, Result};

/// Nanoseconds in a second.
const NS: u64 = 1_000_000_000;
/// Upper bound of the adaptive grace period.
const MAX_GRACE_NS: u64 = NS;

/// Saturating `Duration` to nanoseconds.
fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// What ended a [`wait_ready`].
#[derive(PartialEq, Eq)]
enum Wake {
    /// The descriptor has one of the events.
    Ready,
    /// The timeout passed.
    Timeout,
    /// A signal arrived (`EINTR`): time to ask the cancellation hook at once.
    Signal,
}

/// Waits up to `timeout_ns` for `events` on `fd`.
fn wait_ready(fd: RawFd, events: libc::c_short, timeout_ns: u64) -> io::Result<Wake> {
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    #[cfg(target_os = "linux")]
    let r = {
        let ts = libc::timespec {
            tv_sec: libc::time_t::try_from(timeout_ns / NS).unwrap_or(0),
            tv_nsec: libc::c_long::try_from(timeout_ns % NS).unwrap_or(0),
        };
        // SAFETY: one valid pollfd, a valid timespec, no signal mask change.
        unsafe { libc::ppoll(&raw mut pfd, 1, &raw const ts, std::ptr::null()) }
    };
    #[cfg(not(target_os = "linux"))]
    let r = {
        let ms = libc::c_int::try_from(timeout_ns.div_ceil(1_000_000)).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&raw mut pfd, 1, ms) }
    };
    if r < 0 {
        let err = io::Error::last_os_error();
        return if err.raw_os_error() == Some(libc::EINTR) {
            Ok(Wake::Signal)
        } else {
            Err(err)
        };
    }
    Ok(if r > 0 { Wake::Ready } else { Wake::Timeout })
}

/// The state of one run.
pub struct Engine<'a> {
    fd: RawFd,
    cfg: &'a LoadConfig,
    cancel: &'a Cancel,
    start: Instant,
    tx: Batch,
    rx: Batch,
    ring: Ring,
    hist: Histogram,
    /// Next sequence number to send.
    next_seq: u64,
    /// Sequence numbers below this were given up at a silence reset.
    floor: u64,
    /// Datagrams sent, not answered, not given up.
    outstanding: u64,
    sent: u64,
    received: u64,
    late: u64,
    stray: u64,
    /// Last reply (or silence reset), ns since start.
    last_activity: u64,
    max_rtt: u64,
    /// Next time the cancellation hook runs, ns since start.
    next_check: u64,
}

impl<'a> Engine<'a> {
    /// An engine on `sock` (connected, non-blocking) for a validated `cfg`.
    pub fn new(sock: &Socket, cfg: &'a LoadConfig, cancel: &'a Cancel) -> Self {
        let ring_len = match cfg.rate {
            // About a second of datagrams: older unanswered ones are lost.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Some(r) => (r as usize).clamp(4096, 1 << 22),
            None => (cfg.window * 4).max(4096),
        };
        let batch = cfg.batch;
        Engine {
            fd: sock.as_raw_fd(),
            cfg,
            cancel,
            start: Instant::now(),
            tx: Batch::new(batch, cfg.size, b'x', cfg.portable),
            // Room for a reply larger than what we sent: still one datagram, truncated.
            rx: Batch::new(batch, cfg.size.max(2048), 0, cfg.portable),
            ring: Ring::with_capacity(ring_len),
            hist: Histogram::new(),
            next_seq: 0,
            floor: 0,
            outstanding: 0,
            sent: 0,
            received: 0,
            late: 0,
            stray: 0,
            last_activity: 0,
            max_rtt: 0,
            next_check: ns(TICK),
        }
    }

    fn now(&self) -> u64 {
        ns(self.start.elapsed())
    }

    /// The silence after which datagrams in flight are given up.
    fn grace(&self) -> u64 {
        ns(self.cfg.grace).max(self.max_rtt.saturating_mul(2).min(MAX_GRACE_NS))
    }

    /// Stops on a requested stop at once, and asks the hook (signals) once per tick.
    fn check_cancel(&mut self, now: u64) -> Result<()> {
        if self.cancel.is_stopped() {
            return Err(Error::Interrupted);
        }
        if now >= self.next_check {
            self.next_check = now + ns(TICK);
            self.cancel.checkpoint()?;
        }
        Ok(())
    }

    /// An I/O error of the loop: `ECONNREFUSED` (an ICMP error for an earlier datagram) is
    /// fatal only while nothing has ever answered (the port is closed); later it is a blip.
    fn io_error(&self, err: io::Error) -> Result<()> {
        if err.raw_os_error() == Some(libc::ECONNREFUSED) && self.received + self.late > 0 {
            Ok(())
        } else {
            Err(Error::Io(err))
        }
    }

    /// Sends up to `want` datagrams in one batch, recording their send time `now`.
    fn send(&mut self, want: u64, now: u64) -> Result<()> {
        let k = usize::try_from(want)
            .unwrap_or(usize::MAX)
            .min(self.tx.count());
        for i in 0..k {
            let seq = self.next_seq + i as u64;
            self.tx.slot_mut(i)[..SEQ_BYTES].copy_from_slice(&seq.to_le_bytes());
        }
        let n = match self.tx.send(self.fd, k) {
            Ok(n) => n as u64,
            Err(e) => {
                self.io_error(e)?;
                0
            }
        };
        for seq in self.next_seq..self.next_seq + n {
            if let Some(old) = self.ring.insert(seq, now) {
                if old >= self.floor {
                    // Unanswered for a whole ring of later datagrams: lost.
                    self.outstanding -= 1;
                }
            }
        }
        self.next_seq += n;
        self.sent += n;
        self.outstanding += n;
        Ok(())
    }

    /// Receives what is queued (one batch) and matches it; returns how many datagrams came.
    fn recv(&mut self) -> Result<usize> {
        let n = match self.rx.recv(self.fd, self.rx.count()) {
            Ok(n) => n,
            Err(e) => {
                self.io_error(e)?;
                0
            }
        };
        if n == 0 {
            return Ok(0);
        }
        let t = self.now();
        for i in 0..n {
            let d = self.rx.received(i);
            let Some(head) = d.get(..SEQ_BYTES) else {
                self.stray += 1;
                continue;
            };
            let mut seq_bytes = [0u8; SEQ_BYTES];
            seq_bytes.copy_from_slice(head);
            let seq = u64::from_le_bytes(seq_bytes);
            match self.ring.take(seq) {
                Some(_) if seq < self.floor => self.late += 1,
                Some(sent_at) => {
                    let rtt = t.saturating_sub(sent_at);
                    self.hist.record(rtt);
                    self.max_rtt = self.max_rtt.max(rtt);
                    self.received += 1;
                    self.outstanding -= 1;
                }
                None => self.stray += 1,
            }
        }
        self.last_activity = t;
        Ok(n)
    }

    /// How many datagrams the mode lets go now.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    fn allowance(&self, now: u64) -> u64 {
        match self.cfg.rate {
            None => (self.cfg.window as u64).saturating_sub(self.outstanding),
            Some(r) => {
                let due = (r * now as f64 / NS as f64) as u64 + 1;
                due.saturating_sub(self.sent)
            }
        }
    }

    /// Nanoseconds from `now` until the open loop's next datagram is due.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    fn until_next_due(&self, rate: f64, now: u64) -> u64 {
        let at = (self.sent as f64 * NS as f64 / rate) as u64;
        at.saturating_sub(now)
    }

    /// The sending phase, up to the duration; returns the replies counted within it.
    fn load(&mut self, progress: &mut dyn FnMut(&Progress) -> Result<()>) -> Result<(u64, u64)> {
        let end = ns(self.cfg.duration);
        let every = ns(self.cfg.progress_every);
        let mut next_progress = every;
        let mut last_report = (0u64, 0u64);
        loop {
            let now = self.now();
            if now >= end {
                return Ok((self.received, now));
            }
            self.check_cancel(now)?;
            if now >= next_progress {
                #[allow(clippy::cast_precision_loss)]
                let rate = (self.received - last_report.0) as f64 * NS as f64
                    / now.saturating_sub(last_report.1).max(1) as f64;
                progress(&Progress {
                    elapsed: Duration::from_nanos(now),
                    sent: self.sent,
                    received: self.received,
                    lost: self.sent - self.received - self.outstanding,
                    rate,
                })?;
                last_report = (self.received, now);
                next_progress = now + every;
            }
            let allowed = self.allowance(now);
            if allowed > 0 {
                self.send(allowed, now)?;
            }
            let Some((events, budget)) = self.next_wait(now, end.min(next_progress)) else {
                continue;
            };
            match wait_ready(self.fd, events, budget)? {
                Wake::Ready => {
                    self.recv()?;
                }
                Wake::Signal => self.next_check = 0,
                Wake::Timeout => {}
            }
        }
    }

    /// What to wait for and how long (at most until `until` and one tick), or `None` after
    /// a silence reset of the closed loop (the caller loops to refill the window).
    fn next_wait(&mut self, now: u64, until: u64) -> Option<(libc::c_short, u64)> {
        let budget = until.saturating_sub(now).min(ns(TICK));
        if let Some(r) = self.cfg.rate {
            return Some((libc::POLLIN, budget.min(self.until_next_due(r, now))));
        }
        let mut budget = budget;
        if self.outstanding > 0 {
            let silent = now.saturating_sub(self.last_activity);
            let grace = self.grace();
            if silent >= grace {
                // udpload's rule: a silent window is lost; start a fresh one.
                self.floor = self.next_seq;
                self.outstanding = 0;
                self.last_activity = now;
                return None;
            }
            budget = budget.min(grace - silent);
        }
        let mut events = libc::POLLIN;
        if self.outstanding < self.cfg.window as u64 {
            // The send was short (socket buffer full): wait for room too.
            events |= libc::POLLOUT;
        }
        Some((events, budget))
    }

    /// After the sending phase: waits up to one grace period for the replies still due.
    fn drain(&mut self) -> Result<()> {
        let deadline = self.now() + self.grace();
        while self.outstanding > 0 {
            let now = self.now();
            if now >= deadline {
                break;
            }
            self.check_cancel(now)?;
            if self.recv()? == 0 {
                let budget = (deadline - now).min(ns(TICK));
                if wait_ready(self.fd, libc::POLLIN, budget)? == Wake::Signal {
                    self.next_check = 0;
                }
            }
        }
        Ok(())
    }

    /// Runs the whole load and reports.
    pub fn run(mut self, progress: &mut dyn FnMut(&Progress) -> Result<()>) -> Result<LoadReport> {
        self.start = Instant::now();
        self.next_check = ns(TICK);
        let (received_in_time, elapsed) = self.load(progress)?;
        self.drain()?;
        let h = &self.hist;
        #[allow(clippy::cast_precision_loss)]
        let rate = received_in_time as f64 * NS as f64 / elapsed.max(1) as f64;
        Ok(LoadReport {
            sent: self.sent,
            received: self.received,
            lost: self.sent - self.received,
            late: self.late,
            stray: self.stray,
            rate,
            elapsed: Duration::from_nanos(elapsed),
            p50_ns: h.quantile(0.50),
            p90_ns: h.quantile(0.90),
            p99_ns: h.quantile(0.99),
            p999_ns: h.quantile(0.999),
            min_ns: h.min(),
            max_ns: h.max(),
            mean_ns: h.mean(),
        })
    }
}
