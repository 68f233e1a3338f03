//! The scanner's probe socket: unconnected, non-blocking, with `IP_RECVERR` / `IPV6_RECVERR`.
//!
//! One socket sends every probe with `sendmmsg` and receives both kinds of answer: datagrams
//! (the port is open) with `recvmmsg`, and ICMP errors from the error queue with
//! `recvmmsg(MSG_ERRQUEUE)`, where each entry carries a `sock_extended_err` and, in
//! `msg_name`, the destination of the probe that caused it (hence the port).

use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::sockaddr;
use crate::error::{Error, Result};

/// Receive buffer asked for, so that thousands of queued ICMP errors are not dropped.
const RCVBUF: libc::c_int = 32 << 20;
/// Consecutive failed sends of one datagram after which the error is reported, not retried.
///
/// With `IP_RECVERR` every ICMP error also sets the socket's pending error, which the next
/// send returns once (and then clears); those sends are simply retried.
const MAX_SEND_ERRORS: u32 = 64;

/// A UDP socket set up for scanning one address family.
#[derive(Debug)]
pub struct ProbeSocket {
    fd: OwnedFd,
}

fn setsockopt_int(fd: RawFd, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> bool {
    let len = libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>()).unwrap_or_default();
    // SAFETY: `value` is a valid c_int for the duration of the call.
    unsafe { libc::setsockopt(fd, level, name, std::ptr::addr_of!(value).cast(), len) == 0 }
}

impl ProbeSocket {
    /// Opens the socket for IPv6 targets when `v6`, else for IPv4.
    ///
    /// # Errors
    /// [`Error::Io`] when the socket cannot be created or `IP_RECVERR` cannot be set.
    pub fn open(v6: bool) -> Result<Self> {
        let family = if v6 { libc::AF_INET6 } else { libc::AF_INET };
        // SAFETY: plain socket(2) call; the result is checked.
        let raw = unsafe {
            libc::socket(
                family,
                libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        };
        if raw < 0 {
            return Err(Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let (level, name) = if v6 {
            (libc::IPPROTO_IPV6, libc::IPV6_RECVERR)
        } else {
            (libc::IPPROTO_IP, libc::IP_RECVERR)
        };
        if !setsockopt_int(raw, level, name, 1) {
            return Err(Error::last_os_error());
        }
        // Root may exceed rmem_max; anyone else gets up to rmem_max (best effort).
        if !setsockopt_int(raw, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, RCVBUF) {
            setsockopt_int(raw, libc::SOL_SOCKET, libc::SO_RCVBUF, RCVBUF);
        }
        // Bind now (any address, a port of the kernel's choosing) so that the scanner knows
        // its own port: probing it would reach this very socket.
        let any = if v6 {
            SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 0))
        } else {
            SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, 0))
        };
        let (raw_any, len) = sockaddr::to_raw(any);
        // SAFETY: `raw_any` is a valid sockaddr of `len` bytes for this family.
        if unsafe { libc::bind(raw, std::ptr::addr_of!(raw_any).cast(), len) } != 0 {
            return Err(Error::last_os_error());
        }
        Ok(ProbeSocket { fd })
    }

    /// The local port the socket is bound to.
    ///
    /// # Errors
    /// [`Error::Io`] when `getsockname` fails.
    pub fn local_port(&self) -> Result<u16> {
        // SAFETY: an all-zero sockaddr_storage is valid for getsockname to fill.
        let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let mut len =
            libc::socklen_t::try_from(std::mem::size_of::<libc::sockaddr_storage>()).unwrap_or(0);
        // SAFETY: storage and len are valid for writing.
        let rc = unsafe {
            libc::getsockname(
                self.fd(),
                std::ptr::addr_of_mut!(storage).cast(),
                &raw mut len,
            )
        };
        if rc != 0 {
            return Err(Error::last_os_error());
        }
        sockaddr::from_raw(&storage)
            .map(|a| a.port())
            .ok_or_else(|| Error::from_errno(libc::EAFNOSUPPORT))
    }

    /// The descriptor, for `poll`.
    #[must_use]
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Reusable buffers for sending one probe to many ports of one address with `sendmmsg`.
pub struct Sender {
    names: Vec<libc::sockaddr_storage>,
    iov: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
    name_len: libc::socklen_t,
    probe: Vec<u8>,
}

impl Sender {
    /// Buffers for batches of up to `batch` probes carrying `probe` to `target`'s ports.
    #[must_use]
    pub fn new(target: SocketAddr, probe: &[u8], batch: usize) -> Self {
        let (raw, name_len) = sockaddr::to_raw(target);
        // SAFETY: all-zero iovec and mmsghdr are valid; pointers are set before each send.
        let (iov, hdrs) = unsafe {
            (
                vec![std::mem::zeroed(); batch],
                vec![std::mem::zeroed(); batch],
            )
        };
        Sender {
            names: vec![raw; batch],
            iov,
            hdrs,
            name_len,
            probe: probe.to_vec(),
        }
    }

    /// The largest batch [`Sender::send`] takes.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.hdrs.len()
    }

    /// Sends the probe to each of `ports` (at most [`Sender::capacity`]) and returns how many
    /// left; fewer than asked when the socket buffer is full (wait for `POLLOUT`).
    ///
    /// # Errors
    /// [`Error::Io`] for an error that repeats on the same datagram (no route to the host,
    /// a local firewall, ...), as opposed to the pending ICMP errors that are skipped.
    pub fn send(&mut self, sock: &ProbeSocket, ports: &[u16]) -> Result<usize> {
        let n = ports.len().min(self.hdrs.len());
        let data = self.probe.as_ptr().cast_mut().cast::<libc::c_void>();
        for (i, &port) in ports[..n].iter().enumerate() {
            sockaddr::set_port(&mut self.names[i], port);
            self.iov[i] = libc::iovec {
                iov_base: data,
                iov_len: self.probe.len(),
            };
            let hdr = &mut self.hdrs[i].msg_hdr;
            hdr.msg_name = std::ptr::addr_of_mut!(self.names[i]).cast();
            hdr.msg_namelen = self.name_len;
            hdr.msg_iov = std::ptr::addr_of_mut!(self.iov[i]);
            hdr.msg_iovlen = 1;
        }
        let mut sent = 0;
        let mut errors = 0;
        while sent < n {
            let count = libc::c_uint::try_from(n - sent).unwrap_or(libc::c_uint::MAX);
            // SAFETY: hdrs[sent..n] point into buffers owned by self that outlive the call.
            let rc = unsafe {
                libc::sendmmsg(
                    sock.fd(),
                    self.hdrs[sent..].as_mut_ptr(),
                    count,
                    libc::MSG_DONTWAIT,
                )
            };
            if rc > 0 {
                sent += usize::try_from(rc).unwrap_or(0);
                errors = 0;
                continue;
            }
            let err = std::io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EAGAIN | libc::ENOBUFS) => break,
                Some(libc::EINTR) => {}
                _ => {
                    errors += 1;
                    if errors >= MAX_SEND_ERRORS {
                        return Err(Error::Io(err));
                    }
                }
            }
        }
        Ok(sent)
    }
}

/// Reusable buffers for receiving a batch of datagrams or error-queue entries.
pub struct Receiver {
    names: Vec<libc::sockaddr_storage>,
    data: Vec<u8>,
    data_len: usize,
    control: Vec<u64>,
    control_len: usize,
    iov: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
}

/// One extended error read from the error queue.
#[derive(Clone, Copy, Debug)]
pub struct QueuedError {
    /// The destination of the probe that caused the error.
    pub dest: SocketAddr,
    /// `SO_EE_ORIGIN_*`.
    pub origin: u8,
    /// ICMP type.
    pub icmp_type: u8,
    /// ICMP code.
    pub code: u8,
}

impl Receiver {
    /// Buffers for `slots` messages of up to `data_len` bytes each.
    #[must_use]
    pub fn new(slots: usize, data_len: usize) -> Self {
        let control_len = 256;
        // SAFETY: all-zero storage, iovec and mmsghdr are valid; pointers are set per call.
        let (names, iov, hdrs) = unsafe {
            (
                vec![std::mem::zeroed(); slots],
                vec![std::mem::zeroed(); slots],
                vec![std::mem::zeroed(); slots],
            )
        };
        Receiver {
            names,
            data: vec![0; slots * data_len],
            data_len,
            control: vec![0; slots * control_len / 8],
            control_len,
            iov,
            hdrs,
        }
    }

    /// Receives what is waiting without blocking; `errqueue` reads the error queue instead of
    /// datagrams. Returns the number of messages (0 when nothing is there).
    ///
    /// # Errors
    /// [`Error::Io`] for failures other than "nothing to read" and pending socket errors.
    pub fn recv(&mut self, sock: &ProbeSocket, errqueue: bool) -> Result<usize> {
        let name_len =
            libc::socklen_t::try_from(std::mem::size_of::<libc::sockaddr_storage>()).unwrap_or(0);
        let base = self.data.as_mut_ptr();
        let control = self.control.as_mut_ptr().cast::<u8>();
        for i in 0..self.hdrs.len() {
            // SAFETY: offsets stay inside `data` and `control`, sized slots * len.
            let (buf, cbuf) = unsafe {
                (
                    base.add(i * self.data_len),
                    control.add(i * self.control_len),
                )
            };
            self.iov[i] = libc::iovec {
                iov_base: buf.cast(),
                iov_len: self.data_len,
            };
            let hdr = &mut self.hdrs[i].msg_hdr;
            hdr.msg_name = std::ptr::addr_of_mut!(self.names[i]).cast();
            hdr.msg_namelen = name_len;
            hdr.msg_iov = std::ptr::addr_of_mut!(self.iov[i]);
            hdr.msg_iovlen = 1;
            hdr.msg_control = if errqueue {
                cbuf.cast()
            } else {
                std::ptr::null_mut()
            };
            hdr.msg_controllen = if errqueue { self.control_len } else { 0 };
            hdr.msg_flags = 0;
            self.hdrs[i].msg_len = 0;
        }
        let flags = libc::MSG_DONTWAIT | if errqueue { libc::MSG_ERRQUEUE } else { 0 };
        let count = libc::c_uint::try_from(self.hdrs.len()).unwrap_or(libc::c_uint::MAX);
        loop {
            // SAFETY: every header points into buffers owned by self that outlive the call.
            let rc = unsafe {
                libc::recvmmsg(
                    sock.fd(),
                    self.hdrs.as_mut_ptr(),
                    count,
                    flags,
                    std::ptr::null_mut(),
                )
            };
            if rc >= 0 {
                return Ok(usize::try_from(rc).unwrap_or(0));
            }
            let err = std::io::Error::last_os_error();
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
    pub fn datagram(&self, i: usize) -> (Option<SocketAddr>, &[u8]) {
        let len = usize::try_from(self.hdrs[i].msg_len)
            .unwrap_or(0)
            .min(self.data_len);
        let start = i * self.data_len;
        (
            sockaddr::from_raw(&self.names[i]),
            &self.data[start..start + len],
        )
    }

    /// The extended error of error-queue entry `i` of the last [`Receiver::recv`].
    #[must_use]
    pub fn queued_error(&self, i: usize) -> Option<QueuedError> {
        let dest = sockaddr::from_raw(&self.names[i])?;
        let hdr = &self.hdrs[i].msg_hdr;
        // SAFETY: the header's control buffer was filled by the kernel; the CMSG macros walk
        // it within msg_controllen, and IP(V6)_RECVERR data is a sock_extended_err.
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(hdr);
            while !cmsg.is_null() {
                let c = &*cmsg;
                if (c.cmsg_level == libc::IPPROTO_IP && c.cmsg_type == libc::IP_RECVERR)
                    || (c.cmsg_level == libc::IPPROTO_IPV6 && c.cmsg_type == libc::IPV6_RECVERR)
                {
                    let ee = std::ptr::read_unaligned(
                        libc::CMSG_DATA(cmsg).cast::<libc::sock_extended_err>(),
                    );
                    return Some(QueuedError {
                        dest,
                        origin: ee.ee_origin,
                        icmp_type: ee.ee_type,
                        code: ee.ee_code,
                    });
                }
                cmsg = libc::CMSG_NXTHDR(hdr, cmsg);
            }
        }
        None
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
        let mut sender = Sender::new(target, b"x", 8);
        assert_eq!(sender.send(&sock, &[port]).unwrap(), 1);
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
}
