//! The Linux-only calls: `recvmmsg`/`sendmmsg` over a batch's headers, UDP GSO/GRO, the
//! error queue's extended errors, `SO_RCVBUFFORCE`, `SO_MEMINFO` and `ppoll`.

use std::io;
use std::os::fd::RawFd;

use super::{ExtendedError, STORAGE_LEN};
use crate::addr::RawAddr;

pub(crate) use libc::{mmsghdr, MSG_ERRQUEUE, MSG_WAITFORONE};

/// `UDP_SEGMENT` (Linux `<linux/udp.h>`).
pub(crate) const UDP_SEGMENT: libc::c_int = 103;
/// `UDP_GRO` (Linux `<linux/udp.h>`).
pub(crate) const UDP_GRO: libc::c_int = 104;
/// Control buffer for one `u16` (`UDP_SEGMENT`) or `int` (`UDP_GRO`): `CMSG_SPACE(4)`,
/// in `u64` words so that it is aligned.
pub(crate) const CONTROL_WORDS: usize = 3;

/// The `mmsghdr`s and `iovec`s of a batch of slots, for one `recvmmsg` or `sendmmsg` each.
///
/// The headers point into the slots' storage (data, names, control), which belongs to the
/// owner of this value and must neither move nor be freed while it is used.
pub(crate) struct Mmsg {
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
    /// Slots `0..dirty` may have a header or `iovec` changed since they were last reset for
    /// receiving (by a receive or a send); the others are ready as they are.
    dirty: usize,
}

impl Mmsg {
    /// Whether the system has `recvmmsg`/`sendmmsg`.
    pub(crate) const AVAILABLE: bool = true;

    /// Headers for `capacity` slots: slot `i`'s data is `slot_len` bytes at `bufs + i * stride`
    /// and, when `names` is given, its peer is `names[i]`.
    ///
    /// # Safety
    /// `bufs` must hold `capacity * stride` bytes and `names` (if any) `capacity` entries,
    /// both alive and unmoved for as long as the headers are used.
    #[must_use]
    pub(crate) unsafe fn link(
        bufs: *mut u8,
        stride: usize,
        slot_len: usize,
        capacity: usize,
        names: Option<*mut RawAddr>,
    ) -> Self {
        let mut iovs = Vec::with_capacity(capacity);
        let mut hdrs = Vec::with_capacity(capacity);
        for i in 0..capacity {
            iovs.push(libc::iovec {
                // SAFETY: i * stride is inside `bufs` (capacity * stride bytes).
                iov_base: unsafe { bufs.add(i * stride) }.cast(),
                iov_len: slot_len,
            });
        }
        for (i, iov) in iovs.iter_mut().enumerate() {
            // SAFETY: mmsghdr is plain old data; all-zero is valid (no name, no control).
            let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
            if let Some(names) = names {
                // SAFETY: `names` holds `capacity` entries.
                h.msg_hdr.msg_name = unsafe { names.add(i) }.cast();
                h.msg_hdr.msg_namelen = STORAGE_LEN;
            }
            h.msg_hdr.msg_iov = std::ptr::from_mut(iov);
            h.msg_hdr.msg_iovlen = 1;
            hdrs.push(h);
        }
        Mmsg {
            iovs,
            hdrs,
            dirty: 0,
        }
    }

    /// One `recvmmsg` into slots `0..max` (each up to `slot_len` bytes), with `control`'s
    /// `control_len` bytes per slot for ancillary data (when `control_len` is not 0); the
    /// number of messages. Read each with [`Mmsg::msg_len`] and [`Mmsg::name_len`].
    ///
    /// # Errors
    /// The system call's error.
    ///
    /// # Safety
    /// The storage given to [`Mmsg::link`] is still alive and unmoved; `control` holds
    /// `max * control_len` bytes.
    pub(crate) unsafe fn recv(
        &mut self,
        fd: RawFd,
        max: usize,
        slot_len: usize,
        control: *mut u8,
        control_len: usize,
        flags: libc::c_int,
    ) -> io::Result<usize> {
        // Only the slots a call has changed need resetting (a busy server receives a few
        // datagrams per call into a batch of 64).
        let reset = self.dirty.min(max);
        for (h, v) in self.hdrs[..reset].iter_mut().zip(&mut self.iovs) {
            if !h.msg_hdr.msg_name.is_null() {
                h.msg_hdr.msg_namelen = STORAGE_LEN;
            }
            h.msg_len = 0;
            v.iov_len = slot_len;
        }
        if self.dirty <= max {
            self.dirty = 0;
        }
        if control_len != 0 {
            for (i, h) in self.hdrs[..max].iter_mut().enumerate() {
                // The kernel shrinks msg_controllen to what it wrote: give it back whole.
                // SAFETY: i * control_len is inside `control`.
                h.msg_hdr.msg_control = unsafe { control.add(i * control_len) }.cast();
                h.msg_hdr.msg_controllen = control_len;
            }
        }
        let vlen = libc::c_uint::try_from(max).unwrap_or(libc::c_uint::MAX);
        let null = std::ptr::null_mut();
        // SAFETY: `hdrs[..max]` point at live storage (the caller's contract).
        let n = syscall!(recvmmsg(fd, self.hdrs.as_mut_ptr(), vlen, flags, null))?;
        let n = usize::try_from(n).unwrap_or(0);
        self.dirty = self.dirty.max(n);
        Ok(n)
    }

    /// The length of message `i` of the last receive.
    #[must_use]
    pub(crate) fn msg_len(&self, i: usize) -> usize {
        self.hdrs[i].msg_len as usize
    }

    /// The sender's address length of message `i` of the last receive.
    #[must_use]
    pub(crate) fn name_len(&self, i: usize) -> libc::socklen_t {
        self.hdrs[i].msg_hdr.msg_namelen
    }

    /// One `sendmmsg` of slots `from..to`, slot `i` with `lens[i]` bytes to its name of
    /// `name_lens[i]` bytes (when the headers have names); the number of messages sent.
    ///
    /// # Errors
    /// The system call's error.
    ///
    /// # Safety
    /// The storage given to [`Mmsg::link`] is still alive and unmoved.
    pub(crate) unsafe fn send(
        &mut self,
        fd: RawFd,
        from: usize,
        to: usize,
        lens: &[usize],
        name_lens: &[libc::socklen_t],
        flags: libc::c_int,
    ) -> io::Result<usize> {
        self.dirty = self.dirty.max(to);
        for i in from..to {
            self.iovs[i].iov_len = lens[i];
            let h = &mut self.hdrs[i].msg_hdr;
            if !h.msg_name.is_null() {
                h.msg_namelen = name_lens[i];
            }
        }
        // SAFETY: the headers point at live storage (the caller's contract).
        unsafe { sendmmsg(fd, &mut self.hdrs[from..to], flags) }
    }

    /// The extended error in message `i`'s ancillary data (`IP_RECVERR`/`IPV6_RECVERR`).
    #[must_use]
    pub(crate) fn extended_error(&self, i: usize) -> Option<ExtendedError> {
        let ee = cmsg_find(&self.hdrs[i].msg_hdr, |level, kind| {
            (level == libc::IPPROTO_IP && kind == libc::IP_RECVERR)
                || (level == libc::IPPROTO_IPV6 && kind == libc::IPV6_RECVERR)
        })?;
        // SAFETY: IP(V6)_RECVERR data is a sock_extended_err.
        let ee = unsafe { std::ptr::read_unaligned(ee.cast::<libc::sock_extended_err>()) };
        Some(ExtendedError {
            errno: ee.ee_errno,
            origin: ee.ee_origin,
            icmp_type: ee.ee_type,
            code: ee.ee_code,
        })
    }

    /// The `UDP_GRO` segment size in message `i`'s ancillary data, if any.
    #[must_use]
    pub(crate) fn gso_size(&self, i: usize) -> Option<usize> {
        let data = cmsg_find(&self.hdrs[i].msg_hdr, |level, kind| {
            level == libc::IPPROTO_UDP && kind == UDP_GRO
        })?;
        // SAFETY: UDP_GRO data is an int.
        let size = unsafe { std::ptr::read_unaligned(data.cast::<libc::c_int>()) };
        usize::try_from(size).ok().filter(|&s| s > 0)
    }
}

/// The data of the first control message of a received header that `wanted(level, type)`.
fn cmsg_find(hdr: &libc::msghdr, wanted: impl Fn(i32, i32) -> bool) -> Option<*const u8> {
    if hdr.msg_control.is_null() {
        return None;
    }
    // SAFETY: the header's control buffer was filled by the kernel; the CMSG macros walk it
    // within msg_controllen.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(hdr);
        while !cmsg.is_null() {
            let c = &*cmsg;
            if wanted(c.cmsg_level, c.cmsg_type) {
                return Some(libc::CMSG_DATA(cmsg).cast_const());
            }
            cmsg = libc::CMSG_NXTHDR(hdr, cmsg);
        }
    }
    None
}

/// One `sendmmsg(2)`; the number of messages sent.
///
/// # Errors
/// The system call's error.
///
/// # Safety
/// The headers point at buffers, names and control data valid for reads, for the call.
#[inline]
pub(crate) unsafe fn sendmmsg(
    fd: RawFd,
    hdrs: &mut [libc::mmsghdr],
    flags: libc::c_int,
) -> io::Result<usize> {
    let vlen = libc::c_uint::try_from(hdrs.len()).unwrap_or(libc::c_uint::MAX);
    // SAFETY: the caller vouches for the headers.
    let n = syscall!(sendmmsg(fd, hdrs.as_mut_ptr(), vlen, flags))?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Whether the kernel knows `UDP_SEGMENT` on `fd` (reading the option is harmless).
#[must_use]
pub(crate) fn gso_supported(fd: RawFd) -> bool {
    super::getsockopt_int(fd, libc::SOL_UDP, UDP_SEGMENT).is_ok()
}

/// Turns on `UDP_GRO` on `fd`; false where the kernel does not have it.
#[must_use]
pub(crate) fn enable_gro(fd: RawFd) -> bool {
    super::setsockopt_int(fd, libc::SOL_UDP, UDP_GRO, 1).is_ok()
}

/// True when the socket has `UDP_GRO` on.
#[must_use]
pub(crate) fn gro_enabled(fd: RawFd) -> bool {
    super::getsockopt_int(fd, libc::IPPROTO_UDP, UDP_GRO).is_ok_and(|v| v != 0)
}

/// Writes a `UDP_SEGMENT` control message for segments of `size` bytes into `control` and
/// points `hdr` at it.
pub(crate) fn set_segment(hdr: &mut libc::msghdr, control: &mut [u64; CONTROL_WORDS], size: u16) {
    control.fill(0);
    hdr.msg_control = control.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE of a constant size.
    hdr.msg_controllen = unsafe { libc::CMSG_SPACE(2) } as usize;
    // SAFETY: the control buffer holds CMSG_SPACE(2) bytes (24 <= 3 words), so the first
    // header and its 2 data bytes fit.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(hdr);
        (*c).cmsg_level = libc::SOL_UDP;
        (*c).cmsg_type = UDP_SEGMENT;
        (*c).cmsg_len = libc::CMSG_LEN(2) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<u16>(), size);
    }
}

/// Sends `data` as datagrams of `segment` bytes each (the last may be shorter) with one
/// `sendmsg` to `to` (or to the connected peer when `None`). Returns the bytes sent.
///
/// # Errors
/// The system call's error (`EIO` or `EINVAL` where the route cannot segment, ...).
pub(crate) fn send_segments(
    fd: RawFd,
    data: &[u8],
    segment: u16,
    to: Option<(&RawAddr, libc::socklen_t)>,
    flags: libc::c_int,
) -> io::Result<usize> {
    let mut iov = libc::iovec {
        iov_base: data.as_ptr().cast_mut().cast(),
        iov_len: data.len(),
    };
    let mut control = [0u64; CONTROL_WORDS];
    // SAFETY: msghdr is plain old data; all-zero is valid.
    let mut hdr: libc::msghdr = unsafe { std::mem::zeroed() };
    if let Some((addr, len)) = to {
        hdr.msg_name = std::ptr::from_ref(addr).cast_mut().cast();
        hdr.msg_namelen = len;
    }
    hdr.msg_iov = &raw mut iov;
    hdr.msg_iovlen = 1;
    set_segment(&mut hdr, &mut control, segment);
    // SAFETY: the header points at `iov` (over `data`, only read), `control` and `addr`, all
    // alive for the call.
    unsafe { super::sendmsg(fd, &hdr, flags) }
}

/// Asks for a receive buffer of `bytes` past `rmem_max` (`SO_RCVBUFFORCE`, needs
/// `CAP_NET_ADMIN`).
///
/// # Errors
/// The system call's error (`EPERM` without the capability).
pub(crate) fn set_rcvbuf_force(fd: RawFd, bytes: usize) -> io::Result<()> {
    let v = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    super::setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, v)
}

/// Turns on the error queue (`IP_RECVERR`, or `IPV6_RECVERR` when `v6`).
///
/// # Errors
/// The system call's error.
pub(crate) fn set_recv_err(fd: RawFd, v6: bool) -> io::Result<()> {
    let (level, name) = if v6 {
        (libc::IPPROTO_IPV6, libc::IPV6_RECVERR)
    } else {
        (libc::IPPROTO_IP, libc::IP_RECVERR)
    };
    super::setsockopt_int(fd, level, name, 1)
}

/// The kernel's count of datagrams dropped on `fd` because its receive queue was full
/// (`SO_MEMINFO`'s `SK_MEMINFO_DROPS`).
#[must_use]
pub(crate) fn kernel_drops(fd: RawFd) -> Option<u32> {
    /// Number of `SK_MEMINFO_*` entries the kernel fills.
    const VARS: usize = 9;
    let mut info = [0u32; VARS];
    let mut len = libc::socklen_t::try_from(std::mem::size_of_val(&info)).unwrap_or(0);
    // SAFETY: `info` is writable for `len` bytes; the kernel writes at most `len`.
    let r = syscall!(getsockopt(
        fd,
        libc::SOL_SOCKET,
        libc::SO_MEMINFO,
        info.as_mut_ptr().cast(),
        &raw mut len,
    ));
    let idx = usize::try_from(libc::SK_MEMINFO_DROPS).unwrap_or(8);
    (r.is_ok() && (len as usize) > idx * 4).then(|| info[idx])
}

/// Waits up to `timeout_ns` for `pfd`'s events (`ppoll`, nanosecond resolution); whether
/// they came.
///
/// # Errors
/// The system call's error (`EINTR` included).
#[inline]
pub(crate) fn poll_one_ns(pfd: &mut libc::pollfd, timeout_ns: u64) -> io::Result<bool> {
    const NS: u64 = 1_000_000_000;
    let ts = libc::timespec {
        tv_sec: libc::time_t::try_from(timeout_ns / NS).unwrap_or(0),
        tv_nsec: libc::c_long::try_from(timeout_ns % NS).unwrap_or(0),
    };
    // SAFETY: one valid pollfd, a valid timespec, no signal mask change.
    let r = syscall!(ppoll(pfd, 1, &raw const ts, std::ptr::null()))?;
    Ok(r > 0)
}

/// `POLLRDHUP`: how a blocking receive learns that reading was shut down.
pub(crate) const POLLRDHUP: libc::c_short = libc::POLLRDHUP;
