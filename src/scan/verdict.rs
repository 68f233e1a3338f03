//! Verdicts in nmap's vocabulary, and how an ICMP error maps to one.

use std::fmt;

/// The state of one scanned port, as nmap names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// A datagram came back from the port.
    Open,
    /// ICMP (or ICMP (v6)) port unreachable came back.
    Closed,
    /// No answer after every probe: an open port that ignores the probe, or a firewall.
    OpenFiltered,
    /// Another ICMP destination-unreachable code (host, network, administratively prohibited).
    Filtered,
}

impl State {
    /// The verdict as nmap prints it: `open`, `closed`, `open|filtered`, `filtered`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            State::Open => "open",
            State::Closed => "closed",
            State::OpenFiltered => "open|filtered",
            State::Filtered => "filtered",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// ICMP (v4) destination unreachable.
const ICMP_DEST_UNREACH: u8 = 3;
/// ICMP (v4) port unreachable code.
const ICMP_PORT_UNREACH: u8 = 3;
/// ICMP (v6) destination unreachable.
const ICMP6_DST_UNREACH: u8 = 1;
/// ICMP (v6) port unreachable code.
const ICMP6_PORT_UNREACH: u8 = 4;

/// The verdict an extended socket error means, or `None` when it says nothing about the
/// port (a local error, time exceeded, fragmentation needed, ...).
///
/// ICMP type 3 code 3 (ICMP (v6) type 1 code 4) is `closed`; the unreachable codes nmap calls
/// `filtered` (ICMP 0, 1, 2, 9, 10, 13; ICMP (v6) 0, 1, 2, 3, 5, 6) are `filtered`.
#[must_use]
pub(super) fn from_icmp(origin: u8, icmp_type: u8, code: u8) -> Option<State> {
    match (origin, icmp_type, code) {
        (libc::SO_EE_ORIGIN_ICMP, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH)
        | (libc::SO_EE_ORIGIN_ICMP6, ICMP6_DST_UNREACH, ICMP6_PORT_UNREACH) => Some(State::Closed),
        (libc::SO_EE_ORIGIN_ICMP, ICMP_DEST_UNREACH, 0 | 1 | 2 | 9 | 10 | 13)
        | (libc::SO_EE_ORIGIN_ICMP6, ICMP6_DST_UNREACH, 0 | 1 | 2 | 3 | 5 | 6) => {
            Some(State::Filtered)
        }
        _ => None,
    }
}

/// nmap's `--reason` word for an ICMP error that gave a verdict (`port-unreach`,
/// `admin-prohibited`, ...).
#[must_use]
pub(super) fn icmp_reason(origin: u8, icmp_type: u8, code: u8) -> &'static str {
    match (origin, icmp_type, code) {
        (libc::SO_EE_ORIGIN_ICMP, ICMP_DEST_UNREACH, c) => match c {
            0 => "net-unreach",
            1 => "host-unreach",
            2 => "proto-unreach",
            3 => "port-unreach",
            9 => "net-prohibited",
            10 => "host-prohibited",
            13 => "admin-prohibited",
            _ => "unreach",
        },
        (libc::SO_EE_ORIGIN_ICMP6, ICMP6_DST_UNREACH, c) => match c {
            0 => "no-route",
            1 => "admin-prohibited",
            2 => "beyond-scope",
            3 => "addr-unreach",
            4 => "port-unreach",
            5 => "failed-policy",
            6 => "reject-route",
            _ => "unreach",
        },
        _ => "unreach",
    }
}

/// The reason for an `open` verdict.
pub(super) const UDP_RESPONSE: &str = "udp-response";
/// The reason for an `open|filtered` verdict.
pub(super) const NO_RESPONSE: &str = "no-response";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icmp_codes_map_to_nmap_verdicts() {
        assert_eq!(
            from_icmp(libc::SO_EE_ORIGIN_ICMP, 3, 3),
            Some(State::Closed)
        );
        assert_eq!(
            from_icmp(libc::SO_EE_ORIGIN_ICMP6, 1, 4),
            Some(State::Closed)
        );
        assert_eq!(
            from_icmp(libc::SO_EE_ORIGIN_ICMP, 3, 13),
            Some(State::Filtered)
        );
        assert_eq!(
            from_icmp(libc::SO_EE_ORIGIN_ICMP, 3, 1),
            Some(State::Filtered)
        );
        assert_eq!(
            from_icmp(libc::SO_EE_ORIGIN_ICMP6, 1, 1),
            Some(State::Filtered)
        );
        assert_eq!(
            from_icmp(libc::SO_EE_ORIGIN_ICMP, 3, 4),
            None,
            "frag needed"
        );
        assert_eq!(
            from_icmp(libc::SO_EE_ORIGIN_ICMP, 11, 0),
            None,
            "time exceeded"
        );
        assert_eq!(from_icmp(libc::SO_EE_ORIGIN_LOCAL, 0, 0), None);
        assert_eq!(State::OpenFiltered.to_string(), "open|filtered");
        assert_eq!(icmp_reason(libc::SO_EE_ORIGIN_ICMP, 3, 3), "port-unreach");
        assert_eq!(
            icmp_reason(libc::SO_EE_ORIGIN_ICMP, 3, 13),
            "admin-prohibited"
        );
        assert_eq!(icmp_reason(libc::SO_EE_ORIGIN_ICMP6, 1, 4), "port-unreach");
    }
}
