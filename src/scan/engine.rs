//! The scan loop: probe many ports at once, read answers and ICMP errors, retry, adapt.
//!
//! Probes leave in batches (`sendmmsg`) while fewer than `concurrency` wait for an answer
//! (and within `rate`, if set). Each turn reads every datagram (the port is `open`) and every
//! queued ICMP error (`closed` or `filtered`), then expires probes: a port's last probe after
//! `timeout`, earlier ones after a few round trips (so silent ports are probed again soon).
//! An expired probe counts as a silence only when [`Evidence`] vouches for it; a port becomes
//! `open|filtered` after `retries + 1` such silences, so it is always probed again first.
//! When a canary is lost, ICMP errors are being rate limited: re-probes are then paced
//! (batches of two ports and a canary, one batch per second at first, Linux's default ICMP
//! rate), and the pace tracks the rate the target's errors come back at (doubling while the
//! answers keep up, then just above the rate measured) instead of calling closed ports silent.

#[path = "engine_judge.rs"]
mod judge;

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use super::evidence::Evidence;
use super::pacer::Pacer;
use super::probes::Payloads;
use super::sock::{ProbeSocket, Receiver, Sender};
use super::table::Table;
use super::verdict::{from_icmp, icmp_reason, State, UDP_RESPONSE};
use super::{Options, Progress};
use crate::cancel::{Cancel, TICK};
use crate::error::{Error, Result};

/// Probes per `sendmmsg` call (two slots are kept for canaries).
const BATCH: usize = 128;
/// Pace, in paced batches per second, when ICMP rate limiting is first seen: Linux's default
/// of one ICMP error per second per peer.
const LIMITED_RATE: f64 = 1.0;
/// Answers after which the pace is measured against the answers' rate ...
const RATE_SAMPLE: u32 = 4;
/// ... and in slow start (two answers at the pace prove it; the first pace is slow).
const SLOW_START_SAMPLE: u32 = 2;
/// While the answers keep up with the pace (no batch found the bucket empty), the pace grows
/// by this factor each sample until it first outruns the target ...
const SLOW_START: f64 = 2.0;
/// ... and by this one after that.
const PROBE_UP: f64 = 1.2;
/// Answers at under this share of the pace mean the pace outran the target's refill rate.
const KEEPS_UP: f64 = 0.8;
/// The pace is then set this much above the rate measured, so that no token is left unused
/// (a batch that finds the bucket empty costs a re-probe, not a verdict).
const OVER_RATE: f64 = 1.1;
/// Ports per paced batch. The target answers at most one of them (one ICMP token), but a
/// silent port followed by a closed one is vouched for by that one's error, so silent ports
/// cost no token of their own.
const PACED_BATCH: usize = 2;
/// The slowest pace rate limiting can push the scan to.
const MIN_RATE: f64 = 0.1;
/// Extra probes a port may get, beyond `retries + 1`, while its silences cannot be trusted.
const EXTRA_PROBES: u32 = 8;
/// The most probes a port gets in all (probes that found the target's bucket empty do not
/// count towards [`EXTRA_PROBES`]; this bounds them).
const HARD_CAP: u32 = 64;
/// The shortest wait before a silent port is probed again.
const MIN_RETRY: Duration = Duration::from_millis(20);
/// How long a scan that has not seen a single ICMP error waits before it trusts silence: a
/// target whose ICMP budget an earlier scan emptied regains a token within Linux's default
/// `icmp_ratelimit` (1 s), so a closed port probed after this answers.
const BUDGET_WAIT: Duration = Duration::from_millis(1100);
/// The most silences a port may need when the link is seen to lose probes.
const MAX_SILENCES_LOSSY: u32 = 10;
/// The chance of a wrong `open|filtered` for one port the silences needed aim under ...
const WRONG_VERDICT_ODDS: f64 = 1e-4;
/// ... and in a whole scan.
const WRONG_SCAN_ODDS: f64 = 1e-3;
/// The one-sided normal quantile of the upper bound on the loss rate (95%).
const LOSS_BOUND_Z: f64 = 1.645;

/// The running state of one scan.
pub(super) struct Engine<'a> {
    opts: &'a Options,
    target: IpAddr,
    sock: ProbeSocket,
    sender: Sender,
    replies: Receiver,
    errors: Receiver,
    /// Every port's slot.
    pub table: Table,
    queue: VecDeque<usize>,
    /// Probes waiting for an answer, oldest first: `[0]` will be probed again (they wait
    /// only [`Engine::retry_after`]), `[1]` are last probes (they wait the full timeout).
    flights: [VecDeque<(usize, u64)>; 2],
    /// The longest round trip seen so far (ICMP error or reply).
    rtt_max: Option<Duration>,
    /// The longest round trip any engine of this scan has seen (ns, 0 for none yet), when
    /// several probe the target at once: an engine that has heard nothing yet (the target's
    /// first ICMP errors and the open ports' replies all went to the other) then re-probes
    /// after a few of those round trips instead of a whole timeout.
    shared_rtt: Option<&'a AtomicU64>,
    in_flight: usize,
    unresolved: usize,
    seq: u64,
    evidence: Evidence,
    user_pace: Option<Pacer>,
    limited: Option<Pacer>,
    last_slowdown: Option<Instant>,
    blocked: bool,
    canary_after: u64,
    /// While paced: when the current rate sample began, and the ICMP answers since.
    sample_since: Instant,
    sample_answers: u32,
    /// True once the pace has outrun the target's refill rate (slow start is over).
    outran: bool,
    /// The slot of the probe socket's own port, if it is scanned: it is probed last, from a
    /// new socket, once the first one is closed (else the probe would reach the scanner).
    own: Option<usize>,
    payloads: Payloads,
    /// Ports found open since the last progress call.
    newly_open: Vec<usize>,
    /// Silences nothing vouched for before any ICMP error was seen, held until `budget_at`.
    parked: Vec<usize>,
    /// When silence may be trusted without an ICMP error seen (see [`BUDGET_WAIT`]).
    budget_at: Instant,
    /// Silences counted against ports that answered later (the link lost the probe or answer):
    /// with `answered`, the trials the loss bound of [`judge::silences_needed`] comes from.
    drops: u32,
    /// Ports that answered.
    answered: u32,
    /// Ports silent enough for `open|filtered` by the loss estimate of the moment: the verdict
    /// is given once nothing else is pending, with the final estimate (a port judged early,
    /// before the link was seen to lose probes, may need more silences).
    tentative: Vec<usize>,
}

impl<'a> Engine<'a> {
    /// Prepares a scan of `ports` on `target`.
    ///
    /// # Errors
    /// [`Error::Io`] when the probe socket cannot be opened.
    pub(super) fn new(target: IpAddr, ports: &[u16], opts: &'a Options) -> Result<Self> {
        let sock = ProbeSocket::open_pair(target, opts.sources.first().copied())?;
        let own = sock.local_port()?;
        Ok(Self::build(sock, own, target, ports, opts))
    }

    /// Prepares a scan from an open probe socket, one of several engines that share the
    /// target's round-trip time through `shared_rtt`.
    #[must_use]
    pub(super) fn with_socket(
        sock: ProbeSocket,
        target: IpAddr,
        ports: &[u16],
        opts: &'a Options,
        shared_rtt: &'a AtomicU64,
    ) -> Self {
        let own = sock.local_port().unwrap_or(0);
        Self {
            shared_rtt: Some(shared_rtt),
            ..Self::build(sock, own, target, ports, opts)
        }
    }

    fn build(
        sock: ProbeSocket,
        own: u16,
        target: IpAddr,
        ports: &[u16],
        opts: &'a Options,
    ) -> Self {
        let table = Table::new(ports);
        let own = table.find(own);
        let now = Instant::now();
        let mut payloads = if opts.protocols {
            Payloads::protocols(&opts.probe, seed())
        } else {
            Payloads::generic_only(&opts.probe)
        };
        payloads.extend(opts.extra_payloads.clone());
        let user_pace = opts
            .rate
            .map(|r| Pacer::new(r, (r / 100.0).clamp(1.0, 64.0), now));
        Engine {
            opts,
            target,
            sock,
            sender: Sender::new(SocketAddr::new(target, 0), payloads.max_len(), BATCH),
            replies: Receiver::new(16, 65536),
            errors: Receiver::new(256, 64),
            queue: (0..table.slots.len()).filter(|&i| Some(i) != own).collect(),
            own,
            unresolved: table.slots.len(),
            table,
            flights: [VecDeque::new(), VecDeque::new()],
            rtt_max: None,
            shared_rtt: None,
            in_flight: 0,
            seq: 1,
            evidence: Evidence::default(),
            user_pace,
            limited: None,
            last_slowdown: None,
            blocked: false,
            canary_after: 0,
            sample_since: now,
            sample_answers: 0,
            outran: false,
            payloads,
            newly_open: Vec::new(),
            parked: Vec::new(),
            budget_at: now + BUDGET_WAIT,
            drops: 0,
            answered: 0,
            tentative: Vec::new(),
        }
    }

    /// Runs until every port has a verdict.
    ///
    /// # Errors
    /// [`Error::Interrupted`] when `cancel` (or `progress`) says stop; [`Error::Io`] when the
    /// socket fails for a reason other than the ICMP errors it reports.
    pub(super) fn run(&mut self, cancel: &Cancel, progress: Option<Progress<'_>>) -> Result<()> {
        if let Some(own) = self.own {
            self.run_until(1, cancel, progress)?;
            // A new socket first (so it gets another port), then the old one closes.
            let source = self.opts.sources.first().copied();
            let fresh = ProbeSocket::open_pair(self.target, source)?;
            self.sock = fresh;
            self.queue.push_back(own);
        }
        self.run_until(0, cancel, progress)
    }

    /// Runs until only `left` ports lack a verdict.
    fn run_until(
        &mut self,
        left: usize,
        cancel: &Cancel,
        progress: Option<Progress<'_>>,
    ) -> Result<()> {
        let total = self.table.slots.len();
        let mut next_check = Instant::now() + TICK;
        while self.unresolved > left {
            if cancel.is_stopped() {
                return Err(Error::Interrupted);
            }
            let now = Instant::now();
            if now >= next_check {
                cancel.checkpoint()?;
                if let Some(p) = progress {
                    if p(total - self.unresolved, total, &self.take_open()) {
                        return Err(Error::Interrupted);
                    }
                }
                next_check = now + TICK;
            }
            if !self.parked.is_empty() && (now >= self.budget_at || self.evidence.seen_icmp()) {
                self.release_parked();
            }
            self.drain()?;
            self.expire(Instant::now());
            if self.in_flight == 0 && self.queue.is_empty() && self.parked.is_empty() {
                self.settle();
            }
            if self.unresolved <= left {
                break;
            }
            if self.send(Instant::now())? == 0 {
                self.wait(cancel)?;
            }
        }
        if let (Some(p), 0) = (progress, left) {
            p(total, total, &self.take_open());
        }
        Ok(())
    }

    /// Marks slot `idx` with `state`.
    fn resolve(&mut self, idx: usize, state: State) {
        let slot = &mut self.table.slots[idx];
        if slot.state.is_some() {
            return;
        }
        slot.state = Some(state);
        self.answered += 1;
        self.drops += slot.silences.saturating_sub(slot.blind);
        if slot.in_flight {
            slot.in_flight = false;
            self.in_flight -= 1;
        }
        self.unresolved -= 1;
    }

    /// Reads every waiting datagram and ICMP error.
    fn drain(&mut self) -> Result<()> {
        for fd in self.sock.fds() {
            self.drain_fd(fd)?;
        }
        Ok(())
    }

    /// Reads every waiting datagram and ICMP error of one of the socket's descriptors.
    fn drain_fd(&mut self, fd: std::os::fd::RawFd) -> Result<()> {
        loop {
            let n = self.replies.recv_fd(fd, false)?;
            let now = Instant::now();
            for i in 0..n {
                let (from, data) = self.replies.datagram(i);
                let Some(from) = from.filter(|a| a.ip() == self.target) else {
                    continue;
                };
                let Some(idx) = self.table.find(from.port()) else {
                    continue;
                };
                let service = self.payloads.service(from.port(), data);
                let slot = &mut self.table.slots[idx];
                if slot.state.is_none() {
                    slot.reply = Some(data.to_vec());
                    slot.rtt = slot.sent_at.map(|t| now.saturating_duration_since(t));
                    slot.service = service;
                    slot.reason = UDP_RESPONSE;
                    let (sent, fresh) = (slot.sent_at, slot.in_flight);
                    self.resolve(idx, State::Open);
                    self.newly_open.push(idx);
                    if fresh {
                        self.note_rtt(sent, now);
                    }
                } else if slot.state == Some(State::Open)
                    && slot.service.is_none()
                    && service.is_some()
                {
                    // A later datagram answered a protocol probe: it names the service.
                    slot.reply = Some(data.to_vec());
                    slot.service = service;
                }
            }
            if n < 16 {
                break;
            }
        }
        loop {
            let n = self.errors.recv_fd(fd, true)?;
            for i in 0..n {
                let Some(e) = self.errors.queued_error(i) else {
                    continue;
                };
                if e.dest.ip() != self.target {
                    continue;
                }
                let Some(state) = from_icmp(e.origin, e.icmp_type, e.code) else {
                    continue;
                };
                let port = e.dest.port();
                if self.evidence.canary_answer(port) {
                    self.speed_up();
                    continue;
                }
                let Some(idx) = self.table.find(port) else {
                    continue;
                };
                let slot = &self.table.slots[idx];
                if slot.state.is_some() {
                    continue;
                }
                if let Some(sent) = slot.sent_at {
                    self.evidence.record_answer(slot.seq, sent);
                    self.evidence.withdraw_canaries_after(slot.seq, sent);
                }
                if slot.in_flight {
                    self.note_rtt(slot.sent_at, Instant::now());
                }
                // Any port that drew an ICMP error will draw another while the host answers.
                self.evidence.add_canary(port);
                self.table.slots[idx].reason = icmp_reason(e.origin, e.icmp_type, e.code);
                self.resolve(idx, state);
                self.speed_up();
            }
            if n < 256 {
                break;
            }
        }
        Ok(())
    }

    /// Expires probes that waited long enough, and lost canaries.
    fn expire(&mut self, now: Instant) {
        for (last, wait) in [(false, self.retry_after()), (true, self.opts.timeout)] {
            let fifo = usize::from(last);
            while let Some(&(idx, seq)) = self.flights[fifo].front() {
                let slot = &mut self.table.slots[idx];
                if !(slot.in_flight && slot.seq == seq && slot.state.is_none()) {
                    self.flights[fifo].pop_front();
                    continue;
                }
                let sent = slot.sent_at.unwrap_or(now);
                if now.saturating_duration_since(sent) < wait {
                    break;
                }
                self.flights[fifo].pop_front();
                slot.in_flight = false;
                self.in_flight -= 1;
                if !self.evidence.seen_icmp() && sent < self.budget_at {
                    // No ICMP error yet: the target's budget may be spent (by an earlier
                    // scan). Probe again once a token must have come back.
                    self.parked.push(idx);
                    continue;
                }
                if self.evidence.vouches(seq, sent, slot.paced) {
                    slot.silences += 1;
                } else if self.limited.is_some() {
                    slot.unvouched += 1;
                }
                let (max_silences, max_probes) = self.probe_limits(idx);
                let slot = &mut self.table.slots[idx];
                if slot.silences >= max_silences
                    || slot.probes - slot.unvouched >= max_probes
                    || slot.probes >= HARD_CAP
                {
                    self.tentative.push(idx);
                } else {
                    self.queue.push_back(idx);
                }
            }
        }
        if self.evidence.expire_canaries(now, self.retry_after()) > 0 {
            self.slow_down(now);
        }
        let oldest = self
            .flights
            .iter()
            .filter_map(|f| f.front().map(|&(_, s)| s))
            .min();
        self.evidence.prune(oldest.unwrap_or(self.seq));
    }

    /// Sends the next batch of probes; returns how many left.
    fn send(&mut self, now: Instant) -> Result<usize> {
        let mut budget = self
            .opts
            .concurrency
            .saturating_sub(self.in_flight)
            .min(BATCH - 2);
        if let Some(p) = &mut self.user_pace {
            budget = budget.min(p.available(now));
        }
        // While ICMP errors are rate limited, re-probes are paced; a port's first probe is not
        // (an open port answers at once, whatever the ICMP budget, and the first pass over
        // every port finds them all within a second).
        let mut paced = self
            .limited
            .as_mut()
            .map(|p| p.available(now).min(1) * PACED_BATCH);
        let paced_any = paced.is_some_and(|n| n > 0);
        let mut idxs = Vec::with_capacity(budget);
        let mut ports: Vec<(u16, &[u8])> = Vec::with_capacity(budget + 2);
        let mut reprobe = false;
        let mut paced_idxs = 0;
        while idxs.len() < budget {
            let Some(idx) = self.queue.pop_front() else {
                break;
            };
            let slot = &self.table.slots[idx];
            if slot.state.is_some() {
                continue;
            }
            if slot.probes > 0 {
                match &mut paced {
                    Some(0) => {
                        // Re-probes queue behind every first probe: nothing left to send now.
                        self.queue.push_front(idx);
                        break;
                    }
                    Some(n) => {
                        *n -= 1;
                        paced_idxs += 1;
                    }
                    None => {}
                }
            }
            reprobe |= slot.probes > 0;
            idxs.push(idx);
            let probes = self.payloads.for_port(slot.port);
            let which = usize::try_from(slot.probes).unwrap_or(0) % probes.len();
            ports.push((slot.port, &probes[which].payload));
        }
        if idxs.is_empty() {
            self.lone_canary(now)?;
            return Ok(0);
        }
        let canaries = if reprobe || self.queue.is_empty() {
            self.pick_canaries(paced_idxs > 0)
        } else {
            [None; 2]
        };
        for c in canaries.iter().flatten() {
            ports.push((*c, &self.payloads.for_port(*c)[0].payload));
        }
        let n = self.sender.send(&self.sock, &ports)?;
        let sent_all = n == ports.len();
        self.blocked = !sent_all;
        for (i, &idx) in idxs.iter().enumerate() {
            if i >= n {
                self.queue.push_front(idx);
                continue;
            }
            let (max_silences, max_probes) = self.probe_limits(idx);
            let slot = &mut self.table.slots[idx];
            slot.seq = self.seq;
            self.seq += 1;
            slot.probes += 1;
            slot.sent_at = Some(now);
            slot.paced = self.limited.is_some() && slot.probes > 1;
            slot.in_flight = true;
            self.in_flight += 1;
            let last = slot.silences + 1 >= max_silences || slot.probes >= max_probes;
            self.flights[usize::from(last)].push_back((idx, slot.seq));
        }
        // Restore the queue order of unsent probes (pushed to the front in reverse above).
        let unsent = idxs.len().saturating_sub(n);
        if unsent > 1 {
            self.queue.make_contiguous()[..unsent].reverse();
        }
        if sent_all {
            for c in canaries.iter().flatten() {
                self.evidence.canary_sent(*c, self.seq, now);
                self.canary_after = self.seq;
                self.seq += 1;
            }
        }
        let probes = n.min(idxs.len());
        if let Some(p) = &mut self.user_pace {
            p.take(probes);
        }
        if let (Some(p), true) = (&mut self.limited, paced_any && reprobe) {
            p.take(1);
        }
        Ok(probes)
    }
}

/// Per-scan cookies for the protocol probes: random, so that replies to another scan's probes
/// (or forged ones) do not name a service.
fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    h.finish()
}
