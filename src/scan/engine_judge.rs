//! The engine's pacing and judgement: when to probe again, how many silences a verdict
//! needs, the pace behind a rate-limited target, the ICMP budget wait, and the waits.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{
    Engine, EXTRA_PROBES, KEEPS_UP, LIMITED_RATE, LOSS_BOUND_Z, MAX_SILENCES_LOSSY, MIN_RATE,
    MIN_RETRY, OVER_RATE, PROBE_UP, RATE_SAMPLE, SLOW_START, SLOW_START_SAMPLE, WRONG_SCAN_ODDS,
    WRONG_VERDICT_ODDS,
};
use crate::cancel::{Cancel, TICK};
use crate::error::Result;
use crate::scan::evidence::WINDOW;
use crate::scan::pacer::Pacer;
use crate::scan::verdict::State;
use crate::scan::PortResult;
use crate::wait::poll_fds;

impl Engine<'_> {
    /// Probes again the ports whose silences waited for the ICMP budget. When the target sent
    /// no ICMP error at all for a whole refill period, those silences count (a target that
    /// was merely out of tokens would have answered the probes sent since); else they say
    /// nothing and are forgotten.
    pub(super) fn release_parked(&mut self) {
        let trust = !self.evidence.seen_icmp();
        for idx in std::mem::take(&mut self.parked) {
            if self.table.slots[idx].state.is_some() {
                continue;
            }
            if trust {
                self.table.slots[idx].silences += 1;
                self.table.slots[idx].blind += 1;
                let (max_silences, _) = self.probe_limits(idx);
                if self.table.slots[idx].silences >= max_silences {
                    self.tentative.push(idx);
                    continue;
                }
            }
            self.queue.push_back(idx);
        }
    }

    /// Gives the tentative ports their verdict, or probes again those that the final loss
    /// estimate says were not silent often enough.
    pub(super) fn settle(&mut self) {
        for idx in std::mem::take(&mut self.tentative) {
            let (max_silences, max_probes) = self.probe_limits(idx);
            let slot = &mut self.table.slots[idx];
            if slot.state.is_some() {
                continue;
            }
            if slot.silences >= max_silences || slot.probes >= max_probes {
                slot.state = Some(State::OpenFiltered);
                self.unresolved -= 1;
            } else {
                self.queue.push_back(idx);
            }
        }
    }

    /// The ports found open since the last call.
    pub(super) fn take_open(&mut self) -> Vec<PortResult> {
        let slots = &self.table.slots;
        self.newly_open
            .drain(..)
            .map(|i| PortResult::from(&slots[i]))
            .collect()
    }

    /// How long a probe that is not a port's last waits before the port is probed again:
    /// four times the longest round trip seen (at least [`MIN_RETRY`]), never more than the
    /// timeout. The last probe always waits the full timeout, and an answer to an earlier
    /// probe still counts whenever it comes, so this only makes silent ports quicker.
    pub(super) fn retry_after(&self) -> Duration {
        let shared = self
            .shared_rtt
            .map(|r| r.load(Ordering::Relaxed))
            .filter(|&ns| ns > 0)
            .map(Duration::from_nanos);
        self.rtt_max
            .max(shared)
            .map_or(self.opts.timeout, |r| (r * 4).max(MIN_RETRY))
            .min(self.opts.timeout)
    }

    /// Silences after which the port of slot `idx` is `open|filtered`, and most probes it may
    /// get: `retries + 1` and at least one per payload of the port; more while the loss rate
    /// of the link may be high (see [`silences_needed`]). Saturating: `retries` comes from
    /// Python.
    pub(super) fn probe_limits(&self, idx: usize) -> (u32, u32) {
        let port = self.table.slots[idx].port;
        let payloads = u32::try_from(self.payloads.for_port(port).len()).unwrap_or(1);
        let least = self.opts.retries.saturating_add(1).max(payloads);
        let ports = u32::try_from(self.table.slots.len()).unwrap_or(u32::MAX);
        let mut max_silences = silences_needed(self.drops, self.answered, ports).max(least);
        if self.evidence.seen_icmp() {
            // The target can send ICMP errors after all: a silence counted only because it
            // sent none for a while (its budget was empty) proves nothing about the port.
            max_silences = max_silences.saturating_add(self.table.slots[idx].blind);
        }
        (max_silences, max_silences.saturating_add(EXTRA_PROBES))
    }

    /// Notes the round trip of an answer to the probe sent at `sent`.
    pub(super) fn note_rtt(&mut self, sent: Option<Instant>, now: Instant) {
        let Some(t) = sent else { return };
        let rtt = now.saturating_duration_since(t);
        if self.rtt_max.is_some_and(|m| m >= rtt) {
            return;
        }
        self.rtt_max = Some(rtt);
        // Only a new maximum reaches the other engines: the shared counter is written a few
        // times per scan, not once per answer from both cores.
        if let Some(shared) = self.shared_rtt {
            shared.fetch_max(
                u64::try_from(rtt.as_nanos()).unwrap_or(u64::MAX),
                Ordering::Relaxed,
            );
        }
    }

    /// ICMP errors are being rate limited (a canary was lost): pace the re-probes, starting
    /// at Linux's default rate; once paced, a loss after two batches without an answer halves
    /// the pace, and one with too few answers to measure the rate by drops it to the answers'
    /// rate (at most once per timeout, so that one burst of losses counts once).
    pub(super) fn slow_down(&mut self, now: Instant) {
        let recent = self
            .last_slowdown
            .is_some_and(|t| now.duration_since(t) < self.opts.timeout);
        self.last_slowdown = Some(now);
        let Some(p) = &mut self.limited else {
            // One batch may go at once: the bucket that the first pass emptied has had a
            // retry interval to earn a token.
            self.limited = Some(Pacer::new(LIMITED_RATE, 1.0, now));
            self.sample_since = now;
            self.sample_answers = 0;
            return;
        };
        if recent {
            return;
        }
        let elapsed = now.duration_since(self.sample_since).as_secs_f64();
        let batches = elapsed * p.rate();
        let next = if self.sample_answers == 0 && batches >= 2.0 {
            // Two batches and not one answer: the target answers far slower than this (a
            // router that forwards to a refused network charges each probe twice, for its
            // own limit and ICMP's). Halve, as a sample would take too long.
            p.rate() * 0.5
        } else if self.sample_answers < RATE_SAMPLE && batches >= 2.0 * f64::from(RATE_SAMPLE) {
            // Twice the time the sample should have taken, and still too few answers.
            f64::from(self.sample_answers) / elapsed * OVER_RATE
        } else {
            return;
        };
        self.outran = true;
        p.set_rate(next.max(MIN_RATE).min(p.rate()), now);
        self.sample_since = now;
        self.sample_answers = 0;
    }

    /// An ICMP error came back. While paced, every [`RATE_SAMPLE`] answers ([`SLOW_START_SAMPLE`]
    /// in slow start) the pace is
    /// compared with the answers' rate: answers that keep up prove the target refills at least
    /// that fast, and the pace grows (doubling until it first outruns the target, by
    /// [`PROBE_UP`] after); answers that fall behind measure the refill rate, and the pace is
    /// set just above it. So the pace tracks the target's token rate, and is never more than
    /// one growth step above what answers have proved.
    pub(super) fn speed_up(&mut self) {
        let Some(p) = &mut self.limited else {
            return;
        };
        self.sample_answers += 1;
        let sample = if self.outran {
            RATE_SAMPLE
        } else {
            SLOW_START_SAMPLE
        };
        if self.sample_answers < sample {
            return;
        }
        let now = Instant::now();
        let elapsed = now
            .duration_since(self.sample_since)
            .as_secs_f64()
            .max(1e-3);
        let measured = f64::from(self.sample_answers) / elapsed;
        let pace = p.rate();
        let next = if measured >= KEEPS_UP * pace {
            pace * if self.outran { PROBE_UP } else { SLOW_START }
        } else {
            self.outran = true;
            measured * OVER_RATE
        };
        p.set_rate(next.max(MIN_RATE), now);
        self.sample_since = now;
        self.sample_answers = 0;
    }

    /// The canaries for a batch: one for a paced batch (its answer vouches for the batch),
    /// else two, as a silence outside a paced batch needs two answers after it.
    pub(super) fn pick_canaries(&self, paced: bool) -> [Option<u16>; 2] {
        let first = self.evidence.pick_canary();
        let second = if paced || self.evidence.wanted_canaries() < 2 {
            None
        } else {
            self.evidence.pick_canary_besides(first)
        };
        [first, second]
    }

    /// Sends a canary right behind the newest probe if nothing vouches for it yet and a canary
    /// port became known only after it left (the last batch of a scan, typically).
    pub(super) fn lone_canary(&mut self, now: Instant) -> Result<()> {
        let newest = self
            .flights
            .iter()
            .filter_map(|f| f.back().copied())
            .max_by_key(|f| f.1);
        let Some((idx, seq)) = newest else {
            return Ok(());
        };
        let slot = &self.table.slots[idx];
        let fresh = slot
            .sent_at
            .is_some_and(|t| now.saturating_duration_since(t) <= WINDOW / 2);
        if !(slot.in_flight && fresh && seq > self.canary_after) {
            return Ok(());
        }
        let Some(c) = self.evidence.pick_canary() else {
            return Ok(());
        };
        let mut probes = vec![(c, self.payloads.for_port(c)[0].payload.as_slice())];
        if self.evidence.wanted_canaries() > 1 && !slot.paced {
            if let Some(d) = self.evidence.pick_canary_besides(Some(c)) {
                probes.push((d, self.payloads.for_port(d)[0].payload.as_slice()));
            }
        }
        let sent = self.sender.send(&self.sock, &probes)?;
        for &(port, _) in &probes[..sent] {
            self.evidence.canary_sent(port, self.seq, now);
            self.canary_after = self.seq;
            self.seq += 1;
        }
        Ok(())
    }

    /// Sleeps until an answer arrives, a probe expires, the pace allows a probe, or a TICK.
    pub(super) fn wait(&mut self, cancel: &Cancel) -> Result<()> {
        let now = Instant::now();
        let timeout = self.opts.timeout;
        let mut wake = now + TICK;
        for (fifo, wait) in self.flights.iter().zip([self.retry_after(), timeout]) {
            if let Some(&(idx, _)) = fifo.front() {
                if let Some(due) = self.table.slots[idx]
                    .sent_at
                    .and_then(|s| s.checked_add(wait))
                {
                    wake = wake.min(due);
                }
            }
        }
        if let Some(t) = self.evidence.next_canary_deadline(self.retry_after()) {
            wake = wake.min(t);
        }
        if !self.parked.is_empty() {
            wake = wake.min(self.budget_at);
        }
        if !self.queue.is_empty() && self.in_flight < self.opts.concurrency {
            for p in [&self.user_pace, &self.limited].into_iter().flatten() {
                wake = wake.min(now + p.wait(now));
            }
        }
        let send_fd = self.sock.send_fd();
        let mut fds: Vec<libc::pollfd> = self
            .sock
            .fds()
            .into_iter()
            .map(|fd| libc::pollfd {
                fd,
                events: if self.blocked && fd == send_fd {
                    libc::POLLIN | libc::POLLOUT
                } else {
                    libc::POLLIN
                },
                revents: 0,
            })
            .collect();
        let left = wake.saturating_duration_since(now);
        if left > Duration::ZERO {
            poll_fds(&mut fds, Some(left), cancel)?;
        }
        Ok(())
    }
}

/// How many silences in a row make a closed port's `open|filtered` unlikely: `k` such that
/// `p^k` is under [`WRONG_VERDICT_ODDS`] per port (and under [`WRONG_SCAN_ODDS`] over the
/// `ports` of the scan), where `p` is not the loss rate measured but an upper bound on it
/// (Wilson score, one-sided 95%). The trials are the probes to ports that answered: each
/// answered once, and `drops` of them were silences first. A scan of a few ports has few
/// trials, and a lossy link often loses none of them (30% loss spares all 7 answering ports of
/// an 8-port scan 8% of the time): the point estimate then says "no loss" and two silences
/// called closed ports `open|filtered`; the bound stays near 0.3 until enough trials show
/// the link is clean. With no answer at all nothing is known and 0 comes back (the caller's
/// minimum, `retries + 1`, applies). At most [`MAX_SILENCES_LOSSY`].
#[must_use]
pub(super) fn silences_needed(drops: u32, answered: u32, ports: u32) -> u32 {
    if answered == 0 {
        return 0;
    }
    let n = f64::from(drops) + f64::from(answered);
    let p = f64::from(drops) / n;
    let z2 = LOSS_BOUND_Z * LOSS_BOUND_Z;
    let centre = p + z2 / (2.0 * n);
    let spread = LOSS_BOUND_Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    let upper = ((centre + spread) / (1.0 + z2 / n)).min(1.0);
    let target = WRONG_VERDICT_ODDS.min(WRONG_SCAN_ODDS / f64::from(ports.max(1)));
    let (mut needed, mut odds) = (1, upper);
    while needed < MAX_SILENCES_LOSSY && odds >= target {
        needed += 1;
        odds *= upper;
    }
    needed
}

#[cfg(test)]
mod tests {
    use super::silences_needed;

    #[test]
    fn few_trials_ask_for_many_silences() {
        // No answer: nothing known, the caller's minimum applies.
        assert_eq!(silences_needed(0, 0, 8), 0);
        // 8 ports over a 30%-loss link that happened to lose none of 7 answering probes: the
        // bound (0.28) still asks for 8 silences (0.3^8 = 7e-5), not 2 (0.3^2 = 9%).
        assert_eq!(silences_needed(0, 7, 8), 8);
        // The same link with its losses seen: the cap.
        assert_eq!(silences_needed(3, 7, 8), 10);
        // A big clean scan: 2 silences, as nmap (the bound is tiny).
        assert!(silences_needed(0, 65_000, 65_535) <= 2);
        // A hundred clean ports on loopback: a few.
        assert!((2..=4).contains(&silences_needed(0, 100, 100)));
        // Monotone: more drops never ask for fewer silences.
        for d in 0..20 {
            assert!(silences_needed(d + 1, 50, 60) >= silences_needed(d, 50, 60));
        }
    }
}
