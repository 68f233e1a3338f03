//! The drop-in UDP socket: the stdlib's blocking, non-blocking and timeout modes over a
//! descriptor that is always non-blocking underneath.
//!
//! Python's socket keeps one timeout per socket: `None` blocks forever, `0.0` never blocks
//! (`BlockingIOError`), and a positive value waits at most that long (`socket.timeout`).
//! [`UdpSocket`] keeps the descriptor in `O_NONBLOCK` and implements every mode with
//! [`crate::wait::wait_fd`], so that even a "blocking" call wakes every
//! [`crate::cancel::TICK`] to check for Ctrl+C. The fast path (data already there) is one
//! system call, as in `CPython`.
//!
//! All methods take `&self`: the descriptor and timeout are atomics, so one socket can be
//! shared between threads as Python allows. After [`UdpSocket::close`] the descriptor is `-1`
//! and every operation fails with `EBADF`, as the stdlib's does.

use std::net::SocketAddr;
use std::os::fd::{FromRawFd, IntoRawFd, RawFd};
use std::sync::atomic::{AtomicI32, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::addr::{self, AF_INET, AF_INET6};
use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::wait::{deadline_after, wait_fd};

/// Largest buffer `getsockopt` may be asked to fill, as in `CPython`.
pub const GETSOCKOPT_MAX: usize = 1024;

/// The timeout mode of a socket, as `settimeout` sets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `settimeout(None)`: wait as long as it takes.
    Blocking,
    /// `settimeout(0.0)` / `setblocking(False)`: fail with `EAGAIN` instead of waiting.
    NonBlocking,
    /// `settimeout(t)`, `t > 0`: wait at most `t`, then fail with [`Error::Timeout`].
    Timeout(Duration),
}

impl Mode {
    /// The mode for a Python timeout value (`None` or seconds).
    #[must_use]
    pub fn from_timeout(timeout: Option<Duration>) -> Self {
        match timeout {
            None => Mode::Blocking,
            Some(d) if d.is_zero() => Mode::NonBlocking,
            Some(d) => Mode::Timeout(d),
        }
    }

    /// The Python timeout value of this mode.
    #[must_use]
    pub fn timeout(self) -> Option<Duration> {
        match self {
            Mode::Blocking => None,
            Mode::NonBlocking => Some(Duration::ZERO),
            Mode::Timeout(d) => Some(d),
        }
    }

    fn encode(self) -> i64 {
        match self {
            Mode::Blocking => -1,
            Mode::NonBlocking => 0,
            Mode::Timeout(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX).max(1),
        }
    }

    fn decode(v: i64) -> Self {
        match u64::try_from(v) {
            Err(_) => Mode::Blocking,
            Ok(0) => Mode::NonBlocking,
            Ok(ns) => Mode::Timeout(Duration::from_nanos(ns)),
        }
    }
}

/// A value for `setsockopt`.
#[derive(Clone, Copy, Debug)]
pub enum OptValue<'a> {
    /// An integer option (`setsockopt(level, name, 1)`).
    Int(i32),
    /// Raw bytes (`setsockopt(level, name, b"...")`).
    Bytes(&'a [u8]),
    /// No value, only a length (`setsockopt(level, name, None, optlen)`).
    Null(u32),
}

/// A UDP socket with Python's semantics.
#[derive(Debug)]
pub struct UdpSocket {
    fd: AtomicI32,
    family: i32,
    proto: i32,
    mode: AtomicI64,
}

/// Converts a `-1` return into the current errno.
fn check(ret: isize) -> Result<usize> {
    usize::try_from(ret).map_err(|_| Error::last_os_error())
}

/// Converts a `-1` return of an int-returning call into the current errno.
fn check_int(ret: libc::c_int) -> Result<()> {
    if ret < 0 {
        Err(Error::last_os_error())
    } else {
        Ok(())
    }
}

impl UdpSocket {
    /// Creates a UDP socket of `family` (`AF_INET` or `AF_INET6`) with `proto` (0 or
    /// `IPPROTO_UDP`), in `mode`.
    ///
    /// # Errors
    /// The errno of `socket(2)`: `EAFNOSUPPORT` for another family, `EPROTONOSUPPORT` for a
    /// protocol UDP does not speak.
    pub fn new(family: i32, proto: i32, mode: Mode) -> Result<Self> {
        let protocol = if proto == 0 {
            None
        } else {
            Some(Protocol::from(proto))
        };
        let sock = Socket::new(Domain::from(family), Type::DGRAM, protocol)?;
        sock.set_nonblocking(true)?;
        Ok(UdpSocket {
            fd: AtomicI32::new(sock.into_raw_fd()),
            family,
            proto,
            mode: AtomicI64::new(mode.encode()),
        })
    }

    /// The descriptor, or -1 once closed (`fileno()`).
    #[must_use]
    pub fn fd(&self) -> RawFd {
        self.fd.load(Ordering::Acquire)
    }

    /// The address family given at creation.
    #[must_use]
    pub fn family(&self) -> i32 {
        self.family
    }

    /// The protocol number given at creation.
    #[must_use]
    pub fn proto(&self) -> i32 {
        self.proto
    }

    /// True once [`UdpSocket::close`] or [`UdpSocket::detach`] ran.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.fd() < 0
    }

    /// The current timeout mode.
    #[must_use]
    pub fn mode(&self) -> Mode {
        Mode::decode(self.mode.load(Ordering::Relaxed))
    }

    /// Sets the timeout mode (`settimeout`, `setblocking`). Allowed after close, as in Python.
    pub fn set_mode(&self, mode: Mode) {
        self.mode.store(mode.encode(), Ordering::Relaxed);
    }

    /// Closes the descriptor; closing twice is a no-op, as in Python.
    ///
    /// # Errors
    /// The errno of `close(2)`, except `ECONNRESET` which Python ignores.
    pub fn close(&self) -> Result<()> {
        let fd = self.fd.swap(-1, Ordering::AcqRel);
        if fd < 0 {
            return Ok(());
        }
        // SAFETY: we owned `fd` and nobody else closes it: the swap above made it ours alone.
        let rc = unsafe { libc::close(fd) };
        if rc < 0 {
            let err = Error::last_os_error();
            if err.errno() != Some(libc::ECONNRESET) {
                return Err(err);
            }
        }
        Ok(())
    }

    /// Gives up the descriptor without closing it (`detach()`), returning it (or -1).
    pub fn detach(&self) -> RawFd {
        self.fd.swap(-1, Ordering::AcqRel)
    }

    /// Runs `op` under the socket's timeout mode: retried after waiting for `events` while it
    /// fails with `EAGAIN`, until the timeout passes or `cancel` says stop.
    fn io<T>(
        &self,
        events: libc::c_short,
        cancel: &Cancel,
        mut op: impl FnMut(RawFd) -> Result<T>,
    ) -> Result<T> {
        let fd = self.fd();
        let mode = self.mode();
        let deadline = match mode {
            Mode::Timeout(d) => deadline_after(d),
            _ => None,
        };
        loop {
            match op(fd) {
                Err(e) if e.is_would_block() => match mode {
                    Mode::NonBlocking => return Err(e),
                    Mode::Blocking => {
                        wait_fd(fd, events, None, cancel)?;
                    }
                    Mode::Timeout(_) => {
                        // No deadline: a timeout beyond what an Instant can hold.
                        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                        if left == Some(Duration::ZERO) || !wait_fd(fd, events, left, cancel)? {
                            return Err(Error::Timeout);
                        }
                    }
                },
                Err(e) if e.errno() == Some(libc::EINTR) => cancel.checkpoint()?,
                other => return other,
            }
        }
    }

    /// Binds to `addr` (`bind()`).
    ///
    /// # Errors
    /// The errno of `bind(2)` (`EADDRINUSE`, `EACCES`, `EADDRNOTAVAIL`, ...).
    pub fn bind(&self, addr: &SocketAddr) -> Result<()> {
        let (raw, len) = addr::to_raw(addr);
        // SAFETY: `raw` holds a valid sockaddr of `len` bytes.
        check_int(unsafe { libc::bind(self.fd(), std::ptr::addr_of!(raw).cast(), len) })
    }

    /// Connects to `addr` (`connect()`): fixes the peer for `send`/`recv` and filters replies.
    ///
    /// # Errors
    /// The errno of `connect(2)`.
    pub fn connect(&self, addr: &SocketAddr) -> Result<()> {
        let (raw, len) = addr::to_raw(addr);
        // SAFETY: `raw` holds a valid sockaddr of `len` bytes.
        let rc = unsafe { libc::connect(self.fd(), std::ptr::addr_of!(raw).cast(), len) };
        check_int(rc)
    }

    /// Receives one datagram into `buf` (`recvfrom()`); a longer datagram is truncated and
    /// the rest discarded, as on Linux.
    ///
    /// # Errors
    /// `EAGAIN` (non-blocking), [`Error::Timeout`], [`Error::Interrupted`], or the errno of
    /// `recvfrom(2)` (`EBADF` after close, `ECONNREFUSED` after an ICMP error, ...).
    pub fn recv_from(
        &self,
        buf: &mut [u8],
        flags: i32,
        cancel: &Cancel,
    ) -> Result<(usize, Option<SocketAddr>)> {
        self.io(libc::POLLIN, cancel, |fd| {
            let mut raw = addr::raw_storage();
            let mut len =
                libc::socklen_t::try_from(std::mem::size_of::<addr::RawAddr>()).unwrap_or(0);
            // SAFETY: `buf` and `raw` are valid for writes of the lengths given.
            let n = check(unsafe {
                libc::recvfrom(
                    fd,
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    flags,
                    std::ptr::addr_of_mut!(raw).cast(),
                    &raw mut len,
                )
            })?;
            // SAFETY: the kernel wrote `len` bytes of address into `raw`.
            Ok((n, unsafe { addr::from_raw(&raw const raw, len) }))
        })
    }

    /// Receives one datagram from the connected peer (`recv()`).
    ///
    /// # Errors
    /// As [`UdpSocket::recv_from`].
    pub fn recv(&self, buf: &mut [u8], flags: i32, cancel: &Cancel) -> Result<usize> {
        self.io(libc::POLLIN, cancel, |fd| {
            // SAFETY: `buf` is valid for writes of its length.
            check(unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), flags) })
        })
    }

    /// Sends one datagram to `addr` (`sendto()`), returning the bytes sent.
    ///
    /// # Errors
    /// `EMSGSIZE` over 65507 bytes (IPv4), `EACCES` for broadcast without `SO_BROADCAST`,
    /// `EAGAIN`, [`Error::Timeout`], and the other errors of `sendto(2)`.
    pub fn send_to(
        &self,
        data: &[u8],
        addr: &SocketAddr,
        flags: i32,
        cancel: &Cancel,
    ) -> Result<usize> {
        let (raw, len) = addr::to_raw(addr);
        self.io(libc::POLLOUT, cancel, |fd| {
            // SAFETY: `data` and `raw` are valid for reads of the lengths given.
            check(unsafe {
                libc::sendto(
                    fd,
                    data.as_ptr().cast(),
                    data.len(),
                    flags,
                    std::ptr::addr_of!(raw).cast(),
                    len,
                )
            })
        })
    }

    /// Sends one datagram to the connected peer (`send()`).
    ///
    /// # Errors
    /// `EDESTADDRREQ` when not connected, and as [`UdpSocket::send_to`].
    pub fn send(&self, data: &[u8], flags: i32, cancel: &Cancel) -> Result<usize> {
        self.io(libc::POLLOUT, cancel, |fd| {
            // SAFETY: `data` is valid for reads of its length.
            check(unsafe { libc::send(fd, data.as_ptr().cast(), data.len(), flags) })
        })
    }

    /// The local address (`getsockname()`); `0.0.0.0:0` before bind.
    ///
    /// # Errors
    /// `EBADF` after close.
    pub fn local_addr(&self) -> Result<Option<SocketAddr>> {
        self.name_of(libc::getsockname)
    }

    /// The connected peer (`getpeername()`).
    ///
    /// # Errors
    /// `ENOTCONN` when not connected, `EBADF` after close.
    pub fn peer_addr(&self) -> Result<Option<SocketAddr>> {
        self.name_of(libc::getpeername)
    }

    /// Calls `getsockname` or `getpeername` and converts the answer.
    fn name_of(
        &self,
        call: unsafe extern "C" fn(
            libc::c_int,
            *mut libc::sockaddr,
            *mut libc::socklen_t,
        ) -> libc::c_int,
    ) -> Result<Option<SocketAddr>> {
        let mut raw = addr::raw_storage();
        let mut len = libc::socklen_t::try_from(std::mem::size_of::<addr::RawAddr>()).unwrap_or(0);
        // SAFETY: `raw` is valid for `len` bytes of address.
        check_int(unsafe { call(self.fd(), std::ptr::addr_of_mut!(raw).cast(), &raw mut len) })?;
        // SAFETY: the kernel wrote `len` bytes of address into `raw`.
        Ok(unsafe { addr::from_raw(&raw const raw, len) })
    }

    /// Shuts down reading, writing or both (`SHUT_RD`, `SHUT_WR`, `SHUT_RDWR`).
    ///
    /// # Errors
    /// `ENOTCONN` on an unconnected UDP socket, `EINVAL` for another `how`.
    pub fn shutdown(&self, how: i32) -> Result<()> {
        // SAFETY: plain system call on our descriptor.
        check_int(unsafe { libc::shutdown(self.fd(), how) })
    }

    /// Sets a socket option (`setsockopt()`).
    ///
    /// # Errors
    /// The errno of `setsockopt(2)`: `ENOPROTOOPT` for an option the kernel does not know.
    pub fn set_option(&self, level: i32, name: i32, value: OptValue<'_>) -> Result<()> {
        let fd = self.fd();
        let int_storage: libc::c_int;
        let (ptr, len): (*const libc::c_void, usize) = match value {
            OptValue::Int(v) => {
                int_storage = v;
                (
                    std::ptr::addr_of!(int_storage).cast(),
                    std::mem::size_of::<libc::c_int>(),
                )
            }
            OptValue::Bytes(b) => (b.as_ptr().cast(), b.len()),
            OptValue::Null(n) => (std::ptr::null(), n as usize),
        };
        let len = libc::socklen_t::try_from(len).map_err(|_| Error::from_errno(libc::EINVAL))?;
        // SAFETY: `ptr` is valid for `len` bytes (or null, which the kernel rejects with EFAULT).
        check_int(unsafe { libc::setsockopt(fd, level, name, ptr, len) })
    }

    /// Reads an integer socket option (`getsockopt(level, name)`).
    ///
    /// # Errors
    /// The errno of `getsockopt(2)`.
    pub fn option_int(&self, level: i32, name: i32) -> Result<i32> {
        let mut value: libc::c_int = 0;
        let mut len = libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>()).unwrap_or(4);
        // SAFETY: `value` is valid for `len` bytes.
        check_int(unsafe {
            libc::getsockopt(
                self.fd(),
                level,
                name,
                std::ptr::addr_of_mut!(value).cast(),
                &raw mut len,
            )
        })?;
        Ok(value)
    }

    /// Reads a socket option as raw bytes (`getsockopt(level, name, buflen)`).
    ///
    /// # Errors
    /// [`Error::Os`] for a `buflen` outside 1-1024 (as Python), else the errno of
    /// `getsockopt(2)`.
    pub fn option_bytes(&self, level: i32, name: i32, buflen: i64) -> Result<Vec<u8>> {
        let size = usize::try_from(buflen)
            .ok()
            .filter(|n| (1..=GETSOCKOPT_MAX).contains(n))
            .ok_or_else(|| Error::Os("getsockopt buflen out of range".into()))?;
        let mut buf = vec![0u8; size];
        let mut len = libc::socklen_t::try_from(size).unwrap_or(0);
        // SAFETY: `buf` is valid for `len` bytes.
        check_int(unsafe {
            libc::getsockopt(
                self.fd(),
                level,
                name,
                buf.as_mut_ptr().cast(),
                &raw mut len,
            )
        })?;
        buf.truncate(usize::try_from(len).unwrap_or(0));
        Ok(buf)
    }
}

impl Drop for UdpSocket {
    fn drop(&mut self) {
        let fd = *self.fd.get_mut();
        if fd >= 0 {
            // SAFETY: we own `fd`; wrapping it in a Socket closes it exactly once.
            drop(unsafe { Socket::from_raw_fd(fd) });
        }
    }
}

/// True for the families udpeco's socket supports.
#[must_use]
pub fn is_supported_family(family: i32) -> bool {
    family == AF_INET || family == AF_INET6
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound() -> UdpSocket {
        let s = UdpSocket::new(AF_INET, 0, Mode::Blocking).unwrap();
        s.bind(&"127.0.0.1:0".parse().unwrap()).unwrap();
        s
    }

    #[test]
    fn echo_round_trip_and_truncation() {
        let (a, b) = (bound(), bound());
        let c = Cancel::new();
        let a_addr = a.local_addr().unwrap().unwrap();
        b.send_to(b"abcdef", &a_addr, 0, &c).unwrap();
        let mut buf = [0u8; 3];
        let (n, from) = a.recv_from(&mut buf, 0, &c).unwrap();
        assert_eq!((&buf[..n], from), (&b"abc"[..], b.local_addr().unwrap()));
        b.send_to(b"", &a_addr, 0, &c).unwrap();
        assert_eq!(
            a.recv_from(&mut buf, 0, &c).unwrap().0,
            0,
            "zero-length datagram"
        );
    }

    #[test]
    fn modes_behave_like_python() {
        let s = bound();
        let c = Cancel::new();
        let mut buf = [0u8; 8];
        s.set_mode(Mode::NonBlocking);
        assert_eq!(
            s.recv_from(&mut buf, 0, &c).unwrap_err().errno(),
            Some(libc::EAGAIN)
        );
        s.set_mode(Mode::from_timeout(Some(Duration::from_millis(100))));
        let t = Instant::now();
        assert!(matches!(s.recv_from(&mut buf, 0, &c), Err(Error::Timeout)));
        assert!(t.elapsed() >= Duration::from_millis(100));
        assert_eq!(s.mode().timeout(), Some(Duration::from_millis(100)));
    }

    #[test]
    fn errors_carry_the_errno() {
        let a = bound();
        let b = UdpSocket::new(AF_INET, 0, Mode::Blocking).unwrap();
        let taken = b.bind(&a.local_addr().unwrap().unwrap()).unwrap_err();
        assert_eq!(taken.errno(), Some(libc::EADDRINUSE));
        let big = vec![0u8; 65508];
        let c = Cancel::new();
        let err = a
            .send_to(&big, &"127.0.0.1:9".parse().unwrap(), 0, &c)
            .unwrap_err();
        assert_eq!(err.errno(), Some(libc::EMSGSIZE));
        assert_eq!(a.peer_addr().unwrap_err().errno(), Some(libc::ENOTCONN));
        a.close().unwrap();
        a.close().unwrap();
        assert_eq!(a.fd(), -1);
        let mut buf = [0u8; 4];
        assert_eq!(
            a.recv_from(&mut buf, 0, &c).unwrap_err().errno(),
            Some(libc::EBADF)
        );
        assert_eq!(a.local_addr().unwrap_err().errno(), Some(libc::EBADF));
    }

    #[test]
    fn options_round_trip() {
        let s = bound();
        s.set_option(libc::SOL_SOCKET, libc::SO_BROADCAST, OptValue::Int(1))
            .unwrap();
        assert_eq!(
            s.option_int(libc::SOL_SOCKET, libc::SO_BROADCAST).unwrap(),
            1
        );
        assert_eq!(
            s.option_bytes(libc::SOL_SOCKET, libc::SO_BROADCAST, 4)
                .unwrap(),
            1i32.to_ne_bytes()
        );
        assert!(matches!(
            s.option_bytes(libc::SOL_SOCKET, libc::SO_BROADCAST, 0),
            Err(Error::Os(_))
        ));
        assert_eq!(
            s.option_int(libc::SOL_SOCKET, 9999).unwrap_err().errno(),
            Some(libc::ENOPROTOOPT)
        );
    }
}
