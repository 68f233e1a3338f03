//! UDP segmentation offload (GSO, `UDP_SEGMENT`) and receive offload (GRO, `UDP_GRO`),
//! Linux only (4.18+ for GSO, 5.0+ for GRO), detected at run time; the calls are
//! `crate::sys`'s ("not available" elsewhere).
//!
//! A GSO send hands the kernel one buffer (possibly several `iovec`s) and a segment size in
//! a `UDP_SEGMENT` control message: the kernel sends it as consecutive datagrams of that
//! size (the last may be shorter), walking the stack once instead of once per datagram. With
//! `UDP_GRO` set on a socket, a train of such datagrams that arrived as one (always the case
//! on loopback when the sender used GSO) is received whole by one `recvmsg`, with the
//! segment size in a `UDP_GRO` control message; the reader splits it again.

use std::io;

pub(crate) use crate::sys::{enable_gro, gso_supported, send_segments, set_segment, CONTROL_WORDS};

/// Most datagrams one GSO send may carry (`UDP_MAX_SEGMENTS` of older kernels).
pub(crate) const MAX_SEGMENTS: usize = 64;
/// A receive slot for a coalesced (GRO) train: the largest UDP payload, rounded up.
pub(crate) const GRO_SLOT: usize = 65_536;
/// Ancillary-data bytes per slot of a GRO receive batch (its `UDP_GRO` message, an int).
pub(crate) const GRO_CONTROL_LEN: usize = CONTROL_WORDS * 8;
/// Most payload bytes one GSO send may carry (an IPv4 datagram's 65,535 minus headers,
/// with margin for IPv6).
pub(crate) const MAX_BYTES: usize = 65_000;
/// Whether a GSO send's error means "this path cannot segment" (fall back for good) rather
/// than a passing condition.
#[must_use]
pub(crate) fn unsupported(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EIO | libc::EINVAL | libc::ENOPROTOOPT | libc::EOPNOTSUPP | libc::EMSGSIZE)
    )
}
