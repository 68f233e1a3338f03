//! Batched datagram I/O beyond the stdlib: many datagrams per system call.
//!
//! * Receiving ([`recv_batch`]) is one `recvmmsg` into a [`Batch`] (a `recvfrom` loop on the
//!   portable path). When the socket has `UDP_GRO` on, the kernel may coalesce equal-size
//!   datagrams from one peer into one buffer of up to 64 datagrams, with their size in a
//!   `UDP_GRO` control message; [`segments`] splits such a buffer back into datagrams, so
//!   the caller sees exactly the datagrams that were sent.
//! * Sending ([`send_many`]) is one `sendmmsg` per 1024 messages. With `gso`, each run of
//!   consecutive datagrams of equal size to one destination becomes a single message with a
//!   `UDP_SEGMENT` control message (UDP GSO: the kernel cuts it back into datagrams, which
//!   is far cheaper than one message each). A destination or kernel that refuses GSO makes
//!   the rest of the call go without it. The portable path is a `sendto` loop.

use std::io::{self, IoSlice};
use std::os::fd::RawFd;

use super::{run, Dir};
use crate::addr::{self, RawAddr};
use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::mmsg::{send_to_raw, Batch, Recv};
use crate::socket::Mode;
use crate::sys;

/// The most messages one `recvmmsg`/`sendmmsg` takes (Linux's `UIO_MAXIOV`).
pub(crate) const MAX_BATCH: usize = 1024;
/// The most datagrams one GSO send carries, and one GRO buffer holds (64 on every kernel
/// that has them).
pub(crate) use crate::mmsg::gso::{GRO_SLOT, MAX_SEGMENTS as GSO_MAX_SEGMENTS};
/// The largest UDP payload of one IPv4 packet: a GSO send may not exceed it in total.
pub(crate) const GSO_MAX_BYTES: usize = 65_507;

pub(crate) use crate::sys::{gro_enabled, UDP_GRO, UDP_SEGMENT};

/// How to receive up to `max_count` datagrams of at most `bufsize` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RecvPlan {
    /// Messages to ask the kernel for.
    pub slots: usize,
    /// Bytes per message.
    pub slot_len: usize,
    /// Whether messages may be coalesced (GRO) and must be split with [`segments`].
    pub gro: bool,
}

/// The plan for `recv_many(max_count, bufsize)`: one slot per datagram without GRO; with
/// GRO, 64 KiB slots, one per 64 datagrams asked for (at least one), so that a call returns
/// at most `max(max_count, 64)` datagrams.
#[must_use]
pub(crate) fn recv_plan(max_count: usize, bufsize: usize, gro: bool) -> RecvPlan {
    let count = max_count.clamp(1, MAX_BATCH);
    if gro {
        RecvPlan {
            slots: (count / GSO_MAX_SEGMENTS).max(1),
            slot_len: bufsize.max(GRO_SLOT),
            gro,
        }
    } else {
        RecvPlan {
            slots: count,
            slot_len: bufsize.max(1),
            gro,
        }
    }
}

/// Receives into `batch` (made for `plan`) under `mode`: waits for the first datagram as the
/// mode says, then takes what is queued, up to `plan.slots` messages, in one call. Returns
/// the number of messages.
///
/// # Errors
/// As [`run`]: `EAGAIN` when non-blocking and nothing is queued, [`Error::Timeout`], a
/// pending socket error (`ECONNREFUSED`), ...
pub(crate) fn recv_batch(
    fd: RawFd,
    batch: &mut Batch,
    plan: RecvPlan,
    mode: Mode,
    cancel: &Cancel,
) -> Result<usize> {
    run(fd, mode, Dir::Recv, 0, cancel, |flags| {
        let how = if flags & libc::MSG_DONTWAIT == 0 {
            Recv::Wait // only after a shutdown of reading, when it returns at once
        } else {
            Recv::NoWait
        };
        batch.recv(fd, plan.slots, how)
    })
}

/// One datagram for [`send_many`]: its bytes and destination (`None`: the connected peer).
#[derive(Clone, Copy)]
pub(crate) struct Outgoing<'a> {
    /// The payload.
    pub data: &'a [u8],
    /// The destination as a raw address and its length.
    pub to: Option<(RawAddr, libc::socklen_t)>,
}

impl Outgoing<'_> {
    fn same_peer(&self, other: &Outgoing<'_>) -> bool {
        match (&self.to, &other.to) {
            (None, None) => true,
            (Some((a, la)), Some((b, lb))) => la == lb && addr::raw_key(a) == addr::raw_key(b),
            _ => false,
        }
    }
}

/// One message of a send: `count` datagrams from `start`, as one GSO send when `count > 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Message {
    start: usize,
    count: usize,
}

/// Groups `items[from..]` into messages: runs of equal, non-zero size to one peer (up to
/// [`GSO_MAX_SEGMENTS`] and [`GSO_MAX_BYTES`]) when `gso`, else one datagram each.
fn plan(items: &[Outgoing<'_>], from: usize, gso: bool) -> Vec<Message> {
    let mut out = Vec::new();
    let mut i = from;
    while i < items.len() {
        let len = items[i].data.len();
        let mut j = i + 1;
        if gso && len > 0 {
            let most = GSO_MAX_SEGMENTS.min(GSO_MAX_BYTES / len);
            while j < items.len()
                && j - i < most
                && items[j].data.len() == len
                && items[j].same_peer(&items[i])
            {
                j += 1;
            }
        }
        out.push(Message {
            start: i,
            count: j - i,
        });
        i = j;
    }
    out
}

/// Errors with which a kernel or route refuses a GSO send (no `UDP_SEGMENT`, a segment
/// larger than the route's MTU: `EINVAL` before Linux 6.x, `EMSGSIZE` since, a device
/// without checksum offload). A GSO message never exceeds [`GSO_MAX_BYTES`], so `EMSGSIZE`
/// cannot be its datagrams' own error; if it is, the retry without GSO reports it.
fn refuses_gso(err: &Error) -> bool {
    matches!(
        err.errno(),
        Some(libc::EINVAL | libc::EMSGSIZE | libc::EIO | libc::ENOPROTOOPT | libc::EOPNOTSUPP)
    )
}

/// Sends `items` in order and returns how many datagrams were sent: all of them, unless the
/// socket is non-blocking and its buffer fills, a timeout passes while waiting for room, or
/// a datagram fails after others were sent (then the count so far, as `sendmmsg` does; the
/// next call reports the failing datagram's error).
///
/// # Errors
/// The error of the first datagram when none was sent; [`Error::Interrupted`] always.
pub(crate) fn send_many(
    fd: RawFd,
    items: &[Outgoing<'_>],
    mode: Mode,
    cancel: &Cancel,
    gso: bool,
    portable: bool,
) -> Result<usize> {
    let mut sent = 0;
    let outcome = if portable || !sys::Mmsg::AVAILABLE {
        send_each(fd, items, mode, cancel, &mut sent)
    } else {
        send_batched(fd, items, mode, cancel, gso, &mut sent)
    };
    match outcome {
        Ok(()) => Ok(sent),
        Err(Error::Interrupted) => Err(Error::Interrupted),
        Err(_) if sent > 0 => Ok(sent),
        Err(e) => Err(e),
    }
}

/// The portable path: one `sendto` per datagram.
fn send_each(
    fd: RawFd,
    items: &[Outgoing<'_>],
    mode: Mode,
    cancel: &Cancel,
    sent: &mut usize,
) -> Result<()> {
    let none = addr::raw_storage();
    for item in items {
        let (name, len) = item.to.as_ref().map_or((&none, 0), |(a, l)| (a, *l));
        run(fd, mode, Dir::Send, 0, cancel, |flags| {
            send_to_raw(fd, item.data, name, len, flags)
        })?;
        *sent += 1;
    }
    Ok(())
}

/// The batched path: `sendmmsg` over messages planned with GSO runs.
fn send_batched(
    fd: RawFd,
    items: &[Outgoing<'_>],
    mode: Mode,
    cancel: &Cancel,
    mut gso: bool,
    sent: &mut usize,
) -> Result<()> {
    let iovs: Vec<IoSlice<'_>> = items.iter().map(|o| IoSlice::new(o.data)).collect();
    let mut next = 0;
    while next < items.len() {
        let messages = plan(items, next, gso);
        let mut done = 0;
        while done < messages.len() {
            let chunk = &messages[done..messages.len().min(done + MAX_BATCH)];
            let controls: Vec<[u64; 3]> = chunk.iter().map(|m| segment_control(items, m)).collect();
            let mut hdrs: Vec<sys::mmsghdr> = chunk
                .iter()
                .zip(&controls)
                .map(|(m, c)| header(items, &iovs, m, c))
                .collect();
            let r = run(fd, mode, Dir::Send, 0, cancel, |flags| {
                sendmmsg(fd, &mut hdrs, flags)
            });
            match r {
                Ok(k) => {
                    *sent += chunk[..k].iter().map(|m| m.count).sum::<usize>();
                    done += k;
                }
                Err(e) if gso && chunk[0].count > 1 && refuses_gso(&e) => {
                    gso = false;
                    next = chunk[0].start;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        if done == messages.len() {
            next = items.len();
        }
    }
    Ok(())
}

/// The `UDP_SEGMENT` control message for a GSO message (all zero for a single datagram).
fn segment_control(items: &[Outgoing<'_>], m: &Message) -> [u64; 3] {
    let mut words = [0u64; 3];
    if m.count > 1 {
        let size = u16::try_from(items[m.start].data.len()).unwrap_or(u16::MAX);
        // SAFETY: all-zero is a valid cmsghdr; 24 bytes hold CMSG_SPACE(2) on 64-bit Linux
        // (16-byte header + 2 bytes, aligned to 8) and CMSG_SPACE(2) on 32-bit (12 + 4).
        unsafe {
            let mut hdr: libc::cmsghdr = std::mem::zeroed();
            hdr.cmsg_len = libc::CMSG_LEN(2) as usize;
            hdr.cmsg_level = libc::IPPROTO_UDP;
            hdr.cmsg_type = UDP_SEGMENT;
            let base = words.as_mut_ptr().cast::<u8>();
            std::ptr::write_unaligned(base.cast(), hdr);
            let data = base.add(std::mem::size_of::<libc::cmsghdr>());
            std::ptr::write_unaligned(data.cast::<u16>(), size);
        }
    }
    words
}

/// The `mmsghdr` of message `m`, pointing into `items`, `iovs` and `control`.
fn header(
    items: &[Outgoing<'_>],
    iovs: &[IoSlice<'_>],
    m: &Message,
    control: &[u64; 3],
) -> sys::mmsghdr {
    // SAFETY: all-zero is a valid mmsghdr.
    let mut h: sys::mmsghdr = unsafe { std::mem::zeroed() };
    if let Some((name, len)) = &items[m.start].to {
        h.msg_hdr.msg_name = std::ptr::from_ref(name).cast_mut().cast();
        h.msg_hdr.msg_namelen = *len;
    }
    // IoSlice is ABI-compatible with iovec; sendmmsg only reads through these pointers.
    h.msg_hdr.msg_iov = iovs[m.start..].as_ptr().cast_mut().cast();
    h.msg_hdr.msg_iovlen = m.count;
    if m.count > 1 {
        h.msg_hdr.msg_control = control.as_ptr().cast_mut().cast();
        // SAFETY: CMSG_SPACE is a pure computation.
        h.msg_hdr.msg_controllen = unsafe { libc::CMSG_SPACE(2) } as usize;
    }
    h
}

/// One `sendmmsg(2)`; the number of messages sent.
fn sendmmsg(fd: RawFd, hdrs: &mut [sys::mmsghdr], flags: i32) -> io::Result<usize> {
    // SAFETY: the headers point at buffers, names and control data that outlive the call.
    unsafe { sys::sendmmsg(fd, hdrs, flags) }
}
