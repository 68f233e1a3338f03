//! What the scanner knows about each port while it runs.

use std::time::{Duration, Instant};

use super::verdict::State;

/// No slot for this port (it is not being scanned).
const NONE: u32 = u32::MAX;

/// One scanned port.
#[derive(Clone, Debug)]
pub struct Slot {
    /// The port number.
    pub port: u16,
    /// The verdict, once known.
    pub state: Option<State>,
    /// Probes sent so far.
    pub probes: u32,
    /// Probes that went unanswered while the target was shown to be able to answer
    /// (ICMP errors were not being rate limited at that moment).
    pub silences: u32,
    /// Of those, silences counted only because the target sent no ICMP error at all for a
    /// whole refill period (no probe showed it able to answer): no evidence of loss.
    pub blind: u32,
    /// Probes whose silence nothing vouched for while the target rate-limited its errors: they
    /// do not count towards the probe cap (a closed port behind an empty bucket is not silent).
    pub unvouched: u32,
    /// True when the latest probe went out in a paced batch (see [`super::evidence`]).
    pub paced: bool,
    /// Sequence number of the latest probe (probes are numbered in send order).
    pub seq: u64,
    /// True while the latest probe waits for an answer.
    pub in_flight: bool,
    /// When the latest probe left.
    pub sent_at: Option<Instant>,
    /// The first datagram received from the port.
    pub reply: Option<Vec<u8>>,
    /// Round-trip time of the answer to the latest probe.
    pub rtt: Option<Duration>,
    /// The service a reply named (it answered one of the port's protocol probes).
    pub service: Option<&'static str>,
    /// Why the verdict (nmap's `--reason` word).
    pub reason: &'static str,
}

/// The slots of a scan, in the caller's order, with a port-number index.
pub(super) struct Table {
    /// The slots, in the order the ports were given.
    pub slots: Vec<Slot>,
    index: Vec<u32>,
}

impl Table {
    /// A table for `ports` (repeated ports are scanned once).
    #[must_use]
    pub(super) fn new(ports: &[u16]) -> Self {
        let mut index = vec![NONE; 65536];
        let mut slots = Vec::with_capacity(ports.len());
        for &port in ports {
            if index[usize::from(port)] == NONE {
                index[usize::from(port)] = u32::try_from(slots.len()).unwrap_or(NONE);
                slots.push(Slot {
                    port,
                    state: None,
                    probes: 0,
                    silences: 0,
                    blind: 0,
                    unvouched: 0,
                    paced: false,
                    seq: 0,
                    in_flight: false,
                    sent_at: None,
                    reply: None,
                    rtt: None,
                    service: None,
                    reason: super::verdict::NO_RESPONSE,
                });
            }
        }
        Table { slots, index }
    }

    /// The slot index of `port`, if it is scanned.
    #[must_use]
    pub(super) fn find(&self, port: u16) -> Option<usize> {
        match self.index[usize::from(port)] {
            NONE => None,
            i => usize::try_from(i).ok(),
        }
    }
}
