//! The proxy's counters, per direction, readable while it runs.

use std::sync::atomic::{AtomicU64, Ordering};

/// The counters of one direction (`up`: clients to target, `down`: target to clients).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirStats {
    /// Datagrams received.
    pub received: u64,
    /// Datagrams sent on (duplicates included).
    pub forwarded: u64,
    /// Datagrams dropped on purpose (`loss`).
    pub dropped: u64,
    /// Datagrams sent a second time (`dup`).
    pub duplicated: u64,
    /// Datagrams held back that a later datagram overtook (`reorder`).
    pub reordered: u64,
    /// Copies that waited in the queue (`delay`, `jitter`, or held for reordering).
    pub delayed: u64,
    /// Datagrams dropped because the queue was full (its byte bound).
    pub overflow: u64,
    /// Datagrams the kernel refused to send (e.g. `ECONNREFUSED` after an ICMP error).
    pub send_errors: u64,
}

/// A snapshot of all counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Clients to target.
    pub up: DirStats,
    /// Target to clients.
    pub down: DirStats,
    /// Distinct clients (source addresses) seen.
    pub clients: u64,
    /// Datagrams from new clients refused because the client table was full.
    pub rejected: u64,
    /// Bytes waiting in the queue now.
    pub queued_bytes: u64,
}

/// Live counters of one direction.
#[derive(Debug, Default)]
pub(crate) struct DirCounters {
    pub received: AtomicU64,
    pub forwarded: AtomicU64,
    pub dropped: AtomicU64,
    pub duplicated: AtomicU64,
    pub reordered: AtomicU64,
    pub delayed: AtomicU64,
    pub overflow: AtomicU64,
    pub send_errors: AtomicU64,
}

/// Adds one to a counter.
pub(crate) fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl DirCounters {
    fn snapshot(&self) -> DirStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        DirStats {
            received: get(&self.received),
            forwarded: get(&self.forwarded),
            dropped: get(&self.dropped),
            duplicated: get(&self.duplicated),
            reordered: get(&self.reordered),
            delayed: get(&self.delayed),
            overflow: get(&self.overflow),
            send_errors: get(&self.send_errors),
        }
    }
}

/// All live counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub dirs: [DirCounters; 2],
    pub clients: AtomicU64,
    pub rejected: AtomicU64,
    pub queued_bytes: AtomicU64,
}

impl Counters {
    pub(super) fn snapshot(&self) -> Stats {
        Stats {
            up: self.dirs[0].snapshot(),
            down: self.dirs[1].snapshot(),
            clients: self.clients.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            queued_bytes: self.queued_bytes.load(Ordering::Relaxed),
        }
    }
}
