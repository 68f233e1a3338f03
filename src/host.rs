//! The one rule for the `host` of every engine (echo server, client, load generator,
//! scanner, proxy), and the connected UDP socket the client, the load generator and the proxy
//! reach their peer with.
//!
//! The rule (docs/hosts.md says it for users):
//!
//! - `''` is the wildcard address (`0.0.0.0`, `::` for [`Family::V6`]), as the stdlib's
//!   `INADDR_ANY`: to [`Purpose::Bind`] it means every interface; as a destination
//!   ([`Purpose::Reach`]) a wildcard address (`''`, `0.0.0.0`, `::`) means this host, the
//!   loopback address of its family, which is where Linux delivers it.
//! - A literal address is taken as it is; an IPv6 literal may be written in brackets
//!   (`'[::1]'`).
//! - A name is looked up with `getaddrinfo(3)`, taking the first answer in the system's order:
//!   for [`Family::Any`] its first IPv4 address (the práctica's `AF_INET` programs and a
//!   server bound to `''` are IPv4), or its first IPv6 address when it has none.
//! - `'<broadcast>'` (the stdlib's name for `255.255.255.255`) and any broadcast address are
//!   refused: no engine broadcasts or serves a broadcast address.
//!
//! Mistakes are [`Error::Value`] (`invalid host name '...': <why>`), a failed lookup
//! [`Error::Gai`] with the resolver's code and `cannot resolve '...': <its message>`. The
//! drop-in socket keeps the stdlib's own rules instead (`crate::addr`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::addr;
use crate::echo::text::escape;
use crate::error::{Error, Result};

/// Which addresses a host may resolve to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Either: a literal as written; a name's IPv4 address, else its IPv6 one.
    Any,
    /// IPv4 only (`AF_INET`).
    V4,
    /// IPv6 only (`AF_INET6`).
    V6,
}

/// What the address is for, which decides what the wildcard address means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// An address to bind: the wildcard means every interface.
    Bind,
    /// A peer to send to: the wildcard means this host (its loopback address).
    Reach,
}

/// The `'<broadcast>'` spelling of the stdlib.
const BROADCAST: &str = "<broadcast>";

/// `invalid host name '<host>': <why>`, the host shown with udpeco's escaping.
fn invalid(host: &[u8], why: &str) -> Error {
    Error::Value(format!("invalid host name '{}': {why}", escape(host)))
}

/// The error for a host that is not text (a command-line word whose bytes are not UTF-8,
/// which Python holds as a `str` with surrogates).
#[must_use]
pub fn not_text(host: &[u8]) -> Error {
    invalid(host, "not valid UTF-8 text")
}

/// Checks what can be checked without a lookup, and returns the literal address when `host`
/// is one (`None` for a name, and for `''`).
///
/// # Errors
/// [`Error::Value`] for a NUL character, brackets around something other than an IPv6
/// address, or a broadcast address.
pub fn check(host: &str) -> Result<Option<IpAddr>> {
    if host.contains('\0') {
        return Err(invalid(host.as_bytes(), "contains a NUL character"));
    }
    if host == BROADCAST {
        return Err(refused_broadcast(host));
    }
    let literal = match host.strip_prefix('[') {
        Some(rest) => Some(
            rest.strip_suffix(']')
                .and_then(|inner| inner.parse::<Ipv6Addr>().ok())
                .map(IpAddr::V6)
                .ok_or_else(|| {
                    invalid(
                        host.as_bytes(),
                        "brackets go around an IPv6 address only, as in '[::1]'",
                    )
                })?,
        ),
        None => host.parse::<IpAddr>().ok(),
    };
    if literal.is_some_and(is_broadcast) {
        return Err(refused_broadcast(host));
    }
    Ok(literal)
}

fn refused_broadcast(host: &str) -> Error {
    invalid(
        host.as_bytes(),
        "a broadcast address (udpeco neither sends to nor serves on one)",
    )
}

fn is_broadcast(ip: IpAddr) -> bool {
    ip == IpAddr::V4(Ipv4Addr::BROADCAST)
}

/// Resolves `host` by the module's rule (may block for a name lookup).
///
/// # Errors
/// As [`check`]; [`Error::Value`] for a literal of the other family than `family`;
/// [`Error::Gai`] when a name does not resolve.
pub fn resolve(host: &str, family: Family, purpose: Purpose) -> Result<IpAddr> {
    let ip = match check(host)? {
        Some(ip) => {
            let fits = match family {
                Family::Any => true,
                Family::V4 => ip.is_ipv4(),
                Family::V6 => ip.is_ipv6(),
            };
            if !fits {
                let want = if family == Family::V4 { "IPv4" } else { "IPv6" };
                return Err(invalid(host.as_bytes(), &format!("not an {want} address")));
            }
            ip
        }
        None if host.is_empty() => match family {
            Family::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            Family::Any | Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        },
        None => lookup(host, family)?,
    };
    if is_broadcast(ip) {
        return Err(refused_broadcast(host));
    }
    Ok(match (purpose, ip) {
        (Purpose::Reach, IpAddr::V4(v4)) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        (Purpose::Reach, IpAddr::V6(v6)) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        _ => ip,
    })
}

/// [`resolve`] with a port.
///
/// # Errors
/// As [`resolve`].
pub fn resolve_addr(host: &str, port: u16, family: Family, purpose: Purpose) -> Result<SocketAddr> {
    resolve(host, family, purpose).map(|ip| SocketAddr::new(ip, port))
}

/// A name's address: `getaddrinfo`'s first answer for the family (for [`Family::Any`], IPv4
/// first, then IPv6; the IPv4 lookup's error when neither answers).
fn lookup(host: &str, family: Family) -> Result<IpAddr> {
    let found = match family {
        Family::V4 => addr::lookup(host, addr::AF_INET),
        Family::V6 => addr::lookup(host, addr::AF_INET6),
        Family::Any => match addr::lookup(host, addr::AF_INET) {
            Err(v4 @ Error::Gai { .. }) => addr::lookup(host, addr::AF_INET6).map_err(|_| v4),
            other => other,
        },
    };
    found.map_err(|e| match e {
        Error::Gai { code, message } => Error::Gai {
            code,
            message: format!("cannot resolve '{}': {message}", escape(host.as_bytes())),
        },
        other => other,
    })
}

/// A non-blocking UDP socket connected to `peer`, with a receive buffer of at least
/// `recv_buffer` bytes when given (the kernel may cap it at `rmem_max`).
///
/// A connected UDP socket is what makes the client, the load generator and the proxy correct
/// and fast: the kernel drops datagrams from any other source, and an ICMP "port unreachable"
/// comes back as `ECONNREFUSED` on the next receive instead of a silent timeout.
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

    fn bind(host: &str) -> Result<IpAddr> {
        resolve(host, Family::Any, Purpose::Bind)
    }

    fn reach(host: &str) -> Result<IpAddr> {
        resolve(host, Family::Any, Purpose::Reach)
    }

    fn value_message(r: Result<IpAddr>) -> String {
        match r {
            Err(Error::Value(m)) => m,
            other => panic!("expected a ValueError, got {other:?}"),
        }
    }

    #[test]
    fn wildcard_binds_everywhere_and_reaches_this_host() {
        assert_eq!(bind("").unwrap(), IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(reach("").unwrap(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(reach("0.0.0.0").unwrap(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(reach("[::]").unwrap(), IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(
            resolve("", Family::V6, Purpose::Bind).unwrap(),
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        );
    }

    #[test]
    fn literals_with_or_without_brackets() {
        for h in ["::1", "[::1]"] {
            assert_eq!(bind(h).unwrap(), IpAddr::V6(Ipv6Addr::LOCALHOST));
            assert_eq!(reach(h).unwrap(), IpAddr::V6(Ipv6Addr::LOCALHOST));
        }
        assert_eq!(reach("127.0.0.1").unwrap(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert!(value_message(reach("[127.0.0.1]")).contains("brackets"));
        assert!(value_message(reach("[::1")).contains("brackets"));
        assert!(value_message(resolve("::1", Family::V4, Purpose::Reach)).contains("IPv4"));
    }

    #[test]
    fn names_prefer_ipv4_and_failures_name_the_host() {
        assert_eq!(reach("localhost").unwrap(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        match reach("no-such-host.invalid") {
            Err(Error::Gai { code, message }) => {
                assert_eq!(code, libc::EAI_NONAME);
                assert!(
                    message.starts_with("cannot resolve 'no-such-host.invalid': "),
                    "{message}"
                );
            }
            other => panic!("expected a gai error, got {other:?}"),
        }
    }

    #[test]
    fn broadcast_and_nul_are_refused_with_one_message() {
        for h in ["<broadcast>", "255.255.255.255"] {
            assert_eq!(
                value_message(bind(h)),
                format!(
                    "invalid host name '{h}': a broadcast address (udpeco neither sends to \
                     nor serves on one)"
                )
            );
        }
        assert_eq!(
            value_message(reach("a\0b")),
            "invalid host name 'a\\x00b': contains a NUL character"
        );
        assert!(matches!(
            not_text(b"\xff"),
            Error::Value(m) if m == "invalid host name '\\xff': not valid UTF-8 text"
        ));
    }

    #[test]
    fn connected_socket_reports_its_peer() {
        let sock = connect_udp("127.0.0.1:9".parse().unwrap(), Some(1 << 16)).unwrap();
        let peer = sock.peer_addr().unwrap().as_socket().unwrap();
        assert_eq!(peer, "127.0.0.1:9".parse().unwrap());
    }
}
