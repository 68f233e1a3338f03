//! Echo replies with UDP GSO: a run of equal-size datagrams from one peer inside a received
//! batch is answered with one segmented send (`UDP_SEGMENT`), as `../shared/tools/echo_gso.c`
//! does, the kernel's cheapest reply path. All the runs of a batch leave in one `sendmmsg`
//! (one header per run, each pointing at the run's slots in place: nothing is copied).
//! Datagrams that form no run (a lone one, an empty one) go in the same call as plain
//! headers, so the replies keep the order they were received in.
//!
//! Used where the kernel has `UDP_SEGMENT` (detected when the worker starts) and
//! [`EchoConfig::gso`](super::EchoConfig::gso) is on; if a send then says the route cannot
//! segment, the worker falls back to [`Batch::send_skipping`] for good. Elsewhere the plain
//! path is the only one.

use std::os::fd::RawFd;

use crate::mmsg::Batch;
use crate::sys;

/// The GSO reply path of one worker: headers and control buffers allocated once.
pub struct GsoEcho {
    /// The route cannot segment: plain sends from now on.
    off: bool,
    iovs: Vec<libc::iovec>,
    hdrs: Vec<sys::mmsghdr>,
    control: Vec<[u64; crate::mmsg::gso::CONTROL_WORDS]>,
    /// Slots `runs[r].0..runs[r].1` form header `r`.
    runs: Vec<(usize, usize)>,
}

impl GsoEcho {
    /// The GSO path for a worker whose batches hold `capacity` slots, when `enabled` and the
    /// kernel has UDP GSO on `fd`.
    #[must_use]
    pub fn detect(enabled: bool, fd: Option<RawFd>, capacity: usize) -> Option<GsoEcho> {
        let fd = fd?;
        (enabled && crate::mmsg::gso::gso_supported(fd)).then(|| GsoEcho {
            off: false,
            iovs: Vec::with_capacity(capacity),
            // SAFETY: mmsghdr is plain old data; all-zero is valid.
            hdrs: vec![unsafe { std::mem::zeroed() }; capacity],
            control: vec![[0; crate::mmsg::gso::CONTROL_WORDS]; capacity],
            runs: Vec::with_capacity(capacity),
        })
    }

    /// Whether a send found that the route cannot segment.
    #[must_use]
    pub fn is_off(&self) -> bool {
        self.off
    }

    /// Echoes slots `0..n` of `batch` to their senders from `fd` with the GSO path and
    /// returns how many datagrams the kernel took, with [`Batch::send_skipping`]'s policy: a
    /// reply the kernel refuses is skipped, `EINTR` is retried, and with `nonblocking` the
    /// rest is dropped on `WouldBlock`.
    pub fn echo(&mut self, batch: &mut Batch, fd: RawFd, n: usize, nonblocking: bool) -> usize {
        if !self.off {
            return self.echo_runs(batch, fd, n, nonblocking);
        }
        batch.send_skipping(fd, 0, n, nonblocking)
    }

    /// Groups slots `0..n` into runs and links one header per run.
    fn link_runs(&mut self, batch: &Batch, n: usize) {
        use crate::mmsg::gso::{set_segment, MAX_BYTES, MAX_SEGMENTS};
        let n = n.min(self.hdrs.len());
        self.iovs.clear();
        for i in 0..n {
            let d = batch.data(i);
            self.iovs.push(libc::iovec {
                // Only read by sendmmsg.
                iov_base: d.as_ptr().cast_mut().cast(),
                iov_len: d.len(),
            });
        }
        self.runs.clear();
        let mut first = 0;
        while first < n {
            let len = batch.len_of(first);
            let key = batch.key(first);
            let mut end = first + 1;
            // Empty datagrams cannot be segmented: each goes alone.
            if let Some(fit) = MAX_BYTES.checked_div(len) {
                let most = MAX_SEGMENTS.min(fit);
                while end < n
                    && end - first < most
                    && batch.len_of(end) == len
                    && batch.key(end) == key
                {
                    end += 1;
                }
            }
            let run = self.runs.len();
            let (addr, addr_len) = batch.raw_addr(first);
            // SAFETY: mmsghdr is plain old data; all-zero is valid (no control data).
            let mut h: sys::mmsghdr = unsafe { std::mem::zeroed() };
            h.msg_hdr.msg_name = std::ptr::from_ref(addr).cast_mut().cast();
            h.msg_hdr.msg_namelen = addr_len;
            h.msg_hdr.msg_iov = &raw mut self.iovs[first];
            h.msg_hdr.msg_iovlen = end - first;
            if end - first > 1 {
                // `len` is at most 65,000 / 2 here.
                set_segment(
                    &mut h.msg_hdr,
                    &mut self.control[run],
                    u16::try_from(len).unwrap_or(u16::MAX),
                );
            }
            self.hdrs[run] = h;
            self.runs.push((first, end));
            first = end;
        }
    }

    fn echo_runs(&mut self, batch: &mut Batch, fd: RawFd, n: usize, nonblocking: bool) -> usize {
        use std::io;
        self.link_runs(batch, n);
        let flags = if nonblocking { libc::MSG_DONTWAIT } else { 0 };
        let mut sent = 0;
        let mut r = 0;
        while r < self.runs.len() {
            let hdrs = &mut self.hdrs[r..self.runs.len()];
            // SAFETY: headers r.. point at `self.iovs` and `self.control` and, through them,
            // at `batch`'s buffers and names, all alive and unchanged during the call.
            let res = unsafe { sys::sendmmsg(fd, hdrs, flags) };
            if let Ok(k @ 1..) = res {
                sent += self.runs[r..r + k]
                    .iter()
                    .map(|(a, b)| b - a)
                    .sum::<usize>();
                r += k;
                continue;
            }
            let e = res.err().unwrap_or_else(io::Error::last_os_error);
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
        // split into runs of at most 65,000 bytes.
        let mixed = vec![100, 100, 100, 7, 64, 64, 0, 1500];
        for (gso, sizes) in [
            (true, mixed.clone()),
            (false, mixed),
            (true, vec![1200; 64]),
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
