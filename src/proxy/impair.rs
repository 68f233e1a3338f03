//! The impairment decisions, pure: given a seeded generator, what happens to each datagram.
//!
//! Every decision comes from a [`Rng`] (`SplitMix64`, written out here so that a seed means
//! the same decisions in every build, whatever the `rand` crate does). The proxy keeps one
//! generator per client and direction, seeded from the run's seed, the client's number (its
//! order of first appearance) and the direction, so the same seed and the same datagrams in
//! the same order give the same drops, duplicates, holds and delays, however the two
//! directions and the clients interleave.

use std::time::Duration;

/// A small, fast, reproducible generator (`SplitMix64`, Steele, Lea and Flood 2014).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator started from `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The generator of one stream of decisions: `seed` mixed with the stream's numbers.
    #[must_use]
    pub fn for_stream(seed: u64, client: u64, direction: u64) -> Self {
        let mut r = Rng(seed ^ client.wrapping_mul(0xA076_1D64_78BD_642F));
        let a = r.next_u64();
        Rng(a ^ direction.wrapping_mul(0xE703_7ED1_A0B4_28DB))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        // The top 53 bits fill a double's mantissa exactly: the casts lose nothing.
        #[allow(clippy::cast_precision_loss)]
        let (x, scale) = ((self.next_u64() >> 11) as f64, (1u64 << 53) as f64);
        x / scale
    }

    /// True with probability `p` (always draws, so a stream's position does not depend on
    /// the values of the probabilities that are zero).
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// What the proxy does to the datagrams of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Impairment {
    /// Probability that a datagram is dropped (0-1).
    pub loss: f64,
    /// Probability that a forwarded datagram is sent twice (0-1).
    pub dup: f64,
    /// Probability that a forwarded datagram is held back until the next one of its client
    /// and direction has gone, so that the two swap places (0-1).
    pub reorder: f64,
    /// Fixed delay added to every datagram.
    pub delay: Duration,
    /// Up to this much more delay, uniform, drawn for each copy (so copies can overtake each
    /// other, as on a real path with jitter).
    pub jitter: Duration,
}

impl Impairment {
    /// True when nothing is changed: datagrams are forwarded at once, as they come.
    #[must_use]
    pub fn is_none(&self) -> bool {
        self.loss <= 0.0
            && self.dup <= 0.0
            && self.reorder <= 0.0
            && self.delay.is_zero()
            && self.jitter.is_zero()
    }

    /// Draws the fate of one datagram from `rng`. Each datagram takes exactly five draws,
    /// whatever the outcome, so the decisions for datagram N depend only on N.
    pub fn decide(&self, rng: &mut Rng) -> Decision {
        let lost = rng.chance(self.loss);
        let dup = rng.chance(self.dup);
        let hold = rng.chance(self.reorder);
        let first = self.delay + self.jitter.mul_f64(rng.unit());
        let second = self.delay + self.jitter.mul_f64(rng.unit());
        if lost {
            return Decision::Drop;
        }
        Decision::Forward {
            delays: if dup {
                vec![first, second]
            } else {
                vec![first]
            },
            hold,
        }
    }
}

/// The fate of one datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Dropped (counted as lost).
    Drop,
    /// Sent once per entry of `delays`, each after its delay; `hold` keeps the first copy back
    /// until the next datagram of the same client and direction has been sent.
    Forward {
        /// The delay of each copy (one, or two for a duplicate).
        delays: Vec<Duration>,
        /// Held back to be overtaken (reordering).
        hold: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_the_reference_sequence() {
        // The first outputs of SplitMix64 seeded with 0 (reference implementation).
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn same_seed_same_decisions_other_seed_others() {
        let imp = Impairment {
            loss: 0.3,
            dup: 0.2,
            reorder: 0.1,
            delay: Duration::from_millis(5),
            jitter: Duration::from_millis(10),
        };
        let run = |seed| {
            let mut rng = Rng::for_stream(seed, 0, 0);
            (0..500).map(|_| imp.decide(&mut rng)).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let first = |client, dir| Rng::for_stream(7, client, dir).next_u64();
        let (base, other_dir, other_client) = (first(0, 0), first(0, 1), first(1, 0));
        assert!(base != other_dir && other_dir != other_client && base != other_client);
    }

    #[test]
    fn rates_match_the_probabilities() {
        let imp = Impairment {
            loss: 0.2,
            dup: 0.1,
            reorder: 0.05,
            ..Impairment::default()
        };
        let mut rng = Rng::new(1);
        let (mut lost, mut dup, mut held) = (0, 0, 0);
        let n = 100_000;
        for _ in 0..n {
            match imp.decide(&mut rng) {
                Decision::Drop => lost += 1,
                Decision::Forward { delays, hold } => {
                    dup += usize::from(delays.len() == 2);
                    held += usize::from(hold);
                }
            }
        }
        assert!((19_000..21_000).contains(&lost), "{lost}");
        // Duplicates and holds are drawn for every datagram, taken only for forwarded ones.
        assert!((7_500..8_500).contains(&dup), "{dup}");
        assert!((3_600..4_400).contains(&held), "{held}");
    }

    #[test]
    fn delays_stay_within_delay_plus_jitter() {
        let imp = Impairment {
            delay: Duration::from_millis(20),
            jitter: Duration::from_millis(30),
            ..Impairment::default()
        };
        let mut rng = Rng::new(3);
        for _ in 0..1000 {
            let Decision::Forward { delays, hold } = imp.decide(&mut rng) else {
                panic!("nothing is lost at loss 0");
            };
            assert!(!hold);
            assert_eq!(delays.len(), 1);
            assert!(
                delays[0] >= Duration::from_millis(20) && delays[0] < Duration::from_millis(50)
            );
        }
        assert!(Impairment::default().is_none());
        assert!(!imp.is_none());
    }
}
