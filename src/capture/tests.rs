//! Captures of real traffic on loopback (these need `CAP_NET_RAW`; they are skipped, saying
//! so, without it).

use super::*;
use std::net::UdpSocket;

/// A capture on `lo` for `port`, or `None` (and a note) without the privilege.
fn open_lo(port: u16) -> Option<Capture> {
    let opts = Options {
        iface: Some("lo".into()),
        port: Some(port),
    };
    match Capture::open(&opts) {
        Ok(c) => Some(c),
        Err(e) if e.errno() == Some(libc::EPERM) => {
            eprintln!("skipped: capturing needs CAP_NET_RAW");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn sees_each_loopback_datagram_once_with_its_header() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = rx.local_addr().unwrap().port();
    let Some(mut cap) = open_lo(port) else { return };
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let noise = UdpSocket::bind("127.0.0.1:0").unwrap();
    for payload in [&b""[..], b"x", &[0xff; 1472]] {
        noise
            .send_to(b"other port", tx.local_addr().unwrap())
            .unwrap();
        tx.send_to(payload, rx.local_addr().unwrap()).unwrap();
        let d = cap
            .next(Some(Duration::from_secs(5)), &Cancel::new())
            .unwrap()
            .unwrap();
        assert_eq!(
            (d.udp.sport, d.udp.dport),
            (tx.local_addr().unwrap().port(), port)
        );
        assert_eq!(usize::from(d.udp.length), 8 + payload.len());
        assert_eq!(d.udp.payload, payload);
        assert_eq!(d.iface, "lo");
        assert!(!d.outgoing);
        assert!(matches!(
            d.udp.checksum_status,
            ChecksumStatus::Ok | ChecksumStatus::Offload
        ));
    }
    // Nothing else: the outgoing copies and the other port were filtered out.
    let more = cap
        .next(Some(Duration::from_millis(100)), &Cancel::new())
        .unwrap();
    assert_eq!(more, None);
}

#[test]
fn a_stopped_token_ends_the_wait() {
    let Some(mut cap) = open_lo(9) else { return };
    let cancel = Cancel::new();
    let other = cancel.clone();
    let t = Instant::now();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        other.stop();
    });
    let r = cap.next(None, &cancel);
    stopper.join().unwrap();
    assert!(matches!(r, Err(crate::Error::Interrupted)));
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[test]
fn unknown_interface_is_a_value_error() {
    let opts = Options {
        iface: Some("nope-capture0".into()),
        port: None,
    };
    match Capture::open(&opts) {
        Err(crate::Error::Value(m)) => assert!(m.contains("nope-capture0"), "{m}"),
        Err(e) if e.errno() == Some(libc::EPERM) => {}
        other => panic!("{other:?}"),
    }
}
