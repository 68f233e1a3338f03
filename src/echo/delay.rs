//! Replies held back for `delay` (exercise 10).
//!
//! The práctica's `time.sleep(3)` before each echo freezes the whole server: while it sleeps
//! nothing is received, and N datagrams queued at once are answered after 3, 6, ... 3N s.
//! udpeco keeps receiving while replies wait, and sends each reply `delay` after its own
//! datagram arrived, so no client waits longer than the práctica's sleep for its own
//! datagram, and none is held up by the others. As the delay is the same for every
//! datagram, a first-in first-out queue sends replies in the order received, per client and
//! overall.

use std::collections::VecDeque;
use std::os::fd::RawFd;
use std::time::Instant;

use crate::mmsg::{send_to_raw, Batch};

/// One reply waiting for its time.
struct Pending {
    due: Instant,
    socket: usize,
    addr: libc::sockaddr_storage,
    addr_len: libc::socklen_t,
    data: Vec<u8>,
}

/// The memory one queued reply takes besides its data.
pub(super) const ENTRY_OVERHEAD: usize = std::mem::size_of::<Pending>();

/// The queue of replies waiting for their time, bounded in bytes: each reply counts its data
/// plus [`ENTRY_OVERHEAD`].
pub(super) struct DelayQueue {
    queue: VecDeque<Pending>,
    limit: usize,
    bytes: usize,
}

impl DelayQueue {
    /// An empty queue holding at most `limit` bytes of replies.
    #[must_use]
    pub(super) fn new(limit: usize) -> Self {
        DelayQueue {
            queue: VecDeque::new(),
            limit,
            bytes: 0,
        }
    }

    /// Queues the echo of `batch` slot `i`, received on `socket`, for `due`; `false` when
    /// the queue is full (the caller counts a drop).
    pub(super) fn push_slot(
        &mut self,
        batch: &Batch,
        i: usize,
        socket: usize,
        due: Instant,
    ) -> bool {
        let (addr, addr_len) = batch.raw_addr(i);
        self.push(*addr, addr_len, batch.data(i).to_vec(), socket, due)
    }

    /// Queues `data` for the sender of `batch` slot `i`.
    pub(super) fn push_to_sender(
        &mut self,
        batch: &Batch,
        i: usize,
        data: &[u8],
        socket: usize,
        due: Instant,
    ) -> bool {
        let (addr, addr_len) = batch.raw_addr(i);
        self.push(*addr, addr_len, data.to_vec(), socket, due)
    }

    fn push(
        &mut self,
        addr: libc::sockaddr_storage,
        addr_len: libc::socklen_t,
        data: Vec<u8>,
        socket: usize,
        due: Instant,
    ) -> bool {
        let cost = data.len() + ENTRY_OVERHEAD;
        if self.bytes + cost > self.limit {
            return false;
        }
        self.bytes += cost;
        self.queue.push_back(Pending {
            due,
            socket,
            addr,
            addr_len,
            data,
        });
        true
    }

    /// When the next reply is due.
    #[must_use]
    pub(super) fn next_due(&self) -> Option<Instant> {
        self.queue.front().map(|p| p.due)
    }

    /// True when nothing waits.
    #[must_use]
    pub(super) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Sends every reply due by `now` through `fds[socket]`; returns how many failed.
    pub(super) fn send_due(&mut self, now: Instant, fds: &[RawFd]) -> u64 {
        let mut failed = 0;
        while self.queue.front().is_some_and(|p| p.due <= now) {
            let Some(p) = self.queue.pop_front() else {
                break;
            };
            self.bytes -= p.data.len() + ENTRY_OVERHEAD;
            if send_to_raw(fds[p.socket], &p.data, &p.addr, p.addr_len, 0).is_err() {
                failed += 1;
            }
        }
        if self.queue.is_empty() && self.queue.capacity() > 4096 {
            // A burst is over: give its memory back.
            self.queue.shrink_to(4096);
        }
        failed
    }
}
