//! Batched datagram I/O: `recvmmsg`/`sendmmsg` on Linux, a `recvfrom`/`sendto` loop elsewhere.
//!
//! A [`Batch`] owns `capacity` receive buffers of `bufsize` bytes each, their source addresses
//! and (on Linux) the `mmsghdr` array pointing at them, all allocated once. Receiving fills
//! slots `0..n`; echoing sends slots back to the address each came from, with the length that
//! was received. A datagram longer than `bufsize` is truncated, exactly as `recvfrom(bufsize)`
//! would do. Nothing on the hot path allocates.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;

/// A compact, hashable identity of a datagram's sender (family, address, port, scope).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AddrKey {
    ip: u128,
    port: u16,
    v6: bool,
    scope: u32,
}

/// A set of reusable buffers for batched receive and send on datagram sockets.
pub struct Batch {
    capacity: usize,
    bufsize: usize,
    bufs: Vec<u8>,
    addrs: Vec<libc::sockaddr_storage>,
    addr_lens: Vec<libc::socklen_t>,
    lens: Vec<usize>,
    #[cfg(target_os = "linux")]
    iovs: Vec<libc::iovec>,
    #[cfg(target_os = "linux")]
    hdrs: Vec<libc::mmsghdr>,
}

/// The size of `sockaddr_storage` as a `socklen_t`.
#[allow(clippy::cast_possible_truncation)]
const STORAGE_LEN: libc::socklen_t =
    std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;

impl Batch {
    /// A batch of `capacity` slots of `bufsize` bytes (both at least 1).
    #[must_use]
    pub fn new(capacity: usize, bufsize: usize) -> Self {
        let capacity = capacity.max(1);
        let bufsize = bufsize.max(1);
        // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
        let zero_addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let mut batch = Batch {
            capacity,
            bufsize,
            bufs: vec![0u8; capacity * bufsize],
            addrs: vec![zero_addr; capacity],
            addr_lens: vec![STORAGE_LEN; capacity],
            lens: vec![0; capacity],
            #[cfg(target_os = "linux")]
            iovs: Vec::with_capacity(capacity),
            #[cfg(target_os = "linux")]
            hdrs: Vec::with_capacity(capacity),
        };
        #[cfg(target_os = "linux")]
        batch.link();
        batch
    }

    /// Points every `mmsghdr` at its buffer and address slot. The vectors never grow after
    /// this, so the pointers stay valid for the batch's life (moving `Batch` moves only the
    /// vector headers, not their heap storage).
    #[cfg(target_os = "linux")]
    fn link(&mut self) {
        let base = self.bufs.as_mut_ptr();
        for i in 0..self.capacity {
            self.iovs.push(libc::iovec {
                // SAFETY: i * bufsize is inside `bufs` (capacity * bufsize bytes).
                iov_base: unsafe { base.add(i * self.bufsize) }.cast(),
                iov_len: self.bufsize,
            });
        }
        for i in 0..self.capacity {
            // SAFETY: mmsghdr is plain old data; all-zero is valid (no control data, flags 0).
            let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
            h.msg_hdr.msg_name = std::ptr::from_mut(&mut self.addrs[i]).cast();
            h.msg_hdr.msg_namelen = STORAGE_LEN;
            h.msg_hdr.msg_iov = std::ptr::from_mut(&mut self.iovs[i]);
            h.msg_hdr.msg_iovlen = 1;
            self.hdrs.push(h);
        }
    }

    /// How many datagrams one call can receive.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The size of each receive buffer (longer datagrams are truncated to it).
    #[must_use]
    pub fn bufsize(&self) -> usize {
        self.bufsize
    }

    /// The bytes of the datagram in slot `i` (as received, possibly truncated).
    #[must_use]
    pub fn data(&self, i: usize) -> &[u8] {
        let start = i * self.bufsize;
        &self.bufs[start..start + self.lens[i]]
    }

    /// The length of the datagram in slot `i`.
    #[must_use]
    pub fn len_of(&self, i: usize) -> usize {
        self.lens[i]
    }

    /// The sender of slot `i` as a compact key (no allocation, no formatting).
    #[must_use]
    pub fn key(&self, i: usize) -> AddrKey {
        storage_key(&self.addrs[i])
    }

    /// The sender of slot `i` as a `SocketAddr` (`None` for a family other than IPv4/IPv6).
    #[must_use]
    pub fn addr(&self, i: usize) -> Option<SocketAddr> {
        storage_to_addr(&self.addrs[i])
    }

    /// The raw sender address of slot `i` and its length, for `sendto`.
    #[must_use]
    pub fn raw_addr(&self, i: usize) -> (&libc::sockaddr_storage, libc::socklen_t) {
        (&self.addrs[i], self.addr_lens[i])
    }

    /// Receives up to `capacity` datagrams from `fd` into slots `0..n` and returns `n`.
    ///
    /// With `wait`, blocks for the first datagram (on a blocking socket, bounded by its
    /// `SO_RCVTIMEO`) and then takes whatever else is queued (`MSG_WAITFORONE`); without it,
    /// never blocks.
    ///
    /// # Errors
    /// The system call's error; `WouldBlock` when nothing is queued (or the timeout passed).
    #[cfg(target_os = "linux")]
    pub fn recv(&mut self, fd: RawFd, wait: bool) -> io::Result<usize> {
        for h in &mut self.hdrs {
            h.msg_hdr.msg_namelen = STORAGE_LEN;
            h.msg_len = 0;
        }
        for v in &mut self.iovs {
            v.iov_len = self.bufsize;
        }
        let flags = if wait {
            libc::MSG_WAITFORONE
        } else {
            libc::MSG_DONTWAIT
        };
        let vlen = libc::c_uint::try_from(self.capacity).unwrap_or(libc::c_uint::MAX);
        // SAFETY: `hdrs` holds `capacity` headers whose pointers target live buffers owned by
        // `self`, which is exclusively borrowed for the call.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                self.hdrs.as_mut_ptr(),
                vlen,
                flags,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = usize::try_from(n).unwrap_or(0);
        for i in 0..n {
            let h = &self.hdrs[i];
            // msg_len never exceeds iov_len: the kernel truncates (MSG_TRUNC) to bufsize.
            self.lens[i] = (h.msg_len as usize).min(self.bufsize);
            self.addr_lens[i] = h.msg_hdr.msg_namelen;
        }
        Ok(n)
    }

    /// Portable receive: a `recvfrom` loop with the same contract as the Linux version.
    ///
    /// # Errors
    /// As the Linux version.
    #[cfg(not(target_os = "linux"))]
    pub fn recv(&mut self, fd: RawFd, wait: bool) -> io::Result<usize> {
        let mut n = 0;
        while n < self.capacity {
            let flags = if wait && n == 0 {
                0
            } else {
                libc::MSG_DONTWAIT
            };
            let mut alen = STORAGE_LEN;
            let start = n * self.bufsize;
            // SAFETY: the buffer slot and address slot are valid for writes of the sizes given.
            let r = unsafe {
                libc::recvfrom(
                    fd,
                    self.bufs[start..].as_mut_ptr().cast(),
                    self.bufsize,
                    flags,
                    std::ptr::from_mut(&mut self.addrs[n]).cast(),
                    &mut alen,
                )
            };
            if r < 0 {
                let err = io::Error::last_os_error();
                if n == 0 {
                    return Err(err);
                }
                break;
            }
            self.lens[n] = usize::try_from(r).unwrap_or(0).min(self.bufsize);
            self.addr_lens[n] = alen;
            n += 1;
        }
        Ok(n)
    }

    /// Echoes slots `from..to` back to their senders through `fd`, each with its received
    /// length. Returns how many were handed to the kernel; a slot the kernel refused (say, an
    /// unreachable sender) is skipped rather than retried, and counted as not sent.
    ///
    /// `nonblocking` adds `MSG_DONTWAIT`; the call then stops early on `WouldBlock` and the
    /// rest of the range is reported as not sent.
    #[cfg(target_os = "linux")]
    pub fn send(&mut self, fd: RawFd, from: usize, to: usize, nonblocking: bool) -> usize {
        let mut sent = 0;
        for i in from..to {
            self.iovs[i].iov_len = self.lens[i];
            self.hdrs[i].msg_hdr.msg_namelen = self.addr_lens[i];
        }
        let flags = if nonblocking { libc::MSG_DONTWAIT } else { 0 };
        let mut i = from;
        while i < to {
            let vlen = libc::c_uint::try_from(to - i).unwrap_or(libc::c_uint::MAX);
            // SAFETY: headers `i..to` are valid and point at live buffers owned by `self`.
            let r = unsafe { libc::sendmmsg(fd, self.hdrs[i..].as_mut_ptr(), vlen, flags) };
            if r > 0 {
                let r = usize::try_from(r).unwrap_or(0);
                sent += r;
                i += r;
                continue;
            }
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EINTR) => {}
                Some(libc::EAGAIN) if nonblocking => break,
                // The first message of the rest failed on its own: skip it.
                _ => i += 1,
            }
        }
        sent
    }

    /// Portable send: a `sendto` loop with the same contract as the Linux version.
    #[cfg(not(target_os = "linux"))]
    pub fn send(&mut self, fd: RawFd, from: usize, to: usize, nonblocking: bool) -> usize {
        let mut sent = 0;
        for i in from..to {
            let flags = if nonblocking { libc::MSG_DONTWAIT } else { 0 };
            if send_to_raw(fd, self.data(i), &self.addrs[i], self.addr_lens[i], flags).is_ok() {
                sent += 1;
            } else if nonblocking && io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock
            {
                break;
            }
        }
        sent
    }
}

/// Sends one datagram to a raw socket address.
///
/// # Errors
/// The system call's error.
pub fn send_to_raw(
    fd: RawFd,
    data: &[u8],
    addr: &libc::sockaddr_storage,
    addr_len: libc::socklen_t,
    flags: libc::c_int,
) -> io::Result<usize> {
    // SAFETY: `data` and `addr` are valid for reads of the lengths given.
    let r = unsafe {
        libc::sendto(
            fd,
            data.as_ptr().cast(),
            data.len(),
            flags,
            std::ptr::from_ref(addr).cast(),
            addr_len,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(usize::try_from(r).unwrap_or(0))
    }
}

/// The key of a raw address.
fn storage_key(ss: &libc::sockaddr_storage) -> AddrKey {
    match libc::c_int::from(ss.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says this storage holds a sockaddr_in.
            let a: &libc::sockaddr_in = unsafe { &*std::ptr::from_ref(ss).cast() };
            AddrKey {
                ip: u128::from(u32::from_be(a.sin_addr.s_addr)),
                port: u16::from_be(a.sin_port),
                v6: false,
                scope: 0,
            }
        }
        libc::AF_INET6 => {
            // SAFETY: the family says this storage holds a sockaddr_in6.
            let a: &libc::sockaddr_in6 = unsafe { &*std::ptr::from_ref(ss).cast() };
            AddrKey {
                ip: u128::from_be_bytes(a.sin6_addr.s6_addr),
                port: u16::from_be(a.sin6_port),
                v6: true,
                scope: a.sin6_scope_id,
            }
        }
        _ => AddrKey {
            ip: 0,
            port: 0,
            v6: false,
            scope: u32::MAX,
        },
    }
}

/// Converts a raw address into a `SocketAddr`.
#[must_use]
pub fn storage_to_addr(ss: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match libc::c_int::from(ss.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says this storage holds a sockaddr_in.
            let a: &libc::sockaddr_in = unsafe { &*std::ptr::from_ref(ss).cast() };
            let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(a.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says this storage holds a sockaddr_in6.
            let a: &libc::sockaddr_in6 = unsafe { &*std::ptr::from_ref(ss).cast() };
            let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
            Some(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;
    use std::time::Duration;

    #[test]
    fn echoes_a_batch_and_truncates_to_bufsize() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let to = server.local_addr().unwrap();
        client.send_to(b"one", to).unwrap();
        client.send_to(b"", to).unwrap();
        client.send_to(&[7u8; 100], to).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let mut batch = Batch::new(8, 16);
        let n = batch.recv(server.as_raw_fd(), false).unwrap();
        assert_eq!(n, 3);
        assert_eq!(batch.data(0), b"one");
        assert_eq!(batch.data(1), b"");
        assert_eq!(batch.data(2), &[7u8; 16]);
        assert_eq!(batch.addr(0), Some(client.local_addr().unwrap()));
        assert_eq!(batch.key(0), batch.key(2));
        assert_eq!(batch.send(server.as_raw_fd(), 0, n, false), 3);
        let mut buf = [0u8; 64];
        assert_eq!(client.recv(&mut buf).unwrap(), 3);
        assert_eq!(client.recv(&mut buf).unwrap(), 0);
        assert_eq!(client.recv(&mut buf).unwrap(), 16);
        let err = batch.recv(server.as_raw_fd(), false).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    }

    #[test]
    fn ipv6_senders_convert() {
        let Ok(server) = UdpSocket::bind("[::1]:0") else {
            return; // no IPv6 on this host
        };
        let client = UdpSocket::bind("[::1]:0").unwrap();
        client.send_to(b"v6", server.local_addr().unwrap()).unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let mut batch = Batch::new(4, 64);
        let n = batch.recv(server.as_raw_fd(), true).unwrap();
        assert_eq!(n, 1);
        assert_eq!(batch.addr(0), Some(client.local_addr().unwrap()));
    }
}
