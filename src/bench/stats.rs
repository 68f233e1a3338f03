//! The figures of a run, as wrk2, iperf3 and sockperf report them.
//!
//! - Round trips go into two HDR histograms ([`hdrhistogram`], 3 significant digits, 1 ns
//!   to 100 s): one timed from the moment each datagram was **due** (its intended send time
//!   in the open loop: wrk2's correction for coordinated omission) and one from the moment
//!   it was actually sent (the uncorrected figure, kept for comparison). In the closed loop
//!   a datagram is due when it is sent, so both are equal.
//! - Jitter is RFC 3550's interarrival jitter computed as iperf3 does: for each reply, the
//!   transit time is its arrival minus the sender timestamp carried in the datagram, and
//!   `J += (|D| - J) / 16` where `D` is the change of transit time from the previous reply.
//! - Loss, duplicates and out-of-order replies are counted by the sequence number each
//!   datagram carries.
//!
//! Values are recorded in per-interval histograms, which are added to the totals at the end
//! of each interval, so each reply costs two histogram records.

use std::time::Duration;

use hdrhistogram::Histogram;

/// Highest round trip recorded exactly, in ns (higher values are recorded as this).
const HIGHEST_NS: u64 = 100_000_000_000;

/// Cumulative counters of the measured phase.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Datagrams sent.
    pub sent: u64,
    /// First replies in time (each datagram counted once).
    pub received: u64,
    /// Datagrams given up (a silent window in the closed loop, a whole ring of later ones).
    pub given_up: u64,
    /// Replies that came after their datagram was given up.
    pub late: u64,
    /// Second and later replies to one datagram.
    pub duplicates: u64,
    /// First replies whose sequence number is below the highest received before.
    pub out_of_order: u64,
    /// Datagrams that match nothing sent (too short, unknown or too old sequence number).
    pub stray: u64,
}

impl Counts {
    /// The counts since `earlier`.
    #[must_use]
    pub fn since(&self, earlier: &Counts) -> Counts {
        Counts {
            sent: self.sent - earlier.sent,
            received: self.received - earlier.received,
            given_up: self.given_up - earlier.given_up,
            late: self.late - earlier.late,
            duplicates: self.duplicates - earlier.duplicates,
            out_of_order: self.out_of_order - earlier.out_of_order,
            stray: self.stray - earlier.stray,
        }
    }
}

/// Round-trip percentiles in nanoseconds (0 when nothing was recorded).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Latency {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// 99.99th percentile.
    pub p9999: u64,
    /// Fastest.
    pub min: u64,
    /// Slowest.
    pub max: u64,
    /// Mean.
    pub mean: f64,
    /// How many round trips.
    pub count: u64,
}

impl Latency {
    fn of(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        Latency {
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            p9999: h.value_at_quantile(0.9999),
            min: h.min(),
            max: h.max(),
            mean: h.mean(),
            count: h.len(),
        }
    }
}

/// The figures of one interval (or of the whole measured phase).
#[derive(Clone, Debug, Default)]
pub struct Interval {
    /// Start, since the end of the warm-up.
    pub start: Duration,
    /// End, since the end of the warm-up.
    pub end: Duration,
    /// Counts within the interval.
    pub counts: Counts,
    /// Interarrival jitter at the end of the interval, ns.
    pub jitter_ns: f64,
    /// Round trips from the due time (wrk2's corrected figure).
    pub latency: Latency,
    /// Round trips from the actual send.
    pub uncorrected: Latency,
}

impl Interval {
    /// First replies per second within the interval.
    #[must_use]
    #[allow(clippy::cast_precision_loss)]
    pub fn rate(&self) -> f64 {
        let secs = self.end.saturating_sub(self.start).as_secs_f64();
        if secs > 0.0 {
            self.counts.received as f64 / secs
        } else {
            0.0
        }
    }
}

/// A fresh histogram for round trips in ns.
fn histogram() -> Histogram<u64> {
    // The bounds are constants that hdrhistogram accepts.
    Histogram::new_with_bounds(1, HIGHEST_NS, 3).unwrap_or_else(|_| Histogram::new(3).unwrap())
}

/// Everything measured, updated per reply.
pub(super) struct Stats {
    /// Cumulative counters.
    pub counts: Counts,
    corrected: Histogram<u64>,
    uncorrected: Histogram<u64>,
    total_corrected: Histogram<u64>,
    total_uncorrected: Histogram<u64>,
    jitter: f64,
    prev_transit: Option<i64>,
    highest_seq: Option<u64>,
    /// Counters and time at the start of the current interval.
    mark: (Counts, Duration),
    /// Due time and send time are the same (the closed loop): one histogram serves both.
    same: bool,
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

impl Stats {
    /// Empty figures.
    #[must_use]
    pub(super) fn new() -> Self {
        Stats {
            counts: Counts::default(),
            corrected: histogram(),
            uncorrected: histogram(),
            total_corrected: histogram(),
            total_uncorrected: histogram(),
            jitter: 0.0,
            prev_transit: None,
            highest_seq: None,
            mark: (Counts::default(), Duration::ZERO),
            same: false,
        }
    }

    /// Empty figures for a mode where every datagram is due when it is sent: the
    /// uncorrected round trips are the corrected ones, recorded once.
    #[must_use]
    pub(super) fn due_when_sent() -> Self {
        Stats {
            same: true,
            ..Stats::new()
        }
    }

    /// Forgets everything (the end of the warm-up).
    pub(super) fn reset(&mut self) {
        self.counts = Counts::default();
        self.corrected.reset();
        self.uncorrected.reset();
        self.total_corrected.reset();
        self.total_uncorrected.reset();
        self.jitter = 0.0;
        self.prev_transit = None;
        self.highest_seq = None;
        self.mark = (Counts::default(), Duration::ZERO);
    }

    /// A first reply in time to datagram `seq`: `corrected_ns` from its due time,
    /// `uncorrected_ns` from its send, and its transit (arrival minus the sender timestamp
    /// it carries) for the jitter.
    #[allow(clippy::cast_precision_loss)]
    pub(super) fn reply(
        &mut self,
        seq: u64,
        corrected_ns: u64,
        uncorrected_ns: u64,
        transit_ns: i64,
    ) {
        self.counts.received += 1;
        self.corrected.saturating_record(corrected_ns.max(1));
        if !self.same {
            self.uncorrected.saturating_record(uncorrected_ns.max(1));
        }
        if let Some(prev) = self.prev_transit {
            let d = transit_ns.saturating_sub(prev).unsigned_abs() as f64;
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.prev_transit = Some(transit_ns);
        match self.highest_seq {
            Some(h) if seq < h => self.counts.out_of_order += 1,
            _ => self.highest_seq = Some(seq),
        }
    }

    /// The current interarrival jitter, ns.
    #[must_use]
    pub(super) fn jitter_ns(&self) -> f64 {
        self.jitter
    }

    /// Ends the current interval at `now` (since the end of the warm-up): its figures, whose
    /// round trips are then added to the totals.
    pub(super) fn end_interval(&mut self, now: Duration) -> Interval {
        let interval = Interval {
            start: self.mark.1,
            end: now,
            counts: self.counts.since(&self.mark.0),
            jitter_ns: self.jitter,
            latency: Latency::of(&self.corrected),
            uncorrected: Latency::of(if self.same {
                &self.corrected
            } else {
                &self.uncorrected
            }),
        };
        // Same bounds on both sides: adding cannot fail.
        let _ = self.total_corrected.add(&self.corrected);
        let _ = self.total_uncorrected.add(&self.uncorrected);
        self.corrected.reset();
        self.uncorrected.reset();
        self.mark = (self.counts, now);
        interval
    }

    /// The round trips of the whole run so far (corrected, uncorrected); call after
    /// [`Stats::end_interval`] so that the last interval is included.
    #[must_use]
    pub(super) fn totals(&self) -> (Latency, Latency) {
        let corrected = Latency::of(&self.total_corrected);
        if self.same {
            (corrected, corrected)
        } else {
            (corrected, Latency::of(&self.total_uncorrected))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_uniform_range_are_within_a_thousandth() {
        let mut s = Stats::new();
        for v in 1..=100_000u64 {
            s.reply(v, v * 10, v, 0);
        }
        s.end_interval(Duration::from_secs(1));
        let (c, u) = s.totals();
        assert_eq!(c.count, 100_000);
        for (got, exact) in [
            (c.p50, 500_000.0),
            (c.p90, 900_000.0),
            (c.p99, 990_000.0),
            (c.p999, 999_000.0),
            (c.p9999, 999_900.0),
        ] {
            #[allow(clippy::cast_precision_loss)]
            let err = (got as f64 - exact).abs() / exact;
            assert!(err < 0.002, "{got} vs {exact}");
        }
        assert!(c.max >= 999_000 && c.min <= 10);
        assert!(u.p50 < c.p50 / 5, "the uncorrected histogram is separate");
        let mut same = Stats::due_when_sent();
        same.reply(1, 700, 700, 0);
        let iv = same.end_interval(Duration::from_secs(1));
        assert_eq!(iv.uncorrected, iv.latency);
        assert_eq!(same.totals().0.p50, same.totals().1.p50);
        assert!(same.totals().1.p50 >= 699);
    }

    #[test]
    fn jitter_follows_rfc_3550() {
        let mut s = Stats::new();
        // Transit alternating 1000 and 3000 ns: |D| is always 2000, J converges to it.
        for i in 0..200u64 {
            s.reply(i, 1, 1, if i % 2 == 0 { 1000 } else { 3000 });
        }
        assert!((s.jitter_ns() - 2000.0).abs() < 1.0, "{}", s.jitter_ns());
        // One step: J = 0 + (500 - 0) / 16.
        let mut t = Stats::new();
        t.reply(0, 1, 1, 100);
        t.reply(1, 1, 1, 600);
        assert!((t.jitter_ns() - 31.25).abs() < 1e-9);
    }

    #[test]
    fn reordering_and_intervals() {
        let mut s = Stats::new();
        for seq in [0, 1, 3, 2, 4, 6, 5] {
            s.reply(seq, 5, 5, 0);
        }
        assert_eq!(s.counts.out_of_order, 2);
        let first = s.end_interval(Duration::from_secs(1));
        assert_eq!(first.counts.received, 7);
        assert_eq!(first.latency.count, 7);
        s.reply(7, 9, 9, 0);
        let second = s.end_interval(Duration::from_secs(2));
        assert_eq!(second.start, Duration::from_secs(1));
        assert_eq!(second.counts.received, 1);
        assert_eq!(second.counts.out_of_order, 0);
        assert_eq!(s.totals().0.count, 8);
        s.reset();
        assert_eq!(s.counts, Counts::default());
        assert_eq!(s.end_interval(Duration::from_secs(3)).latency.count, 0);
        assert_eq!(s.totals().0.count, 0);
    }
}
