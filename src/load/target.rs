//! The peer of the timed client and of the load generator: resolving `host` the way the
//! práctica's clients do (an `AF_INET` address when there is one) and opening a non-blocking
//! UDP socket connected to it.
//!
//! A connected UDP socket is what makes both tools correct and fast: the kernel drops
//! datagrams from any other source, and an ICMP "port unreachable" comes back as
//! `ECONNREFUSED` on the next receive instead of a silent timeout.

use std::ffi::{CStr, CString};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::ptr;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::error::{Error, Result};

/// Resolves `host` (a literal address or a name) to one UDP destination.
///
/// `""` means this host (`0.0.0.0`, which Linux delivers locally), as a stdlib `sendto` to
/// `("", port)` does. Names go through `getaddrinfo`; the first IPv4 result is preferred, as
/// an `AF_INET` socket (the práctica's) would use it, else the first IPv6 one.
///
/// # Errors
/// [`Error::Gai`] when the name does not resolve, [`Error::Value`] for a NUL byte in `host`.
pub fn resolve(host: &str, port: u16) -> Result<SocketAddr> {
    if host.is_empty() {
        return Ok(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let c_host = CString::new(host)
        .map_err(|_| Error::Value("host name must not contain a NUL byte".to_owned()))?;
    // SAFETY: an all-zero addrinfo is the documented way to start a hints struct.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = libc::AF_UNSPEC;
    hints.ai_socktype = libc::SOCK_DGRAM;
    let mut list: *mut libc::addrinfo = ptr::null_mut();
    // SAFETY: valid C string, valid hints, `list` receives a list we free below.
    let rc = unsafe {
        libc::getaddrinfo(
            c_host.as_ptr(),
            ptr::null(),
            &raw const hints,
            &raw mut list,
        )
    };
    if rc != 0 {
        if rc == libc::EAI_SYSTEM {
            return Err(Error::last_os_error());
        }
        // SAFETY: gai_strerror returns a static NUL-terminated string.
        let message = unsafe { CStr::from_ptr(libc::gai_strerror(rc)) }
            .to_string_lossy()
            .into_owned();
        return Err(Error::Gai { code: rc, message });
    }
    let (mut v4, mut v6) = (None, None);
    let mut node = list;
    while !node.is_null() {
        // SAFETY: `node` is an element of the list getaddrinfo returned, not yet freed.
        let ai = unsafe { &*node };
        if ai.ai_family == libc::AF_INET && v4.is_none() {
            // SAFETY: an AF_INET entry's ai_addr points to a sockaddr_in.
            let sa = unsafe { ptr::read_unaligned(ai.ai_addr.cast::<libc::sockaddr_in>()) };
            let ip = Ipv4Addr::from(u32::from_be(sa.sin_addr.s_addr));
            v4 = Some(SocketAddr::V4(SocketAddrV4::new(ip, port)));
        } else if ai.ai_family == libc::AF_INET6 && v6.is_none() {
            // SAFETY: an AF_INET6 entry's ai_addr points to a sockaddr_in6.
            let sa = unsafe { ptr::read_unaligned(ai.ai_addr.cast::<libc::sockaddr_in6>()) };
            let ip = Ipv6Addr::from(sa.sin6_addr.s6_addr);
            v6 = Some(SocketAddr::V6(SocketAddrV6::new(
                ip,
                port,
                0,
                sa.sin6_scope_id,
            )));
        }
        node = ai.ai_next;
    }
    // SAFETY: `list` came from a successful getaddrinfo and is freed once.
    unsafe { libc::freeaddrinfo(list) };
    v4.or(v6).ok_or_else(|| Error::Gai {
        code: libc::EAI_NONAME,
        message: "Name or service not known".to_owned(),
    })
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
