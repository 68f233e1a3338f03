//! Socket addresses: resolving hosts with the stdlib's rules, and converting to and from the
//! C `sockaddr` structures.
//!
//! Python's `socket` module resolves the host of an address tuple like this (`CPython`'s
//! `setipaddr`), and so does udpeco: `''` is the wildcard address, `'<broadcast>'` is
//! `255.255.255.255` (IPv4 only), a numeric address is taken as it is, and anything else goes
//! through `getaddrinfo(3)` restricted to the socket's family, whose failures become
//! [`Error::Gai`] (`socket.gaierror`) with the same code and message.

use std::ffi::CString;
use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::error::{Error, Result};

/// The IPv4 address family (`AF_INET`).
pub(crate) const AF_INET: i32 = libc::AF_INET;
/// The IPv6 address family (`AF_INET6`).
pub(crate) const AF_INET6: i32 = libc::AF_INET6;
/// Either family (`AF_UNSPEC`), for [`lookup`] of a name that may be IPv4 or IPv6.
#[cfg(test)]
pub(crate) const AF_UNSPEC: i32 = libc::AF_UNSPEC;

/// The address for `host` when it needs no lookup (`''`, `'<broadcast>'`, numeric), or
/// `Ok(None)` when [`lookup`] must be asked (which may block).
///
/// # Errors
/// [`Error::Os`] for `'<broadcast>'` on an IPv6 socket, as the stdlib says.
pub(crate) fn parse_host(host: &str, family: i32) -> Result<Option<IpAddr>> {
    let v6 = family == AF_INET6;
    if host.is_empty() {
        return Ok(Some(if v6 {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        }));
    }
    if host == "<broadcast>" || host == "255.255.255.255" {
        if v6 {
            return Err(Error::Os("address family mismatched".into()));
        }
        return Ok(Some(IpAddr::V4(Ipv4Addr::BROADCAST)));
    }
    let numeric = if v6 {
        host.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        host.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
    };
    Ok(numeric)
}

/// Resolves `host` with `getaddrinfo(3)` for `family` ([`AF_UNSPEC`] for either), taking the
/// first answer. Blocks.
///
/// # Errors
/// [`Error::Gai`] with `getaddrinfo`'s code and `gai_strerror` text.
pub(crate) fn lookup(host: &str, family: i32) -> Result<IpAddr> {
    let c_host = CString::new(host).map_err(|_| Error::Value("embedded null character".into()))?;
    match crate::sys::getaddrinfo_first(&c_host, family) {
        Ok(Some(found)) => Ok(found.ip()),
        Ok(None) => Err(Error::Gai {
            code: libc::EAI_NONAME,
            message: "Name or service not known".into(),
        }),
        Err(crate::sys::GaiError::Os(e)) => Err(e.into()),
        Err(crate::sys::GaiError::Code(code, message)) => Err(Error::Gai { code, message }),
    }
}

/// A socket address from its parts; IPv6 keeps flow info and scope id.
#[must_use]
pub(crate) fn socket_addr(ip: IpAddr, port: u16, flowinfo: u32, scope_id: u32) -> SocketAddr {
    match ip {
        IpAddr::V4(v4) => SocketAddr::V4(SocketAddrV4::new(v4, port)),
        IpAddr::V6(v6) => SocketAddr::V6(SocketAddrV6::new(v6, port, flowinfo, scope_id)),
    }
}

/// Storage for any socket address the kernel may return.
pub(crate) type RawAddr = libc::sockaddr_storage;

/// An all-zero `sockaddr_storage`.
#[must_use]
pub(crate) fn raw_storage() -> RawAddr {
    // SAFETY: all-zero is a valid sockaddr_storage.
    unsafe { mem::zeroed() }
}

/// Converts a Rust address to a C `sockaddr_storage` and its length.
#[must_use]
pub(crate) fn to_raw(addr: &SocketAddr) -> (RawAddr, libc::socklen_t) {
    let mut storage = raw_storage();
    let len = match addr {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            let sin = unsafe { &mut *std::ptr::addr_of_mut!(storage).cast::<libc::sockaddr_in>() };
            sin.sin_family = libc::sa_family_t::try_from(libc::AF_INET).unwrap_or_default();
            sin.sin_port = a.port().to_be();
            sin.sin_addr = libc::in_addr {
                s_addr: u32::from_ne_bytes(a.ip().octets()),
            };
            mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            let sin6 =
                unsafe { &mut *std::ptr::addr_of_mut!(storage).cast::<libc::sockaddr_in6>() };
            sin6.sin6_family = libc::sa_family_t::try_from(libc::AF_INET6).unwrap_or_default();
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_flowinfo = a.flowinfo().to_be();
            sin6.sin6_addr = libc::in6_addr {
                s6_addr: a.ip().octets(),
            };
            sin6.sin6_scope_id = a.scope_id();
            mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, libc::socklen_t::try_from(len).unwrap_or_default())
}

/// Converts a C socket address to a Rust one; `None` for families other than IPv4/IPv6 or a
/// length too short for the family (e.g. an unbound socket's empty address).
///
/// # Safety
/// `raw` must point at `len` readable bytes.
#[must_use]
pub(crate) unsafe fn from_raw(raw: *const RawAddr, len: libc::socklen_t) -> Option<SocketAddr> {
    let len = usize::try_from(len).ok()?;
    if len < mem::size_of::<libc::sa_family_t>() {
        return None;
    }
    // SAFETY: the caller guarantees `len` readable bytes, and we check each family's size.
    unsafe {
        match i32::from((*raw).ss_family) {
            libc::AF_INET if len >= mem::size_of::<libc::sockaddr_in>() => {
                let sin = &*raw.cast::<libc::sockaddr_in>();
                let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
                Some(SocketAddr::V4(SocketAddrV4::new(
                    ip,
                    u16::from_be(sin.sin_port),
                )))
            }
            libc::AF_INET6 if len >= mem::size_of::<libc::sockaddr_in6>() => {
                let sin6 = &*raw.cast::<libc::sockaddr_in6>();
                Some(SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                    u16::from_be(sin6.sin6_port),
                    u32::from_be(sin6.sin6_flowinfo),
                    sin6.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }
}

/// Sets only the port of an IPv4 or IPv6 address built by [`to_raw`] (no conversion of the
/// rest, for re-aiming a preallocated address at another port of the same host).
pub(crate) fn set_raw_port(raw: &mut RawAddr, port: u16) {
    match i32::from(raw.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says this storage holds a sockaddr_in.
            let sin = unsafe { &mut *std::ptr::addr_of_mut!(*raw).cast::<libc::sockaddr_in>() };
            sin.sin_port = port.to_be();
        }
        libc::AF_INET6 => {
            // SAFETY: the family says this storage holds a sockaddr_in6.
            let sin6 = unsafe { &mut *std::ptr::addr_of_mut!(*raw).cast::<libc::sockaddr_in6>() };
            sin6.sin6_port = port.to_be();
        }
        _ => {}
    }
}

/// A compact, hashable identity of a peer (family, address, port, scope), read straight from
/// a `sockaddr_storage` without building a [`SocketAddr`]: what a hot loop keys clients by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct AddrKey {
    ip: u128,
    port: u16,
    v6: bool,
    scope: u32,
}

impl AddrKey {
    /// The port.
    #[must_use]
    pub(crate) fn port(self) -> u16 {
        self.port
    }

    /// The address (IPv4 for an IPv4 peer; an unknown family gives `0.0.0.0`).
    #[must_use]
    pub(crate) fn ip(self) -> IpAddr {
        if self.v6 {
            IpAddr::V6(Ipv6Addr::from_bits(self.ip))
        } else {
            IpAddr::V4(Ipv4Addr::from_bits(u32::try_from(self.ip).unwrap_or(0)))
        }
    }
}

/// The [`AddrKey`] of a raw address; every family other than IPv4/IPv6 shares one key.
#[must_use]
pub(crate) fn raw_key(raw: &RawAddr) -> AddrKey {
    match i32::from(raw.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says this storage holds a sockaddr_in.
            let a: &libc::sockaddr_in = unsafe { &*std::ptr::from_ref(raw).cast() };
            AddrKey {
                ip: u128::from(u32::from_be(a.sin_addr.s_addr)),
                port: u16::from_be(a.sin_port),
                v6: false,
                scope: 0,
            }
        }
        libc::AF_INET6 => {
            // SAFETY: the family says this storage holds a sockaddr_in6.
            let a: &libc::sockaddr_in6 = unsafe { &*std::ptr::from_ref(raw).cast() };
            AddrKey {
                ip: u128::from_be_bytes(a.sin6_addr.s6_addr),
                port: u16::from_be(a.sin6_port),
                v6: true,
                scope: a.sin6_scope_id,
            }
        }
        _ => AddrKey {
            ip: 0,
            port: 0,
            v6: false,
            scope: u32::MAX,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdlib_host_rules() {
        assert_eq!(
            parse_host("", AF_INET).unwrap(),
            Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
        );
        assert_eq!(
            parse_host("", AF_INET6).unwrap(),
            Some(IpAddr::V6(Ipv6Addr::UNSPECIFIED))
        );
        assert_eq!(
            parse_host("<broadcast>", AF_INET).unwrap(),
            Some(IpAddr::V4(Ipv4Addr::BROADCAST))
        );
        assert!(matches!(
            parse_host("<broadcast>", AF_INET6),
            Err(Error::Os(_))
        ));
        assert_eq!(
            parse_host("::1", AF_INET6).unwrap(),
            Some(IpAddr::V6(Ipv6Addr::LOCALHOST))
        );
        assert_eq!(
            parse_host("::1", AF_INET).unwrap(),
            None,
            "needs a lookup, which fails"
        );
        assert_eq!(parse_host("localhost", AF_INET).unwrap(), None);
    }

    #[test]
    fn lookup_localhost_and_failures_like_getaddrinfo() {
        assert_eq!(
            lookup("localhost", AF_INET).unwrap(),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        match lookup("::1", AF_INET) {
            Err(Error::Gai { code, message }) => {
                assert_eq!(code, -9, "EAI_ADDRFAMILY");
                assert_eq!(message, "Address family for hostname not supported");
            }
            other => panic!("{other:?}"),
        }
        match lookup("nonexistent.invalid", AF_INET) {
            Err(Error::Gai { code, .. }) => assert_eq!(code, libc::EAI_NONAME),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn raw_round_trip() {
        for text in ["127.0.0.1:44444", "[::1]:8888", "[fe80::1%3]:9999"] {
            let a: SocketAddr = text.parse().unwrap();
            let (raw, len) = to_raw(&a);
            // SAFETY: `raw` is a local storage of `len` valid bytes.
            assert_eq!(unsafe { from_raw(&raw const raw, len) }, Some(a));
        }
    }

    #[test]
    fn raw_port_and_key() {
        for text in ["127.0.0.1:20000", "[::1]:65535"] {
            let a: SocketAddr = text.parse().unwrap();
            let (mut raw, len) = to_raw(&a);
            let key = raw_key(&raw);
            set_raw_port(&mut raw, 7);
            // SAFETY: `raw` is a local storage of `len` valid bytes.
            let moved = unsafe { from_raw(&raw const raw, len) }.unwrap();
            assert_eq!((moved.ip(), moved.port()), (a.ip(), 7));
            assert_ne!(raw_key(&raw), key);
            set_raw_port(&mut raw, a.port());
            assert_eq!(raw_key(&raw), key);
        }
    }

    #[test]
    fn lookup_either_family() {
        assert!(lookup("localhost", AF_UNSPEC).unwrap().is_loopback());
    }
}
