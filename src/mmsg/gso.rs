//! UDP segmentation offload (GSO, `UDP_SEGMENT`) and receive offload (GRO, `UDP_GRO`),
//! Linux only (4.18+ for GSO, 5.0+ for GRO), detected at run time.
//!
//! A GSO send hands the kernel one buffer (possibly several `iovec`s) and a segment size in
//! a `UDP_SEGMENT` control message: the kernel sends it as consecutive datagrams of that
//! size (the last may be shorter), walking the stack once instead of once per datagram. With
//! `UDP_GRO` set on a socket, a train of such datagrams that arrived as one (always the case
//! on loopback when the sender used GSO) is received whole by one `recvmsg`, with the
//! segment size in a `UDP_GRO` control message; the reader splits it again.

use std::io;
use std::os::fd::RawFd;

use crate::addr::RawAddr;

/// Most datagrams one GSO send may carry (`UDP_MAX_SEGMENTS` of older kernels).
pub const MAX_SEGMENTS: usize = 64;
/// Most payload bytes one GSO send may carry (an IPv4 datagram's 65,535 minus headers,
/// with margin for IPv6).
pub const MAX_BYTES: usize = 65_000;
/// Control buffer for one `u16` (`UDP_SEGMENT`) or `int` (`UDP_GRO`): `CMSG_SPACE(4)`,
/// in `u64` words so that it is aligned.
pub const CONTROL_WORDS: usize = 3;

/// Whether the kernel knows `UDP_SEGMENT` on `fd` (reading the option is harmless).
#[must_use]
pub fn gso_supported(fd: RawFd) -> bool {
    let mut v: libc::c_int = 0;
    let mut len = libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>()).unwrap_or(4);
    // SAFETY: `v` is writable for `len` bytes.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_UDP,
            libc::UDP_SEGMENT,
            (&raw mut v).cast(),
            &raw mut len,
        )
    };
    r == 0
}

/// Turns on `UDP_GRO` on `fd`; false where the kernel does not have it.
#[must_use]
pub fn enable_gro(fd: RawFd) -> bool {
    let one: libc::c_int = 1;
    // SAFETY: `one` is readable for its size.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_UDP,
            libc::UDP_GRO,
            (&raw const one).cast(),
            libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>()).unwrap_or(4),
        )
    };
    r == 0
}

/// Writes a `UDP_SEGMENT` control message for segments of `size` bytes into `control` and
/// points `hdr` at it.
pub fn set_segment(hdr: &mut libc::msghdr, control: &mut [u64; CONTROL_WORDS], size: u16) {
    control.fill(0);
    hdr.msg_control = control.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE of a constant size.
    hdr.msg_controllen = unsafe { libc::CMSG_SPACE(2) } as usize;
    // SAFETY: the control buffer holds CMSG_SPACE(2) bytes (24 <= 3 words), so the first
    // header and its 2 data bytes fit.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(hdr);
        (*c).cmsg_level = libc::SOL_UDP;
        (*c).cmsg_type = libc::UDP_SEGMENT;
        (*c).cmsg_len = libc::CMSG_LEN(2) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<u16>(), size);
    }
}

/// Sends `data` as datagrams of `segment` bytes each (the last may be shorter) with one
/// `sendmsg` to `to` (or to the connected peer when `None`). Returns the bytes sent.
///
/// # Errors
/// The system call's error (`EIO` or `EINVAL` where the route cannot segment, ...).
pub fn send_segments(
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
    let r = unsafe { libc::sendmsg(fd, &raw const hdr, flags) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(usize::try_from(r).unwrap_or(0))
    }
}

/// Whether a GSO send's error means "this path cannot segment" (fall back for good) rather
/// than a passing condition.
#[must_use]
pub fn unsupported(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EIO | libc::EINVAL | libc::ENOPROTOOPT | libc::EOPNOTSUPP | libc::EMSGSIZE)
    )
}
