//! Resolving the scan target once, with `getaddrinfo`, as the stdlib does.
//!
//! A temporary helper of the scanner (the lead's `addr` module will own resolution for the
//! drop-in socket). A name that does not resolve is [`Error::Gai`] with the resolver's own
//! code and message, which the binding raises as `socket.gaierror`.

use std::ffi::{CStr, CString};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::{Error, Result};

/// Resolves `host` (a name or an IPv4/IPv6 literal) to the first address `getaddrinfo`
/// returns, so that a scan probes exactly one address.
///
/// # Errors
/// [`Error::Gai`] when the name does not resolve, [`Error::Value`] for an empty host or one
/// containing a NUL byte.
pub fn resolve(host: &str) -> Result<IpAddr> {
    let trimmed = host.trim_start_matches('[').trim_end_matches(']');
    if trimmed.is_empty() {
        return Err(Error::Value("empty host name".into()));
    }
    if let Ok(ip) = trimmed.parse::<IpAddr>() {
        return Ok(ip);
    }
    let node = CString::new(trimmed).map_err(|_| Error::Value("host name contains NUL".into()))?;
    // SAFETY: an all-zero addrinfo is a valid "no hints" value; we set the fields we need.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = libc::AF_UNSPEC;
    hints.ai_socktype = libc::SOCK_DGRAM;
    let mut list: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: valid C strings and hints; `list` receives an allocation freed below.
    let rc = unsafe {
        libc::getaddrinfo(
            node.as_ptr(),
            std::ptr::null(),
            std::ptr::addr_of!(hints),
            std::ptr::addr_of_mut!(list),
        )
    };
    if rc != 0 {
        // SAFETY: gai_strerror returns a static NUL-terminated string.
        let message = unsafe { CStr::from_ptr(libc::gai_strerror(rc)) };
        return Err(Error::Gai {
            code: rc,
            message: message.to_string_lossy().into_owned(),
        });
    }
    let mut found = None;
    let mut cur = list;
    while !cur.is_null() && found.is_none() {
        // SAFETY: `cur` walks the list getaddrinfo returned; each entry's ai_addr matches
        // its ai_family.
        unsafe {
            let ai = &*cur;
            found = match ai.ai_family {
                libc::AF_INET => {
                    let sa = std::ptr::read_unaligned(ai.ai_addr.cast::<libc::sockaddr_in>());
                    Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(sa.sin_addr.s_addr))))
                }
                libc::AF_INET6 => {
                    let sa = std::ptr::read_unaligned(ai.ai_addr.cast::<libc::sockaddr_in6>());
                    Some(IpAddr::V6(Ipv6Addr::from(sa.sin6_addr.s6_addr)))
                }
                _ => None,
            };
            cur = ai.ai_next;
        }
    }
    // SAFETY: `list` came from a successful getaddrinfo and is freed exactly once.
    unsafe { libc::freeaddrinfo(list) };
    found.ok_or(Error::Gai {
        code: libc::EAI_NONAME,
        message: "Name or service not known".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_names_and_failures() {
        assert_eq!(
            resolve("127.0.0.1").unwrap(),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(resolve("::1").unwrap(), IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(resolve("[::1]").unwrap(), IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert!(resolve("localhost").unwrap().is_loopback());
        assert!(matches!(
            resolve("no-such-host.invalid"),
            Err(Error::Gai { .. })
        ));
        assert!(matches!(resolve(""), Err(Error::Value(_))));
    }
}
