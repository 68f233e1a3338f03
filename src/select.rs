//! `select.select` semantics over `poll(2)`, so there is no `FD_SETSIZE` (1024) limit.
//!
//! The caller passes the descriptors of its three lists; [`select`] answers which positions of
//! each list are ready, so the binding can return the caller's own objects in the caller's
//! order, as the stdlib does. Readiness follows `select(2)`: readable includes hang-up and
//! error, writable includes error, and "exceptional" is out-of-band data (`POLLPRI`).

use std::os::fd::RawFd;
use std::time::Duration;

use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::wait::{poll_fds, EXCEPT_EVENTS, READ_EVENTS, WRITE_EVENTS};

/// The positions in each input list whose descriptor is ready.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Ready {
    /// Indices into the read list.
    pub read: Vec<usize>,
    /// Indices into the write list.
    pub write: Vec<usize>,
    /// Indices into the exceptional-condition list.
    pub except: Vec<usize>,
}

/// Waits until a descriptor of `read`, `write` or `except` is ready, `timeout` passes
/// (`None` waits forever; zero polls once) or `cancel` says stop. All lists empty with a
/// timeout is a plain sleep, as with `select.select`.
///
/// # Errors
/// `EBADF` when a descriptor is not open (as `select(2)`), [`Error::Interrupted`] when
/// cancelled, and other `poll(2)` errors.
pub(crate) fn select(
    read: &[RawFd],
    write: &[RawFd],
    except: &[RawFd],
    timeout: Option<Duration>,
    cancel: &Cancel,
) -> Result<Ready> {
    let lists = [
        (read, READ_EVENTS),
        (write, WRITE_EVENTS),
        (except, EXCEPT_EVENTS),
    ];
    let mut fds: Vec<libc::pollfd> = Vec::with_capacity(read.len() + write.len() + except.len());
    for (list, events) in lists {
        fds.extend(list.iter().map(|&fd| libc::pollfd {
            fd,
            // POLLIN/POLLOUT must be asked for; HUP and ERR are always reported.
            events: events & (libc::POLLIN | libc::POLLOUT | libc::POLLPRI),
            revents: 0,
        }));
    }
    let n = poll_fds(&mut fds, timeout, cancel)?;
    let mut ready = Ready::default();
    if n == 0 {
        return Ok(ready);
    }
    if fds.iter().any(|p| p.revents & libc::POLLNVAL != 0) {
        return Err(Error::from_errno(libc::EBADF));
    }
    let mut offset = 0;
    for (i, (list, events)) in lists.iter().enumerate() {
        let out = match i {
            0 => &mut ready.read,
            1 => &mut ready.write,
            _ => &mut ready.except,
        };
        for (pos, p) in fds[offset..offset + list.len()].iter().enumerate() {
            if p.revents & events != 0 {
                out.push(pos);
            }
        }
        offset += list.len();
    }
    Ok(ready)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;
    use std::time::Instant;

    #[test]
    fn reports_positions_of_ready_descriptors() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        b.send_to(b"x", a.local_addr().unwrap()).unwrap();
        let (fa, fb) = (a.as_raw_fd(), b.as_raw_fd());
        let r = select(
            &[fb, fa],
            &[fa],
            &[fa],
            Some(Duration::from_secs(1)),
            &Cancel::new(),
        )
        .unwrap();
        assert_eq!(
            r,
            Ready {
                read: vec![1],
                write: vec![0],
                except: vec![]
            }
        );
    }

    #[test]
    fn empty_lists_sleep_for_the_timeout() {
        let t = Instant::now();
        let r = select(
            &[],
            &[],
            &[],
            Some(Duration::from_millis(80)),
            &Cancel::new(),
        )
        .unwrap();
        assert_eq!(r, Ready::default());
        assert!(t.elapsed() >= Duration::from_millis(80));
    }

    #[test]
    fn more_than_fd_setsize_descriptors() {
        // Each socket is connected to the sender, so a stray datagram from anything else on
        // loopback (a scan of 1-65535 running at the same time) cannot make it readable.
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let from = sender.local_addr().unwrap();
        let socks: Vec<UdpSocket> = (0..1100)
            .map(|_| {
                let s = UdpSocket::bind("127.0.0.1:0").unwrap();
                s.connect(from).unwrap();
                s
            })
            .collect();
        // Other tests open and close descriptors at the same time, so the last socket opened may
        // have taken a low number freed meanwhile; the highest of 1100 open ones is at least 1099.
        let fds: Vec<RawFd> = socks.iter().map(AsRawFd::as_raw_fd).collect();
        let high = (0..fds.len()).max_by_key(|&i| fds[i]).unwrap();
        assert!(fds[high] >= 1024);
        sender
            .send_to(b"x", socks[high].local_addr().unwrap())
            .unwrap();
        let r = select(&fds, &[], &[], Some(Duration::from_secs(1)), &Cancel::new()).unwrap();
        assert_eq!(r.read, vec![high]);
    }

    #[test]
    fn closed_descriptor_is_ebadf() {
        let r = select(&[1_000_000], &[], &[], Some(Duration::ZERO), &Cancel::new());
        assert_eq!(r.unwrap_err().errno(), Some(libc::EBADF));
    }
}
