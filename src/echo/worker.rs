//! One worker thread's loop over its sockets.
//!
//! Two shapes of the same loop:
//! - one socket and no delay (the benchmark case): the socket is blocking with a receive
//!   timeout of one [`TICK`], and each round is exactly one `recvmmsg` (waiting for the first
//!   datagram, then taking what is queued) and one `sendmmsg`, as a tuned C server does;
//! - several sockets or a delay: an epoll loop (mio) over non-blocking sockets, one batch
//!   per ready socket per round so that a busy port cannot starve the others, with replies
//!   sent from the socket that received.
//!
//! Between rounds, at least every [`TICK`], the worker checks its [`Cancel`], the idle
//! timeout and the silence message (leader only), samples the kernel's drop counters and
//! flushes the log.

use std::io;
use std::net::UdpSocket;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use super::delay::DelayQueue;
use super::gso::GsoEcho;
use super::guard::Guard;
use super::shared::{End, Shared};
use super::stats::ClientTracker;
use super::text::{push_log_line, push_message_line, silence_message, strip};
use crate::addr::AddrKey;
use crate::cancel::{Cancel, TICK};
use crate::error::{Error, Result};
use crate::mmsg::{gso, send_to_raw, Batch, Recv};
use crate::sys::kernel_drops;

/// One worker: its sockets and its private buffers.
pub(super) struct Worker<'a> {
    shared: &'a Shared,
    sockets: &'a [UdpSocket],
    fds: Vec<RawFd>,
    leader: bool,
    batch: Batch,
    clients: ClientTracker,
    guard: Guard,
    /// Per slot of the current batch: answered (true) or dropped by the guard.
    accepted: Vec<bool>,
    /// The current batch's runs of slots from one sender: `first..end` and its key.
    runs: Vec<(usize, usize, AddrKey)>,
    out: Vec<u8>,
    out_lines: u64,
    log_lines: Vec<u8>,
    log_count: u64,
    drops_seen: Vec<u32>,
    active: Vec<bool>,
    active_list: Vec<usize>,
    delay: Option<DelayQueue>,
    gso: Option<GsoEcho>,
    stopping: bool,
    next_tick: Instant,
    last_silence: Instant,
}

/// How a batch's handling ends.
enum Flow {
    Go,
    Stop,
}

impl<'a> Worker<'a> {
    /// A worker over `sockets`; the `leader` prints the silence message and applies the idle
    /// timeout for the whole server.
    #[must_use]
    pub(super) fn new(shared: &'a Shared, sockets: &'a [UdpSocket], leader: bool) -> Self {
        let cfg = &shared.cfg;
        let now = Instant::now();
        Worker {
            shared,
            sockets,
            fds: sockets.iter().map(AsRawFd::as_raw_fd).collect(),
            leader,
            batch: Batch::new(cfg.batch, cfg.bufsize),
            clients: ClientTracker::default(),
            guard: Guard::new(&cfg.guard, &shared.ports),
            accepted: vec![true; cfg.batch],
            runs: Vec::with_capacity(cfg.batch),
            out: Vec::with_capacity(if cfg.quiet { 0 } else { 64 * 1024 }),
            out_lines: 0,
            log_lines: Vec::with_capacity(if cfg.log.is_some() { 64 * 1024 } else { 0 }),
            log_count: 0,
            drops_seen: vec![0; sockets.len()],
            active: vec![false; sockets.len()],
            active_list: Vec::new(),
            delay: (!cfg.delay.is_zero()).then(|| DelayQueue::new(cfg.delay_queue)),
            gso: GsoEcho::detect(cfg.gso, sockets.first().map(AsRawFd::as_raw_fd), cfg.batch),
            stopping: false,
            next_tick: now + TICK,
            last_silence: now,
        }
    }

    /// Serves until the stop sentinel, the idle timeout, or `cancel`.
    ///
    /// # Errors
    /// [`Error::Io`] when the sockets cannot be set up or epoll fails.
    pub(super) fn run(mut self, cancel: &Cancel) -> Result<()> {
        for (i, fd) in self.fds.iter().enumerate() {
            self.drops_seen[i] = kernel_drops(*fd).unwrap_or(0);
        }
        let result = if self.sockets.len() == 1 && self.delay.is_none() {
            self.run_single(cancel)
        } else {
            self.run_poll(cancel)
        };
        self.flush_outputs();
        for i in 0..self.fds.len() {
            self.sample_drops(i);
        }
        result
    }

    /// The fast loop for one socket without delay.
    fn run_single(&mut self, cancel: &Cancel) -> Result<()> {
        let sock = &self.sockets[0];
        sock.set_nonblocking(false)?;
        sock.set_read_timeout(Some(TICK))?;
        sock.set_write_timeout(Some(TICK))?;
        let fd = self.fds[0];
        let mut gro = self.gro_batch(fd);
        loop {
            let mut urgent = false;
            let received = match gro.as_mut() {
                Some(rx) => rx.recv(fd, rx.capacity(), Recv::Wait),
                None => self.batch.recv(fd, self.batch.capacity(), Recv::Wait),
            };
            // One clock read per round: the time of the batch serves the periodic duties too.
            let now = match received {
                Ok(n) if n > 0 => {
                    let now = Instant::now();
                    let flow = match gro.as_mut() {
                        Some(rx) => self.handle_gro(rx, n, now),
                        None => self.handle(0, n, now, false),
                    };
                    if let Flow::Stop = flow {
                        return Ok(());
                    }
                    now
                }
                Ok(_) => Instant::now(),
                Err(e) => {
                    urgent = Self::recv_error(&e);
                    Instant::now()
                }
            };
            if cancel.is_stopped() {
                return Ok(());
            }
            if (urgent || now >= self.next_tick) && self.tick(now, cancel) {
                return Ok(());
            }
        }
    }

    /// The receive batch for GRO on `fd`, when the worker answers with GSO and the kernel
    /// lets `UDP_GRO` be turned on: a client that sends with GSO (such as `udpeco bench`)
    /// then delivers each train of datagrams whole, one buffer the kernel need not split.
    fn gro_batch(&self, fd: RawFd) -> Option<Batch> {
        if self.gso.is_none() || !gso::enable_gro(fd) {
            return None;
        }
        Some(Batch::new(self.batch.capacity(), gso::GRO_SLOT).with_control(gso::GRO_CONTROL_LEN))
    }

    /// Handles slots `0..n` of `rx`, a GRO receive batch: as they are when none holds a
    /// coalesced train (each slot truncated to the server's `bufsize`), else split into
    /// datagrams in `self.batch` and handled a batch at a time, with the same guard,
    /// counts, output, stop text and replies as datagrams received one by one.
    fn handle_gro(&mut self, rx: &mut Batch, n: usize, now: Instant) -> Flow {
        if (0..n).all(|i| rx.gso_size(i).is_none()) {
            let bufsize = self.shared.cfg.bufsize;
            for i in 0..n {
                rx.truncate(i, bufsize);
            }
            std::mem::swap(&mut self.batch, rx);
            let flow = self.handle(0, n, now, false);
            std::mem::swap(&mut self.batch, rx);
            return flow;
        }
        #[cfg(test)]
        self.shared
            .counters
            .trains
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let cap = self.batch.capacity();
        let mut j = 0;
        for i in 0..n {
            let (name, name_len) = rx.raw_addr(i);
            for seg in rx.segments(i, true) {
                // Truncated to `bufsize`, the length of `self.batch`'s slots.
                self.batch.set_datagram(j, seg, name, name_len);
                j += 1;
                if j == cap {
                    j = 0;
                    if let Flow::Stop = self.handle(0, cap, now, false) {
                        return Flow::Stop;
                    }
                }
            }
        }
        if j == 0 {
            return Flow::Go;
        }
        self.handle(0, j, now, false)
    }

    /// The epoll loop for several sockets, or for a delay.
    fn run_poll(&mut self, cancel: &Cancel) -> Result<()> {
        let mut poll = Poll::new()?;
        for (i, sock) in self.sockets.iter().enumerate() {
            sock.set_nonblocking(true)?;
            poll.registry()
                .register(&mut SourceFd(&self.fds[i]), Token(i), Interest::READABLE)?;
        }
        let mut events = Events::with_capacity(1024);
        let mut ready: Vec<usize> = Vec::new();
        let mut queued = vec![false; self.sockets.len()];
        loop {
            let now = Instant::now();
            if self.stopping && self.delay.as_ref().is_none_or(DelayQueue::is_empty) {
                return Ok(());
            }
            let mut timeout = self.next_tick.saturating_duration_since(now).min(TICK);
            if let Some(due) = self.delay.as_ref().and_then(DelayQueue::next_due) {
                timeout = timeout.min(due.saturating_duration_since(now));
            }
            if !ready.is_empty() && !self.stopping {
                timeout = Duration::ZERO;
            }
            let mut urgent = false;
            match poll.poll(&mut events, Some(timeout)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => urgent = true,
                Err(e) => return Err(Error::Io(e)),
            }
            for ev in &events {
                let i = ev.token().0;
                if i < queued.len() && !queued[i] {
                    queued[i] = true;
                    ready.push(i);
                }
            }
            if !self.stopping {
                let mut k = 0;
                while k < ready.len() {
                    let i = ready[k];
                    let mut drained = true;
                    match self
                        .batch
                        .recv(self.fds[i], self.batch.capacity(), Recv::NoWait)
                    {
                        Ok(n) if n > 0 => {
                            drained = n < self.batch.capacity();
                            if let Flow::Stop = self.handle(i, n, Instant::now(), true) {
                                self.stopping = true;
                                break;
                            }
                        }
                        Ok(_) => {}
                        Err(e) => urgent |= Self::recv_error(&e),
                    }
                    if drained {
                        queued[i] = false;
                        ready.swap_remove(k);
                    } else {
                        k += 1;
                    }
                }
            }
            let now = Instant::now();
            if let Some(q) = self.delay.as_mut() {
                let failed = q.send_due(now, &self.fds);
                self.shared.counters.add_drops(failed);
            }
            if cancel.is_stopped() {
                return Ok(());
            }
            if (urgent || now >= self.next_tick) && self.tick(now, cancel) {
                return Ok(());
            }
        }
    }

    /// Handles slots `0..n` received on socket `s` at `now`: guards, counts, prints, logs,
    /// echoes.
    fn handle(&mut self, s: usize, n: usize, now: Instant, nonblocking: bool) -> Flow {
        let cfg = &*self.shared.cfg;
        let counters = &*self.shared.counters;
        let Some(all) = self.guard_batch(n, now) else {
            return Flow::Go;
        };
        self.shared.touch(now);
        if !self.active[s] {
            self.active[s] = true;
            self.active_list.push(s);
        }
        let (received, bytes, upto, sentinel) = self.read_batch(n, all);
        counters.add_batch(received, bytes);
        if let Some(q) = self.delay.as_mut() {
            let due = now + cfg.delay;
            let mut full = 0;
            for i in 0..upto {
                if (all || self.accepted[i]) && !q.push_slot(&self.batch, i, s, due) {
                    full += 1;
                }
            }
            if sentinel && cfg.reply_stop {
                let stop = cfg.stop.as_deref().unwrap_or(b".");
                if !q.push_to_sender(&self.batch, upto, stop, s, due) {
                    full += 1;
                }
            }
            counters.add_drops(full);
        } else if all {
            let sent = match self.gso.as_mut() {
                Some(g) => g.echo(&mut self.batch, self.fds[s], upto, nonblocking),
                None => self.batch.send_skipping(self.fds[s], 0, upto, nonblocking),
            };
            counters.add_drops((upto - sent) as u64);
        } else {
            self.send_accepted(s, upto, nonblocking);
        }
        if sentinel && cfg.reply_stop && self.delay.is_none() {
            let stop = cfg.stop.as_deref().unwrap_or(b".");
            let (addr, len) = self.batch.raw_addr(upto);
            if send_to_raw(self.fds[s], stop, addr, len, 0).is_err() {
                counters.add_drops(1);
            }
        }
        self.hand_over();
        if sentinel {
            self.shared.set_end(End::Sentinel);
            Flow::Stop
        } else {
            Flow::Go
        }
    }

    /// Counts, prints and logs slots `0..n` (the accepted ones unless `all`) up to the stop
    /// sentinel: `(datagrams, bytes, upto, sentinel)`, where slots `0..upto` are to be
    /// echoed and `sentinel` says the slot `upto` is the sentinel.
    fn read_batch(&mut self, n: usize, all: bool) -> (u64, u64, usize, bool) {
        let counters = &*self.shared.counters;
        let cfg = &*self.shared.cfg;
        let mut bytes = 0u64;
        let mut received = 0u64;
        let mut upto = n;
        let mut sentinel = false;
        if cfg.quiet && self.shared.log.is_none() {
            // Nothing to print or log: counts, senders and the sentinel.
            'runs: for &(first, end, key) in &self.runs {
                let mut noted = false;
                for i in first..end {
                    if !all && !self.accepted[i] {
                        continue;
                    }
                    if !noted {
                        noted = true;
                        self.clients.note(key, counters);
                    }
                    let len = self.batch.len_of(i);
                    bytes += len as u64;
                    received += 1;
                    if let Some(stop) = &cfg.stop {
                        if len >= stop.len() && strip(self.batch.data(i)) == stop.as_slice() {
                            upto = i;
                            sentinel = true;
                            break 'runs;
                        }
                    }
                }
            }
        } else {
            for i in 0..n {
                if !all && !self.accepted[i] {
                    continue;
                }
                let data = self.batch.data(i);
                bytes += data.len() as u64;
                received += 1;
                self.clients.note(self.batch.key(i), counters);
                if let Some(stop) = &cfg.stop {
                    if strip(data) == stop.as_slice() {
                        upto = i;
                        sentinel = true;
                        break;
                    }
                }
                if !cfg.quiet {
                    push_message_line(&mut self.out, self.batch.addr(i), data);
                    self.out_lines += 1;
                }
                if self.shared.log.is_some() {
                    push_log_line(&mut self.log_lines, data);
                    self.log_count += 1;
                }
            }
        }
        (received, bytes, upto, sentinel)
    }

    /// Groups slots `0..n` into runs from one sender and applies the guard to each run:
    /// `Some(all)` with `all` true when every slot may be answered (`accepted` is then not
    /// read), `None` when none may.
    fn guard_batch(&mut self, n: usize, now: Instant) -> Option<bool> {
        // One key per datagram; one guard verdict (and at most one rate-table lookup) and
        // one sender count per run.
        self.runs.clear();
        let mut i = 0;
        while i < n {
            let key = self.batch.key(i);
            let mut end = i + 1;
            while end < n && self.batch.key(end) == key {
                end += 1;
            }
            self.runs.push((i, end, key));
            i = end;
        }
        if self.guard.is_off() {
            return Some(true);
        }
        let mut all = true;
        for &(i, end, key) in &self.runs {
            let ok = i + self.guard.check_run(key, end - i, now);
            self.accepted[i..ok].fill(true);
            self.accepted[ok..end].fill(false);
            all &= ok == end;
        }
        self.guard.publish(&self.shared.counters.guard);
        (all || self.accepted[..n].contains(&true)).then_some(all)
    }

    /// Echoes the runs of slots `0..upto` the guard accepted.
    fn send_accepted(&mut self, s: usize, upto: usize, nonblocking: bool) {
        let mut i = 0;
        while i < upto {
            if !self.accepted[i] {
                i += 1;
                continue;
            }
            let start = i;
            while i < upto && self.accepted[i] {
                i += 1;
            }
            let sent = self.batch.send_skipping(self.fds[s], start, i, nonblocking);
            self.shared.counters.add_drops((i - start - sent) as u64);
        }
    }

    /// Hands this batch's lines to the printer and the log.
    fn hand_over(&mut self) {
        self.shared.print(&self.out, self.out_lines);
        self.out.clear();
        self.out_lines = 0;
        if let Some(log) = &self.shared.log {
            log.write(&self.log_lines, self.log_count);
            self.log_lines.clear();
            self.log_count = 0;
        }
    }

    /// Deals with a receive error; true when the loop should check for cancellation now.
    fn recv_error(e: &io::Error) -> bool {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => false,
            io::ErrorKind::Interrupted => true,
            // Anything else (ENOMEM, a pending ICMP error...) is not fatal for a server; a
            // short pause keeps a persistent error from spinning a core.
            _ => {
                std::thread::sleep(Duration::from_millis(1));
                false
            }
        }
    }

    /// Periodic duties; true when the worker must stop.
    fn tick(&mut self, now: Instant, cancel: &Cancel) -> bool {
        self.next_tick = now + TICK;
        if cancel.check() {
            return true;
        }
        let list = std::mem::take(&mut self.active_list);
        for &i in &list {
            self.active[i] = false;
            self.sample_drops(i);
        }
        self.active_list = list;
        self.active_list.clear();
        if let Some(log) = &self.shared.log {
            log.flush();
            self.shared.counters.add_drops(log.take_lost());
        }
        if !self.leader {
            return false;
        }
        let cfg = &*self.shared.cfg;
        let last_rx = self.shared.last_rx();
        if let Some(idle) = cfg.idle_timeout {
            if now.saturating_duration_since(last_rx) >= idle && !self.stopping {
                self.shared.set_end(End::Idle);
                cancel.stop();
                return true;
            }
        }
        if let Some(period) = cfg.silence {
            let mark = last_rx.max(self.last_silence);
            if now.saturating_duration_since(mark) >= period {
                self.last_silence = now;
                self.shared
                    .print(silence_message(period.as_secs_f64()).as_bytes(), 1);
            }
        }
        false
    }

    /// Adds the kernel's new drops on socket `i` to the counters.
    fn sample_drops(&mut self, i: usize) {
        if let Some(now) = kernel_drops(self.fds[i]) {
            let new = now.wrapping_sub(self.drops_seen[i]);
            self.drops_seen[i] = now;
            self.shared.counters.add_drops(u64::from(new));
        }
    }

    /// Flushes what is still buffered.
    fn flush_outputs(&mut self) {
        self.hand_over();
        if let Some(log) = &self.shared.log {
            log.flush();
            self.shared.counters.add_drops(log.take_lost());
        }
    }
}
