//! Datagram I/O calls with the stdlib socket's timeout semantics, on a descriptor owned by
//! someone else (the Python `socket.socket` object that `udpeco.socket` is).
//!
//! Python's socket keeps one timeout per socket: `None` blocks forever, `0.0` never blocks
//! (`BlockingIOError`), and a positive value waits at most that long (`socket.timeout`). The
//! descriptor's `O_NONBLOCK` flag is whatever the stdlib set for that mode; the calls here never
//! depend on it: every attempt uses `MSG_DONTWAIT`, and a wait is [`crate::wait::poll_fds`] in
//! slices of [`crate::cancel::TICK`], so that even a "blocking" call answers Ctrl+C. The fast
//! path (data already there) is one system call, as in `CPython`.
//!
//! The owner may close the descriptor from another thread while a call waits: the descriptor is
//! read again from its [`FdCell`] before every attempt, so a closed socket fails with `EBADF`
//! instead of reading from a new socket that reused the number.
//!
//! Where a real blocking call would return at once, so does a blocking call here (the stdlib's
//! observable behaviour): with `MSG_DONTWAIT` or `MSG_ERRQUEUE` in the flags (one attempt, so
//! `EAGAIN` is `BlockingIOError`), and after `shutdown(SHUT_RD)` (an empty datagram from no
//! address). A readiness that the attempt then contradicts (the error queue is not empty, say)
//! is retried after a short sleep, never in a busy loop.

use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use crate::addr;
use crate::cancel::{Cancel, TICK};
use crate::error::{Error, Result};
use crate::sys;
use crate::wait::{deadline_after, poll_fds};

/// The timeout mode of a socket, as `settimeout` sets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
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
    pub(crate) fn from_timeout(timeout: Option<Duration>) -> Self {
        match timeout {
            None => Mode::Blocking,
            Some(d) if d.is_zero() => Mode::NonBlocking,
            Some(d) => Mode::Timeout(d),
        }
    }
}

/// Where a call reads the socket's current descriptor (`-1` once closed).
#[derive(Clone, Copy, Debug)]
pub(crate) enum FdCell<'a> {
    /// A descriptor that nobody closes during the call.
    Fixed(RawFd),
    /// The owner's descriptor field, which another thread may set to `-1` (close).
    Shared(&'a AtomicI32),
}

impl FdCell<'_> {
    /// The descriptor now.
    #[must_use]
    pub(crate) fn get(&self) -> RawFd {
        match self {
            FdCell::Fixed(fd) => *fd,
            FdCell::Shared(cell) => cell.load(Ordering::Acquire),
        }
    }
}

/// Longest pause after a readiness the attempt contradicted (see the module comment).
const BACKOFF_MAX: Duration = Duration::from_millis(10);

/// Runs `op` (a `MSG_DONTWAIT` attempt on the current descriptor) under `mode`: retried after
/// waiting for `events` while it fails with `EAGAIN`, until the timeout passes or `cancel` says
/// stop. `hup` is what the call returns when the read side is shut down (`POLLRDHUP`) and a
/// blocking call would return at once.
fn io<T>(
    fd: FdCell<'_>,
    mode: Mode,
    flags: i32,
    events: libc::c_short,
    cancel: &Cancel,
    hup: Option<fn() -> T>,
    mut op: impl FnMut(RawFd) -> Result<T>,
) -> Result<T> {
    let deadline = match mode {
        Mode::Timeout(d) => deadline_after(d),
        _ => None,
    };
    // A real blocking call returns at once with these flags: one attempt.
    let once = mode == Mode::NonBlocking
        || (mode == Mode::Blocking && flags & (libc::MSG_DONTWAIT | libc::MSG_ERRQUEUE) != 0);
    let mut backoff = Duration::ZERO;
    loop {
        let current = fd.get();
        if current < 0 {
            return Err(Error::from_errno(libc::EBADF));
        }
        match op(current) {
            Err(e) if e.is_would_block() && !once => {}
            Err(e) if e.errno() == Some(libc::EINTR) => {
                cancel.checkpoint()?;
                continue;
            }
            other => return other,
        }
        if !backoff.is_zero() {
            // The last wait said ready and the attempt said no: do not spin.
            let left = deadline.map_or(backoff, |d| {
                d.saturating_duration_since(Instant::now()).min(backoff)
            });
            std::thread::sleep(left);
            cancel.checkpoint()?;
        }
        let mut pfd = [libc::pollfd {
            fd: current,
            events: events | libc::POLLRDHUP,
            revents: 0,
        }];
        // One slice at a time, so that a close() from another thread is seen within a slice.
        loop {
            let slice = match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(Error::Timeout);
                    }
                    left.min(TICK)
                }
                None => TICK,
            };
            if poll_fds(&mut pfd, Some(slice), cancel)? > 0 {
                break;
            }
            if fd.get() != current {
                return Err(Error::from_errno(libc::EBADF));
            }
        }
        let revents = pfd[0].revents;
        if revents & libc::POLLNVAL != 0 || fd.get() != current {
            return Err(Error::from_errno(libc::EBADF));
        }
        if let (Some(hup), Mode::Blocking) = (hup, mode) {
            if revents & libc::POLLRDHUP != 0 {
                // Shut down for reading: data still queued comes first, then what a blocking
                // call returns (0 bytes).
                return match op(current) {
                    Err(e) if e.is_would_block() => Ok(hup()),
                    other => other,
                };
            }
        }
        backoff = if revents & events == 0 && revents & libc::POLLERR == 0 {
            Duration::ZERO
        } else {
            (backoff * 2).clamp(Duration::from_millis(1), BACKOFF_MAX.min(TICK))
        };
    }
}

/// Receives one datagram into `buf` (`recvfrom()`); a longer datagram is truncated and the
/// rest discarded, as on Linux.
///
/// # Errors
/// `EAGAIN` (non-blocking), [`Error::Timeout`], [`Error::Interrupted`], or the errno of
/// `recvfrom(2)` (`EBADF` after close, `ECONNREFUSED` after an ICMP error, ...).
pub(crate) fn recv_from(
    fd: FdCell<'_>,
    mode: Mode,
    buf: &mut [u8],
    flags: i32,
    cancel: &Cancel,
) -> Result<(usize, Option<SocketAddr>)> {
    let hup: fn() -> (usize, Option<SocketAddr>) = || (0, None);
    io(fd, mode, flags, libc::POLLIN, cancel, Some(hup), |fd| {
        let mut raw = addr::raw_storage();
        let (n, len) = sys::recv_from(fd, buf, flags | libc::MSG_DONTWAIT, &mut raw)?;
        // SAFETY: the kernel wrote `len` bytes of address into `raw`.
        Ok((n, unsafe { addr::from_raw(&raw const raw, len) }))
    })
}

/// Receives one datagram from the connected peer (`recv()`).
///
/// # Errors
/// As [`recv_from`].
pub(crate) fn recv(
    fd: FdCell<'_>,
    mode: Mode,
    buf: &mut [u8],
    flags: i32,
    cancel: &Cancel,
) -> Result<usize> {
    let hup: fn() -> usize = || 0;
    io(fd, mode, flags, libc::POLLIN, cancel, Some(hup), |fd| {
        Ok(sys::recv(fd, buf, flags | libc::MSG_DONTWAIT)?)
    })
}

/// Sends one datagram to `addr` (`sendto()`), returning the bytes sent.
///
/// # Errors
/// `EMSGSIZE` over 65507 bytes (IPv4), `EACCES` for broadcast without `SO_BROADCAST`,
/// `EAGAIN`, [`Error::Timeout`], and the other errors of `sendto(2)`.
pub(crate) fn send_to(
    fd: FdCell<'_>,
    mode: Mode,
    data: &[u8],
    addr: &SocketAddr,
    flags: i32,
    cancel: &Cancel,
) -> Result<usize> {
    let (raw, len) = addr::to_raw(addr);
    io(fd, mode, flags, libc::POLLOUT, cancel, None, |fd| {
        Ok(sys::send_to(
            fd,
            data,
            &raw,
            len,
            flags | libc::MSG_DONTWAIT,
        )?)
    })
}

/// Sends one datagram to the connected peer (`send()`).
///
/// # Errors
/// `EDESTADDRREQ` when not connected, and as [`send_to`].
pub(crate) fn send(
    fd: FdCell<'_>,
    mode: Mode,
    data: &[u8],
    flags: i32,
    cancel: &Cancel,
) -> Result<usize> {
    io(fd, mode, flags, libc::POLLOUT, cancel, None, |fd| {
        let flags = flags | libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
        Ok(sys::send(fd, data, flags)?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;

    fn pair() -> (UdpSocket, UdpSocket) {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        a.connect(b.local_addr().unwrap()).unwrap();
        b.connect(a.local_addr().unwrap()).unwrap();
        (a, b)
    }

    #[test]
    fn round_trip_truncation_and_modes() {
        let (rx, tx) = pair();
        let cancel = Cancel::new();
        let frx = FdCell::Fixed(rx.as_raw_fd());
        let ftx = FdCell::Fixed(tx.as_raw_fd());
        send_to(
            ftx,
            Mode::Blocking,
            b"abcdef",
            &rx.local_addr().unwrap(),
            0,
            &cancel,
        )
        .unwrap();
        let mut buffer = [0u8; 3];
        let (n, from) = recv_from(frx, Mode::Blocking, &mut buffer, 0, &cancel).unwrap();
        assert_eq!(
            (&buffer[..n], from),
            (&b"abc"[..], Some(tx.local_addr().unwrap()))
        );
        let err = recv(frx, Mode::NonBlocking, &mut buffer, 0, &cancel).unwrap_err();
        assert_eq!(err.errno(), Some(libc::EAGAIN));
        let start = Instant::now();
        let res = recv(
            frx,
            Mode::Timeout(Duration::from_millis(100)),
            &mut buffer,
            0,
            &cancel,
        );
        assert!(matches!(res, Err(Error::Timeout)));
        assert!(start.elapsed() >= Duration::from_millis(100));
    }

    #[test]
    fn blocking_calls_that_return_at_once() {
        let (rx, tx) = pair();
        let cancel = Cancel::new();
        let frx = FdCell::Fixed(rx.as_raw_fd());
        let mut buffer = [0u8; 8];
        // MSG_DONTWAIT and MSG_ERRQUEUE: one attempt, even with a datagram queued.
        let err = recv(
            frx,
            Mode::Blocking,
            &mut buffer,
            libc::MSG_DONTWAIT,
            &cancel,
        )
        .unwrap_err();
        assert_eq!(err.errno(), Some(libc::EAGAIN));
        tx.send(b"x").unwrap();
        let err = recv(
            frx,
            Mode::Blocking,
            &mut buffer,
            libc::MSG_ERRQUEUE,
            &cancel,
        )
        .unwrap_err();
        assert_eq!(err.errno(), Some(libc::EAGAIN));
        assert_eq!(
            recv(frx, Mode::Blocking, &mut buffer, 0, &cancel).unwrap(),
            1
        );
        // Shut down for reading: 0 bytes from no address.
        socket2::SockRef::from(&rx)
            .shutdown(std::net::Shutdown::Read)
            .unwrap();
        let res = recv_from(frx, Mode::Blocking, &mut buffer, 0, &cancel).unwrap();
        assert_eq!(res, (0, None));
    }

    #[test]
    fn a_closed_cell_is_ebadf_at_once() {
        let (rx, _tx) = pair();
        let cell = AtomicI32::new(rx.as_raw_fd());
        let cancel = Cancel::new();
        let mut buffer = [0u8; 8];
        std::thread::scope(|s| {
            let waiter = s.spawn(|| {
                recv(
                    FdCell::Shared(&cell),
                    Mode::Blocking,
                    &mut buffer,
                    0,
                    &cancel,
                )
            });
            std::thread::sleep(Duration::from_millis(30));
            cell.store(-1, Ordering::Release);
            let err = waiter.join().unwrap().unwrap_err();
            assert_eq!(err.errno(), Some(libc::EBADF));
        });
    }
}
