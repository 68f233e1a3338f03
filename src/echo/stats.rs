//! Counters shared by the workers of an echo server and readable while it runs.
//!
//! Workers add to the atomics once per batch (not per datagram). Distinct senders are counted
//! with a per-worker set in front of one shared set, so the shared lock is taken only for a
//! sender the worker has not seen before.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::guard::GuardCounters;
use crate::addr::AddrKey;

/// The most distinct senders remembered; beyond it new senders are no longer counted (a
/// bound on memory under spoofed floods).
pub(super) const MAX_CLIENTS: usize = 1 << 20;

/// A snapshot of the counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Datagrams received (the stop sentinel included).
    pub datagrams: u64,
    /// Payload bytes received (after truncation to the buffer size).
    pub bytes: u64,
    /// Distinct senders (address and port).
    pub clients: u64,
    /// Datagrams lost: dropped by the kernel because a receive queue was full, replies that
    /// could not be sent or queued, and log lines that could not be written.
    pub drops: u64,
    /// Datagrams the guard dropped, per `Reason` (in
    /// `Reason::ALL` order); not counted in `datagrams`.
    pub guarded: [u64; 7],
    /// Lines not printed because stdout did not keep up (or was gone).
    pub unprinted: u64,
}

/// The live counters.
#[derive(Debug, Default)]
pub(super) struct Counters {
    datagrams: AtomicU64,
    bytes: AtomicU64,
    clients: AtomicU64,
    drops: AtomicU64,
    unprinted: AtomicU64,
    /// The guard's drops.
    pub guard: GuardCounters,
    seen: Mutex<HashSet<AddrKey>>,
    /// Receives that held a coalesced GRO train (what the tests check the path with).
    #[cfg(test)]
    pub trains: AtomicU64,
}

impl Counters {
    /// Adds one batch's datagrams and bytes.
    pub(super) fn add_batch(&self, datagrams: u64, bytes: u64) {
        self.datagrams.fetch_add(datagrams, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Adds datagrams lost.
    pub(super) fn add_drops(&self, n: u64) {
        if n > 0 {
            self.drops.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Adds lines that could not be printed.
    pub(super) fn add_unprinted(&self, n: u64) {
        if n > 0 {
            self.unprinted.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Records a sender that one worker has just seen for the first time.
    fn add_client(&self, key: AddrKey) {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() < MAX_CLIENTS && seen.insert(key) {
            self.clients.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The current values.
    #[must_use]
    pub(super) fn snapshot(&self) -> Stats {
        Stats {
            datagrams: self.datagrams.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            clients: self.clients.load(Ordering::Relaxed),
            drops: self.drops.load(Ordering::Relaxed),
            guarded: self.guard.snapshot(),
            unprinted: self.unprinted.load(Ordering::Relaxed),
        }
    }
}

/// One worker's view of the senders it has seen, with a one-entry cache for the common case
/// of consecutive datagrams from the same sender.
#[derive(Debug, Default)]
pub(super) struct ClientTracker {
    last: Option<AddrKey>,
    seen: HashSet<AddrKey>,
}

impl ClientTracker {
    /// Notes a datagram from `key`, counting the sender once across all workers.
    #[inline]
    pub(super) fn note(&mut self, key: AddrKey, counters: &Counters) {
        if self.last == Some(key) {
            return;
        }
        self.last = Some(key);
        if self.seen.len() < MAX_CLIENTS && self.seen.insert(key) {
            counters.add_client(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mmsg::{Batch, Recv};
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;
    use std::time::Duration;

    #[test]
    fn clients_are_counted_once_across_trackers() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        for s in [&a, &b, &a] {
            s.send_to(b"x", server.local_addr().unwrap()).unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
        let mut batch = Batch::new(8, 8);
        let n = batch.recv(server.as_raw_fd(), 8, Recv::Wait).unwrap();
        assert_eq!(n, 3);
        let counters = Counters::default();
        let (mut t1, mut t2) = (ClientTracker::default(), ClientTracker::default());
        for i in 0..n {
            t1.note(batch.key(i), &counters);
            t2.note(batch.key(i), &counters);
        }
        counters.add_batch(3, 3);
        counters.add_drops(2);
        let s = counters.snapshot();
        assert_eq!((s.datagrams, s.bytes, s.clients, s.drops), (3, 3, 2, 2));
    }
}
