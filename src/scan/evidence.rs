//! Telling a silent port from a rate-limited ICMP error.
//!
//! A host that limits its ICMP errors (Linux sends about one per second to a remote peer
//! after a short burst) makes closed ports look silent. A silence only counts against a port
//! when the target was shown to be answering at that moment: a probe sent right after it (in
//! send order, within [`WINDOW`]) drew an ICMP error. When no such probe exists the scanner
//! adds a *canary*, a probe to a port that already drew an ICMP error (closed or filtered),
//! right behind its probes; a lost canary proves that ICMP errors are being rate limited.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// How soon after a silent probe an answered probe must have left to vouch for it.
pub(super) const WINDOW: Duration = Duration::from_millis(10);
/// How many ports that drew ICMP errors are kept as canaries.
const MAX_CANARIES: usize = 32;

/// Evidence that the target was sending ICMP errors when a probe arrived.
#[derive(Default)]
pub(super) struct Evidence {
    answered: BTreeMap<u64, Instant>,
    canaries: Vec<u16>,
    canary_out: HashMap<u16, (u64, Instant)>,
    seen_icmp: bool,
}

impl Evidence {
    /// Notes that the probe with sequence number `seq`, sent at `sent`, drew an ICMP error.
    pub(super) fn record_answer(&mut self, seq: u64, sent: Instant) {
        self.seen_icmp = true;
        self.answered.insert(seq, sent);
    }

    /// True once any probe drew an ICMP error.
    #[must_use]
    pub(super) fn seen_icmp(&self) -> bool {
        self.seen_icmp
    }

    /// Offers a port that drew an ICMP error as a canary.
    pub(super) fn add_canary(&mut self, port: u16) {
        if self.canaries.len() < MAX_CANARIES && !self.canaries.contains(&port) {
            self.canaries.push(port);
        }
    }

    /// A canary port with no canary probe outstanding, if any.
    #[must_use]
    pub(super) fn pick_canary(&self) -> Option<u16> {
        self.canaries
            .iter()
            .copied()
            .find(|p| !self.canary_out.contains_key(p))
    }

    /// Another canary port than `other`, with no canary probe outstanding, if any.
    #[must_use]
    pub(super) fn pick_canary_besides(&self, other: Option<u16>) -> Option<u16> {
        self.canaries
            .iter()
            .copied()
            .find(|p| Some(*p) != other && !self.canary_out.contains_key(p))
    }

    /// Notes a canary probe sent to `port`.
    pub(super) fn canary_sent(&mut self, port: u16, seq: u64, at: Instant) {
        self.canary_out.insert(port, (seq, at));
    }

    /// Handles an ICMP error for `port` if a canary probe to it is outstanding.
    pub(super) fn canary_answer(&mut self, port: u16) -> bool {
        match self.canary_out.remove(&port) {
            Some((seq, at)) => {
                self.record_answer(seq, at);
                true
            }
            None => false,
        }
    }

    /// A probe sent at `at` with sequence number `seq` drew an ICMP error: canaries sent in
    /// the same batch after it say nothing any more (that error may have used the target's
    /// last token), so they are withdrawn rather than counted as lost.
    pub(super) fn withdraw_canaries_after(&mut self, seq: u64, at: Instant) {
        self.canary_out.retain(|_, (s, t)| !(*t == at && *s > seq));
    }

    /// Drops canaries unanswered for `timeout`; returns how many were lost.
    pub(super) fn expire_canaries(&mut self, now: Instant, timeout: Duration) -> usize {
        let before = self.canary_out.len();
        self.canary_out
            .retain(|_, (_, at)| now.saturating_duration_since(*at) < timeout);
        before - self.canary_out.len()
    }

    /// The earliest time an outstanding canary expires.
    #[must_use]
    pub(super) fn next_canary_deadline(&self, timeout: Duration) -> Option<Instant> {
        self.canary_out
            .values()
            .filter_map(|(_, at)| at.checked_add(timeout))
            .min()
    }

    /// True when the silence of probe `seq` (sent at `sent`) says something about its port:
    /// the target never sent an ICMP error at all, or probes sent just after it drew some.
    ///
    /// One answer after a silent probe proves a token only if none came back in between: a
    /// target that refills one token per interval, probed in a stream (a scan's first pass),
    /// answers the first probe after each refill, and that answer would vouch for every
    /// probe of the previous [`WINDOW`] that the empty bucket left unanswered. So a `paced`
    /// probe (sent in a batch of two ports and a canary, microseconds apart, far below the
    /// refill interval) is vouched for by an answer from its own batch, and any other by two
    /// answers within [`WINDOW`] (two refills that close together would need a rate of
    /// hundreds of errors a second, which is no limit on a scan). With fewer than two ports
    /// known to answer, one answer is all a scan can get.
    #[must_use]
    pub(super) fn vouches(&self, seq: u64, sent: Instant, paced: bool) -> bool {
        if !self.seen_icmp {
            return true;
        }
        let mut later = self.answered.range(seq + 1..);
        if paced {
            return later.next().is_some_and(|(_, at)| *at == sent);
        }
        let need = self.canaries.len().clamp(1, 2);
        later
            .take_while(|(_, at)| at.saturating_duration_since(sent) <= WINDOW)
            .take(need)
            .count()
            == need
    }

    /// How many canaries a batch may carry: two when two ports are known to answer (an
    /// unpaced silence needs two answers after it).
    #[must_use]
    pub(super) fn wanted_canaries(&self) -> usize {
        self.canaries.len().min(2)
    }

    /// Forgets answers to probes older than `seq` (no silence before it is still judged).
    pub(super) fn prune(&mut self, seq: u64) {
        self.answered = self.answered.split_off(&seq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_answer_vouches_and_canaries_expire() {
        let t = Instant::now();
        let mut e = Evidence::default();
        assert!(e.vouches(1, t, false), "no ICMP ever: silence is genuine");
        e.record_answer(5, t);
        assert!(e.vouches(3, t, false));
        assert!(!e.vouches(5, t, false), "only probes sent after it vouch");
        e.record_answer(9, t + Duration::from_secs(1));
        assert!(!e.vouches(6, t, false), "too late to vouch");
        assert!(!e.vouches(6, t, true), "paced: only its own batch vouches");
        assert!(e.vouches(8, t + Duration::from_secs(1), true));
        e.add_canary(7);
        assert_eq!(e.pick_canary(), Some(7));
        e.canary_sent(7, 12, t);
        assert_eq!(e.pick_canary(), None);
        assert_eq!(
            e.expire_canaries(t + Duration::from_millis(600), Duration::from_millis(500)),
            1
        );
        e.canary_sent(7, 13, t);
        assert!(e.canary_answer(7));
        assert!(e.vouches(12, t, false));
        e.add_canary(8);
        assert!(
            !e.vouches(11, t, false),
            "two ports answer: one answer is not enough"
        );
        e.record_answer(14, t);
        assert!(e.vouches(11, t, false));
        e.prune(13);
        assert_eq!(e.answered.keys().copied().collect::<Vec<_>>(), vec![13, 14]);
    }
}
