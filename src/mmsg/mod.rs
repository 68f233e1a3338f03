//! Batched datagram I/O, the one implementation the echo server, the load generator and the
//! scanner share: `recvmmsg`/`sendmmsg` on Linux, a `recvfrom`/`sendto` loop elsewhere (or
//! when asked with `portable`, so that the fallback is tested on Linux too).
//!
//! A [`Batch`] owns `capacity` slots allocated once: a data buffer of `slot_len` bytes each,
//! the datagram's length, a `sockaddr_storage` for its peer and, on Linux, the `iovec` and
//! `mmsghdr` arrays pointing at them (plus, with [`Batch::with_control`], an ancillary-data
//! buffer per slot for the error queue). The headers point into heap storage that never grows
//! or moves, so a `Batch` itself can be moved freely. Nothing on the hot path allocates, and
//! every call is one system call for the whole batch on Linux.
//!
//! * Receiving ([`Batch::recv`]) fills slots `0..n` with the datagrams, their lengths (a
//!   longer datagram is truncated to `slot_len`, as `recvfrom(slot_len)` does) and, for a
//!   *named* batch, their senders. [`Recv::ErrQueue`] reads the socket's error queue instead
//!   (`MSG_ERRQUEUE`, Linux): each entry's `sock_extended_err` is then read with
//!   [`Batch::extended_error`], and its name is the destination of the datagram that failed.
//! * Sending ([`Batch::send`]) sends slots `from..to`, each with its current length, to the
//!   slot's name (a *named* batch) or to the connected peer (a batch made with
//!   [`Batch::connected`]). It makes one attempt; [`Batch::send_skipping`] is the echo
//!   server's best-effort policy on top of it.
//!
//! The slots' names and data are the caller's to set for sending: an echo answers each
//! datagram in the slot it arrived in, the load generator writes sequence numbers into
//! [`Batch::slot_mut`], the scanner puts each probe in its slot with [`Batch::set_data`] and
//! aims it at a port with [`Batch::set_port`].

mod batched;
pub(crate) mod gso;
mod portable;
#[cfg(test)]
mod tests;

use std::io;
use std::net::SocketAddr;
use std::os::fd::RawFd;

use crate::addr::{self, AddrKey, RawAddr};
use crate::sys::{self, ExtendedError, Mmsg, STORAGE_LEN};

/// How [`Batch::recv`] waits and what it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Recv {
    /// Blocks for the first datagram (on a blocking socket, bounded by its `SO_RCVTIMEO`),
    /// then takes whatever else is queued (`MSG_WAITFORONE`).
    Wait,
    /// Never blocks (`MSG_DONTWAIT`).
    NoWait,
    /// Reads the error queue without blocking (`MSG_ERRQUEUE | MSG_DONTWAIT`, Linux only,
    /// always with `recvmmsg`); needs [`Batch::with_control`] to see the errors themselves.
    ErrQueue,
}

/// A set of reusable buffers for batched receive and send on one datagram socket.
pub(crate) struct Batch {
    capacity: usize,
    slot_len: usize,
    /// Distance between slots in `bufs`: `slot_len`, at least 1.
    stride: usize,
    bufs: Vec<u8>,
    lens: Vec<usize>,
    /// Whether the calls pass the slots' names (`false`: a connected socket's peer).
    named: bool,
    names: Vec<RawAddr>,
    name_lens: Vec<libc::socklen_t>,
    /// Ancillary data, `control_len` bytes a slot (empty without [`Batch::with_control`]).
    control: Vec<u64>,
    control_len: usize,
    /// Forces the portable path even where `recvmmsg`/`sendmmsg` exist.
    portable: bool,
    /// The `recvmmsg`/`sendmmsg` headers, linked to the slots once (empty elsewhere).
    mm: Mmsg,
}

impl Batch {
    /// A named batch (for an unconnected socket) of `capacity` slots of `slot_len` bytes,
    /// both at least 1, using `recvmmsg`/`sendmmsg` where they exist.
    #[must_use]
    pub(crate) fn new(capacity: usize, slot_len: usize) -> Self {
        Self::build(capacity.max(1), slot_len.max(1), true, 0, false)
    }

    /// A named batch like [`Batch::new`] that allows 0-byte slots and, with `portable`,
    /// forces the one-call-per-datagram path.
    #[must_use]
    pub(crate) fn named(capacity: usize, slot_len: usize, portable: bool) -> Self {
        Self::build(capacity.max(1), slot_len, true, 0, portable)
    }

    /// A batch for a connected socket (no names) of `count` slots of `slot_len` bytes, all
    /// filled with `fill` and ready to send whole; `portable` forces the one-call-per-datagram
    /// path even where `sendmmsg`/`recvmmsg` exist.
    #[must_use]
    pub(crate) fn connected(count: usize, slot_len: usize, fill: u8, portable: bool) -> Self {
        let mut batch = Self::build(count.max(1), slot_len, false, fill, portable);
        batch.lens.fill(slot_len);
        batch
    }

    fn build(capacity: usize, slot_len: usize, named: bool, fill: u8, portable: bool) -> Self {
        let stride = slot_len.max(1);
        let mut bufs = vec![fill; capacity * stride];
        let mut peers = vec![addr::raw_storage(); capacity];
        let name_ptr = named.then_some(peers.as_mut_ptr());
        // SAFETY: `bufs` holds capacity * stride bytes and `peers` capacity entries: heap
        // storage that moves into the batch with them and never grows or moves after.
        let mm = unsafe { Mmsg::link(bufs.as_mut_ptr(), stride, slot_len, capacity, name_ptr) };
        Batch {
            capacity,
            slot_len,
            stride,
            bufs,
            lens: vec![0; capacity],
            named,
            names: peers,
            name_lens: vec![if named { STORAGE_LEN } else { 0 }; capacity],
            control: Vec::new(),
            control_len: 0,
            portable,
            mm,
        }
    }

    /// Adds `len` bytes of ancillary data per slot (rounded up to 8), where [`Recv::ErrQueue`]
    /// receives each entry's extended error and every `recvmmsg` its control messages
    /// (such as `UDP_GRO`'s segment size, [`Batch::gso_size`]). Allocates; call it once, after
    /// construction.
    #[must_use]
    pub(crate) fn with_control(mut self, len: usize) -> Self {
        let words = len.div_ceil(8);
        self.control = vec![0; self.capacity * words];
        self.control_len = words * 8;
        self
    }

    /// Puts `data` (truncated to `slot_len`) in slot `i`, ready to send.
    pub(crate) fn set_data(&mut self, i: usize, data: &[u8]) {
        let len = data.len().min(self.slot_len);
        let start = i * self.stride;
        self.bufs[start..start + len].copy_from_slice(&data[..len]);
        self.lens[i] = len;
    }

    /// Puts `data` (truncated to `slot_len`) in slot `i` of a named batch, aimed at `name`
    /// of `name_len` bytes: a datagram taken from another batch (a segment of a GRO train).
    pub(crate) fn set_datagram(
        &mut self,
        i: usize,
        data: &[u8],
        name: &RawAddr,
        name_len: libc::socklen_t,
    ) {
        self.set_data(i, data);
        self.names[i] = *name;
        self.name_lens[i] = name_len;
    }

    /// Shortens the datagram in slot `i` to at most `max` bytes (what a receive into a
    /// `max`-byte buffer would have kept).
    pub(crate) fn truncate(&mut self, i: usize, max: usize) {
        self.lens[i] = self.lens[i].min(max);
    }

    /// The datagrams in slot `i`: the slot itself or, with `gro` and a coalesced GRO train
    /// in it, its `gso_size` pieces (the last may be shorter). A zero-length datagram is one
    /// empty piece.
    pub(crate) fn segments(&self, i: usize, gro: bool) -> impl Iterator<Item = &[u8]> {
        let data = self.data(i);
        let size = if gro { self.gso_size(i) } else { None };
        let size = size.filter(|s| *s > 0).unwrap_or(data.len()).max(1);
        let empty = data.is_empty();
        data.chunks(size).chain(empty.then_some(&[][..]))
    }

    /// How many datagrams one call can receive or send.
    #[must_use]
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// The bytes of the datagram in slot `i` (as received, possibly truncated; or as filled).
    #[must_use]
    pub(crate) fn data(&self, i: usize) -> &[u8] {
        let start = i * self.stride;
        &self.bufs[start..start + self.lens[i]]
    }

    /// The whole slot `i` (its full `slot_len` bytes), for writing a datagram to send.
    #[must_use]
    pub(crate) fn slot_mut(&mut self, i: usize) -> &mut [u8] {
        let start = i * self.stride;
        &mut self.bufs[start..start + self.slot_len]
    }

    /// The length of the datagram in slot `i`.
    #[must_use]
    pub(crate) fn len_of(&self, i: usize) -> usize {
        self.lens[i]
    }

    /// The peer of slot `i` as a compact key (no allocation, no formatting).
    #[must_use]
    pub(crate) fn key(&self, i: usize) -> AddrKey {
        addr::raw_key(&self.names[i])
    }

    /// The peer of slot `i` as a `SocketAddr` (`None` for a family other than IPv4/IPv6, or
    /// in a batch without names).
    #[must_use]
    pub(crate) fn addr(&self, i: usize) -> Option<SocketAddr> {
        let len = self.name_lens[i].min(STORAGE_LEN);
        // SAFETY: `names[i]` is a whole sockaddr_storage and `len` is at most its size.
        unsafe { addr::from_raw(&raw const self.names[i], len) }
    }

    /// The raw peer address of slot `i` and its length, for `sendto`.
    #[must_use]
    pub(crate) fn raw_addr(&self, i: usize) -> (&RawAddr, libc::socklen_t) {
        (&self.names[i], self.name_lens[i])
    }

    /// Aims every slot at `addr` (a named batch), to be re-aimed per slot with
    /// [`Batch::set_port`].
    pub(crate) fn set_addr_all(&mut self, addr: &SocketAddr) {
        let (raw, len) = addr::to_raw(addr);
        self.names.fill(raw);
        self.name_lens.fill(len);
    }

    /// Aims slot `i` at `port` of the host its name holds.
    pub(crate) fn set_port(&mut self, i: usize, port: u16) {
        addr::set_raw_port(&mut self.names[i], port);
    }

    /// Receives up to `max` (at most `capacity`) datagrams from `fd` into slots `0..n` and
    /// returns `n`, waiting as `mode` says.
    ///
    /// # Errors
    /// The system call's error, as it is: `WouldBlock` when nothing is queued (or the timeout
    /// passed), a pending ICMP error such as `ECONNREFUSED`, ... An error after the first
    /// datagram of the portable loop ends the batch instead.
    pub(crate) fn recv(&mut self, fd: RawFd, max: usize, mode: Recv) -> io::Result<usize> {
        let max = max.min(self.capacity);
        if max == 0 {
            return Ok(0);
        }
        if Mmsg::AVAILABLE && (!self.portable || mode == Recv::ErrQueue) {
            return self.recv_mmsg(fd, max, mode);
        }
        self.recv_each(fd, max, mode)
    }

    /// Sends slots `from..to`, each with its length, to each slot's name (or the connected
    /// peer) in one attempt, and returns how many the kernel took: at least one unless the
    /// range is empty. `nonblocking` adds `MSG_DONTWAIT`.
    ///
    /// # Errors
    /// The error of the first datagram, when not even that one was sent.
    pub(crate) fn send(
        &mut self,
        fd: RawFd,
        from: usize,
        to: usize,
        nonblocking: bool,
    ) -> io::Result<usize> {
        let to = to.min(self.capacity);
        if from >= to {
            return Ok(0);
        }
        let flags = if nonblocking { libc::MSG_DONTWAIT } else { 0 };
        if Mmsg::AVAILABLE && !self.portable {
            return self.send_mmsg(fd, from, to, flags);
        }
        self.send_each(fd, from..to, flags)
    }

    /// Sends slots `from..to` as [`Batch::send`] does until all are handed to the kernel,
    /// skipping a slot the kernel refuses (say, an unreachable sender) rather than retrying
    /// it, and retrying after `EINTR`. Returns how many were sent.
    ///
    /// With `nonblocking`, stops early on `WouldBlock`; the rest of the range is not sent.
    pub(crate) fn send_skipping(
        &mut self,
        fd: RawFd,
        from: usize,
        to: usize,
        nonblocking: bool,
    ) -> usize {
        let to = to.min(self.capacity);
        let mut sent = 0;
        let mut i = from;
        while i < to {
            match self.send(fd, i, to, nonblocking) {
                Ok(n) => {
                    sent += n;
                    i += n;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if nonblocking && e.kind() == io::ErrorKind::WouldBlock => break,
                // The first datagram of the rest failed on its own: skip it.
                Err(_) => i += 1,
            }
        }
        sent
    }

    /// Bytes of slots `from..to` as one run; for a connected batch whose slots are all
    /// `slot_len` long, that is `to - from` whole datagrams back to back (a GSO send).
    #[must_use]
    pub(crate) fn span(&self, from: usize, to: usize) -> &[u8] {
        let to = to.min(self.capacity);
        &self.bufs[from.min(to) * self.stride..to * self.stride]
    }

    /// The extended error of error-queue entry `i` of the last [`Recv::ErrQueue`] receive
    /// (`IP_RECVERR` or `IPV6_RECVERR` ancillary data), if it carried one.
    #[must_use]
    pub(crate) fn extended_error(&self, i: usize) -> Option<ExtendedError> {
        self.mm.extended_error(i)
    }

    /// The segment size of slot `i` when the last receive coalesced several datagrams into
    /// it (the `UDP_GRO` control message; needs [`Batch::with_control`]); `None` for a single
    /// datagram, or where the kernel has no GRO.
    #[must_use]
    pub(crate) fn gso_size(&self, i: usize) -> Option<usize> {
        if self.portable {
            return None;
        }
        self.mm.gso_size(i)
    }
}

// SAFETY: a Batch owns every buffer its headers point at (heap storage that never moves),
// so moving it to another thread (e.g. into a call that released the GIL) moves them along.
unsafe impl Send for Batch {}

/// A batch call's result as a count, with "nothing to do now" (`WouldBlock`) meaning 0.
///
/// # Errors
/// Any other error, as it is.
pub(crate) fn would_block_as_zero(r: io::Result<usize>) -> io::Result<usize> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
        other => other,
    }
}

/// Sends one datagram to a raw socket address (`addr_len` 0: to the connected peer).
///
/// # Errors
/// The system call's error.
pub(crate) fn send_to_raw(
    fd: RawFd,
    data: &[u8],
    addr: &RawAddr,
    addr_len: libc::socklen_t,
    flags: libc::c_int,
) -> io::Result<usize> {
    sys::send_to(fd, data, addr, addr_len, flags)
}
