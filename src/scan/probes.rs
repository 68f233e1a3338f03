//! Protocol probes: what to send to each well-known port, and how to tell that a reply answers
//! it (and so names the service).
//!
//! A real DNS, NTP or SNMP server ignores an arbitrary datagram, so a port in the table gets a
//! well-formed, read-only request of its protocol instead (one payload per probe, the next one
//! on each re-probe). Each request carries a per-scan cookie (DNS and `NetBIOS` transaction id,
//! NTP transmit timestamp, SNMP request-id, RPC xid, memcached request id, CoAP message id and
//! token, IKE initiator SPI) that a genuine reply echoes, so a reply names its service only
//! when it belongs to the probe. Any datagram from the port still makes it `open`, as nmap says.
//! Ports outside the table get the generic probe (`udpeco`, or `--probe`); a reply equal to it
//! names the port `echo`. nmap's own `nmap-payloads` file can add payloads for more ports
//! ([`parse_nmap_payloads`]).

use std::collections::HashMap;

use crate::error::{Error, Result};

/// How a reply is shown to answer a probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Check {
    /// DNS or mDNS: same transaction id, QR bit set.
    Dns(u16),
    /// `NetBIOS` name service: same transaction id, response bit set.
    NetBios(u16),
    /// NTP: a server reply (mode 4) whose origin timestamp is the probe's transmit timestamp.
    Ntp([u8; 8]),
    /// SNMP: a `GetResponse` PDU with the same request-id.
    Snmp(u32),
    /// ONC RPC: same xid, message type REPLY.
    Rpc(u32),
    /// memcached UDP frame: same request id.
    Memcached(u16),
    /// CoAP: version 1 with the same message id or token.
    Coap(u16, [u8; 4]),
    /// ISAKMP/IKE: the initiator SPI comes back.
    Ike([u8; 8]),
    /// SSDP: an HTTP status line (the protocol has no cookie).
    Ssdp,
    /// The generic probe: a reply equal to it is an echo service.
    Echo,
    /// A payload from nmap's file: no check, the port's usual name.
    Table,
}

/// One payload, the service a matching reply names, and the check.
#[derive(Clone, Debug)]
pub(crate) struct Probe {
    /// The service name (nmap-services' word).
    pub service: &'static str,
    /// The datagram to send.
    pub payload: Vec<u8>,
    /// How a reply is matched to it.
    pub check: Check,
}

impl Probe {
    /// The service name if `reply` answers this probe.
    #[must_use]
    pub(crate) fn names(&self, reply: &[u8]) -> Option<&'static str> {
        matches(&self.check, &self.payload, reply).then_some(self.service)
    }
}

/// The probes of a scan: per-port tables, and the generic probe for every other port.
#[derive(Clone, Debug)]
pub(crate) struct Payloads {
    by_port: HashMap<u16, Vec<Probe>>,
    generic: [Probe; 1],
}

impl Payloads {
    /// Only `generic` for every port (`--probe`).
    #[must_use]
    pub(crate) fn generic_only(generic: &[u8]) -> Self {
        Payloads {
            by_port: HashMap::new(),
            generic: [Probe {
                service: "echo",
                payload: generic.to_vec(),
                check: Check::Echo,
            }],
        }
    }

    /// The protocol table with per-scan cookies from `seed`, and `generic` elsewhere.
    #[must_use]
    pub(crate) fn protocols(generic: &[u8], seed: u64) -> Self {
        let mut p = Self::generic_only(generic);
        p.by_port = table(seed);
        p
    }

    /// Adds payloads (from nmap's file) after the port's own.
    pub(crate) fn extend(&mut self, extra: Vec<(u16, Vec<u8>)>) {
        for (port, payload) in extra {
            self.by_port.entry(port).or_default().push(Probe {
                service: port_name(port).unwrap_or("unknown"),
                payload,
                check: Check::Table,
            });
        }
    }

    /// The probes of `port` (never empty).
    #[must_use]
    pub(crate) fn for_port(&self, port: u16) -> &[Probe] {
        match self.by_port.get(&port) {
            Some(v) if !v.is_empty() => v,
            _ => &self.generic,
        }
    }

    /// The longest payload.
    #[must_use]
    pub(crate) fn max_len(&self) -> usize {
        self.by_port
            .values()
            .flatten()
            .chain(&self.generic)
            .map(|p| p.payload.len())
            .max()
            .unwrap_or(1)
    }

    /// The service `reply` from `port` names, if it answers one of the port's probes.
    #[must_use]
    pub(crate) fn service(&self, port: u16, reply: &[u8]) -> Option<&'static str> {
        self.for_port(port).iter().find_map(|p| p.names(reply))
    }
}

/// nmap-services' names for the ports of the table.
#[must_use]
pub(crate) fn port_name(port: u16) -> Option<&'static str> {
    Some(match port {
        7 => "echo",
        53 => "domain",
        67 => "dhcps",
        69 => "tftp",
        111 => "rpcbind",
        123 => "ntp",
        137 => "netbios-ns",
        161 => "snmp",
        500 => "isakmp",
        1900 => "upnp",
        5353 => "zeroconf",
        5683 => "coap",
        11211 => "memcache",
        _ => return None,
    })
}

fn be16(x: u16) -> [u8; 2] {
    x.to_be_bytes()
}

/// A DNS query (recursion desired) for `name` with `qtype` and `qclass`.
fn dns_query(id: u16, name: &[&str], qtype: u16, qclass: u16) -> Vec<u8> {
    let mut q = Vec::with_capacity(64);
    q.extend(be16(id));
    q.extend([0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name {
        q.push(u8::try_from(label.len()).unwrap_or(0));
        q.extend(label.as_bytes());
    }
    q.push(0);
    q.extend(be16(qtype));
    q.extend(be16(qclass));
    q
}

/// BER TLV with a short or one/two-byte long length.
fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    match body.len() {
        n @ 0..=127 => v.push(u8::try_from(n).unwrap_or(0)),
        n @ 128..=255 => v.extend([0x81, u8::try_from(n).unwrap_or(0)]),
        n => v.extend([
            u8::try_from(n >> 8).unwrap_or(0xff),
            u8::try_from(n & 0xff).unwrap_or(0),
        ]),
    }
    v.extend(body);
    v
}

/// An SNMP `GetRequest` for `sysDescr.0` and `sysObjectID.0` with community `public`.
fn snmp_get(version: u8, request_id: u32) -> Vec<u8> {
    let oid = |last: u8| tlv(0x06, &[0x2b, 6, 1, 2, 1, 1, last, 0]);
    let varbind = |last: u8| tlv(0x30, &[oid(last), vec![0x05, 0x00]].concat());
    let list = tlv(0x30, &[varbind(1), varbind(2)].concat());
    let mut id = vec![0x02, 0x04];
    id.extend(request_id.to_be_bytes());
    let pdu = tlv(0xa0, &[id, vec![2, 1, 0, 2, 1, 0], list].concat());
    tlv(
        0x30,
        &[vec![0x02, 0x01, version], tlv(0x04, b"public"), pdu].concat(),
    )
}

/// The built-in table, cookies drawn from `seed`.
fn table(seed: u64) -> HashMap<u16, Vec<Probe>> {
    let b = seed.to_be_bytes();
    let id16 = u16::try_from(seed >> 48).unwrap_or(0) | 1;
    let id32 = u32::try_from(seed >> 16 & 0xffff_ffff).unwrap_or(0) | 1;
    let dns = Probe {
        service: "domain",
        payload: dns_query(id16, &["version", "bind"], 16, 3),
        check: Check::Dns(id16),
    };
    let mut dns_status = dns_query(id16 ^ 0x5a5a, &[], 0, 0)[..12].to_vec();
    dns_status[2] = 0x10; // opcode STATUS, no question (nmap's DNSStatusRequest)
    dns_status[5] = 0;
    let mut ntp = vec![0u8; 48];
    ntp[0] = 0x23; // LI 0, version 4, mode 3 (client)
    ntp[40..48].copy_from_slice(&b);
    let mut nbstat = be16(id16).to_vec();
    nbstat.extend([0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x20, b'C', b'K']);
    nbstat.extend([b'A'; 30]);
    nbstat.extend([0, 0, 0x21, 0, 1]);
    let mut rpc = Vec::with_capacity(40);
    for w in [id32, 0, 2, 100_000, 2, 0, 0, 0, 0, 0] {
        rpc.extend(w.to_be_bytes());
    }
    let mc = |id: u16, cmd: &[u8]| [&be16(id)[..], &[0, 0, 0, 1, 0, 0], cmd].concat();
    let token = [b[4], b[5], b[6], b[7]];
    let mut coap = vec![0x44, 0x01];
    coap.extend(be16(id16));
    coap.extend(token);
    coap.push(0xbb);
    coap.extend(b".well-known");
    coap.push(0x04);
    coap.extend(b"core");
    let mut table = HashMap::new();
    let probe = |service, payload, check| Probe {
        service,
        payload,
        check,
    };
    table.insert(
        53,
        vec![
            dns.clone(),
            probe("domain", dns_status, Check::Dns(id16 ^ 0x5a5a)),
        ],
    );
    table.insert(
        5353,
        vec![probe(
            "zeroconf",
            dns_query(id16, &["_services", "_dns-sd", "_udp", "local"], 12, 0x8001),
            Check::Dns(id16),
        )],
    );
    table.insert(123, vec![probe("ntp", ntp, Check::Ntp(b))]);
    table.insert(
        161,
        vec![
            probe("snmp", snmp_get(1, id32), Check::Snmp(id32)),
            probe("snmp", snmp_get(0, id32 ^ 1), Check::Snmp(id32 ^ 1)),
        ],
    );
    table.insert(137, vec![probe("netbios-ns", nbstat, Check::NetBios(id16))]);
    table.insert(
        1900,
        vec![probe(
            "upnp",
            b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n\
              MX: 1\r\nST: ssdp:all\r\n\r\n"
                .to_vec(),
            Check::Ssdp,
        )],
    );
    table.insert(
        11211,
        vec![
            probe("memcache", mc(id16, b"version\r\n"), Check::Memcached(id16)),
            probe(
                "memcache",
                mc(id16 ^ 1, b"stats\r\n"),
                Check::Memcached(id16 ^ 1),
            ),
        ],
    );
    table.insert(5683, vec![probe("coap", coap, Check::Coap(id16, token))]);
    table.insert(500, vec![probe("isakmp", ike_main_mode(b), Check::Ike(b))]);
    table.insert(111, vec![probe("rpcbind", rpc, Check::Rpc(id32))]);
    table
}

/// An `IKEv1` main-mode SA proposal (3DES, SHA1, pre-shared key, group 2): the first message
/// of a negotiation, which a responder answers or refuses without keeping state for long.
fn ike_main_mode(spi: [u8; 8]) -> Vec<u8> {
    let attrs: [u16; 12] = [
        0x8001, 5, 0x8002, 2, 0x8003, 1, 0x8004, 2, 0x800b, 1, 0x800c, 28800,
    ];
    let mut transform = vec![0, 0, 0, 0, 1, 1, 0, 0];
    for a in attrs {
        transform.extend(a.to_be_bytes());
    }
    let tlen = u16::try_from(transform.len()).unwrap_or(0);
    transform[2..4].copy_from_slice(&tlen.to_be_bytes());
    let mut proposal = vec![0, 0, 0, 0, 1, 1, 0, 1];
    proposal.extend(&transform);
    let plen = u16::try_from(proposal.len()).unwrap_or(0);
    proposal[2..4].copy_from_slice(&plen.to_be_bytes());
    let mut sa = vec![0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1];
    sa.extend(&proposal);
    let slen = u16::try_from(sa.len()).unwrap_or(0);
    sa[2..4].copy_from_slice(&slen.to_be_bytes());
    let mut msg = spi.to_vec();
    msg.extend([0u8; 8]);
    msg.extend([1, 0x10, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    msg.extend(&sa);
    let len = u32::try_from(msg.len()).unwrap_or(0);
    msg[24..28].copy_from_slice(&len.to_be_bytes());
    msg
}

/// Reads a BER length at `r[*i..]`, advancing `i`.
fn ber_len(r: &[u8], i: &mut usize) -> Option<usize> {
    let first = *r.get(*i)?;
    *i += 1;
    if first < 0x80 {
        return Some(usize::from(first));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 3 {
        return None;
    }
    let mut len = 0;
    for _ in 0..n {
        len = len << 8 | usize::from(*r.get(*i)?);
        *i += 1;
    }
    Some(len)
}

/// The request-id of an SNMP `GetResponse` (v1/v2c), if `r` is one.
fn snmp_response_id(r: &[u8]) -> Option<u32> {
    let mut i = 0;
    let expect = |i: &mut usize, tag: u8| -> Option<usize> {
        if *r.get(*i)? != tag {
            return None;
        }
        *i += 1;
        ber_len(r, i)
    };
    expect(&mut i, 0x30)?;
    i += expect(&mut i, 0x02)?; // version
    i += expect(&mut i, 0x04)?; // community
    expect(&mut i, 0xa2)?;
    let n = expect(&mut i, 0x02)?;
    let bytes = r.get(i..i + n)?;
    if bytes.is_empty() || bytes.len() > 5 {
        return None;
    }
    u32::try_from(bytes.iter().fold(0u64, |a, &x| a << 8 | u64::from(x))).ok()
}

fn matches(check: &Check, payload: &[u8], r: &[u8]) -> bool {
    let u16_at = |i: usize| r.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let u32_at = |i: usize| {
        r.get(i..i + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    match check {
        Check::Dns(id) | Check::NetBios(id) => {
            r.len() >= 12 && u16_at(0) == Some(*id) && r[2] & 0x80 != 0
        }
        Check::Ntp(t) => r.len() >= 48 && r[0] & 7 == 4 && r[24..32] == t[..],
        Check::Snmp(id) => snmp_response_id(r) == Some(*id),
        Check::Rpc(xid) => u32_at(0) == Some(*xid) && u32_at(4) == Some(1),
        Check::Memcached(id) => r.len() >= 8 && u16_at(0) == Some(*id),
        Check::Coap(mid, token) => {
            r.len() >= 4
                && r[0] >> 6 == 1
                && (u16_at(2) == Some(*mid)
                    || (usize::from(r[0] & 0xf) == 4 && r.get(4..8) == Some(&token[..])))
        }
        Check::Ike(spi) => r.len() >= 28 && r[..8] == spi[..],
        Check::Ssdp => r.starts_with(b"HTTP/1.") || r.starts_with(b"NOTIFY * HTTP/1."),
        Check::Echo => r == payload,
        Check::Table => true,
    }
}

/// Decodes one quoted C string of nmap-payloads (`\xNN`, `\0`, `\n`, `\r`, `\t`, `\\`, `\"`).
fn unquote(s: &str, out: &mut Vec<u8>) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return Some(i + 1),
            b'\\' => {
                let c = *bytes.get(i + 1)?;
                i += 2;
                match c {
                    b'x' => {
                        let hex = s.get(i..i + 2)?;
                        out.push(u8::from_str_radix(hex, 16).ok()?);
                        i += 2;
                    }
                    b'0' => out.push(0),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    other => out.push(other),
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    None
}

/// Parses nmap's `nmap-payloads` format: `udp PORTS "payload" "more"...` (PORTS a list of
/// ports and ranges), strings continued on
/// the following lines, `#` comments, unknown keywords (`source`) ignored. Returns (port,
/// payload) pairs in file order.
///
/// # Errors
/// [`Error::Value`] naming the line of a malformed entry.
pub(crate) fn parse_nmap_payloads(text: &str) -> Result<Vec<(u16, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut ports: Vec<u16> = Vec::new();
    let mut current: Option<Vec<u8>> = None;
    let flush = |ports: &[u16], cur: &mut Option<Vec<u8>>, out: &mut Vec<(u16, Vec<u8>)>| {
        if let Some(p) = cur.take() {
            out.extend(ports.iter().map(|&port| (port, p.clone())));
        }
    };
    for (n, line) in text.lines().enumerate() {
        let bad = || Error::Value(format!("nmap-payloads line {}: cannot parse", n + 1));
        let mut rest = line.trim();
        if rest.is_empty() || rest.starts_with('#') {
            continue;
        }
        if let Some(spec) = rest.strip_prefix("udp ") {
            flush(&ports, &mut current, &mut out);
            let spec = spec.trim_start();
            let end = spec.find(char::is_whitespace).unwrap_or(spec.len());
            ports.clear();
            for item in spec[..end].split(',') {
                let (lo, hi) = item.split_once('-').unwrap_or((item, item));
                let (lo, hi) = (lo.parse::<u16>(), hi.parse::<u16>());
                match (lo, hi) {
                    (Ok(lo), Ok(hi)) if lo <= hi => ports.extend(lo..=hi),
                    _ => return Err(bad()),
                }
            }
            rest = spec[end..].trim_start();
        } else if !rest.starts_with('"') {
            flush(&ports, &mut current, &mut out); // a keyword such as `source`: ends the entry
            continue;
        }
        while rest.starts_with('"') {
            let buf = current.get_or_insert_with(Vec::new);
            let used = unquote(rest, buf).ok_or_else(bad)?;
            rest = rest[used..].trim_start();
        }
    }
    flush(&ports, &mut current, &mut out);
    Ok(out)
}

#[cfg(test)]
#[path = "probes_tests.rs"]
mod tests;
