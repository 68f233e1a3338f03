//! The scanner's probe socket: unconnected, non-blocking, with `IP_RECVERR` / `IPV6_RECVERR`.
//!
//! One socket sends every probe in batches and receives both kinds of answer: datagrams (the
//! port is open), and ICMP errors from the error queue ([`Recv::ErrQueue`]), where each entry
//! carries a `sock_extended_err` and, as its name, the destination of the probe that caused
//! it (hence the port). The batched calls are [`crate::mmsg`]'s; this module adds the
//! scanner's policies: which errors to retry, skip or report.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::error::{Error, Result};
use crate::mmsg::{Batch, Recv};
use crate::sys;

/// Receive buffer asked for, so that thousands of queued ICMP errors are not dropped.
const RCVBUF: usize = 32 << 20;
/// Consecutive failed sends of one datagram after which the error is reported, not retried.
///
/// With `IP_RECVERR` every ICMP error also sets the socket's pending error, which the next
/// send returns once (and then clears); those sends are simply retried.
const MAX_SEND_ERRORS: u32 = 64;

/// A UDP socket set up for scanning one address family, and a second one that sends.
///
/// With `IP_RECVERR`, each ICMP error also sets the receiving socket's pending error, and
/// the next datagram it sends fails with it: on loopback, where a closed port's error
/// arrives during the very `sendmmsg` that sent the probe, every batch ended after its first
/// datagram (one system call and one failed send per probe). So the probes leave from a
/// second socket bound to the same address and port (`SO_REUSEADDR`) before the first one
/// is: a lookup for that address and port finds the newer socket first (the kernel adds
/// sockets at the head of the chain), so the errors and replies reach the first socket, and
/// the sender's batches are whole. Both have `IP_RECVERR` and both are read, so nothing is
/// lost if a kernel chose otherwise (it would only be slower).
#[derive(Debug)]
pub(super) struct ProbeSocket {
    sock: Socket,
    send: Option<Socket>,
}

/// A UDP socket of the family of `v6` with `IP_RECVERR` and a big receive buffer, not bound.
fn recverr_socket(v6: bool) -> Result<Socket> {
    let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
    // socket2 sets close-on-exec itself.
    let sock = Socket::new(domain, Type::DGRAM.nonblocking(), Some(Protocol::UDP))?;
    sys::set_recv_err(sock.as_raw_fd(), v6)?;
    // Root may exceed rmem_max; anyone else gets up to rmem_max (best effort).
    if sys::set_rcvbuf_force(sock.as_raw_fd(), RCVBUF).is_err() {
        let _ = sock.set_recv_buffer_size(RCVBUF);
    }
    Ok(sock)
}

/// The local address the kernel sends from to reach `target` (a connected socket's name).
fn route_source(target: IpAddr) -> Option<IpAddr> {
    let any: SocketAddr = if target.is_ipv6() {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    };
    let probe = std::net::UdpSocket::bind(any).ok()?;
    probe.connect((target, 9)).ok()?;
    probe.local_addr().ok().map(|a| a.ip())
}

/// The local port `sock` is bound to.
fn port_of(sock: &Socket) -> Result<u16> {
    sock.local_addr()?
        .as_socket()
        .map(|a| a.port())
        .ok_or_else(|| Error::from_errno(libc::EAFNOSUPPORT))
}

impl ProbeSocket {
    /// Opens the socket for IPv6 targets when `v6`, else for IPv4.
    ///
    /// # Errors
    /// [`Error::Io`] when the socket cannot be created or `IP_RECVERR` cannot be set.
    #[cfg(test)]
    pub(super) fn open(v6: bool) -> Result<Self> {
        Self::open_from(v6, None)
    }

    /// Like [`ProbeSocket::open`], bound to the local address `source` when given (the
    /// target limits its ICMP errors per source address: each one has its own budget).
    ///
    /// # Errors
    /// As [`ProbeSocket::open`]; `EADDRNOTAVAIL` when `source` is not this host's, and
    /// a `ValueError` when its family is not the target's.
    pub(super) fn open_from(v6: bool, source: Option<IpAddr>) -> Result<Self> {
        if source.is_some_and(|s| s.is_ipv6() != v6) {
            return Err(Error::Value(
                "the source address and the target must be of one family (IPv4 or IPv6)".into(),
            ));
        }
        let sock = recverr_socket(v6)?;
        // Bind now (any address, a port of the kernel's choosing) so that the scanner knows
        // its own port: probing it would reach this very socket.
        let any = match (source, v6) {
            (Some(ip), _) => SocketAddr::new(ip, 0),
            (None, true) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
            (None, false) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        };
        sock.bind(&SockAddr::from(any))?;
        Ok(ProbeSocket { sock, send: None })
    }

    /// The receiving and sending pair described at [`ProbeSocket`], to probe `target` from
    /// `source` (else from the address the kernel routes from); a plain socket
    /// ([`ProbeSocket::open_from`]) when the pair cannot be made.
    ///
    /// # Errors
    /// As [`ProbeSocket::open_from`].
    pub(super) fn open_pair(target: IpAddr, source: Option<IpAddr>) -> Result<Self> {
        let v6 = target.is_ipv6();
        let plain = || Self::open_from(v6, source);
        let Some(local) = source.or_else(|| route_source(target)) else {
            return plain();
        };
        if local.is_ipv6() != v6 {
            return plain();
        }
        let pair = || -> Result<Self> {
            let send = recverr_socket(v6)?;
            let sock = recverr_socket(v6)?;
            send.set_reuse_address(true)?;
            sock.set_reuse_address(true)?;
            send.bind(&SockAddr::from(SocketAddr::new(local, 0)))?;
            let port = port_of(&send)?;
            sock.bind(&SockAddr::from(SocketAddr::new(local, port)))?;
            Ok(ProbeSocket {
                sock,
                send: Some(send),
            })
        };
        pair().or_else(|_| plain())
    }

    /// The local port the socket is bound to.
    ///
    /// # Errors
    /// [`Error::Io`] when `getsockname` fails.
    pub(super) fn local_port(&self) -> Result<u16> {
        port_of(&self.sock)
    }

    /// The receiving descriptor, for `poll`.
    #[must_use]
    pub(super) fn fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    /// The sending descriptor (the receiving one when there is no pair).
    #[must_use]
    pub(super) fn send_fd(&self) -> RawFd {
        self.send.as_ref().map_or(self.fd(), AsRawFd::as_raw_fd)
    }

    /// Every descriptor that may hold answers: the receiving one, and the sending one.
    #[must_use]
    pub(super) fn fds(&self) -> Vec<RawFd> {
        let mut fds = vec![self.fd()];
        fds.extend(self.send.as_ref().map(AsRawFd::as_raw_fd));
        fds
    }
}

/// Sends probes to many ports of one address: a [`Batch`] whose slots all hold the target,
/// each aimed at its port and given its payload before the send.
pub(super) struct Sender {
    batch: Batch,
}

impl Sender {
    /// Buffers for batches of up to `batch` probes of up to `max_len` bytes to `target`'s ports.
    #[must_use]
    pub(super) fn new(target: SocketAddr, max_len: usize, batch: usize) -> Self {
        let mut batch = Batch::new(batch, max_len);
        batch.set_addr_all(&target);
        Sender { batch }
    }

    /// One `sendmmsg` of `probes` (at most [`Sender::capacity`]); returns how many it took.
    ///
    /// # Errors
    /// The error of the first probe, when not even that one was sent.
    #[cfg(test)]
    fn send_once(&mut self, sock: &ProbeSocket, probes: &[(u16, &[u8])]) -> Result<usize> {
        let n = probes.len().min(self.batch.capacity());
        for (i, &(port, payload)) in probes[..n].iter().enumerate() {
            self.batch.set_port(i, port);
            self.batch.set_data(i, payload);
        }
        Ok(self.batch.send(sock.send_fd(), 0, n, true)?)
    }

    /// Sends each `(port, payload)` of `probes` (at most [`Sender::capacity`]) and returns how
    /// many left; fewer than asked when the socket buffer is full (wait for `POLLOUT`).
    ///
    /// # Errors
    /// [`Error::Io`] for an error that repeats on the same datagram (no route to the host,
    /// a local firewall, ...), as opposed to the pending ICMP errors that are skipped.
    pub(super) fn send(&mut self, sock: &ProbeSocket, probes: &[(u16, &[u8])]) -> Result<usize> {
        let n = probes.len().min(self.batch.capacity());
        for (i, &(port, payload)) in probes[..n].iter().enumerate() {
            self.batch.set_port(i, port);
            self.batch.set_data(i, payload);
        }
        let mut sent = 0;
        let mut errors = 0;
        while sent < n {
            match self.batch.send(sock.send_fd(), sent, n, true) {
                Ok(k) => {
                    sent += k;
                    errors = 0;
                }
                Err(err) => match err.raw_os_error() {
                    Some(libc::EAGAIN | libc::ENOBUFS) => break,
                    Some(libc::EINTR) => {}
                    _ => {
                        errors += 1;
                        if errors >= MAX_SEND_ERRORS {
                            return Err(Error::Io(err));
                        }
                    }
                },
            }
        }
        Ok(sent)
    }
}

/// Receives a batch of datagrams or error-queue entries: a [`Batch`] with room for each
/// entry's extended error.
pub(super) struct Receiver {
    batch: Batch,
}

/// One extended error read from the error queue.
#[derive(Clone, Copy, Debug)]
pub(super) struct QueuedError {
    /// The destination of the probe that caused the error.
    pub dest: SocketAddr,
    /// `SO_EE_ORIGIN_*`.
    pub origin: u8,
    /// ICMP type.
    pub icmp_type: u8,
    /// ICMP code.
    pub code: u8,
}

/// Ancillary data room per error-queue entry (a `sock_extended_err` and the offender).
const CONTROL_LEN: usize = 256;

impl Receiver {
    /// Buffers for `slots` messages of up to `data_len` bytes each.
    #[must_use]
    pub(super) fn new(slots: usize, data_len: usize) -> Self {
        Receiver {
            batch: Batch::new(slots, data_len).with_control(CONTROL_LEN),
        }
    }

    /// Receives what is waiting without blocking; `errqueue` reads the error queue instead of
    /// datagrams. Returns the number of messages (0 when nothing is there).
    ///
    /// # Errors
    /// [`Error::Io`] for failures other than "nothing to read" and pending socket errors.
    #[cfg(test)]
    pub(super) fn recv(&mut self, sock: &ProbeSocket, errqueue: bool) -> Result<usize> {
        self.recv_fd(sock.fd(), errqueue)
    }

    /// [`Receiver::recv`] from one descriptor of a [`ProbeSocket`] ([`ProbeSocket::fds`]).
    ///
    /// # Errors
    /// As [`Receiver::recv`].
    pub(super) fn recv_fd(&mut self, fd: RawFd, errqueue: bool) -> Result<usize> {
        let mode = if errqueue {
            Recv::ErrQueue
        } else {
            Recv::NoWait
        };
        loop {
            let err = match self.batch.recv(fd, self.batch.capacity(), mode) {
                Ok(n) => return Ok(n),
                Err(err) => err,
            };
            match err.raw_os_error() {
                Some(libc::EAGAIN | libc::EINTR) => return Ok(0),
                // A pending ICMP error reported (and cleared) by a datagram read: the entry
                // itself stays in the error queue, read it there.
                Some(
                    libc::ECONNREFUSED
                    | libc::EHOSTUNREACH
                    | libc::ENETUNREACH
                    | libc::EACCES
                    | libc::EPROTO
                    | libc::EHOSTDOWN
                    | libc::ENOPROTOOPT
                    | libc::EMSGSIZE,
                ) if !errqueue => {}
                _ => return Err(Error::Io(err)),
            }
        }
    }

    /// The sender and payload of datagram `i` of the last [`Receiver::recv`].
    #[must_use]
    pub(super) fn datagram(&self, i: usize) -> (Option<SocketAddr>, &[u8]) {
        (self.batch.addr(i), self.batch.data(i))
    }

    /// The extended error of error-queue entry `i` of the last [`Receiver::recv`].
    #[must_use]
    pub(super) fn queued_error(&self, i: usize) -> Option<QueuedError> {
        let dest = self.batch.addr(i)?;
        let ee = self.batch.extended_error(i)?;
        Some(QueuedError {
            dest,
            origin: ee.origin,
            icmp_type: ee.icmp_type,
            code: ee.code,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    #[test]
    fn closed_port_error_arrives_in_the_error_queue_with_its_port() {
        let sock = ProbeSocket::open(false).unwrap();
        // A port that was just free: bind, read the port, close.
        let port = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let target: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let mut sender = Sender::new(target, 1, 8);
        assert_eq!(sender.send(&sock, &[(port, b"x")]).unwrap(), 1);
        let mut rx = Receiver::new(4, 64);
        let mut got = None;
        for _ in 0..100 {
            if rx.recv(&sock, true).unwrap() > 0 {
                got = rx.queued_error(0);
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let e = got.expect("ICMP port unreachable in the error queue");
        assert_eq!(e.dest.port(), port);
        assert_eq!(
            (e.origin, e.icmp_type, e.code),
            (libc::SO_EE_ORIGIN_ICMP, 3, 3)
        );
    }

    #[test]
    fn the_pair_sends_whole_batches_and_its_receiver_gets_the_errors() {
        let sock = ProbeSocket::open_pair("127.0.0.1".parse().unwrap(), None).unwrap();
        assert_ne!(sock.send_fd(), sock.fd(), "a pair on loopback");
        let ports: Vec<u16> = (0..8)
            .map(|_| {
                UdpSocket::bind("127.0.0.1:0")
                    .unwrap()
                    .local_addr()
                    .unwrap()
                    .port()
            })
            .collect();
        let probes: Vec<(u16, &[u8])> = ports.iter().map(|&p| (p, &b"x"[..])).collect();
        let mut sender = Sender::new("127.0.0.1:0".parse().unwrap(), 1, 8);
        // One socket would end the batch after the first probe (its error fails the next send).
        assert_eq!(sender.send_once(&sock, &probes).unwrap(), 8);
        let mut rx = Receiver::new(16, 64);
        let mut got = Vec::new();
        for _ in 0..100 {
            let n = rx.recv(&sock, true).unwrap();
            got.extend(
                (0..n)
                    .filter_map(|i| rx.queued_error(i))
                    .map(|e| e.dest.port()),
            );
            if got.len() == 8 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        got.sort_unstable();
        let mut want = ports.clone();
        want.sort_unstable();
        assert_eq!(got, want, "every error in the receiving socket's queue");
    }
}
