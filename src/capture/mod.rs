//! A small wireshark for UDP: every UDP datagram an interface sees, decoded.
//!
//! [`Capture`] opens an `AF_PACKET` socket (which needs `CAP_NET_RAW`) of type `SOCK_DGRAM`,
//! so each packet starts at its IP header whatever the link type, attaches a classic BPF
//! program (`filter`) so that the kernel passes only UDP (on one port, if asked), and only
//! then binds to the interface, so that nothing unfiltered is ever queued. Each packet is
//! decoded (`decode`) into a [`Datagram`]: addresses, ports, the UDP length field, the
//! checksum (verified) and the payload, escaped for display (udpeco's one rule, `crate::echo::text::escape`).
//!
//! On loopback every packet passes the packet layer twice (leaving and arriving); only the
//! arriving copy is kept, so each datagram is seen once. Waiting uses `crate::wait`, so a
//! capture answers its [`Cancel`] within one tick.

mod decode;
mod filter;
mod sock;

use std::time::{Duration, Instant, SystemTime};

use crate::cancel::Cancel;
use crate::error::Result;
use crate::wait::{deadline_after, wait_fd, READ_EVENTS};

pub use decode::{ChecksumStatus, Udp};
pub use sock::PacketSocket;

/// One captured UDP datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// When the kernel received it.
    pub time: SystemTime,
    /// The interface it was seen on.
    pub iface: String,
    /// True when this host sent it, false when it arrived.
    pub outgoing: bool,
    /// The decoded IP and UDP headers and the payload.
    pub udp: Udp,
}

impl Datagram {
    /// The payload as printable text, every unsafe byte escaped (`crate::echo::text::escape`).
    #[must_use]
    pub fn payload_text(&self) -> String {
        crate::echo::text::escape(&self.udp.payload)
    }
}

/// What to capture.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The interface name (`lo`, `veth0`, ...); every interface when `None`.
    pub iface: Option<String>,
    /// Keep only datagrams with this source or destination port.
    pub port: Option<u16>,
}

/// An open capture: a filtered packet socket on one interface (or all of them).
#[derive(Debug)]
pub struct Capture {
    sock: PacketSocket,
    port: Option<u16>,
}

impl Capture {
    /// Opens the capture.
    ///
    /// # Errors
    /// `EPERM` without `CAP_NET_RAW`; [`crate::Error::Value`] for an unknown interface.
    pub fn open(opts: &Options) -> Result<Self> {
        let sock = PacketSocket::open(opts.iface.as_deref(), opts.port)?;
        Ok(Capture {
            sock,
            port: opts.port,
        })
    }

    /// The socket's descriptor (to wait on it elsewhere).
    #[must_use]
    pub fn fd(&self) -> std::os::fd::RawFd {
        self.sock.fd()
    }

    /// The next datagram, waiting at most `timeout` (`None`: forever); `Ok(None)` when the
    /// time passes first.
    ///
    /// # Errors
    /// [`crate::Error::Interrupted`] when `cancel` stops the wait; [`crate::Error::Io`] when the
    /// socket fails.
    pub fn next(&mut self, timeout: Option<Duration>, cancel: &Cancel) -> Result<Option<Datagram>> {
        let deadline = timeout.and_then(deadline_after);
        loop {
            while let Some(d) = self.sock.try_recv()? {
                if self
                    .port
                    .is_none_or(|p| d.udp.sport == p || d.udp.dport == p)
                {
                    return Ok(Some(d));
                }
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left == Some(Duration::ZERO) {
                return Ok(None);
            }
            if !wait_fd(self.sock.fd(), READ_EVENTS, left, cancel)? {
                return Ok(None);
            }
        }
    }
}

/// The largest `count` accepted (each datagram captured is kept until the capture returns).
pub const MAX_COUNT: usize = 1_000_000_000;

/// Captures until `count` datagrams were seen or `timeout` passed (at least one of the two
/// should be given, or only `cancel` ends it).
///
/// # Errors
/// As [`Capture::open`] and [`Capture::next`].
pub fn capture(
    opts: &Options,
    count: Option<usize>,
    timeout: Option<Duration>,
    cancel: &Cancel,
) -> Result<Vec<Datagram>> {
    let mut cap = Capture::open(opts)?;
    let deadline = timeout.and_then(deadline_after);
    let mut out = Vec::new();
    while count.is_none_or(|n| out.len() < n) {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        match cap.next(left, cancel)? {
            Some(d) => out.push(d),
            None => break,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
