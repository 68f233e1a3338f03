use super::*;

fn reply_to(p: &Probe) -> Vec<u8> {
    let mut r = p.payload.clone();
    match p.check {
        Check::Dns(_) | Check::NetBios(_) => r[2] |= 0x80,
        Check::Ntp(t) => {
            r[0] = 0x24;
            r[24..32].copy_from_slice(&t);
        }
        Check::Rpc(_) => r[4..8].copy_from_slice(&1u32.to_be_bytes()),
        Check::Snmp(id) => {
            // version 1, community public, GetResponse with the id and no varbinds.
            let mut pdu = vec![0x02, 0x04];
            pdu.extend(id.to_be_bytes());
            pdu.extend([2, 1, 0, 2, 1, 0, 0x30, 0]);
            r = tlv(
                0x30,
                &[vec![2, 1, 1], tlv(0x04, b"public"), tlv(0xa2, &pdu)].concat(),
            );
        }
        Check::Coap(..) => r[0] = 0x64, // ACK, same message id and token
        Check::Ssdp => r = b"HTTP/1.1 200 OK\r\n\r\n".to_vec(),
        _ => {}
    }
    r
}

#[test]
fn every_probe_names_its_service_only_for_its_own_reply() {
    let ours = Payloads::protocols(b"udpeco", 0x1234_5678_9abc_def0);
    let other = Payloads::protocols(b"udpeco", 0x0fed_cba9_8765_4321);
    for port in [53, 123, 161, 137, 1900, 5353, 11211, 5683, 500, 111] {
        let probes = ours.for_port(port);
        assert!(!probes.is_empty());
        for p in probes {
            let good = reply_to(p);
            assert_eq!(ours.service(port, &good), Some(p.service), "port {port}");
            assert_eq!(p.service, port_name(port).unwrap());
            if p.check != Check::Ssdp {
                let stale = reply_to(&other.for_port(port)[0]);
                assert_eq!(
                    ours.service(port, &stale),
                    None,
                    "another scan's reply {port}"
                );
            }
            assert_eq!(ours.service(port, b"udpeco"), None);
        }
    }
    assert_eq!(ours.service(21000, b"udpeco"), Some("echo"));
    assert_eq!(ours.service(21000, b"other"), None);
    assert_eq!(ours.for_port(21000)[0].payload, b"udpeco");
}

#[test]
fn snmp_and_ike_payloads_are_well_formed() {
    let table = Payloads::protocols(b"x", 7);
    let p = &table.for_port(161)[0];
    assert_eq!(p.payload[0], 0x30);
    assert_eq!(usize::from(p.payload[1]), p.payload.len() - 2);
    assert!(p.payload.windows(6).any(|w| w == b"public"));
    let ike = &table.for_port(500)[0].payload;
    let len = u32::from_be_bytes([ike[24], ike[25], ike[26], ike[27]]);
    assert_eq!(len as usize, ike.len());
}

#[test]
fn nmap_payloads_format() {
    let text = "# comment\nudp 7 \"\\x0D\\x0A\"\nudp 53,5353 \"\\x77\\x77\"\n  \"ab\\\"c\"\n\
                source 53\nudp 9-10 \"z\"\n";
    let got = parse_nmap_payloads(text).unwrap();
    assert_eq!(
        got,
        vec![
            (7, b"\r\n".to_vec()),
            (53, b"\x77\x77ab\"c".to_vec()),
            (5353, b"\x77\x77ab\"c".to_vec()),
            (9, b"z".to_vec()),
            (10, b"z".to_vec()),
        ]
    );
    assert!(parse_nmap_payloads("udp x \"a\"").is_err());
    assert!(parse_nmap_payloads("udp 1 \"\\xZZ\"").is_err());
    let mut p = Payloads::generic_only(b"g");
    p.extend(got);
    assert_eq!(p.for_port(53)[0].service, "domain");
    assert_eq!(p.service(53, b"anything"), Some("domain"));
    if let Ok(real) = std::fs::read_to_string("/usr/share/nmap/nmap-payloads") {
        let parsed = parse_nmap_payloads(&real)
            .map_err(|e| e.to_string())
            .unwrap();
        assert!(parsed.iter().any(|(port, _)| *port == 161));
    }
}
