//! Stand-ins for the Linux-only calls elsewhere, with the same names and signatures: what
//! the system lacks is "not available" (`false`, `None`) or fails with
//! [`io::ErrorKind::Unsupported`], and the callers take their portable path.

use std::io;
use std::os::fd::RawFd;

use super::ExtendedError;
use crate::addr::RawAddr;

/// No `MSG_ERRQUEUE` here (never passed: [`Mmsg::AVAILABLE`] is false).
pub(crate) const MSG_ERRQUEUE: libc::c_int = 0;
/// No `MSG_WAITFORONE` here (never passed: [`Mmsg::AVAILABLE`] is false).
pub(crate) const MSG_WAITFORONE: libc::c_int = 0;
/// `UDP_SEGMENT`'s Linux value, for the Python constants (no such option here).
pub(crate) const UDP_SEGMENT: libc::c_int = 103;
/// `UDP_GRO`'s Linux value, for the Python constants (no such option here).
pub(crate) const UDP_GRO: libc::c_int = 104;
/// Control buffer words for one `UDP_SEGMENT` message (unused here).
pub(crate) const CONTROL_WORDS: usize = 3;
/// No `POLLRDHUP` here: a shut-down read side is seen by the receive itself.
pub(crate) const POLLRDHUP: libc::c_short = 0;

fn unsupported<T>() -> io::Result<T> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// No batched calls here: every batch takes its one-call-per-datagram path.
pub(crate) struct Mmsg;

impl Mmsg {
    /// Whether the system has `recvmmsg`/`sendmmsg`.
    pub(crate) const AVAILABLE: bool = false;

    /// Nothing to link.
    ///
    /// # Safety
    /// None needed; `unsafe` only to match the Linux signature.
    #[must_use]
    pub(crate) unsafe fn link(
        _bufs: *mut u8,
        _stride: usize,
        _slot_len: usize,
        _capacity: usize,
        _names: Option<*mut RawAddr>,
    ) -> Self {
        Mmsg
    }

    /// Always `Unsupported`.
    ///
    /// # Errors
    /// Always.
    ///
    /// # Safety
    /// None needed.
    pub(crate) unsafe fn recv(
        &mut self,
        _fd: RawFd,
        _max: usize,
        _slot_len: usize,
        _control: *mut u8,
        _control_len: usize,
        _flags: libc::c_int,
    ) -> io::Result<usize> {
        unsupported()
    }

    /// Never called (nothing is received).
    #[must_use]
    pub(crate) fn msg_len(&self, _i: usize) -> usize {
        0
    }

    /// Never called (nothing is received).
    #[must_use]
    pub(crate) fn name_len(&self, _i: usize) -> libc::socklen_t {
        0
    }

    /// Always `Unsupported`.
    ///
    /// # Errors
    /// Always.
    ///
    /// # Safety
    /// None needed.
    pub(crate) unsafe fn send(
        &mut self,
        _fd: RawFd,
        _from: usize,
        _to: usize,
        _lens: &[usize],
        _name_lens: &[libc::socklen_t],
        _flags: libc::c_int,
    ) -> io::Result<usize> {
        unsupported()
    }

    /// No error queue here.
    #[must_use]
    pub(crate) fn extended_error(&self, _i: usize) -> Option<ExtendedError> {
        None
    }

    /// No GRO here.
    #[must_use]
    pub(crate) fn gso_size(&self, _i: usize) -> Option<usize> {
        None
    }
}

/// No UDP GSO here.
#[must_use]
pub(crate) fn gso_supported(_fd: RawFd) -> bool {
    false
}

/// No UDP GRO here.
#[must_use]
pub(crate) fn enable_gro(_fd: RawFd) -> bool {
    false
}

/// No UDP GSO here.
///
/// # Errors
/// Always `Unsupported`.
pub(crate) fn send_segments(
    _fd: RawFd,
    _data: &[u8],
    _segment: u16,
    _to: Option<(&RawAddr, libc::socklen_t)>,
    _flags: libc::c_int,
) -> io::Result<usize> {
    unsupported()
}

/// No UDP GRO here.
#[must_use]
pub(crate) fn gro_enabled(_fd: RawFd) -> bool {
    false
}

/// No `SO_RCVBUFFORCE` here.
///
/// # Errors
/// Always `Unsupported` (the caller falls back to `SO_RCVBUF`).
pub(crate) fn set_rcvbuf_force(_fd: RawFd, _bytes: usize) -> io::Result<()> {
    unsupported()
}

/// No error queue here.
///
/// # Errors
/// Always `Unsupported`.
pub(crate) fn set_recv_err(_fd: RawFd, _v6: bool) -> io::Result<()> {
    unsupported()
}

/// The kernel's drops are not known here.
#[must_use]
pub(crate) fn kernel_drops(_fd: RawFd) -> Option<u32> {
    None
}

/// Waits up to `timeout_ns` (rounded up to a millisecond) for `pfd`'s events with `poll`.
///
/// # Errors
/// The system call's error (`EINTR` included).
pub(crate) fn poll_one_ns(pfd: &mut libc::pollfd, timeout_ns: u64) -> io::Result<bool> {
    let ms = libc::c_int::try_from(timeout_ns.div_ceil(1_000_000)).unwrap_or(libc::c_int::MAX);
    Ok(super::poll(std::slice::from_mut(pfd), ms)? > 0)
}

/// Never called here ([`gso_supported`] is false): leaves `hdr` as it is.
pub(crate) fn set_segment(
    _hdr: &mut libc::msghdr,
    _control: &mut [u64; CONTROL_WORDS],
    _size: u16,
) {
}

/// `struct mmsghdr`'s shape, so that the code that builds batches is the same everywhere;
/// never sent here ([`sendmmsg`] is unsupported, [`Mmsg::AVAILABLE`] false).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct mmsghdr {
    /// The message.
    pub msg_hdr: libc::msghdr,
    /// Bytes sent or received.
    pub msg_len: libc::c_uint,
}

/// No `sendmmsg` here.
///
/// # Errors
/// Always `Unsupported`.
///
/// # Safety
/// None needed; `unsafe` only to match the Linux signature.
pub(crate) unsafe fn sendmmsg(
    _fd: RawFd,
    _hdrs: &mut [mmsghdr],
    _flags: libc::c_int,
) -> io::Result<usize> {
    unsupported()
}
