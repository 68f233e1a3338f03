//! The seam between the core and the operating system: every raw system call of the core is
//! made here, through [`syscall!`], and nowhere else.
//!
//! The platform is chosen once, below: [`unix`] holds the POSIX calls every Unix has,
//! `linux` the Linux-only ones (`recvmmsg`/`sendmmsg`, UDP GSO/GRO, `MSG_ERRQUEUE`,
//! `ppoll`, ...) and `fallback` their stand-ins elsewhere, with the same names and
//! signatures: an unsupported call fails with [`io::ErrorKind::Unsupported`] or reports
//! "not available", so the rest of the core has no `cfg` of its own for system calls.
//! Where `socket2` has a call (creating, binding and configuring sockets), the core uses
//! `socket2` instead; what is here is what `socket2` lacks.

use std::io;

/// Calls `libc::$fn($args)` and turns a `-1` return into [`io::Error::last_os_error`],
/// as `socket2` and `mio` do. Zero-cost: the check is the one the caller would write.
macro_rules! syscall {
    ($fn:ident ( $($arg:expr),* $(,)? )) => {{
        #[allow(unused_unsafe, clippy::macro_metavars_in_unsafe)]
        // SAFETY: the caller upholds the call's contract (its `SAFETY` comment says how).
        let res = unsafe { libc::$fn($($arg),*) };
        if res == -1 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(res)
        }
    }};
}

pub mod unix;
pub use unix::*;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use linux::*;

#[cfg(not(target_os = "linux"))]
mod fallback;
#[cfg(not(target_os = "linux"))]
pub use fallback::*;

/// An ICMP (or local) error read from a socket's error queue (`sock_extended_err`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtendedError {
    /// The error number (`ee_errno`).
    pub errno: u32,
    /// Where it came from (`SO_EE_ORIGIN_*`).
    pub origin: u8,
    /// The ICMP type.
    pub icmp_type: u8,
    /// The ICMP code.
    pub code: u8,
}

/// A return count (`ssize_t`, never negative once checked) as a `usize`.
#[inline]
fn count(n: isize) -> usize {
    usize::try_from(n).unwrap_or(0)
}

/// The size of `sockaddr_storage` as a `socklen_t`.
#[allow(clippy::cast_possible_truncation)]
pub const STORAGE_LEN: libc::socklen_t =
    std::mem::size_of::<crate::addr::RawAddr>() as libc::socklen_t;

/// The size of a `c_int` option, as a `socklen_t`.
#[allow(clippy::cast_possible_truncation)]
const INT_LEN: libc::socklen_t = std::mem::size_of::<libc::c_int>() as libc::socklen_t;

/// Maps an `io::Result` of a call that only succeeds or fails to `()`.
#[inline]
fn unit<T>(r: io::Result<T>) -> io::Result<()> {
    r.map(|_| ())
}
