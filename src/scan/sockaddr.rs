//! Converting between [`SocketAddr`] and the C `sockaddr_storage` the batch calls use.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// `addr` as a `sockaddr_storage` and its length.
#[must_use]
pub fn to_raw(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: an all-zero sockaddr_storage is valid; we fill the variant for the family.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in.
            let sin = unsafe { &mut *std::ptr::addr_of_mut!(storage).cast::<libc::sockaddr_in>() };
            sin.sin_family = libc::sa_family_t::try_from(libc::AF_INET).unwrap_or_default();
            sin.sin_port = a.port().to_be();
            sin.sin_addr.s_addr = u32::from(*a.ip()).to_be();
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in6.
            let sin6 =
                unsafe { &mut *std::ptr::addr_of_mut!(storage).cast::<libc::sockaddr_in6>() };
            sin6.sin6_family = libc::sa_family_t::try_from(libc::AF_INET6).unwrap_or_default();
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_addr.s6_addr = a.ip().octets();
            sin6.sin6_scope_id = a.scope_id();
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, libc::socklen_t::try_from(len).unwrap_or_default())
}

/// Sets only the port of a `sockaddr_storage` built by [`to_raw`].
pub fn set_port(storage: &mut libc::sockaddr_storage, port: u16) {
    if i32::from(storage.ss_family) == libc::AF_INET {
        // SAFETY: the family says this storage holds a sockaddr_in.
        let sin = unsafe { &mut *std::ptr::addr_of_mut!(*storage).cast::<libc::sockaddr_in>() };
        sin.sin_port = port.to_be();
    } else {
        // SAFETY: otherwise it holds a sockaddr_in6 (to_raw builds only these two).
        let sin6 = unsafe { &mut *std::ptr::addr_of_mut!(*storage).cast::<libc::sockaddr_in6>() };
        sin6.sin6_port = port.to_be();
    }
}

/// The address in a `sockaddr_storage` the kernel filled, if it is IPv4 or IPv6.
#[must_use]
pub fn from_raw(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says this storage holds a sockaddr_in.
            let sin = unsafe { &*std::ptr::addr_of!(*storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            Some(SocketAddr::new(IpAddr::V4(ip), u16::from_be(sin.sin_port)))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says this storage holds a sockaddr_in6.
            let sin6 = unsafe { &*std::ptr::addr_of!(*storage).cast::<libc::sockaddr_in6>() };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Some(SocketAddr::new(
                IpAddr::V6(ip),
                u16::from_be(sin6.sin6_port),
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_both_families() {
        for text in ["127.0.0.1:20000", "[::1]:65535"] {
            let addr: SocketAddr = text.parse().unwrap();
            let (mut raw, _) = to_raw(addr);
            assert_eq!(from_raw(&raw), Some(addr));
            set_port(&mut raw, 7);
            assert_eq!(from_raw(&raw).unwrap().port(), 7);
        }
    }
}
