//! The timed client: one request, one reply, with the práctica's timeout semantics.
//!
//! [`Client`] sends a datagram to its server and waits for the answer up to `timeout`
//! (`cliente_eco` v3's `settimeout(5.0)`), resending up to `retries` times; when no try gets
//! an answer the result is [`Error::Timeout`], which Python sees as `socket.timeout`. The
//! socket is connected, so the kernel drops datagrams from other sources (and the client
//! checks the source again) and a closed port answers with `ECONNREFUSED` at once instead of
//! a timeout. Waiting goes through [`crate::wait::wait_fd`], so a [`Cancel`] (Ctrl+C) ends it
//! within one tick.

use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use socket2::Socket;

use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::load::target::{connect_udp, resolve};
use crate::wait::{deadline_after, wait_fd, READ_EVENTS};

/// A UDP request/response client bound to one server.
#[derive(Debug)]
pub struct Client {
    sock: Option<Socket>,
    peer: SocketAddr,
    timeout: Option<Duration>,
    retries: u32,
    buf: Vec<u8>,
}

impl Client {
    /// Resolves `host` (IPv4 preferred, as an `AF_INET` client would) and connects a UDP
    /// socket to `host:port`. Each try waits `timeout` for the reply (`None`: forever);
    /// `retries` more tries follow the first; replies longer than `bufsize` are truncated, as
    /// `recvfrom(bufsize)` does.
    ///
    /// # Errors
    /// [`Error::Gai`] for a name that does not resolve, [`Error::Value`] for a zero
    /// `bufsize`, [`Error::Io`] when the socket cannot be created or connected.
    pub fn connect(
        host: &str,
        port: u16,
        timeout: Option<Duration>,
        retries: u32,
        bufsize: usize,
    ) -> Result<Self> {
        if bufsize == 0 {
            return Err(Error::Value("bufsize must be at least 1".to_owned()));
        }
        let sock = connect_udp(resolve(host, port)?, None)?;
        // The kernel's idea of the peer (connecting to 0.0.0.0 means 127.0.0.1 on Linux).
        let peer = sock
            .peer_addr()?
            .as_socket()
            .ok_or_else(|| Error::from_errno(libc::EAFNOSUPPORT))?;
        Ok(Client {
            sock: Some(sock),
            peer,
            timeout,
            retries,
            // No datagram is longer than 64 KiB: a larger `bufsize` truncates nothing more, and
            // allocating it as given would abort the process for an absurd value.
            buf: vec![0; bufsize.min(MAX_DATAGRAM)],
        })
    }

    /// The server's address.
    #[must_use]
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The client socket's own address.
    ///
    /// # Errors
    /// `EBADF` once closed.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        let sock = self.socket()?;
        sock.local_addr()?
            .as_socket()
            .ok_or_else(|| Error::from_errno(libc::EAFNOSUPPORT))
    }

    /// The timeout of each try.
    #[must_use]
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The number of retries after the first try.
    #[must_use]
    pub fn retries(&self) -> u32 {
        self.retries
    }

    /// True once [`Client::close`] was called.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.sock.is_none()
    }

    fn socket(&self) -> Result<&Socket> {
        self.sock
            .as_ref()
            .ok_or_else(|| Error::from_errno(libc::EBADF))
    }

    /// Sends `data` and returns the reply (a slice of the client's buffer).
    ///
    /// Replies that were still queued from an earlier request that timed out are discarded
    /// first, so they cannot be taken for this request's reply.
    ///
    /// # Errors
    /// [`Error::Timeout`] when no try got an answer in time, [`Error::Io`] for socket errors
    /// (`ECONNREFUSED` when the server's port is closed, `EMSGSIZE` for an oversize datagram,
    /// `EBADF` after close), [`Error::Interrupted`] when `cancel` stops the wait.
    pub fn request(&mut self, data: &[u8], cancel: &Cancel) -> Result<&[u8]> {
        let n = self.request_len(data, cancel)?;
        Ok(&self.buf[..n])
    }

    fn request_len(&mut self, data: &[u8], cancel: &Cancel) -> Result<usize> {
        let sock = self
            .sock
            .as_ref()
            .ok_or_else(|| Error::from_errno(libc::EBADF))?;
        // SAFETY: u8 and MaybeUninit<u8> have the same layout; we only ever write to it.
        let buf: &mut [MaybeUninit<u8>] = unsafe {
            &mut *(std::ptr::from_mut::<[u8]>(self.buf.as_mut_slice()) as *mut [MaybeUninit<u8>])
        };
        discard_stale(sock, buf);
        for _ in 0..=self.retries {
            sock.send(data)?;
            let deadline = self.timeout.and_then(deadline_after);
            loop {
                let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                if !wait_fd(sock.as_raw_fd(), READ_EVENTS, left, cancel)? {
                    break; // This try timed out.
                }
                match sock.recv_from(buf) {
                    Ok((n, from)) if from.as_socket() == Some(self.peer) => return Ok(n),
                    Ok(_) => {} // Not from the server: ignored.
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(Error::Io(e)),
                }
            }
        }
        Err(Error::Timeout)
    }

    /// The buffer the last [`Client::request`] wrote its reply to (for bindings that
    /// cannot hold the borrow `request` returns across a GIL hand-over).
    #[must_use]
    pub fn request_buffer(&self) -> &[u8] {
        &self.buf
    }

    /// Closes the socket; later requests fail with `EBADF`. Closing twice is harmless.
    pub fn close(&mut self) {
        self.sock = None;
    }
}

/// The size of the largest UDP datagram (a 16-bit length), the most a reply can fill.
const MAX_DATAGRAM: usize = 1 << 16;

/// Most datagrams [`discard_stale`] drops before a request (bounds the work if a peer floods).
const MAX_STALE: usize = 4096;

/// Reads and drops what is queued (late replies, a pending ICMP error), up to [`MAX_STALE`].
fn discard_stale(sock: &Socket, buf: &mut [MaybeUninit<u8>]) {
    for _ in 0..MAX_STALE {
        match sock.recv(buf) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {}
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    /// A peer that answers the next `replies` datagrams after `delay`, from its own socket.
    fn echo_once(delay: Duration, replies: usize) -> (SocketAddr, std::thread::JoinHandle<usize>) {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let addr = s.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            let mut seen = 0;
            while let Ok((n, from)) = s.recv_from(&mut buf) {
                seen += 1;
                if seen <= replies {
                    std::thread::sleep(delay);
                    s.send_to(&buf[..n], from).unwrap();
                }
                if seen == replies {
                    break;
                }
            }
            seen
        });
        (addr, t)
    }

    #[test]
    fn request_gets_the_echo() {
        let (addr, t) = echo_once(Duration::ZERO, 1);
        let mut c = Client::connect(
            "127.0.0.1",
            addr.port(),
            Some(Duration::from_secs(2)),
            0,
            1024,
        )
        .unwrap();
        assert_eq!(c.request(b"hola", &Cancel::new()).unwrap(), b"hola");
        assert_eq!(t.join().unwrap(), 1);
    }

    #[test]
    fn no_answer_is_a_timeout_after_each_try() {
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let mut c =
            Client::connect("127.0.0.1", port, Some(Duration::from_millis(100)), 2, 1024).unwrap();
        let t = Instant::now();
        assert!(matches!(
            c.request(b"x", &Cancel::new()),
            Err(Error::Timeout)
        ));
        let took = t.elapsed();
        assert!(took >= Duration::from_millis(300), "{took:?}");
        assert!(took < Duration::from_millis(600), "{took:?}");
        // Three tries reached the server.
        let mut buf = [0u8; 16];
        silent.set_nonblocking(true).unwrap();
        let tries = std::iter::from_fn(|| silent.recv(&mut buf).ok()).count();
        assert_eq!(tries, 3);
    }

    #[test]
    fn a_retry_gets_a_late_answer() {
        // The peer answers after 150 ms; each try waits 100 ms; the second try gets it.
        let (addr, t) = echo_once(Duration::from_millis(150), 1);
        let mut c = Client::connect(
            "127.0.0.1",
            addr.port(),
            Some(Duration::from_millis(100)),
            1,
            1024,
        )
        .unwrap();
        assert_eq!(c.request(b"slow", &Cancel::new()).unwrap(), b"slow");
        drop(t);
    }

    #[test]
    fn a_timeout_of_centuries_waits_without_panicking() {
        // `Instant::now() + Duration::MAX` used to panic ("overflow when adding duration").
        let (addr, t) = echo_once(Duration::ZERO, 1);
        let mut c =
            Client::connect("127.0.0.1", addr.port(), Some(Duration::MAX), 0, 1024).unwrap();
        assert_eq!(c.request(b"far", &Cancel::new()).unwrap(), b"far");
        drop(t);
    }

    #[test]
    fn an_absurd_bufsize_does_not_abort() {
        // `vec![0; usize::MAX]` used to abort the process (Python: `Client(..., bufsize=2**62)`).
        let (addr, t) = echo_once(Duration::ZERO, 1);
        let mut c = Client::connect(
            "127.0.0.1",
            addr.port(),
            Some(Duration::from_secs(2)),
            0,
            usize::MAX,
        )
        .unwrap();
        assert_eq!(c.request(b"big", &Cancel::new()).unwrap(), b"big");
        drop(t);
    }

    #[test]
    fn datagrams_from_others_are_ignored() {
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let mut c =
            Client::connect("127.0.0.1", port, Some(Duration::from_millis(150)), 0, 1024).unwrap();
        let me = c.local_addr().unwrap();
        let intruder = UdpSocket::bind("127.0.0.1:0").unwrap();
        let spam = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            intruder.send_to(b"not the server", me).unwrap();
        });
        assert!(matches!(
            c.request(b"x", &Cancel::new()),
            Err(Error::Timeout)
        ));
        spam.join().unwrap();
    }

    #[test]
    fn closed_port_is_connection_refused_not_a_timeout() {
        let free = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = free.local_addr().unwrap().port();
        drop(free);
        let mut c =
            Client::connect("127.0.0.1", port, Some(Duration::from_secs(2)), 0, 1024).unwrap();
        let t = Instant::now();
        let err = c.request(b"x", &Cancel::new()).unwrap_err();
        assert_eq!(err.errno(), Some(libc::ECONNREFUSED));
        assert!(t.elapsed() < Duration::from_millis(500));
    }

    #[test]
    fn truncates_to_bufsize_and_fails_after_close() {
        let (addr, t) = echo_once(Duration::ZERO, 1);
        let mut c =
            Client::connect("localhost", addr.port(), Some(Duration::from_secs(2)), 0, 4).unwrap();
        assert_eq!(c.peer(), addr);
        assert_eq!(c.request(b"abcdefgh", &Cancel::new()).unwrap(), b"abcd");
        t.join().unwrap();
        c.close();
        c.close();
        assert_eq!(
            c.request(b"x", &Cancel::new()).unwrap_err().errno(),
            Some(libc::EBADF)
        );
    }

    #[test]
    fn stale_replies_are_not_taken_for_the_next_one() {
        // First reply comes after the first request gave up; the second request must get its own.
        let (addr, t) = echo_once(Duration::from_millis(120), 2);
        let mut c = Client::connect(
            "127.0.0.1",
            addr.port(),
            Some(Duration::from_millis(50)),
            0,
            1024,
        )
        .unwrap();
        assert!(matches!(
            c.request(b"first", &Cancel::new()),
            Err(Error::Timeout)
        ));
        std::thread::sleep(Duration::from_millis(150));
        c.timeout = Some(Duration::from_secs(2));
        assert_eq!(c.request(b"second", &Cancel::new()).unwrap(), b"second");
        t.join().unwrap();
    }

    #[test]
    fn cancel_ends_an_endless_wait() {
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let mut c = Client::connect("127.0.0.1", port, None, 0, 1024).unwrap();
        let cancel = Cancel::new();
        let other = cancel.clone();
        let stopper = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(80));
            other.stop();
        });
        let t = Instant::now();
        assert!(matches!(c.request(b"x", &cancel), Err(Error::Interrupted)));
        assert!(t.elapsed() < Duration::from_millis(200));
        stopper.join().unwrap();
    }

    #[test]
    fn zero_bufsize_and_bad_names_are_rejected() {
        assert!(matches!(
            Client::connect("127.0.0.1", 9, None, 0, 0),
            Err(Error::Value(_))
        ));
        assert!(matches!(
            Client::connect("no-such-host.invalid", 9, None, 0, 64),
            Err(Error::Gai { .. })
        ));
    }
}
