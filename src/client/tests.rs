//! The timed client against real peers on loopback.

use super::*;
use std::net::UdpSocket;

/// A client of `127.0.0.1:port` with a 1024-byte buffer (as `recvfrom(1024)`).
fn local(port: u16, timeout: Option<Duration>, retries: u32) -> Client {
    Client::connect("127.0.0.1", port, timeout, retries, 1024).unwrap()
}

/// `data`'s request ends without a reply (every try timed out).
fn assert_timeout(c: &mut Client, data: &[u8]) {
    let got = c.request(data, &Cancel::new());
    assert!(matches!(got, Err(Error::Timeout)), "{got:?}");
}

/// A peer that answers the next `replies` datagrams after `delay`, from its own socket.
fn echo_once(delay: Duration, replies: usize) -> (SocketAddr, std::thread::JoinHandle<usize>) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let addr = s.local_addr().unwrap();
    let t = std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        let mut seen = 0;
        while let Ok((n, from)) = s.recv_from(&mut buf) {
            seen += 1;
            if seen <= replies {
                std::thread::sleep(delay);
                s.send_to(&buf[..n], from).unwrap();
            }
            if seen == replies {
                break;
            }
        }
        seen
    });
    (addr, t)
}

#[test]
fn request_gets_the_echo() {
    let (addr, t) = echo_once(Duration::ZERO, 1);
    let mut c = local(addr.port(), Some(Duration::from_secs(2)), 0);
    assert_eq!(c.request(b"hola", &Cancel::new()).unwrap(), b"hola");
    assert_eq!(t.join().unwrap(), 1);
}

#[test]
fn no_answer_is_a_timeout_after_each_try() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let mut c = local(port, Some(Duration::from_millis(100)), 2);
    let t = Instant::now();
    assert_timeout(&mut c, b"x");
    let took = t.elapsed();
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_millis(600), "{took:?}");
    // Three tries reached the server.
    let mut buf = [0u8; 16];
    silent.set_nonblocking(true).unwrap();
    let tries = std::iter::from_fn(|| silent.recv(&mut buf).ok()).count();
    assert_eq!(tries, 3);
}

#[test]
fn a_retry_gets_a_late_answer() {
    // The peer answers after 150 ms; each try waits 100 ms; the second try gets it.
    let (addr, t) = echo_once(Duration::from_millis(150), 1);
    let mut c = local(addr.port(), Some(Duration::from_millis(100)), 1);
    assert_eq!(c.request(b"slow", &Cancel::new()).unwrap(), b"slow");
    drop(t);
}

#[test]
fn a_timeout_of_centuries_waits_without_panicking() {
    // `Instant::now() + Duration::MAX` used to panic ("overflow when adding duration").
    let (addr, t) = echo_once(Duration::ZERO, 1);
    let mut c = local(addr.port(), Some(Duration::MAX), 0);
    assert_eq!(c.request(b"far", &Cancel::new()).unwrap(), b"far");
    drop(t);
}

#[test]
fn an_absurd_bufsize_does_not_abort() {
    // `vec![0; usize::MAX]` used to abort the process (Python: `Client(..., bufsize=2**62)`).
    let (addr, t) = echo_once(Duration::ZERO, 1);
    let mut c = Client::connect(
        "127.0.0.1",
        addr.port(),
        Some(Duration::from_secs(2)),
        0,
        usize::MAX,
    )
    .unwrap();
    assert_eq!(c.request(b"big", &Cancel::new()).unwrap(), b"big");
    drop(t);
}

#[test]
fn datagrams_from_others_are_ignored() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let mut c = local(port, Some(Duration::from_millis(150)), 0);
    let me = c.local_addr().unwrap();
    let intruder = UdpSocket::bind("127.0.0.1:0").unwrap();
    let spam = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        intruder.send_to(b"not the server", me).unwrap();
    });
    assert_timeout(&mut c, b"x");
    spam.join().unwrap();
}

#[test]
fn closed_port_is_connection_refused_not_a_timeout() {
    let free = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let mut c = local(port, Some(Duration::from_secs(2)), 0);
    let t = Instant::now();
    let err = c.request(b"x", &Cancel::new()).unwrap_err();
    assert_eq!(err.errno(), Some(libc::ECONNREFUSED));
    assert!(t.elapsed() < Duration::from_millis(500));
}

#[test]
fn truncates_to_bufsize_and_fails_after_close() {
    let (addr, t) = echo_once(Duration::ZERO, 1);
    let mut c =
        Client::connect("localhost", addr.port(), Some(Duration::from_secs(2)), 0, 4).unwrap();
    assert_eq!(c.peer(), addr);
    assert_eq!(c.request(b"abcdefgh", &Cancel::new()).unwrap(), b"abcd");
    t.join().unwrap();
    c.close();
    c.close();
    assert_eq!(
        c.request(b"x", &Cancel::new()).unwrap_err().errno(),
        Some(libc::EBADF)
    );
}

#[test]
fn stale_replies_are_not_taken_for_the_next_one() {
    // First reply comes after the first request gave up; the second request must get its own.
    let (addr, t) = echo_once(Duration::from_millis(120), 2);
    let mut c = local(addr.port(), Some(Duration::from_millis(50)), 0);
    assert_timeout(&mut c, b"first");
    std::thread::sleep(Duration::from_millis(150));
    c.timeout = Some(Duration::from_secs(2));
    assert_eq!(c.request(b"second", &Cancel::new()).unwrap(), b"second");
    t.join().unwrap();
}

/// A peer that answers each datagram `delays[i]` after the i-th arrives (a jittery,
/// reordering path), until it has answered `delays.len()` datagrams.
fn jittery_echo(delays: Vec<u64>) -> SocketAddr {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let addr = s.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        let mut timers = Vec::new();
        for d in delays {
            let Ok((n, from)) = s.recv_from(&mut buf) else {
                break;
            };
            let (out, data) = (s.try_clone().unwrap(), buf[..n].to_vec());
            timers.push(std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(d));
                let _ = out.send_to(&data, from);
            }));
        }
        for t in timers {
            t.join().unwrap();
        }
    });
    addr
}

#[test]
fn late_and_reordered_replies_are_never_returned() {
    // Each try waits 40 ms; replies come after 0-110 ms, so tries and requests overlap.
    let delays: Vec<u64> = (0..300).map(|i| (i * 37) % 110).collect();
    let addr = jittery_echo(delays);
    let mut c = local(addr.port(), Some(Duration::from_millis(40)), 5);
    let cancel = Cancel::new();
    let mut answered = 0;
    for i in 0..60 {
        let msg = format!("request {i}");
        match c.request(msg.as_bytes(), &cancel) {
            Ok(reply) => {
                assert_eq!(reply, msg.as_bytes());
                answered += 1;
            }
            Err(Error::Timeout) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert!(answered >= 50, "{answered}");
    assert!(c.stale() > 0, "the test must see late replies");
}

#[test]
fn an_identical_payload_with_an_echo_in_flight_gets_a_new_source_port() {
    // The first request times out; its echo comes late. The second, identical request
    // is sent from a new port, so it gets its own echo, not the first one's.
    let (addr, t) = echo_once(Duration::from_millis(150), 2);
    let mut c = local(addr.port(), Some(Duration::from_millis(50)), 0);
    let first_port = c.local_addr().unwrap().port();
    assert_timeout(&mut c, b"same");
    c.timeout = Some(Duration::from_secs(2));
    let sent = Instant::now();
    assert_eq!(c.request(b"same", &Cancel::new()).unwrap(), b"same");
    // Its own echo: the peer's 150 ms delay counts from this send.
    assert!(sent.elapsed() >= Duration::from_millis(140));
    assert_ne!(c.local_addr().unwrap().port(), first_port);
    t.join().unwrap();
    // No echo left in flight: the next identical request keeps the socket.
    let (addr, t) = echo_once(Duration::ZERO, 2);
    let mut c = local(addr.port(), None, 0);
    let port = c.local_addr().unwrap().port();
    for _ in 0..2 {
        assert_eq!(c.request(b"same", &Cancel::new()).unwrap(), b"same");
    }
    assert_eq!(c.local_addr().unwrap().port(), port);
    t.join().unwrap();
}

#[test]
fn without_echo_matching_any_reply_counts_but_never_a_late_one() {
    let (addr, t) = echo_once(Duration::from_millis(150), 2);
    let mut c = local(addr.port(), Some(Duration::from_millis(50)), 0);
    c.set_echo(false);
    assert!(!c.echo());
    assert_timeout(&mut c, b"one");
    c.timeout = Some(Duration::from_secs(2));
    assert_eq!(c.request(b"two", &Cancel::new()).unwrap(), b"two");
    t.join().unwrap();
}

#[test]
fn a_truncated_echo_still_matches() {
    let (addr, t) = echo_once(Duration::ZERO, 1);
    let mut c =
        Client::connect("127.0.0.1", addr.port(), Some(Duration::from_secs(2)), 0, 4).unwrap();
    assert_eq!(c.request(b"abcdefgh", &Cancel::new()).unwrap(), b"abcd");
    assert_eq!(c.stale(), 0);
    t.join().unwrap();
}

/// A peer that answers each datagram with its first `keep` bytes (a server whose buffer is
/// smaller than the request, as `recvfrom(1024)` with a longer line).
fn truncating_echo(keep: usize, replies: usize) -> SocketAddr {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let addr = s.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        for _ in 0..replies {
            let Ok((n, from)) = s.recv_from(&mut buf) else {
                break;
            };
            let _ = s.send_to(&buf[..n.min(keep)], from);
        }
    });
    addr
}

#[test]
fn an_echo_the_server_truncated_is_the_reply() {
    let addr = truncating_echo(4, 2);
    let mut c = local(addr.port(), Some(Duration::from_secs(2)), 0);
    assert_eq!(c.request(b"abcdefgh", &Cancel::new()).unwrap(), b"abcd");
    assert_eq!(c.request(b"xyz", &Cancel::new()).unwrap(), b"xyz");
    assert_eq!(c.stale(), 0);
}

#[test]
fn a_late_echo_of_a_shorter_request_is_not_taken_for_a_truncated_echo() {
    // "line 1" times out and its echo comes late; "line 10" starts with "line 1", so it is
    // sent from a new source port and gets its own echo.
    let (addr, t) = echo_once(Duration::from_millis(150), 2);
    let mut c = local(addr.port(), Some(Duration::from_millis(50)), 0);
    assert_timeout(&mut c, b"line 1");
    c.timeout = Some(Duration::from_secs(2));
    assert_eq!(c.request(b"line 10", &Cancel::new()).unwrap(), b"line 10");
    t.join().unwrap();
}

#[test]
fn cancel_ends_an_endless_wait() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let mut c = local(port, None, 0);
    let cancel = Cancel::new();
    let other = cancel.clone();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(80));
        other.stop();
    });
    let t = Instant::now();
    assert!(matches!(c.request(b"x", &cancel), Err(Error::Interrupted)));
    assert!(t.elapsed() < Duration::from_millis(200));
    stopper.join().unwrap();
}

#[test]
fn zero_bufsize_and_bad_names_are_rejected() {
    assert!(matches!(
        Client::connect("127.0.0.1", 9, None, 0, 0),
        Err(Error::Value(_))
    ));
    assert!(matches!(
        Client::connect("127.0.0.1", 9, None, super::MAX_RETRIES + 1, 64),
        Err(Error::Value(_))
    ));
    assert!(matches!(
        Client::connect("no-such-host.invalid", 9, None, 0, 64),
        Err(Error::Gai { .. })
    ));
}
