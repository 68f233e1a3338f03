//! The timed client: one request, one reply, with the práctica's timeout semantics.
//!
//! [`Client`] sends a datagram to its server and waits for the answer up to `timeout`
//! (`cliente_eco` v3's `settimeout(5.0)`), resending up to `retries` times; when no try gets
//! an answer the result is [`Error::Timeout`], which Python sees as `socket.timeout`. The
//! socket is connected, so the kernel drops datagrams from other sources (and the client
//! checks the source again) and a closed port answers with `ECONNREFUSED` at once instead of
//! a timeout. Waiting goes through [`crate::wait::wait_fd`], so a [`Cancel`] (Ctrl+C) ends it
//! within one tick.
//!
//! # Never an earlier request's reply
//!
//! With retries, a slow or jittery path, or a network that reorders, the reply to an earlier
//! request (or to an earlier try) can arrive while the client waits for a later one. The
//! client does not change what it sends (an echo server must get the user's bytes, nothing
//! added), so it tells replies apart in two ways:
//!
//! - **Echo matching** (the default, `echo = true`): an echo server returns the request's
//!   bytes, so a reply counts only if it is exactly the request (its full length, read with
//!   `MSG_TRUNC`, and its bytes up to `bufsize`); any other datagram is an earlier request's
//!   echo and is discarded (counted in [`Client::stale`]).
//! - **A fresh source port when that cannot decide**: identical payloads cannot be told
//!   apart, so the client remembers how many echoes of each payload may still be on their
//!   way (sent tries minus replies seen). A request whose payload may still have an echo in
//!   flight is sent from a new socket (a new source port): the old socket is closed, and its
//!   late echoes are dropped by the kernel. Without echo matching (`echo = false`, for a
//!   server that does not echo) any unanswered try makes the next request use a new socket.
//!
//! So a request never returns a reply that was sent in answer to an earlier request, except
//! when the network itself duplicates a datagram after the earlier request already got its
//! reply (which no client can tell without changing the payload).

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
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
    echo: bool,
    /// Echoes that may still arrive on the current socket, per payload key ([`key_of`]).
    in_flight: HashMap<u64, u32>,
    stale: u64,
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
            echo: true,
            in_flight: HashMap::new(),
            stale: 0,
        })
    }

    /// Whether a reply must be the request's bytes (an echo server, the default) or any
    /// datagram from the server counts (see the module documentation).
    pub fn set_echo(&mut self, echo: bool) {
        self.echo = echo;
    }

    /// True when replies must echo the request.
    #[must_use]
    pub fn echo(&self) -> bool {
        self.echo
    }

    /// Replies discarded because they were not this request's echo (late replies to earlier
    /// requests), since the client was made.
    #[must_use]
    pub fn stale(&self) -> u64 {
        self.stale
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
    /// Replies to earlier requests are discarded, never returned (see the module
    /// documentation); the socket may be replaced by a new one for that.
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
        if self.sock.is_none() {
            return Err(Error::from_errno(libc::EBADF));
        }
        self.drain();
        let key = key_of(&data[..data.len().min(self.buf.len())], data.len());
        let ambiguous = if self.echo {
            self.in_flight.contains_key(&key)
        } else {
            !self.in_flight.is_empty()
        };
        if ambiguous || self.in_flight.len() >= MAX_IN_FLIGHT {
            self.reopen()?;
        }
        for _ in 0..=self.retries {
            self.socket()?.send(data)?;
            *self.in_flight.entry(key).or_insert(0) += 1;
            let deadline = self.timeout.and_then(deadline_after);
            loop {
                let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                if !wait_fd(self.socket()?.as_raw_fd(), READ_EVENTS, left, cancel)? {
                    break; // This try timed out.
                }
                let Some((n, len)) = self.receive()? else {
                    continue;
                };
                let matches = if self.echo {
                    len == data.len() && self.buf[..n] == data[..n]
                } else {
                    true
                };
                if matches {
                    return Ok(n);
                }
                self.stale += 1;
            }
        }
        Err(Error::Timeout)
    }

    /// Reads one datagram from the server into the buffer: `(bytes kept, full length)`, and
    /// takes its echo off the in-flight table. `None` for nothing (or a foreign source).
    fn receive(&mut self) -> Result<Option<(usize, usize)>> {
        let sock = self
            .sock
            .as_ref()
            .ok_or_else(|| Error::from_errno(libc::EBADF))?;
        // SAFETY: u8 and MaybeUninit<u8> have the same layout; we only ever write to it.
        let buf: &mut [MaybeUninit<u8>] = unsafe {
            &mut *(std::ptr::from_mut::<[u8]>(self.buf.as_mut_slice()) as *mut [MaybeUninit<u8>])
        };
        match sock.recv_from_with_flags(buf, libc::MSG_TRUNC) {
            Ok((len, from)) if from.as_socket() == Some(self.peer) => {
                let n = len.min(self.buf.len());
                self.forget(key_of(&self.buf[..n], len));
                Ok(Some((n, len)))
            }
            Ok(_) => Ok(None), // Not from the server: ignored.
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(Error::Io(e)),
        }
    }

    /// One echo of the payload `key` arrived: it is no longer in flight.
    fn forget(&mut self, key: u64) {
        if !self.echo {
            self.in_flight.clear();
            return;
        }
        if let Some(count) = self.in_flight.get_mut(&key) {
            *count -= 1;
            if *count == 0 {
                self.in_flight.remove(&key);
            }
        }
    }

    /// Reads and drops what is queued (late replies, a pending ICMP error), up to
    /// [`MAX_STALE`], taking each late echo off the in-flight table.
    fn drain(&mut self) {
        for _ in 0..MAX_STALE {
            match self.receive() {
                Ok(Some(_)) => self.stale += 1,
                Err(e) if e.errno() == Some(libc::ECONNREFUSED) => {}
                Ok(None) | Err(_) => return,
            }
        }
    }

    /// Replaces the socket with a new one (a new source port) connected to the same server:
    /// the old socket's late echoes can no longer reach this client.
    fn reopen(&mut self) -> Result<()> {
        self.sock = Some(connect_udp(self.peer, None)?);
        self.in_flight.clear();
        Ok(())
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

/// Most datagrams [`Client::drain`] drops before a request (bounds the work if a peer floods).
const MAX_STALE: usize = 4096;

/// Most payloads remembered as possibly in flight; beyond it the client takes a new socket.
const MAX_IN_FLIGHT: usize = 1024;

/// The in-flight key of a payload: a hash of the bytes a reply can show (up to `bufsize`)
/// and of its full length.
fn key_of(kept: &[u8], len: usize) -> u64 {
    let mut h = DefaultHasher::new();
    kept.hash(&mut h);
    len.hash(&mut h);
    h.finish()
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

    /// A peer that answers each datagram `delays[i]` after the i-th arrives (a jittery,
    /// reordering path), until it has answered `delays.len()` datagrams.
    fn jittery_echo(delays: Vec<u64>) -> SocketAddr {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let addr = s.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            let mut timers = Vec::new();
            for d in delays {
                let Ok((n, from)) = s.recv_from(&mut buf) else {
                    break;
                };
                let (out, data) = (s.try_clone().unwrap(), buf[..n].to_vec());
                timers.push(std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(d));
                    let _ = out.send_to(&data, from);
                }));
            }
            for t in timers {
                t.join().unwrap();
            }
        });
        addr
    }

    #[test]
    fn late_and_reordered_replies_are_never_returned() {
        // Each try waits 40 ms; replies come after 0-110 ms, so tries and requests overlap.
        let delays: Vec<u64> = (0..300).map(|i| (i * 37) % 110).collect();
        let addr = jittery_echo(delays);
        let mut c = Client::connect(
            "127.0.0.1",
            addr.port(),
            Some(Duration::from_millis(40)),
            5,
            1024,
        )
        .unwrap();
        let cancel = Cancel::new();
        let mut answered = 0;
        for i in 0..60 {
            let msg = format!("request {i}");
            match c.request(msg.as_bytes(), &cancel) {
                Ok(reply) => {
                    assert_eq!(reply, msg.as_bytes());
                    answered += 1;
                }
                Err(Error::Timeout) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert!(answered >= 50, "{answered}");
        assert!(c.stale() > 0, "the test must see late replies");
    }

    #[test]
    fn an_identical_payload_with_an_echo_in_flight_gets_a_new_source_port() {
        // The first request times out; its echo comes late. The second, identical request
        // is sent from a new port, so it gets its own echo, not the first one's.
        let (addr, t) = echo_once(Duration::from_millis(150), 2);
        let mut c = Client::connect(
            "127.0.0.1",
            addr.port(),
            Some(Duration::from_millis(50)),
            0,
            1024,
        )
        .unwrap();
        let first_port = c.local_addr().unwrap().port();
        assert!(matches!(
            c.request(b"same", &Cancel::new()),
            Err(Error::Timeout)
        ));
        c.timeout = Some(Duration::from_secs(2));
        let sent = Instant::now();
        assert_eq!(c.request(b"same", &Cancel::new()).unwrap(), b"same");
        // Its own echo: the peer's 150 ms delay counts from this send.
        assert!(sent.elapsed() >= Duration::from_millis(140));
        assert_ne!(c.local_addr().unwrap().port(), first_port);
        t.join().unwrap();
        // No echo left in flight: the next identical request keeps the socket.
        let (addr, t) = echo_once(Duration::ZERO, 2);
        let mut c = Client::connect("127.0.0.1", addr.port(), None, 0, 1024).unwrap();
        let port = c.local_addr().unwrap().port();
        for _ in 0..2 {
            assert_eq!(c.request(b"same", &Cancel::new()).unwrap(), b"same");
        }
        assert_eq!(c.local_addr().unwrap().port(), port);
        t.join().unwrap();
    }

    #[test]
    fn without_echo_matching_any_reply_counts_but_never_a_late_one() {
        let (addr, t) = echo_once(Duration::from_millis(150), 2);
        let mut c = Client::connect(
            "127.0.0.1",
            addr.port(),
            Some(Duration::from_millis(50)),
            0,
            1024,
        )
        .unwrap();
        c.set_echo(false);
        assert!(!c.echo());
        assert!(matches!(
            c.request(b"one", &Cancel::new()),
            Err(Error::Timeout)
        ));
        c.timeout = Some(Duration::from_secs(2));
        assert_eq!(c.request(b"two", &Cancel::new()).unwrap(), b"two");
        t.join().unwrap();
    }

    #[test]
    fn a_truncated_echo_still_matches() {
        let (addr, t) = echo_once(Duration::ZERO, 1);
        let mut c =
            Client::connect("127.0.0.1", addr.port(), Some(Duration::from_secs(2)), 0, 4).unwrap();
        assert_eq!(c.request(b"abcdefgh", &Cancel::new()).unwrap(), b"abcd");
        assert_eq!(c.stale(), 0);
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
