//! Resolving the scan target once, as the stdlib does.
//!
//! The scanner's rules on top of [`crate::addr::lookup`]: brackets around an IPv6 literal are
//! accepted, a literal of either family is taken as it is, and a name is looked up for either
//! family. A name that does not resolve is [`Error::Gai`] with the resolver's own code and
//! message, which the binding raises as `socket.gaierror`.

use std::net::IpAddr;

use crate::addr;
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
    if trimmed.contains('\0') {
        return Err(Error::Value("host name contains NUL".into()));
    }
    addr::lookup(trimmed, addr::AF_UNSPEC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

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
