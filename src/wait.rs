//! Waiting for file descriptors with `poll(2)`, in slices, so that waits are cancellable.
//!
//! [`poll_fds`] is the single place where the core blocks on readiness. It sleeps at most
//! [`crate::cancel::TICK`] at a time and checks its [`Cancel`] between slices and on `EINTR`,
//! which is what makes every blocking call answer Ctrl+C promptly. A `poll` interrupted by a
//! signal is retried with the remaining time, as Python does since PEP 475.

use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use crate::cancel::{Cancel, TICK};
use crate::error::{Error, Result};
use crate::sys;

/// The longest time, in seconds, a user may give for a timeout or a duration (about 31
/// years): the one limit the command line and the bindings check against.
pub(crate) const MAX_SECONDS: f64 = 1e9;
/// The shortest nonzero time, in seconds, a user may give (one nanosecond, the resolution of
/// a [`Duration`]).
pub(crate) const MIN_SECONDS: f64 = 1e-9;

/// A [`Duration`] from seconds a user gave for `what`: [`MIN_SECONDS`] to [`MAX_SECONDS`],
/// or 0 when `zero_ok`. The one converter of the core and the binding.
///
/// # Errors
/// [`Error::Value`] naming `what` and the limits (NaN, infinities and negatives included).
pub(crate) fn seconds(what: &str, secs: f64, zero_ok: bool) -> Result<Duration> {
    seconds_within(what, secs, zero_ok, MAX_SECONDS)
}

/// [`seconds`] with a smaller upper bound `max` (a bound of the caller's own, such as the
/// proxy's longest delay).
///
/// # Errors
/// [`Error::Value`] naming `what` and the limits.
pub(crate) fn seconds_within(what: &str, secs: f64, zero_ok: bool, max: f64) -> Result<Duration> {
    if (zero_ok && secs == 0.0) || (MIN_SECONDS..=max.min(MAX_SECONDS)).contains(&secs) {
        return Ok(Duration::from_secs_f64(secs));
    }
    let zero = if zero_ok { "0 or " } else { "" };
    Err(Error::Value(format!(
        "{what} must be {zero}from {MIN_SECONDS:e} to {max:e} seconds, not {secs}"
    )))
}

/// Readable events, as `select(2)` counts them (data, hang-up or error).
pub(crate) const READ_EVENTS: libc::c_short = libc::POLLIN | libc::POLLHUP | libc::POLLERR;
/// Writable events, as `select(2)` counts them.
pub(crate) const WRITE_EVENTS: libc::c_short = libc::POLLOUT | libc::POLLERR;
/// Exceptional conditions, as `select(2)` counts them (out-of-band data).
pub(crate) const EXCEPT_EVENTS: libc::c_short = libc::POLLPRI;

/// Milliseconds for one `poll` slice: the remaining time capped at [`TICK`], rounded up so
/// that a wait never ends before its deadline.
fn slice_ms(deadline: Option<Instant>) -> libc::c_int {
    let left = match deadline {
        Some(d) => d.saturating_duration_since(Instant::now()).min(TICK),
        None => TICK,
    };
    let ms = left.as_micros().div_ceil(1000);
    libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
}

/// The instant `timeout` from now, or `None` when it lies beyond what an [`Instant`] can hold
/// (a timeout of centuries, e.g. `1e19` seconds from Python): a wait that long has no
/// deadline. `Instant + Duration` would panic instead.
#[must_use]
pub(crate) fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// Polls `fds` until at least one has an event, `timeout` passes, or `cancel` says stop.
///
/// `timeout` of `None` waits forever; `Some(ZERO)` polls once without sleeping. Returns the
/// number of descriptors with events (`revents` is filled in), or 0 on timeout.
///
/// # Errors
/// [`Error::Interrupted`] when cancelled, [`Error::Io`] when `poll` itself fails.
pub(crate) fn poll_fds(
    fds: &mut [libc::pollfd],
    timeout: Option<Duration>,
    cancel: &Cancel,
) -> Result<usize> {
    let deadline = timeout.and_then(deadline_after);
    loop {
        if cancel.is_stopped() {
            return Err(Error::Interrupted);
        }
        let ms = slice_ms(deadline);
        match sys::poll(fds, ms) {
            Ok(n) if n > 0 => return Ok(n),
            Err(err) if err.raw_os_error() != Some(libc::EINTR) => return Err(Error::Io(err)),
            _ => {}
        }
        if cancel.check() {
            return Err(Error::Interrupted);
        }
        if let Some(d) = deadline {
            if Instant::now() >= d {
                return Ok(0);
            }
        }
    }
}

/// Waits until `fd` has one of `events`; `Ok(false)` when `timeout` passes first.
///
/// A descriptor that is not open (`POLLNVAL`) is reported as `EBADF`, as the system call on it
/// would.
///
/// # Errors
/// As [`poll_fds`], plus `EBADF` for a closed descriptor.
pub(crate) fn wait_fd(
    fd: RawFd,
    events: libc::c_short,
    timeout: Option<Duration>,
    cancel: &Cancel,
) -> Result<bool> {
    let mut pfd = [libc::pollfd {
        fd,
        events,
        revents: 0,
    }];
    let n = poll_fds(&mut pfd, timeout, cancel)?;
    if n > 0 && pfd[0].revents & libc::POLLNVAL != 0 {
        return Err(Error::from_errno(libc::EBADF));
    }
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;

    #[test]
    fn seconds_within_the_one_bound() {
        assert_eq!(
            seconds("delay", 0.25, false).unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(seconds("delay", 0.0, true).unwrap(), Duration::ZERO);
        assert!(seconds("delay", MAX_SECONDS, false).is_ok());
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, MAX_SECONDS * 2.0] {
            assert!(seconds("timeout", bad, false).is_err(), "{bad}");
        }
        match seconds("timeout", -1.0, true) {
            Err(Error::Value(m)) => {
                assert_eq!(m, "timeout must be 0 or from 1e-9 to 1e9 seconds, not -1");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn times_out_without_data_and_wakes_with_data() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let cancel = Cancel::new();
        let t = Instant::now();
        let ready = wait_fd(
            a.as_raw_fd(),
            libc::POLLIN,
            Some(Duration::from_millis(120)),
            &cancel,
        );
        assert!(!ready.unwrap());
        assert!(t.elapsed() >= Duration::from_millis(120));
        b.send_to(b"x", a.local_addr().unwrap()).unwrap();
        assert!(wait_fd(a.as_raw_fd(), libc::POLLIN, None, &cancel).unwrap());
    }

    #[test]
    fn stop_from_another_thread_ends_an_endless_wait() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let cancel = Cancel::new();
        let other = cancel.clone();
        let t = Instant::now();
        let stopper = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            other.stop();
        });
        let r = wait_fd(a.as_raw_fd(), libc::POLLIN, None, &cancel);
        stopper.join().unwrap();
        assert!(matches!(r, Err(Error::Interrupted)));
        // Generous bound: the machine may be loaded; the point is that it ends at all, promptly.
        assert!(t.elapsed() < Duration::from_millis(100) + TICK * 10);
    }

    #[test]
    fn a_timeout_beyond_instant_range_is_no_deadline() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        a.send_to(b"x", a.local_addr().unwrap()).unwrap();
        let ready = wait_fd(
            a.as_raw_fd(),
            libc::POLLIN,
            Some(Duration::MAX),
            &Cancel::new(),
        );
        assert!(ready.unwrap());
    }

    #[test]
    fn closed_descriptor_is_ebadf() {
        let r = wait_fd(
            1_000_000,
            libc::POLLIN,
            Some(Duration::ZERO),
            &Cancel::new(),
        );
        assert_eq!(r.unwrap_err().errno(), Some(libc::EBADF));
    }
}
