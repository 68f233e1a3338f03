//! The peer of the timed client and of the load generator: resolving `host` the way the
//! práctica's clients do (an `AF_INET` address when there is one) and opening a non-blocking
//! UDP socket connected to it.
//!
//! A connected UDP socket is what makes both tools correct and fast: the kernel drops
//! datagrams from any other source, and an ICMP "port unreachable" comes back as
//! `ECONNREFUSED` on the next receive instead of a silent timeout.

use std::net::{IpAddr, SocketAddr};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::addr;
use crate::error::{Error, Result};

/// Resolves `host` (a literal address or a name) to one UDP destination.
///
/// A literal IPv4 or IPv6 address is taken as it is; `""` means this host (`0.0.0.0`, which
/// Linux delivers locally), as a stdlib `sendto` to `("", port)` does. A name is looked up
/// with [`crate::addr`]'s rules for `AF_INET` first, as the práctica's `AF_INET` client
/// would, and for `AF_INET6` only when it has no IPv4 address.
///
/// # Errors
/// [`Error::Gai`] (the IPv4 lookup's) when the name does not resolve.
pub fn resolve(host: &str, port: u16) -> Result<SocketAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    match addr::resolve(host, port, addr::AF_INET, 0, 0) {
        Err(v4_error @ Error::Gai { .. }) => {
            addr::resolve(host, port, addr::AF_INET6, 0, 0).map_err(|_| v4_error)
        }
        other => other,
    }
}

/// A non-blocking UDP socket connected to `peer`, with a receive buffer of at least
/// `recv_buffer` bytes when given (the kernel may cap it at `rmem_max`).
///
/// # Errors
/// [`Error::Io`] when the socket cannot be created or connected.
pub fn connect_udp(peer: SocketAddr, recv_buffer: Option<usize>) -> Result<Socket> {
    let sock = Socket::new(Domain::for_address(peer), Type::DGRAM, Some(Protocol::UDP))?;
    sock.set_nonblocking(true)?;
    if let Some(bytes) = recv_buffer {
        sock.set_recv_buffer_size(bytes)?;
    }
    sock.connect(&SockAddr::from(peer))?;
    Ok(sock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_names_resolve_preferring_ipv4() {
        assert_eq!(
            resolve("127.0.0.1", 7).unwrap(),
            "127.0.0.1:7".parse().unwrap()
        );
        assert_eq!(resolve("::1", 7).unwrap(), "[::1]:7".parse().unwrap());
        assert_eq!(
            resolve("localhost", 9).unwrap(),
            "127.0.0.1:9".parse().unwrap()
        );
        assert_eq!(resolve("", 9).unwrap(), "0.0.0.0:9".parse().unwrap());
    }

    #[test]
    fn unknown_name_is_a_gai_error() {
        match resolve("no-such-host.invalid", 7) {
            Err(Error::Gai { code, message }) => {
                assert!(code < 0);
                assert!(!message.is_empty());
            }
            other => panic!("expected a gai error, got {other:?}"),
        }
    }

    #[test]
    fn connected_socket_reports_its_peer() {
        let sock = connect_udp("127.0.0.1:9".parse().unwrap(), Some(1 << 16)).unwrap();
        let peer = sock.peer_addr().unwrap().as_socket().unwrap();
        assert_eq!(peer, "127.0.0.1:9".parse().unwrap());
    }
}
