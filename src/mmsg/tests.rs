//! Tests of [`Batch`] on real loopback sockets, on both paths.

use super::*;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::time::Duration;

#[test]
fn echoes_a_batch_and_truncates_to_slot_len() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let to = server.local_addr().unwrap();
    client.send_to(b"one", to).unwrap();
    client.send_to(b"", to).unwrap();
    client.send_to(&[7u8; 100], to).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let mut batch = Batch::new(8, 16);
    let n = batch.recv(server.as_raw_fd(), 8, Recv::NoWait).unwrap();
    assert_eq!(n, 3);
    assert_eq!(batch.data(0), b"one");
    assert_eq!(batch.data(1), b"");
    assert_eq!(batch.data(2), &[7u8; 16]);
    assert_eq!(batch.addr(0), Some(client.local_addr().unwrap()));
    assert_eq!(batch.key(0), batch.key(2));
    assert_eq!(batch.send_skipping(server.as_raw_fd(), 0, n, false), 3);
    let mut buf = [0u8; 64];
    assert_eq!(client.recv(&mut buf).unwrap(), 3);
    assert_eq!(client.recv(&mut buf).unwrap(), 0);
    assert_eq!(client.recv(&mut buf).unwrap(), 16);
    let err = batch.recv(server.as_raw_fd(), 8, Recv::NoWait).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
}

#[test]
fn ipv6_senders_convert() {
    let Ok(server) = UdpSocket::bind("[::1]:0") else {
        return; // no IPv6 on this host
    };
    let client = UdpSocket::bind("[::1]:0").unwrap();
    client.send_to(b"v6", server.local_addr().unwrap()).unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut batch = Batch::new(4, 64);
    let n = batch.recv(server.as_raw_fd(), 4, Recv::Wait).unwrap();
    assert_eq!(n, 1);
    assert_eq!(batch.addr(0), Some(client.local_addr().unwrap()));
}

fn connected_round_trip(portable: bool) {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    a.connect(b.local_addr().unwrap()).unwrap();
    b.connect(a.local_addr().unwrap()).unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    let mut tx = Batch::connected(8, 16, b'x', portable);
    let mut rx = Batch::connected(8, 32, 0, portable);
    let none = would_block_as_zero(rx.recv(b.as_raw_fd(), 8, Recv::NoWait));
    assert_eq!(none.unwrap(), 0, "nothing queued is 0, not an error");
    for i in 0..5 {
        tx.slot_mut(i)[0] = u8::try_from(i).unwrap();
    }
    assert_eq!(tx.send(a.as_raw_fd(), 0, 5, false).unwrap(), 5);
    // Loopback delivers synchronously: all five are queued once `send` returns.
    assert_eq!(rx.recv(b.as_raw_fd(), 8, Recv::NoWait).unwrap(), 5);
    for i in 0..5 {
        let d = rx.data(i);
        assert_eq!(d.len(), 16);
        assert_eq!(d[0], u8::try_from(i).unwrap());
        assert!(d[1..].iter().all(|&c| c == b'x'));
        assert_eq!(rx.addr(i), None, "a connected batch has no names");
    }
}

#[test]
fn batched_connected_round_trip() {
    connected_round_trip(false);
}

#[test]
fn portable_connected_round_trip() {
    connected_round_trip(true);
}

#[test]
fn one_datagram_to_many_ports() {
    let rx1 = UdpSocket::bind("127.0.0.1:0").unwrap();
    let rx2 = UdpSocket::bind("127.0.0.1:0").unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut batch = Batch::new(4, 8);
    for i in 0..2 {
        batch.set_data(i, b"probe");
    }
    batch.set_addr_all(&rx1.local_addr().unwrap());
    batch.set_port(1, rx2.local_addr().unwrap().port());
    assert_eq!(batch.send(tx.as_raw_fd(), 0, 2, true).unwrap(), 2);
    for rx in [&rx1, &rx2] {
        rx.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = rx.recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from), (&b"probe"[..], tx.local_addr().unwrap()));
    }
}
