//! `sendmsg`/`recvmsg` with ancillary data, and batched datagram I/O with UDP GSO/GRO, on a
//! descriptor the caller owns (the Python binding's socket object owns it; this module only
//! borrows the number for one call).
//!
//! * [`run`] applies a Python timeout mode to one non-blocking system call without relying on
//!   the descriptor's `O_NONBLOCK` flag: every call is made with `MSG_DONTWAIT` and, when the
//!   mode allows waiting, `EAGAIN` is answered by waiting for readiness with
//!   [`crate::wait::poll_fds`] (in [`crate::cancel::TICK`] slices, cancellable). Error-queue
//!   reads (`MSG_ERRQUEUE`) never block in blocking mode (the kernel never blocks them either)
//!   and wait for `POLLERR`, not `POLLIN`, with a timeout; a wake-up after which the call still
//!   says `EAGAIN` is followed by a short pause, so that no wait can spin. The `Cancel` is
//!   asked after every wake-up too, so that the binding can end a wait whose socket was
//!   closed (its descriptor number may already name another socket).
//! * [`build_control`] and [`parse_control`] lay out and read ancillary data exactly as
//!   `CPython`'s `sendmsg`/`recvmsg` do (`CMSG_SPACE` per item; a truncated last item is
//!   clipped and reported as malformed).
//! * [`recvmsg`] and [`sendmsg`] are the single system calls.
//! * [`many`] holds the batch calls (`recvmmsg`/`sendmmsg`, GSO/GRO, portable fallback).

pub(crate) mod many;
#[cfg(test)]
mod tests;

use std::io::{self, IoSlice, IoSliceMut};
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use crate::addr::{self, RawAddr};
use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::socket::Mode;
use crate::sys;
use crate::wait::{deadline_after, poll_fds};

/// Which way a call moves data, which decides the readiness it waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dir {
    /// A receive: waits for `POLLIN` (or only `POLLERR` for `MSG_ERRQUEUE`).
    Recv,
    /// A send: waits for `POLLOUT`.
    Send,
}

/// The pause after a wake-up that found nothing to do (a readiness the call cannot use, such
/// as a pending socket error while reading the empty error queue).
const BACKOFF: Duration = Duration::from_millis(10);

/// Runs `op` (one system call made with the flags it is given) under `mode`.
///
/// `op` always gets `flags | MSG_DONTWAIT`. It is repeated after waiting while it fails with
/// `EAGAIN`, if the mode waits: `Blocking` waits forever (except when the caller's `flags`
/// hold `MSG_DONTWAIT` or `MSG_ERRQUEUE`: one attempt, as the stdlib's blocking call), and
/// `Timeout(d)` waits at most `d` in all, then fails with [`Error::Timeout`]. `NonBlocking`
/// makes one attempt.
///
/// # Errors
/// `op`'s error (`EAGAIN` when it may not wait), [`Error::Timeout`], [`Error::Interrupted`]
/// when `cancel` stops the wait, `EBADF` when the descriptor is closed while waiting.
pub(crate) fn run<T>(
    fd: RawFd,
    mode: Mode,
    dir: Dir,
    flags: i32,
    cancel: &Cancel,
    mut op: impl FnMut(i32) -> io::Result<T>,
) -> Result<T> {
    let errqueue = dir == Dir::Recv && flags & libc::MSG_ERRQUEUE != 0;
    let may_wait = match mode {
        Mode::NonBlocking => false,
        Mode::Blocking => flags & libc::MSG_DONTWAIT == 0 && !errqueue,
        Mode::Timeout(_) => true,
    };
    let events = match dir {
        // poll always reports POLLERR; asking for nothing else waits for the error queue.
        Dir::Recv if errqueue => 0,
        Dir::Recv => libc::POLLIN,
        Dir::Send => libc::POLLOUT,
    };
    let deadline: Option<Instant> = match mode {
        Mode::Timeout(d) => deadline_after(d),
        _ => None,
    };
    let timed = matches!(mode, Mode::Timeout(_));
    let rdhup = if dir == Dir::Recv && may_wait && !timed {
        sys::POLLRDHUP
    } else {
        0
    };
    let mut woke = false;
    loop {
        match op(flags | libc::MSG_DONTWAIT) {
            Ok(v) => return Ok(v),
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => {
                cancel.checkpoint()?;
                continue;
            }
            Err(e) if may_wait && e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(Error::Io(e)),
        }
        let left = match deadline {
            Some(d) if timed => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(Error::Timeout);
                }
                Some(left)
            }
            _ => None,
        };
        if woke {
            // Ready, yet the call found nothing: pause instead of polling again at once.
            let pause = left.map_or(BACKOFF, |l| l.min(BACKOFF));
            poll_fds(&mut [], Some(pause), cancel)?;
            woke = false;
            continue;
        }
        let revents = wait(fd, events | rdhup, left, cancel)?;
        // Asked after every wake-up, before the call: the socket may have been closed while
        // we waited, and its number reused by a socket whose datagrams are not ours.
        cancel.checkpoint()?;
        if revents & rdhup != 0 {
            // Reading was shut down: the stdlib's blocking call returns at once with an empty
            // result, and so does the call without MSG_DONTWAIT on a blocking descriptor.
            match op(flags) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                other => return other.map_err(Error::Io),
            }
        }
        woke = true;
    }
}

/// Waits for `events` on `fd` and returns the events that came; [`Error::Timeout`] when
/// `timeout` passes first, `EBADF` for a descriptor that is not open.
fn wait(
    fd: RawFd,
    events: libc::c_short,
    timeout: Option<Duration>,
    cancel: &Cancel,
) -> Result<libc::c_short> {
    let mut pfd = [libc::pollfd {
        fd,
        events,
        revents: 0,
    }];
    if poll_fds(&mut pfd, timeout, cancel)? == 0 {
        return Err(Error::Timeout);
    }
    if pfd[0].revents & libc::POLLNVAL != 0 {
        return Err(Error::from_errno(libc::EBADF));
    }
    Ok(pfd[0].revents)
}

/// The size of a `cmsghdr` (`CMSG_LEN(0)`), where an item's data starts.
const HDR: usize = std::mem::size_of::<libc::cmsghdr>();

/// `CMSG_ALIGN`: rounds up to the alignment of `cmsghdr`'s length field (a `size_t`);
/// `None` when that overflows.
fn align(n: usize) -> Option<usize> {
    let a = std::mem::size_of::<usize>();
    Some(n.checked_add(a - 1)? & !(a - 1))
}

/// `CMSG_SPACE(len)`, or `None` when it overflows.
fn space(len: usize) -> Option<usize> {
    align(len)?.checked_add(align(HDR)?)
}

/// The largest ancillary-data buffer, as `CPython`'s `SOCKLEN_T_LIMIT`.
pub(crate) const CONTROL_MAX: usize = i32::MAX as usize;

/// An ancillary-data buffer, aligned for `cmsghdr`.
#[derive(Debug, Default)]
pub(crate) struct Control {
    words: Vec<u64>,
    len: usize,
}

impl Control {
    /// A zeroed buffer of `len` bytes for the kernel to fill (`recvmsg`'s `ancbufsize`).
    ///
    /// `None` when the allocation fails (the binding raises `MemoryError`).
    #[must_use]
    pub(crate) fn zeroed(len: usize) -> Option<Self> {
        let count = len.div_ceil(8);
        if count == 0 {
            return Some(Control::default());
        }
        // alloc_zeroed leaves a large buffer to the kernel's zero pages: `recvmsg(1, 2**30)`
        // costs no more than the pages the kernel writes, as with the stdlib's malloc.
        let layout = std::alloc::Layout::array::<u64>(count).ok()?;
        // SAFETY: `layout` has a non-zero size.
        #[allow(clippy::cast_ptr_alignment)] // allocated with u64's layout, so aligned for it
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<u64>();
        if ptr.is_null() {
            return None;
        }
        // SAFETY: `ptr` holds `count` zeroed u64s, allocated with the layout a boxed slice of
        // that length frees with.
        let words =
            unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, count)) }.into_vec();
        Some(Control { words, len })
    }

    /// The buffer's bytes.
    #[must_use]
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: `words` holds at least `len` initialised bytes; u8 has no alignment needs.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast::<u8>(), self.len) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`, exclusively borrowed.
        unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr().cast::<u8>(), self.len) }
    }

    /// The length in bytes.
    #[must_use]
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// True for a buffer of 0 bytes (no ancillary data).
    #[must_use]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Lays out `(level, type, data)` items as `sendmsg` sends them: each item takes
/// `CMSG_SPACE(len(data))` bytes, headers zero-padded, as `CPython` builds them.
///
/// # Errors
/// [`Error::Os`] "ancillary data item too large" / "too much ancillary data", the stdlib's
/// messages, beyond the `socklen_t` limit.
pub(crate) fn build_control(items: &[(i32, i32, &[u8])]) -> Result<Control> {
    let mut total: usize = 0;
    for (_, _, data) in items {
        let s = space(data.len())
            .filter(|s| *s <= CONTROL_MAX)
            .ok_or_else(|| Error::Os("ancillary data item too large".into()))?;
        total = total
            .checked_add(s)
            .filter(|t| *t <= CONTROL_MAX)
            .ok_or_else(|| Error::Os("too much ancillary data".into()))?;
    }
    let mut control = Control::zeroed(total).ok_or_else(|| Error::Os("out of memory".into()))?;
    let buf = control.bytes_mut();
    let mut off = 0;
    for (level, kind, data) in items {
        // SAFETY: all-zero is a valid cmsghdr.
        let mut hdr: libc::cmsghdr = unsafe { std::mem::zeroed() };
        hdr.cmsg_len = HDR + data.len();
        hdr.cmsg_level = *level;
        hdr.cmsg_type = *kind;
        // SAFETY: `off + HDR <= total` (each item reserved CMSG_SPACE bytes); unaligned write.
        unsafe { std::ptr::write_unaligned(buf[off..].as_mut_ptr().cast(), hdr) };
        buf[off + HDR..off + HDR + data.len()].copy_from_slice(data);
        off += space(data.len()).unwrap_or(0);
    }
    Ok(control)
}

/// Ancillary data as `recvmsg` returns it.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Ancillary {
    /// `(level, type, data)` for each item, in order.
    pub items: Vec<(i32, i32, Vec<u8>)>,
    /// True when an item was malformed or truncated (`CPython` warns with `RuntimeWarning`).
    pub malformed: bool,
}

/// Reads the first `used` bytes of `control` (the `msg_controllen` the kernel left) as
/// `CPython`'s `recvmsg` does, with glibc's `CMSG_FIRSTHDR`/`CMSG_NXTHDR`.
#[must_use]
pub(crate) fn parse_control(control: &[u8], used: usize) -> Ancillary {
    let end = used.min(control.len());
    let mut out = Ancillary::default();
    let mut off = 0;
    if end < HDR {
        return out;
    }
    loop {
        // SAFETY: `off + HDR <= end` holds here (checked before the loop and below).
        let hdr: libc::cmsghdr =
            unsafe { std::ptr::read_unaligned(control[off..].as_ptr().cast()) };
        let cmsg_len = hdr.cmsg_len;
        if cmsg_len < HDR {
            out.malformed = true;
            break;
        }
        let data_len = cmsg_len - HDR;
        let room = end - (off + HDR);
        let take = data_len.min(room);
        out.items.push((
            hdr.cmsg_level,
            hdr.cmsg_type,
            control[off + HDR..off + HDR + take].to_vec(),
        ));
        if take < data_len {
            out.malformed = true;
            break;
        }
        // glibc 2.36 __cmsg_nxthdr: the current item and a next header must both fit.
        let padded = align(cmsg_len).unwrap_or(usize::MAX);
        if end - off < padded.saturating_add(HDR) {
            break;
        }
        off += padded;
    }
    out
}

/// What one `recvmsg` returned.
#[derive(Debug)]
pub(crate) struct Received {
    /// The datagram's length (its real length with `MSG_TRUNC` in the flags).
    pub len: usize,
    /// `msg_flags` (`MSG_TRUNC`, `MSG_CTRUNC`, `MSG_ERRQUEUE`, ...).
    pub flags: i32,
    /// The bytes of ancillary data the kernel wrote.
    pub control_len: usize,
    /// The sender (or, from the error queue, the destination of the failed datagram).
    pub addr: Option<SocketAddr>,
}

/// One `recvmsg(2)` into `bufs` with `control` for ancillary data.
///
/// # Errors
/// The system call's error.
pub(crate) fn recvmsg(
    fd: RawFd,
    bufs: &mut [IoSliceMut<'_>],
    control: &mut Control,
    flags: i32,
) -> io::Result<Received> {
    let mut name: RawAddr = addr::raw_storage();
    // SAFETY: all-zero is a valid msghdr.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = std::ptr::addr_of_mut!(name).cast();
    msg.msg_namelen = libc::socklen_t::try_from(std::mem::size_of::<RawAddr>()).unwrap_or(0);
    // IoSliceMut is ABI-compatible with iovec on Unix.
    msg.msg_iov = bufs.as_mut_ptr().cast();
    msg.msg_iovlen = bufs.len();
    if !control.is_empty() {
        msg.msg_control = control.words.as_mut_ptr().cast();
        msg.msg_controllen = control.len;
    }
    // SAFETY: every pointer in `msg` is valid for the lengths given, for the call.
    let len = unsafe { sys::recvmsg(fd, &mut msg, flags) }?;
    let namelen = msg
        .msg_namelen
        .min(libc::socklen_t::try_from(std::mem::size_of::<RawAddr>()).unwrap_or(0));
    Ok(Received {
        len,
        flags: msg.msg_flags,
        control_len: msg.msg_controllen.min(control.len),
        // SAFETY: the kernel wrote `namelen` bytes of address into `name`.
        addr: unsafe { addr::from_raw(&raw const name, namelen) },
    })
}

/// One `sendmsg(2)` of `bufs` (one datagram) with ancillary data, to `to` (or the connected
/// peer).
///
/// # Errors
/// The system call's error.
pub(crate) fn sendmsg(
    fd: RawFd,
    bufs: &[IoSlice<'_>],
    control: &Control,
    to: Option<&SocketAddr>,
    flags: i32,
) -> io::Result<usize> {
    let raw = to.map(addr::to_raw);
    // SAFETY: all-zero is a valid msghdr.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    if let Some((name, len)) = &raw {
        msg.msg_name = std::ptr::from_ref(name).cast_mut().cast();
        msg.msg_namelen = *len;
    }
    // IoSlice is ABI-compatible with iovec on Unix; sendmsg only reads through it.
    msg.msg_iov = bufs.as_ptr().cast_mut().cast();
    msg.msg_iovlen = bufs.len();
    if !control.is_empty() {
        msg.msg_control = control.words.as_ptr().cast_mut().cast();
        msg.msg_controllen = control.len;
    }
    // SAFETY: every pointer in `msg` is valid for reads of the lengths given, for the call.
    unsafe { sys::sendmsg(fd, &msg, flags) }
}
