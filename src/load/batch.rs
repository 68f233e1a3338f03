//! Batched datagram I/O on a connected socket: `sendmmsg`/`recvmmsg` on Linux, one
//! `send`/`recv` per datagram elsewhere (or when asked, so the fallback is tested too).
//!
//! All buffers, iovecs and message headers are allocated once; a batch only rewrites the
//! bytes the caller changes. The Linux headers point into the buffers, which live on the heap
//! and never move, so a [`Batch`] can itself be moved freely.

use std::io;
use std::os::fd::RawFd;

/// A fixed set of `count` datagram slots of `slot_len` bytes each, plus their lengths.
pub struct Batch {
    bufs: Vec<u8>,
    slot_len: usize,
    lens: Vec<usize>,
    #[cfg(target_os = "linux")]
    iovecs: Vec<libc::iovec>,
    #[cfg(target_os = "linux")]
    hdrs: Vec<libc::mmsghdr>,
    mmsg: bool,
}

impl Batch {
    /// `count` slots of `slot_len` bytes filled with `fill`; `portable` forces the
    /// one-call-per-datagram path even where `sendmmsg`/`recvmmsg` exist.
    #[must_use]
    pub fn new(count: usize, slot_len: usize, fill: u8, portable: bool) -> Self {
        let count = count.max(1);
        let mut bufs = vec![fill; count * slot_len.max(1)];
        #[cfg(target_os = "linux")]
        {
            let stride = slot_len.max(1);
            let iovecs: Vec<libc::iovec> = (0..count)
                .map(|i| libc::iovec {
                    iov_base: bufs[i * stride..].as_mut_ptr().cast(),
                    iov_len: slot_len,
                })
                .collect();
            let mut batch = Batch {
                bufs,
                slot_len,
                lens: vec![slot_len; count],
                iovecs,
                hdrs: Vec::with_capacity(count),
                mmsg: !portable,
            };
            for i in 0..count {
                // SAFETY: an all-zero msghdr is valid (no name, no control data).
                let mut hdr: libc::mmsghdr = unsafe { std::mem::zeroed() };
                hdr.msg_hdr.msg_iov = &raw mut batch.iovecs[i];
                hdr.msg_hdr.msg_iovlen = 1;
                batch.hdrs.push(hdr);
            }
            batch
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = &mut bufs;
            let _ = portable;
            Batch {
                bufs,
                slot_len,
                lens: vec![slot_len; count],
                mmsg: false,
            }
        }
    }

    /// The number of slots.
    #[must_use]
    pub fn count(&self) -> usize {
        self.lens.len()
    }

    /// The whole slot `i` (its full `slot_len` bytes), for writing a datagram to send.
    #[must_use]
    pub fn slot_mut(&mut self, i: usize) -> &mut [u8] {
        let stride = self.slot_len.max(1);
        &mut self.bufs[i * stride..i * stride + self.slot_len]
    }

    /// The datagram received in slot `i` by the last [`Batch::recv`].
    #[must_use]
    pub fn received(&self, i: usize) -> &[u8] {
        let stride = self.slot_len.max(1);
        &self.bufs[i * stride..i * stride + self.lens[i].min(self.slot_len)]
    }

    /// Sends slots `0..n` (each its full `slot_len` bytes) as `n` datagrams.
    ///
    /// Returns how many were sent; 0 when the socket buffer is full (`EAGAIN`).
    ///
    /// # Errors
    /// Any other error of the send call (for example `ECONNREFUSED` after an ICMP error).
    pub fn send(&mut self, fd: RawFd, n: usize) -> io::Result<usize> {
        let n = n.min(self.count());
        if n == 0 {
            return Ok(0);
        }
        #[cfg(target_os = "linux")]
        if self.mmsg {
            let vlen = libc::c_uint::try_from(n).unwrap_or(libc::c_uint::MAX);
            // SAFETY: the first `n` headers point to valid iovecs over our own buffers.
            let r = unsafe { libc::sendmmsg(fd, self.hdrs.as_mut_ptr(), vlen, 0) };
            return would_block_is_zero(r);
        }
        let mut sent = 0;
        while sent < n {
            let slot = &self.bufs[sent * self.slot_len.max(1)..];
            // SAFETY: `slot` holds at least `slot_len` readable bytes.
            let r = unsafe { libc::send(fd, slot.as_ptr().cast(), self.slot_len, 0) };
            if r < 0 {
                if sent > 0 {
                    break;
                }
                return would_block_is_zero(-1);
            }
            sent += 1;
        }
        Ok(sent)
    }

    /// Receives up to `n` datagrams without waiting into slots `0..`; returns how many.
    ///
    /// Returns 0 when nothing is queued (`EAGAIN`).
    ///
    /// # Errors
    /// Any other error of the receive call (for example `ECONNREFUSED`).
    pub fn recv(&mut self, fd: RawFd, n: usize) -> io::Result<usize> {
        let n = n.min(self.count());
        if n == 0 {
            return Ok(0);
        }
        #[cfg(target_os = "linux")]
        if self.mmsg {
            let vlen = libc::c_uint::try_from(n).unwrap_or(libc::c_uint::MAX);
            // SAFETY: the first `n` headers point to valid iovecs over our own buffers.
            let r = unsafe {
                libc::recvmmsg(
                    fd,
                    self.hdrs.as_mut_ptr(),
                    vlen,
                    libc::MSG_DONTWAIT,
                    std::ptr::null_mut(),
                )
            };
            let got = would_block_is_zero(r)?;
            for (len, hdr) in self.lens.iter_mut().zip(&self.hdrs).take(got) {
                *len = hdr.msg_len as usize;
            }
            return Ok(got);
        }
        let stride = self.slot_len.max(1);
        let mut got = 0;
        while got < n {
            let slot = &mut self.bufs[got * stride..];
            // SAFETY: `slot` holds at least `slot_len` writable bytes.
            let r = unsafe {
                libc::recv(
                    fd,
                    slot.as_mut_ptr().cast(),
                    self.slot_len,
                    libc::MSG_DONTWAIT,
                )
            };
            if r < 0 {
                if got > 0 {
                    break;
                }
                return would_block_is_zero(-1);
            }
            self.lens[got] = usize::try_from(r).unwrap_or(0);
            got += 1;
        }
        Ok(got)
    }
}

/// A syscall result as a count, with `EAGAIN` meaning 0.
fn would_block_is_zero<T: TryInto<usize> + Copy + PartialOrd + Default>(r: T) -> io::Result<usize> {
    if r < T::default() {
        let err = io::Error::last_os_error();
        if err.kind() == io::ErrorKind::WouldBlock {
            Ok(0)
        } else {
            Err(err)
        }
    } else {
        Ok(r.try_into().unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;

    fn round_trip(portable: bool) {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        a.connect(b.local_addr().unwrap()).unwrap();
        b.connect(a.local_addr().unwrap()).unwrap();
        a.set_nonblocking(true).unwrap();
        b.set_nonblocking(true).unwrap();
        let mut tx = Batch::new(8, 16, b'x', portable);
        let mut rx = Batch::new(8, 32, 0, portable);
        assert_eq!(
            rx.recv(b.as_raw_fd(), 8).unwrap(),
            0,
            "nothing queued is 0, not an error"
        );
        for i in 0..5 {
            tx.slot_mut(i)[0] = u8::try_from(i).unwrap();
        }
        assert_eq!(tx.send(a.as_raw_fd(), 5).unwrap(), 5);
        // Loopback delivers synchronously: all five are queued once `send` returns.
        assert_eq!(rx.recv(b.as_raw_fd(), 8).unwrap(), 5);
        for i in 0..5 {
            let d = rx.received(i);
            assert_eq!(d.len(), 16);
            assert_eq!(d[0], u8::try_from(i).unwrap());
            assert!(d[1..].iter().all(|&c| c == b'x'));
        }
    }

    #[test]
    fn batched_round_trip() {
        round_trip(false);
    }

    #[test]
    fn portable_round_trip() {
        round_trip(true);
    }
}
