//! Echo replies with UDP GSO: a run of equal-size datagrams from one peer inside a received
//! batch is answered with one segmented send (`UDP_SEGMENT`), as `../shared/tools/echo_gso.c`
//! does, the kernel's cheapest reply path. Each run is copied into one contiguous buffer (a
//! few kilobytes, cheaper than handing the kernel one `iovec` per datagram: more than 8
//! `iovec`s make it allocate and walk a copy of the array on every send), and every header
//! of a batch has one `iovec`. A batch whose replies form one header leaves in one
//! `sendmsg`; several headers (several peers or sizes) leave in one `sendmmsg`. Datagrams
//! that form no run (a lone one, an empty one) are sent in place as plain headers in the
//! same call, so the replies keep the order they were received in.
//!
//! Used where the kernel has `UDP_SEGMENT` (detected when the worker starts) and
//! [`EchoConfig::gso`](super::EchoConfig::gso) is on; if a send then says the route cannot
//! segment, the worker falls back to [`Batch::send_skipping`] for good. Elsewhere the plain
//! path is the only one.

use std::os::fd::RawFd;

use crate::addr::RawAddr;
use crate::mmsg::Batch;
use crate::sys;

/// The GSO reply path of one worker: headers and control buffers allocated once.
pub(super) struct GsoEcho {
    /// The route cannot segment: plain sends from now on.
    off: bool,
    iovs: Vec<libc::iovec>,
    hdrs: Vec<sys::mmsghdr>,
    control: Vec<[u64; crate::mmsg::gso::CONTROL_WORDS]>,
    /// The runs' datagrams, each run contiguous (grows to the largest batch seen, once).
    out: Vec<u8>,
    /// Slots `runs[r].0..runs[r].1` form header `r`.
    runs: Vec<(usize, usize)>,
}

impl GsoEcho {
    /// The GSO path for a worker whose batches hold `capacity` slots, when `enabled` and the
    /// kernel has UDP GSO on `fd`.
    #[must_use]
    pub(super) fn detect(enabled: bool, fd: Option<RawFd>, capacity: usize) -> Option<GsoEcho> {
        let fd = fd?;
        (enabled && crate::mmsg::gso::gso_supported(fd)).then(|| GsoEcho {
            off: false,
            iovs: Vec::with_capacity(capacity),
            // SAFETY: mmsghdr is plain old data; all-zero is valid.
            hdrs: vec![unsafe { std::mem::zeroed() }; capacity],
            control: vec![[0; crate::mmsg::gso::CONTROL_WORDS]; capacity],
            out: Vec::new(),
            runs: Vec::with_capacity(capacity),
        })
    }

    /// Whether a send found that the route cannot segment.
    #[must_use]
    #[cfg(test)]
    pub(super) fn is_off(&self) -> bool {
        self.off
    }

    /// Echoes slots `0..n` of `batch` to their senders from `fd` with the GSO path and
    /// returns how many datagrams the kernel took, with [`Batch::send_skipping`]'s policy: a
    /// reply the kernel refuses is skipped, `EINTR` is retried, and with `nonblocking` the
    /// rest is dropped on `WouldBlock`.
    pub(super) fn echo(
        &mut self,
        batch: &mut Batch,
        fd: RawFd,
        n: usize,
        nonblocking: bool,
    ) -> usize {
        if !self.off {
            return self.echo_runs(batch, fd, n, nonblocking);
        }
        batch.send_skipping(fd, 0, n, nonblocking)
    }

    /// Groups slots `0..n` into runs, copies each run of several datagrams into `out` and
    /// links one header (with one `iovec`) per run. `out` never holds more than the batch's
    /// own buffers (it holds some of their datagrams once), and stops growing after the
    /// first full batches.
    fn link_runs(&mut self, batch: &Batch, n: usize) {
        use crate::mmsg::gso::{MAX_BYTES, MAX_SEGMENTS};
        let n = n.min(self.hdrs.len());
        self.runs.clear();
        self.out.clear();
        let mut first = 0;
        while first < n {
            let len = batch.len_of(first);
            let mut end = first + 1;
            // Empty datagrams cannot be segmented: each goes alone.
            if let Some(fit) = MAX_BYTES.checked_div(len) {
                let most = MAX_SEGMENTS.min(fit);
                let (addr, addr_len) = batch.raw_addr(first);
                while end < n
                    && end - first < most
                    && batch.len_of(end) == len
                    && same_peer(batch.raw_addr(end), (addr, addr_len))
                {
                    end += 1;
                }
            }
            if end - first > 1 {
                for k in first..end {
                    self.out.extend_from_slice(batch.data(k));
                }
            }
            self.runs.push((first, end));
            first = end;
        }
        // `out` no longer grows: its runs' addresses are final.
        self.iovs.clear();
        let mut at = 0;
        for &(first, end) in &self.runs {
            let len = batch.len_of(first);
            let (base, bytes) = if end - first > 1 {
                let bytes = len * (end - first);
                at += bytes;
                // SAFETY: `at - bytes..at` is inside `out`, filled above.
                (unsafe { self.out.as_ptr().add(at - bytes) }, bytes)
            } else {
                (batch.data(first).as_ptr(), len)
            };
            self.iovs.push(libc::iovec {
                // Only read by the send.
                iov_base: base.cast_mut().cast(),
                iov_len: bytes,
            });
        }
        // `iovs` no longer grows either: link the headers to it.
        for (r, &(first, end)) in self.runs.iter().enumerate() {
            let (addr, addr_len) = batch.raw_addr(first);
            // SAFETY: mmsghdr is plain old data; all-zero is valid (no control data).
            let mut h: sys::mmsghdr = unsafe { std::mem::zeroed() };
            h.msg_hdr.msg_name = std::ptr::from_ref(addr).cast_mut().cast();
            h.msg_hdr.msg_namelen = addr_len;
            h.msg_hdr.msg_iov = &raw mut self.iovs[r];
            h.msg_hdr.msg_iovlen = 1;
            if end - first > 1 {
                // The segment size is at most 65,000 / 2 here.
                crate::mmsg::gso::set_segment(
                    &mut h.msg_hdr,
                    &mut self.control[r],
                    u16::try_from(batch.len_of(first)).unwrap_or(u16::MAX),
                );
            }
            self.hdrs[r] = h;
        }
    }

    fn echo_runs(&mut self, batch: &mut Batch, fd: RawFd, n: usize, nonblocking: bool) -> usize {
        use std::io;
        self.link_runs(batch, n);
        let flags = if nonblocking { libc::MSG_DONTWAIT } else { 0 };
        let mut sent = 0;
        let mut r = 0;
        while r < self.runs.len() {
            let res = if self.runs.len() - r == 1 {
                // One header (the common case: one peer): `sendmsg`, a little cheaper.
                // SAFETY: header r points at `self.iovs`, `self.control`, `self.out` and
                // `batch`'s buffers and names, all alive and unchanged during the call.
                unsafe { sys::sendmsg(fd, &self.hdrs[r].msg_hdr, flags) }.map(|_| 1)
            } else {
                let hdrs = &mut self.hdrs[r..self.runs.len()];
                // SAFETY: as above, for headers r..
                unsafe { sys::sendmmsg(fd, hdrs, flags) }
            };
            let e = match res {
                Ok(k @ 1..) => {
                    sent += self.runs[r..r + k]
                        .iter()
                        .map(|(a, b)| b - a)
                        .sum::<usize>();
                    r += k;
                    continue;
                }
                Ok(_) => io::Error::from(io::ErrorKind::WriteZero),
                Err(e) => e,
            };
            let (from, to) = self.runs[r];
            match e.kind() {
                io::ErrorKind::Interrupted => {}
                io::ErrorKind::WouldBlock if nonblocking => break,
                _ if to - from > 1 && crate::mmsg::gso::unsupported(&e) => {
                    // This route cannot segment: the rest, and everything after, plainly.
                    self.off = true;
                    return sent + batch.send_skipping(fd, from, n, nonblocking);
                }
                // This run's peer is refused (say, unreachable): skip it.
                _ => r += 1,
            }
        }
        sent
    }
}

/// Whether two raw names are the same peer (same length and bytes: names the kernel wrote
/// for datagrams on one socket).
#[inline]
fn same_peer(a: (&RawAddr, libc::socklen_t), b: (&RawAddr, libc::socklen_t)) -> bool {
    if a.1 != b.1 {
        return false;
    }
    let len = usize::try_from(a.1)
        .unwrap_or(usize::MAX)
        .min(std::mem::size_of::<RawAddr>());
    // SAFETY: both are whole sockaddr_storage values and `len` is at most their size.
    let (x, y) = unsafe {
        (
            std::slice::from_raw_parts(std::ptr::from_ref(a.0).cast::<u8>(), len),
            std::slice::from_raw_parts(std::ptr::from_ref(b.0).cast::<u8>(), len),
        )
    };
    x == y
}

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;
    use std::time::Duration;

    use super::*;
    use crate::mmsg::Recv;

    /// Sends `sizes` from `client` to `server`, receives them in one batch and echoes them
    /// with `gso` (or the plain path); returns what `client` gets back.
    fn round(gso: bool, sizes: &[usize]) -> (Vec<Vec<u8>>, bool) {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let to = server.local_addr().unwrap();
        for (k, &s) in sizes.iter().enumerate() {
            let byte = u8::try_from(k % 256).unwrap();
            client.send_to(&vec![byte; s], to).unwrap();
        }
        let mut batch = Batch::new(64, 2048);
        let fd = server.as_raw_fd();
        // Loopback queues each datagram as it is sent: one receive takes them all.
        let n = batch.recv(fd, 64, Recv::NoWait).unwrap();
        assert_eq!(n, sizes.len());
        let mut path = GsoEcho::detect(gso, Some(fd), 64);
        assert_eq!(path.is_some(), gso && cfg!(target_os = "linux"));
        let sent = match path.as_mut() {
            Some(g) => g.echo(&mut batch, fd, n, false),
            None => batch.send_skipping(fd, 0, n, false),
        };
        assert_eq!(sent, n);
        let mut buf = vec![0u8; 4096];
        let replies = (0..n)
            .map(|_| {
                let len = client.recv(&mut buf).unwrap();
                buf[..len].to_vec()
            })
            .collect();
        (replies, path.is_some_and(|g| !g.is_off()))
    }

    #[test]
    fn runs_of_equal_sizes_come_back_whole_and_in_order() {
        // Runs of 3, 1, 2, 1 and 1 datagrams (an empty one inside); then 64 of 1200 bytes,
        // split into runs of at most 65,000 bytes (one `sendmmsg`); then one run of 10 (one
        // `sendmsg`).
        let mixed = vec![100, 100, 100, 7, 64, 64, 0, 1500];
        for (gso, sizes) in [
            (true, mixed.clone()),
            (false, mixed),
            (true, vec![1200; 64]),
            (true, vec![64; 10]),
        ] {
            let (replies, used) = round(gso, &sizes);
            assert_eq!(used, gso && cfg!(target_os = "linux"));
            assert_eq!(replies.len(), sizes.len());
            for (k, (r, &s)) in replies.iter().zip(sizes.iter()).enumerate() {
                assert_eq!(r.len(), s, "reply {k}");
                assert!(
                    r.iter().all(|&b| usize::from(b) == k % 256),
                    "reply {k} is its own"
                );
            }
        }
    }
}
