//! Decoding one captured network-layer packet (IPv4 or IPv6) into its UDP header and payload.
//!
//! The packet socket is `SOCK_DGRAM`, so every packet starts at its IP header whatever the
//! link type. The payload is what the IP header says the packet carries (link padding is cut
//! off); the UDP length field is reported as it is, so that a datagram whose length field
//! disagrees with its payload shows it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The IP protocol number of UDP.
const UDP: u8 = 17;
/// Length of the UDP header.
pub(super) const UDP_HEADER: usize = 8;

/// The checksum verdict of a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChecksumStatus {
    /// The checksum field matches a recomputation.
    Ok,
    /// It does not: a receiver drops this datagram.
    Bad,
    /// IPv4 only: the field is 0, the sender computed no checksum (allowed by RFC 768).
    Zero,
    /// The kernel left the checksum to the device (loopback, veth): the field held only the
    /// pseudo-header sum, and the value shown is the one a device computes, recomputed here.
    Offload,
    /// Cannot be verified: the packet is the first fragment of a larger datagram.
    Unverified,
}

impl ChecksumStatus {
    /// The status's name as the JSON output and the Python API give it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ChecksumStatus::Ok => "ok",
            ChecksumStatus::Bad => "bad",
            ChecksumStatus::Zero => "zero",
            ChecksumStatus::Offload => "offload",
            ChecksumStatus::Unverified => "unverified",
        }
    }
}

/// The UDP part of one captured packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Udp {
    /// IP source address.
    pub src: IpAddr,
    /// IP destination address.
    pub dst: IpAddr,
    /// UDP source port.
    pub sport: u16,
    /// UDP destination port.
    pub dport: u16,
    /// The UDP length field: header (8 bytes) plus payload, as the sender wrote it.
    pub length: u16,
    /// The checksum: the field, or the device's value when [`ChecksumStatus::Offload`].
    pub checksum: u16,
    /// Whether the checksum is right.
    pub checksum_status: ChecksumStatus,
    /// The payload the IP packet carries after the UDP header.
    pub payload: Vec<u8>,
    /// True for the first fragment of a fragmented datagram (the payload is only its start).
    pub fragment: bool,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Adds `data` as big-endian 16-bit words to a one's complement sum (not yet folded).
fn sum_words(mut acc: u64, data: &[u8]) -> u64 {
    let mut words = data.chunks_exact(2);
    for w in &mut words {
        acc += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        acc += u64::from(u16::from_be_bytes([*last, 0]));
    }
    acc
}

fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    // The loop leaves at most 16 bits.
    u16::try_from(acc).unwrap_or(u16::MAX)
}

/// The UDP checksum of `datagram` (header and payload, its checksum field taken as 0) between
/// `src` and `dst`, as RFC 768 / RFC 8200 define it (a computed 0 is sent as 0xffff).
#[must_use]
pub(super) fn udp_checksum(src: IpAddr, dst: IpAddr, datagram: &[u8]) -> u16 {
    let mut acc = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => sum_words(sum_words(0, &s.octets()), &d.octets()),
        (s, d) => {
            let six = |a: IpAddr| match a {
                IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                IpAddr::V6(v6) => v6,
            };
            sum_words(sum_words(0, &six(s).octets()), &six(d).octets())
        }
    };
    acc += u64::from(UDP) + u64::try_from(datagram.len()).unwrap_or(0);
    acc = sum_words(acc, datagram.get(..6).unwrap_or(datagram));
    acc = sum_words(acc, datagram.get(UDP_HEADER..).unwrap_or_default());
    match !fold(acc) {
        0 => 0xffff,
        c => c,
    }
}

/// Where the UDP datagram lies in an IPv4 packet: (src, dst, datagram, first fragment).
fn ipv4(p: &[u8]) -> Option<(IpAddr, IpAddr, &[u8], bool)> {
    let ihl = usize::from(*p.first()? & 0x0f) * 4;
    let total = usize::from(be16(p, 2)?);
    if ihl < 20 || total < ihl || *p.get(9)? != UDP {
        return None;
    }
    let frag = be16(p, 6)?;
    if frag & 0x1fff != 0 {
        return None; // a later fragment: no UDP header in it
    }
    let src = Ipv4Addr::from(<[u8; 4]>::try_from(p.get(12..16)?).ok()?);
    let dst = Ipv4Addr::from(<[u8; 4]>::try_from(p.get(16..20)?).ok()?);
    let body = p.get(ihl..total.min(p.len()))?;
    Some((src.into(), dst.into(), body, frag & 0x2000 != 0))
}

/// Where the UDP datagram lies in an IPv6 packet, walking the extension headers.
fn ipv6(p: &[u8]) -> Option<(IpAddr, IpAddr, &[u8], bool)> {
    let payload_len = usize::from(be16(p, 4)?);
    let src = Ipv6Addr::from(<[u8; 16]>::try_from(p.get(8..24)?).ok()?);
    let dst = Ipv6Addr::from(<[u8; 16]>::try_from(p.get(24..40)?).ok()?);
    let end = (40 + payload_len).min(p.len());
    let mut next = *p.get(6)?;
    let mut at = 40;
    let mut fragment = false;
    loop {
        match next {
            UDP => return Some((src.into(), dst.into(), p.get(at..end)?, fragment)),
            // Hop-by-hop, routing, destination options: length in 8-byte units after the first 8.
            0 | 43 | 60 => {
                next = *p.get(at)?;
                at += (usize::from(*p.get(at + 1)?) + 1) * 8;
            }
            44 => {
                let off_flags = be16(p, at + 2)?;
                if off_flags >> 3 != 0 {
                    return None; // a later fragment
                }
                fragment = off_flags & 1 != 0;
                next = *p.get(at)?;
                at += 8;
            }
            // Authentication header: length in 4-byte units, minus 2.
            51 => {
                next = *p.get(at)?;
                at += (usize::from(*p.get(at + 1)?) + 2) * 4;
            }
            _ => return None,
        }
    }
}

/// Decodes one packet that starts at its IP header. `offloaded` says the kernel left the UDP
/// checksum to the device (`TP_STATUS_CSUMNOTREADY`). `None` when it is not UDP, is a later
/// fragment, or is too short to hold a UDP header.
#[must_use]
pub(super) fn decode(packet: &[u8], offloaded: bool) -> Option<Udp> {
    let (src, dst, datagram, fragment) = match packet.first()? >> 4 {
        4 => ipv4(packet)?,
        6 => ipv6(packet)?,
        _ => return None,
    };
    if datagram.len() < UDP_HEADER {
        return None;
    }
    let length = be16(datagram, 4)?;
    let field = be16(datagram, 6)?;
    let covered = usize::from(length);
    let (checksum, checksum_status) =
        if fragment || covered < UDP_HEADER || covered > datagram.len() {
            (field, ChecksumStatus::Unverified)
        } else {
            let computed = udp_checksum(src, dst, &datagram[..covered]);
            if offloaded {
                (computed, ChecksumStatus::Offload)
            } else if field == 0 && src.is_ipv4() {
                (field, ChecksumStatus::Zero)
            } else if field == computed {
                (field, ChecksumStatus::Ok)
            } else {
                (field, ChecksumStatus::Bad)
            }
        };
    Some(Udp {
        src,
        dst,
        sport: be16(datagram, 0)?,
        dport: be16(datagram, 2)?,
        length,
        checksum,
        checksum_status,
        payload: datagram[UDP_HEADER..].to_vec(),
        fragment,
    })
}

/// An IPv4 or IPv6 packet carrying one UDP datagram, with a correct checksum (tests only:
/// the decoder and the filter are checked on packets built here).
#[cfg(test)]
#[must_use]
#[allow(clippy::missing_panics_doc)]
pub(super) fn build(src: IpAddr, dst: IpAddr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let ulen = u16::try_from(UDP_HEADER + payload.len()).unwrap();
    let mut udp = Vec::new();
    udp.extend_from_slice(&sport.to_be_bytes());
    udp.extend_from_slice(&dport.to_be_bytes());
    udp.extend_from_slice(&ulen.to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);
    let sum = udp_checksum(src, dst, &udp);
    udp[6..8].copy_from_slice(&sum.to_be_bytes());
    let mut p = Vec::new();
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            p.extend_from_slice(&[0x45, 0]);
            p.extend_from_slice(&(ulen + 20).to_be_bytes());
            p.extend_from_slice(&[0, 0, 0x40, 0, 64, UDP, 0, 0]);
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            p.extend_from_slice(&[0x60, 0, 0, 0]);
            p.extend_from_slice(&ulen.to_be_bytes());
            p.extend_from_slice(&[UDP, 64]);
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
        }
        _ => panic!("mixed families"),
    }
    p.extend_from_slice(&udp);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn decodes_ipv4_and_verifies_the_checksum() {
        let p = build(v4("127.0.0.1"), v4("127.0.0.2"), 40000, 44444, b"hola");
        let u = decode(&p, false).unwrap();
        assert_eq!((u.sport, u.dport, u.length), (40000, 44444, 12));
        assert_eq!(u.payload, b"hola");
        assert_eq!(u.checksum_status, ChecksumStatus::Ok);
        assert_eq!(u.checksum, u16::from_be_bytes([p[26], p[27]]));
        // Link padding after the IP packet is not payload.
        let mut padded = p.clone();
        padded.extend_from_slice(&[0; 6]);
        assert_eq!(decode(&padded, false).unwrap().payload, b"hola");
        // One flipped payload bit: bad checksum.
        let mut bad = p.clone();
        bad[28] ^= 1;
        assert_eq!(
            decode(&bad, false).unwrap().checksum_status,
            ChecksumStatus::Bad
        );
        // No checksum at all (IPv4 allows it).
        let mut zero = p;
        zero[26..28].copy_from_slice(&[0, 0]);
        assert_eq!(
            decode(&zero, false).unwrap().checksum_status,
            ChecksumStatus::Zero
        );
    }

    #[test]
    fn known_checksum_vector() {
        // RFC 768 by hand: `hi\n` from 127.0.0.1:55555 to 127.0.0.1:9999.
        let p = build(v4("127.0.0.1"), v4("127.0.0.1"), 55555, 9999, b"hi\n");
        let u = decode(&p, false).unwrap();
        let manual = {
            let words: u32 = 0x7f00 + 0x0001 + 0x7f00 + 0x0001 + 17 + 11 // pseudo-header
                + 55555 + 9999 + 11 // ports and length
                + 0x6869 + 0x0a00; // "hi\n" padded
            let folded = (words & 0xffff) + (words >> 16);
            !u16::try_from((folded & 0xffff) + (folded >> 16)).unwrap()
        };
        assert_eq!(u.checksum, manual);
    }

    #[test]
    fn decodes_ipv6_with_extension_headers() {
        let p = build(v4("::1"), v4("fd00::2"), 5, 6, b"");
        let u = decode(&p, false).unwrap();
        assert_eq!((u.length, u.payload.len()), (8, 0));
        assert_eq!(u.checksum_status, ChecksumStatus::Ok);
        // Insert an 8-byte destination-options header between IPv6 and UDP.
        let mut ext = p[..40].to_vec();
        ext[6] = 60;
        ext[4..6].copy_from_slice(&16u16.to_be_bytes());
        ext.extend_from_slice(&[UDP, 0, 1, 4, 0, 0, 0, 0]);
        ext.extend_from_slice(&p[40..]);
        let u = decode(&ext, false).unwrap();
        assert_eq!(
            (u.sport, u.dport, u.checksum_status),
            (5, 6, ChecksumStatus::Ok)
        );
    }

    #[test]
    fn offloaded_checksum_is_recomputed_and_fragments_are_unverified() {
        let mut p = build(v4("10.0.0.1"), v4("10.0.0.2"), 1, 2, b"abc");
        let right = decode(&p, false).unwrap().checksum;
        p[26..28].copy_from_slice(&[0x12, 0x34]); // a pseudo-header sum, as the kernel leaves it
        let u = decode(&p, true).unwrap();
        assert_eq!(
            (u.checksum, u.checksum_status),
            (right, ChecksumStatus::Offload)
        );
        let mut first = p.clone();
        first[6] = 0x20; // more fragments
        assert_eq!(
            decode(&first, false).unwrap().checksum_status,
            ChecksumStatus::Unverified
        );
        let mut later = p;
        later[7] = 0x10; // offset != 0
        assert_eq!(decode(&later, false), None);
    }

    #[test]
    fn other_protocols_and_short_packets_are_skipped() {
        let mut tcp = build(v4("10.0.0.1"), v4("10.0.0.2"), 1, 2, b"x");
        tcp[9] = 6;
        assert_eq!(decode(&tcp, false), None);
        assert_eq!(decode(&[0x45, 0, 0], false), None);
        assert_eq!(decode(&[], false), None);
        let p = build(v4("10.0.0.1"), v4("10.0.0.2"), 1, 2, b"x");
        assert_eq!(decode(&p[..25], false), None);
    }
}
