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

mod unix;
pub(crate) use unix::*;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub(crate) use linux::*;

#[cfg(not(target_os = "linux"))]
mod fallback;
#[cfg(not(target_os = "linux"))]
pub use fallback::*;

/// An ICMP (or local) error read from a socket's error queue (`sock_extended_err`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ExtendedError {
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
pub(crate) const STORAGE_LEN: libc::socklen_t =
    std::mem::size_of::<crate::addr::RawAddr>() as libc::socklen_t;

/// The size of a `c_int` option, as a `socklen_t`.
#[allow(clippy::cast_possible_truncation)]
const INT_LEN: libc::socklen_t = std::mem::size_of::<libc::c_int>() as libc::socklen_t;

/// Maps an `io::Result` of a call that only succeeds or fails to `()`.
#[inline]
fn unit<T>(r: io::Result<T>) -> io::Result<()> {
    r.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;

    #[test]
    fn a_failed_call_is_its_errno() {
        let mut buf = [0u8; 4];
        let err = recv(-1, &mut buf, 0).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EBADF));
        let err = setsockopt_int(-1, libc::SOL_SOCKET, libc::SO_BROADCAST, 1).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EBADF));
    }

    #[test]
    fn an_int_option_round_trips() {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let fd = s.as_raw_fd();
        assert_eq!(
            getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_BROADCAST).unwrap(),
            0
        );
        setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_BROADCAST, 1).unwrap();
        assert_eq!(
            getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_BROADCAST).unwrap(),
            1
        );
    }

    #[test]
    fn poll_one_waits_for_data_or_the_timeout() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut pfd = libc::pollfd {
            fd: a.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        assert!(!poll_one_ns(&mut pfd, 1_000_000).unwrap());
        b.send_to(b"x", a.local_addr().unwrap()).unwrap();
        assert!(poll_one_ns(&mut pfd, 2_000_000_000).unwrap());
        let mut raw = crate::addr::raw_storage();
        let mut buf = [0u8; 4];
        let (n, len) = recv_from(a.as_raw_fd(), &mut buf, libc::MSG_DONTWAIT, &mut raw).unwrap();
        assert_eq!(&buf[..n], b"x");
        // SAFETY: the kernel wrote `len` bytes of address into `raw`.
        let from = unsafe { crate::addr::from_raw(&raw const raw, len) };
        assert_eq!(from, Some(b.local_addr().unwrap()));
        let err = recv(a.as_raw_fd(), &mut buf, libc::MSG_DONTWAIT).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    }
}
