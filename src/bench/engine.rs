//! The hot loop of the load generator.
//!
//! One thread, one connected non-blocking socket. Each turn: send what the mode allows (one
//! `sendmmsg`), wait for readiness (a `ppoll` bounded by the next event: a due send, the
//! silence deadline, the end, or [`TICK`]), receive what is queued (one `recvmmsg`) and match
//! replies to send times. The clock is read once per turn and per batch received. The
//! cancellation hook (which may take the GIL) runs once per [`TICK`], not per turn.
//!
//! Each datagram carries its sequence number (bytes 0-7) and, from 16 bytes on, its send
//! time in ns since the start (bytes 8-15), both little-endian. Where the kernel has UDP GSO
//! a batch leaves in one `sendmsg` ([`crate::mmsg::gso`]), and with `UDP_GRO` a train of
//! replies that arrived as one is received whole and split here.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use socket2::Socket;

use super::ring::{Ring, Take};
use super::stats::{Interval, Stats};
use super::{BenchConfig, BenchReport, Progress, SEQ_BYTES, STAMP_BYTES};
use crate::cancel::{Cancel, TICK};
use crate::error::{Error, Result};
use crate::mmsg::gso;
use crate::mmsg::{would_block_as_zero, Batch, Recv};
use crate::sys::{self, thread_cpu_ns};

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
    match sys::poll_one_ns(&mut pfd, timeout_ns) {
        Ok(true) => Ok(Wake::Ready),
        Ok(false) => Ok(Wake::Timeout),
        Err(err) if err.raw_os_error() == Some(libc::EINTR) => Ok(Wake::Signal),
        Err(err) => Err(err),
    }
}

/// The state of one run.
pub(super) struct Engine<'a> {
    fd: RawFd,
    cfg: &'a BenchConfig,
    cancel: &'a Cancel,
    start: Instant,
    tx: Batch,
    rx: Batch,
    ring: Ring,
    stats: Stats,
    /// Most datagrams in flight: the closed loop's window, or the open loop's cap if any.
    window: Option<u64>,
    /// Send with UDP GSO (one `sendmsg` per batch).
    gso: bool,
    /// `UDP_GRO` is on: a slot may hold a train of replies.
    gro: bool,
    /// Next sequence number to send.
    next_seq: u64,
    /// Sequence numbers below this were given up at a silence reset.
    floor: u64,
    /// Sequence numbers below this were sent during the warm-up and are not counted.
    first_seq: u64,
    /// Datagrams sent, not answered, not given up.
    outstanding: u64,
    /// Of `outstanding`, those sent during the warm-up.
    warm_outstanding: u64,
    /// When the measured phase began (the end of the warm-up), ns since start.
    measure_from: u64,
    /// This thread's CPU time then, ns.
    cpu_from: u64,
    /// CPU time used by the measured sending phase, ns.
    cpu_used: u64,
    /// Last reply (or silence reset), ns since start.
    last_activity: u64,
    max_rtt: u64,
    /// Something has answered (an ICMP error is then a blip, not a closed port).
    answered: bool,
    /// Next time the cancellation hook runs, ns since start.
    next_check: u64,
    intervals: Vec<Interval>,
}

/// The sequence number and, when the datagram is long enough, the send time it carries.
fn parse(d: &[u8]) -> Option<(u64, Option<u64>)> {
    let seq = u64::from_le_bytes(d.get(..SEQ_BYTES)?.try_into().ok()?);
    let stamp = d
        .get(SEQ_BYTES..STAMP_BYTES)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes);
    Some((seq, stamp))
}

impl<'a> Engine<'a> {
    /// An engine on `sock` (connected, non-blocking) for a validated `cfg`.
    pub(super) fn new(sock: &Socket, cfg: &'a BenchConfig, cancel: &'a Cancel) -> Self {
        let fd = sock.as_raw_fd();
        let ring_len = match cfg.rate {
            // About a second of datagrams: older unanswered ones are lost.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Some(r) => (r as usize).clamp(4096, 1 << 22),
            None => (cfg.closed_window() * 4).max(4096),
        };
        let window = match cfg.rate {
            None => Some(cfg.closed_window() as u64),
            Some(_) => cfg.window.map(|w| w as u64),
        };
        let (gso, gro) = if cfg.gso && !cfg.portable {
            (gso::gso_supported(fd), gso::enable_gro(fd))
        } else {
            (false, false)
        };
        let batch = cfg.batch;
        // Room for a reply larger than what we sent (still one datagram, truncated), or for
        // a whole train of replies with GRO.
        let rx_len = if gro {
            gso::GRO_SLOT
        } else {
            cfg.size.max(2048)
        };
        let mut rx = Batch::connected(batch, rx_len, 0, cfg.portable);
        if gro {
            rx = rx.with_control(gso::GRO_CONTROL_LEN);
        }
        Engine {
            fd,
            cfg,
            cancel,
            start: Instant::now(),
            tx: Batch::connected(batch, cfg.size, b'x', cfg.portable),
            rx,
            ring: Ring::with_capacity(ring_len),
            stats: if cfg.rate.is_some() {
                Stats::new()
            } else {
                Stats::due_when_sent()
            },
            window,
            gso,
            gro,
            next_seq: 0,
            floor: 0,
            first_seq: 0,
            outstanding: 0,
            warm_outstanding: 0,
            measure_from: 0,
            cpu_from: 0,
            cpu_used: 0,
            last_activity: 0,
            max_rtt: 0,
            answered: false,
            next_check: ns(TICK),
            intervals: Vec::new(),
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
        if err.raw_os_error() == Some(libc::ECONNREFUSED) && self.answered {
            Ok(())
        } else {
            Err(Error::Io(err))
        }
    }

    /// The time datagram `seq`, sent at `sent_at`, was due: its place in the open loop's
    /// schedule (never after its send), or its send in the closed loop.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    fn due(&self, seq: u64, sent_at: u64) -> u64 {
        match self.cfg.rate {
            Some(r) => ((seq as f64 * NS as f64 / r) as u64).min(sent_at),
            None => sent_at,
        }
    }

    /// Sends up to `want` datagrams in one batch, recording their send time `now`.
    fn send(&mut self, want: u64, now: u64) -> Result<()> {
        let k = usize::try_from(want)
            .unwrap_or(usize::MAX)
            .min(self.tx.capacity());
        let stamped = self.cfg.size >= STAMP_BYTES;
        for i in 0..k {
            let seq = self.next_seq + i as u64;
            let slot = self.tx.slot_mut(i);
            slot[..SEQ_BYTES].copy_from_slice(&seq.to_le_bytes());
            if stamped {
                slot[SEQ_BYTES..STAMP_BYTES].copy_from_slice(&now.to_le_bytes());
            }
        }
        let n = match would_block_as_zero(self.send_batch(k)) {
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
                    if old >= self.first_seq {
                        self.stats.counts.given_up += 1;
                    } else {
                        self.warm_outstanding = self.warm_outstanding.saturating_sub(1);
                    }
                }
            }
        }
        self.next_seq += n;
        self.stats.counts.sent += n;
        self.outstanding += n;
        Ok(())
    }

    /// Sends slots `0..k`: one GSO `sendmsg` where possible, else the batch's own call.
    fn send_batch(&mut self, k: usize) -> io::Result<usize> {
        if self.gso && k > 1 {
            let size = self.cfg.size;
            let k = k.min(gso::MAX_SEGMENTS).min(gso::MAX_BYTES / size.max(1));
            if let (true, Ok(seg)) = (k > 1, u16::try_from(size)) {
                match gso::send_segments(self.fd, self.tx.span(0, k), seg, None, 0) {
                    Ok(bytes) => return Ok(bytes / size),
                    // This route cannot segment: plain batches from now on.
                    Err(e) if gso::unsupported(&e) => self.gso = false,
                    Err(e) => return Err(e),
                }
            }
        }
        self.tx.send(self.fd, 0, k, false)
    }

    /// Receives what is queued (one batch) and matches it; returns how many datagrams came.
    fn recv(&mut self) -> Result<usize> {
        let n = match would_block_as_zero(self.rx.recv(self.fd, self.rx.capacity(), Recv::NoWait)) {
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
        let mut count = 0;
        for i in 0..n {
            let len = self.rx.len_of(i);
            let seg = if self.gro { self.rx.gso_size(i) } else { None };
            let seg = seg.unwrap_or(len).max(1);
            let mut off = 0;
            loop {
                let end = (off + seg).min(len);
                let parsed = parse(&self.rx.data(i)[off..end]);
                self.reply(parsed, t);
                count += 1;
                off = end;
                if off >= len {
                    break;
                }
            }
        }
        self.last_activity = t;
        self.answered = true;
        Ok(count)
    }

    /// Matches one reply received at `t`.
    fn reply(&mut self, parsed: Option<(u64, Option<u64>)>, t: u64) {
        let Some((seq, stamp)) = parsed else {
            self.stats.counts.stray += 1;
            return;
        };
        let measured = seq >= self.first_seq;
        match self.ring.take(seq) {
            Take::First(_) if seq < self.floor => {
                if measured {
                    self.stats.counts.late += 1;
                }
            }
            Take::First(sent_at) => {
                self.outstanding -= 1;
                let rtt = t.saturating_sub(sent_at);
                self.max_rtt = self.max_rtt.max(rtt);
                if !measured {
                    self.warm_outstanding = self.warm_outstanding.saturating_sub(1);
                    return;
                }
                let corrected = t.saturating_sub(self.due(seq, sent_at));
                #[allow(clippy::cast_possible_wrap)]
                let transit = (t as i64).wrapping_sub(stamp.unwrap_or(sent_at) as i64);
                self.stats.reply(seq, corrected, rtt, transit);
            }
            Take::Duplicate if measured => self.stats.counts.duplicates += 1,
            Take::Unknown if measured => self.stats.counts.stray += 1,
            Take::Duplicate | Take::Unknown => {}
        }
    }

    /// How many datagrams the mode lets go now.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    fn allowance(&self, now: u64) -> u64 {
        let room = self
            .window
            .map_or(u64::MAX, |w| w.saturating_sub(self.outstanding));
        match self.cfg.rate {
            None => room,
            Some(r) => {
                let due = (r * now as f64 / NS as f64) as u64 + 1;
                due.saturating_sub(self.next_seq).min(room)
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
        let at = (self.next_seq as f64 * NS as f64 / rate) as u64;
        at.saturating_sub(now)
    }

    /// Ends the current interval at `now` and reports it.
    fn report_interval(
        &mut self,
        now: u64,
        progress: &mut dyn FnMut(&Progress) -> Result<()>,
    ) -> Result<()> {
        let iv = self
            .stats
            .end_interval(Duration::from_nanos(now - self.measure_from));
        let c = self.stats.counts;
        progress(&Progress {
            elapsed: iv.end,
            sent: c.sent,
            received: c.received,
            lost: c.given_up,
            rate: iv.rate(),
            interval: iv.clone(),
        })?;
        if self.cfg.interval.is_some() {
            self.intervals.push(iv);
        }
        Ok(())
    }

    /// The warm-up is over: forget its figures.
    fn end_warmup(&mut self, now: u64) {
        self.first_seq = self.next_seq;
        self.warm_outstanding = self.outstanding;
        self.stats.reset();
        self.measure_from = now;
        self.cpu_from = thread_cpu_ns();
    }

    /// The sending phase: warm-up, then the duration; returns the replies counted within it
    /// and its measured length.
    fn load(&mut self, progress: &mut dyn FnMut(&Progress) -> Result<()>) -> Result<(u64, u64)> {
        let warm_end = ns(self.cfg.warmup);
        let end = warm_end + ns(self.cfg.duration);
        let every = ns(self.cfg.interval.unwrap_or(self.cfg.progress_every));
        let mut warm = warm_end > 0;
        let mut next_progress = if warm { end } else { every };
        loop {
            let now = self.now();
            if warm && now >= warm_end {
                warm = false;
                self.end_warmup(now);
                next_progress = now + every;
            }
            if now >= end {
                self.cpu_used = thread_cpu_ns().saturating_sub(self.cpu_from);
                return Ok((self.stats.counts.received, now - self.measure_from));
            }
            self.check_cancel(now)?;
            if now >= next_progress {
                self.report_interval(now, progress)?;
                next_progress = now + every;
            }
            let allowed = self.allowance(now);
            if allowed > 0 {
                self.send(allowed, now)?;
            }
            let until = end
                .min(next_progress)
                .min(if warm { warm_end } else { end });
            let Some((events, budget)) = self.next_wait(now, until) else {
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
    /// a silence reset of a window (the caller loops to refill it).
    fn next_wait(&mut self, now: u64, until: u64) -> Option<(libc::c_short, u64)> {
        let mut budget = until.saturating_sub(now).min(ns(TICK));
        let Some(window) = self.window else {
            // A pure open loop: only the schedule matters.
            let rate = self.cfg.rate.unwrap_or(1.0);
            return Some((libc::POLLIN, budget.min(self.until_next_due(rate, now))));
        };
        if self.outstanding > 0 {
            let silent = now.saturating_sub(self.last_activity);
            // A capped open loop waits as long as the pure open loop's horizon (a stall
            // must not turn into loss); the closed loop uses udpload's short rule.
            let grace = if self.cfg.rate.is_some() {
                MAX_GRACE_NS
            } else {
                self.grace()
            };
            if silent >= grace {
                // udpload's rule: a silent window is lost; start a fresh one.
                self.stats.counts.given_up += self.outstanding - self.warm_outstanding;
                self.warm_outstanding = 0;
                self.floor = self.next_seq;
                self.outstanding = 0;
                self.last_activity = now;
                return None;
            }
            budget = budget.min(grace - silent);
        }
        let mut events = libc::POLLIN;
        let full = self.outstanding >= window;
        match self.cfg.rate {
            // The window has room: the next due datagram may go.
            Some(r) if !full => budget = budget.min(self.until_next_due(r, now)),
            // The send was short (socket buffer full): wait for room too.
            None if !full => events |= libc::POLLOUT,
            Some(_) | None => {}
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
    pub(super) fn run(
        mut self,
        progress: &mut dyn FnMut(&Progress) -> Result<()>,
    ) -> Result<BenchReport> {
        self.start = Instant::now();
        self.next_check = ns(TICK);
        self.cpu_from = thread_cpu_ns();
        let (received_in_time, elapsed) = self.load(progress)?;
        self.drain()?;
        let last = self.stats.end_interval(Duration::from_nanos(elapsed));
        if self.cfg.interval.is_some() && last.end > last.start {
            self.intervals.push(last);
        }
        let (latency, uncorrected) = self.stats.totals();
        let c = self.stats.counts;
        #[allow(clippy::cast_precision_loss)]
        let rate = received_in_time as f64 * NS as f64 / elapsed.max(1) as f64;
        Ok(BenchReport {
            sent: c.sent,
            received: c.received,
            lost: c.sent - c.received,
            late: c.late,
            stray: c.stray,
            duplicates: c.duplicates,
            out_of_order: c.out_of_order,
            rate,
            elapsed: Duration::from_nanos(elapsed),
            warmup: self.cfg.warmup,
            cpu: Duration::from_nanos(self.cpu_used),
            jitter_ns: self.stats.jitter_ns(),
            latency,
            uncorrected,
            intervals: self.intervals,
            gso: self.gso,
            gro: self.gro,
        })
    }
}
