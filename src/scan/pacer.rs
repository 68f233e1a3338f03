//! A token bucket that spaces probes out to a rate (probes per second).

use std::time::{Duration, Instant};

/// Allows `rate` probes per second on average, with bursts of at most `burst` probes.
#[derive(Clone, Debug)]
pub(super) struct Pacer {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Pacer {
    /// A bucket that starts full (one burst may go at once).
    #[must_use]
    pub(super) fn new(rate: f64, burst: f64, now: Instant) -> Self {
        let burst = burst.max(1.0);
        Pacer {
            rate: rate.max(f64::MIN_POSITIVE),
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// The current rate in probes per second.
    #[must_use]
    pub(super) fn rate(&self) -> f64 {
        self.rate
    }

    /// Changes the rate (tokens earned so far are kept).
    pub(super) fn set_rate(&mut self, rate: f64, now: Instant) {
        self.refill(now);
        self.rate = rate.max(f64::MIN_POSITIVE);
    }

    fn refill(&mut self, now: Instant) {
        let earned = now.saturating_duration_since(self.last).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + earned).min(self.burst);
        self.last = now;
    }

    /// How many probes may go now.
    pub(super) fn available(&mut self, now: Instant) -> usize {
        self.refill(now);
        // Truncation is the point: whole tokens only; `tokens` is never negative.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let whole = self.tokens.floor() as usize;
        whole
    }

    /// Spends `n` tokens (after [`Pacer::available`] said they are there).
    pub(super) fn take(&mut self, n: usize) {
        // Counts of probes are far below 2^52: exact in f64.
        #[allow(clippy::cast_precision_loss)]
        let n = n as f64;
        self.tokens -= n;
    }

    /// Time until the next whole token.
    #[must_use]
    pub(super) fn wait(&self, now: Instant) -> Duration {
        let have = self.tokens + now.saturating_duration_since(self.last).as_secs_f64() * self.rate;
        if have >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(((1.0 - have) / self.rate).min(3600.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spends_a_burst_then_paces() {
        let t0 = Instant::now();
        let mut p = Pacer::new(100.0, 4.0, t0);
        assert_eq!(p.available(t0), 4);
        p.take(4);
        assert_eq!(p.available(t0), 0);
        assert!(p.wait(t0) > Duration::from_millis(9));
        assert_eq!(
            p.available(t0 + Duration::from_millis(55)),
            4,
            "capped at the burst"
        );
        p.take(4);
        p.set_rate(10.0, t0 + Duration::from_millis(55));
        assert_eq!(p.available(t0 + Duration::from_millis(155)), 1);
    }
}
