//! The timed client: one request, one reply, with the práctica's timeout semantics.
//!
//! [`Client`] sends a datagram to its server and waits for the answer up to `timeout`
//! (`cliente_eco` v3's `settimeout(5.0)`), resending up to `retries` times; when no try gets
//! an answer the result is [`Error::Timeout`], which Python sees as `socket.timeout`. The
//! socket is connected, so the kernel drops datagrams from other sources (and the client
//! checks the source again) and a closed port answers with `ECONNREFUSED` at once instead of
//! a timeout. Waiting goes through `crate::wait::wait_fd`, so a [`Cancel`] (Ctrl+C) ends it
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
//!   bytes, so a reply counts only if it is the request (its full length, read with
//!   `MSG_TRUNC`, and its bytes up to `bufsize`), or a prefix of it (an echo the server
//!   truncated to its own buffer) that no other payload in flight could have given; any
//!   other datagram is an earlier request's echo and is discarded (counted in
//!   [`Client::stale`]).
//! - **A fresh source port when that cannot decide**: identical payloads cannot be told
//!   apart, so the client remembers how many echoes of each payload may still be on their
//!   way (sent tries minus replies seen, `inflight`). A request whose payload starts with a
//!   payload that may still have an echo in flight (the same bytes, or a shorter request whose
//!   echo would look like a truncated echo) is sent from a new socket (a new source port): the
//!   old socket is closed, and its late echoes are dropped by the kernel. Without echo
//!   matching (`echo = false`, for a server that does not echo) any unanswered try makes the
//!   next request use a new socket.
//!
//! So a request never returns a reply that was sent in answer to an earlier request, except
//! when the network itself duplicates a datagram after the earlier request already got its
//! reply (which no client can tell without changing the payload).

use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use socket2::Socket;

use self::inflight::InFlight;
use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::host::{self, connect_udp, Family, Purpose};
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
    /// Echoes that may still arrive on the current socket.
    in_flight: InFlight,
    stale: u64,
}

impl Client {
    /// Resolves `host` by [`crate::host`]'s rule and connects a UDP
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
        if retries > MAX_RETRIES {
            return Err(Error::Value(format!(
                "retries must be at most {MAX_RETRIES}, not {retries}"
            )));
        }
        let sock = connect_udp(
            host::resolve_addr(host, port, Family::Any, Purpose::Reach)?,
            None,
        )?;
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
            in_flight: InFlight::default(),
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
        let kept = &data[..data.len().min(self.buf.len())];
        let ambiguous = if self.echo {
            self.in_flight.confusable(kept)
        } else {
            !self.in_flight.is_empty()
        };
        if ambiguous || self.in_flight.is_full() {
            self.reopen()?;
        }
        for _ in 0..=self.retries {
            self.socket()?.send(data)?;
            self.in_flight.sent(kept, data.len());
            let deadline = self.timeout.and_then(deadline_after);
            loop {
                let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                if !wait_fd(self.socket()?.as_raw_fd(), READ_EVENTS, left, cancel)? {
                    break; // This try timed out.
                }
                let Some((n, len)) = self.receive()? else {
                    continue;
                };
                if self.accept(data, n, len) {
                    return Ok(n);
                }
                self.stale += 1;
            }
        }
        Err(Error::Timeout)
    }

    /// Whether the datagram just received (`n` bytes kept of `len`) answers `data`, and
    /// bookkeeping of its echo either way.
    fn accept(&mut self, data: &[u8], n: usize, len: usize) -> bool {
        let reply = &self.buf[..n];
        if !self.echo {
            self.in_flight.clear();
            return true;
        }
        let kept = &data[..data.len().min(self.buf.len())];
        // The echo itself, or an echo the server truncated (its bytes are a prefix of the
        // request) that no other payload in flight could have given.
        let ours = len <= data.len()
            && *reply == data[..n]
            && (len == data.len() || !self.in_flight.other_could_be(reply, kept, data.len()));
        let owner = ours.then_some((kept, data.len()));
        self.in_flight.arrived(reply, len, owner);
        ours
    }

    /// Reads one datagram from the server into the buffer: `(bytes kept, full length)`.
    /// `None` for nothing (or a foreign source).
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
                Ok(Some((len.min(self.buf.len()), len)))
            }
            Ok(_) => Ok(None), // Not from the server: ignored.
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(Error::Io(e)),
        }
    }

    /// Reads and drops what is queued (late replies, a pending ICMP error), up to
    /// [`MAX_STALE`], taking each late echo off the in-flight table.
    fn drain(&mut self) {
        for _ in 0..MAX_STALE {
            match self.receive() {
                Ok(Some((n, len))) => {
                    if self.echo {
                        self.in_flight.arrived(&self.buf[..n], len, None);
                    } else {
                        self.in_flight.clear();
                    }
                    self.stale += 1;
                }
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
/// The most `retries` accepted.
pub const MAX_RETRIES: u32 = 1_000_000;

/// Most datagrams [`Client::drain`] drops before a request (bounds the work if a peer floods).
const MAX_STALE: usize = 4096;

mod inflight;
#[cfg(test)]
mod tests;
