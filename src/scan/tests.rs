//! Scans of real sockets on loopback.

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::{scan, Options, State};
use crate::cancel::Cancel;

/// An echo server on `addr` (port 0: any) answering until dropped.
struct Echo {
    port: u16,
    stop: Arc<AtomicBool>,
    handle: Option<thread::JoinHandle<()>>,
}

impl Echo {
    fn start(addr: &str) -> Echo {
        Echo::on(UdpSocket::bind(addr).unwrap())
    }

    fn on(sock: UdpSocket) -> Echo {
        sock.set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let port = sock.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !flag.load(Ordering::Relaxed) {
                if let Ok((n, from)) = sock.recv_from(&mut buf) {
                    let _ = sock.send_to(&buf[..n], from);
                }
            }
        });
        Echo {
            port,
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            h.join().unwrap();
        }
    }
}

/// A socket on a random port of 21000-29000: below the ephemeral range, so that scanning
/// around it never sprays the client sockets of other tests.
fn bind_quiet_port() -> UdpSocket {
    use rand::RngExt;
    let mut rng = rand::rng();
    loop {
        let port: u16 = rng.random_range(21_100..28_900);
        if let Ok(sock) = UdpSocket::bind(("127.0.0.1", port)) {
            return sock;
        }
    }
}

/// A port that was free a moment ago.
fn free_port(addr: &str) -> u16 {
    UdpSocket::bind(addr).unwrap().local_addr().unwrap().port()
}

fn quick() -> Options {
    Options {
        timeout: Duration::from_millis(150),
        ..Options::default()
    }
}

#[test]
fn open_closed_and_silent_ports_on_ipv4() {
    let echo = Echo::start("127.0.0.1:0");
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let closed = free_port("127.0.0.1:0");
    let opts = Options {
        probe: b"hello".to_vec(),
        ..quick()
    };
    let t = Instant::now();
    let r = scan(
        "127.0.0.1",
        &[echo.port, closed, silent_port],
        &opts,
        &Cancel::new(),
        None,
    )
    .unwrap();
    let elapsed = t.elapsed();
    assert_eq!(r[0].state, State::Open);
    assert_eq!(r[0].reply.as_deref(), Some(&b"hello"[..]));
    assert!(r[0].rtt.unwrap() < Duration::from_millis(100));
    assert_eq!(r[1].state, State::Closed);
    assert!(r[1].reply.is_none() && r[1].rtt.is_none());
    assert_eq!(r[2].state, State::OpenFiltered);
    assert!(
        elapsed >= Duration::from_millis(150),
        "the last probe waits the full timeout ({elapsed:?})"
    );
    // The silent socket really received every probe: with only two answering probes to bound
    // the loss from, the scanner asks for the most silences before it trusts one (the cap, 10).
    silent.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 64];
    let mut got = 0;
    while silent.recv_from(&mut buf).is_ok() {
        got += 1;
    }
    assert_eq!(got, 10);
}

#[test]
fn ipv6_on_loopback() {
    let echo = Echo::start("[::1]:0");
    let closed = free_port("[::1]:0");
    let r = scan("::1", &[closed, echo.port], &quick(), &Cancel::new(), None).unwrap();
    assert_eq!(r[0].state, State::Closed);
    assert_eq!(r[1].state, State::Open);
    assert_eq!(r[1].reply.as_deref(), Some(&b"udpeco"[..]));
}

#[test]
fn a_wide_range_is_fast_and_finds_the_server() {
    let echo = Echo::on(bind_quiet_port());
    let first = echo.port.saturating_sub(50).max(1);
    let last = echo.port.saturating_add(50);
    let ports: Vec<u16> = (first..=last).collect();
    let t = Instant::now();
    let r = scan("127.0.0.1", &ports, &quick(), &Cancel::new(), None).unwrap();
    let elapsed = t.elapsed();
    let open: Vec<u16> = r
        .iter()
        .filter(|p| p.state == State::Open)
        .map(|p| p.port)
        .collect();
    assert!(open.contains(&echo.port));
    eprintln!("101 ports in {elapsed:?}");
}

#[test]
fn stop_ends_a_long_scan_promptly() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let cancel = Cancel::new();
    let other = cancel.clone();
    let stopper = thread::spawn(move || {
        thread::sleep(Duration::from_millis(100));
        other.stop();
    });
    let opts = Options {
        timeout: Duration::from_secs(30),
        ..Options::default()
    };
    let t = Instant::now();
    let r = scan("127.0.0.1", &[port], &opts, &cancel, None);
    stopper.join().unwrap();
    assert!(matches!(r, Err(crate::Error::Interrupted)));
    assert!(t.elapsed() < Duration::from_millis(300));
}

#[test]
fn bad_options_and_names() {
    for bad in [
        Options {
            retries: 0,
            ..Options::default()
        },
        Options {
            retries: super::MAX_RETRIES + 1,
            ..Options::default()
        },
        Options {
            rate: Some(super::MAX_RATE * 2.0),
            ..Options::default()
        },
    ] {
        assert!(matches!(
            scan("127.0.0.1", &[1], &bad, &Cancel::new(), None),
            Err(crate::Error::Value(_))
        ));
    }
    let r = scan(
        "no-such-host.invalid",
        &[1],
        &Options::default(),
        &Cancel::new(),
        None,
    );
    assert!(matches!(r, Err(crate::Error::Gai { .. })));
}

#[test]
fn a_silent_port_in_a_range_gets_exactly_three_probes() {
    let silent = bind_quiet_port();
    let port = silent.local_addr().unwrap().port();
    let ports: Vec<u16> = (port.saturating_sub(100).max(1)..=port.saturating_add(100)).collect();
    let t = Instant::now();
    let r = scan("127.0.0.1", &ports, &quick(), &Cancel::new(), None).unwrap();
    let elapsed = t.elapsed();
    let me = r.iter().find(|p| p.port == port).unwrap();
    assert_eq!(me.state, State::OpenFiltered);
    silent.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 64];
    let mut got = 0;
    while silent.recv_from(&mut buf).is_ok() {
        got += 1;
    }
    // 200 answering ports and no loss bound the loss at about 1.3%: three silences make a wrong
    // verdict less likely than 1e-3 over the whole scan.
    assert_eq!(got, 3, "probed exactly three times ({elapsed:?})");
    assert!(elapsed >= Duration::from_millis(150) && elapsed < Duration::from_millis(400));
}

#[test]
fn the_scanners_own_port_is_probed_from_another_socket() {
    let sock = super::sock::ProbeSocket::open(false).unwrap();
    let own = sock.local_port().unwrap();
    let closed = free_port("127.0.0.1:0");
    let opts = quick();
    let target = "127.0.0.1".parse().unwrap();
    let rtt = std::sync::atomic::AtomicU64::new(0);
    let mut engine = super::engine::Engine::with_socket(sock, target, &[closed, own], &opts, &rtt);
    engine.run(&Cancel::new(), None).unwrap();
    let states: Vec<_> = engine
        .table
        .slots
        .iter()
        .map(|s| (s.port, s.state))
        .collect();
    assert_eq!(
        states,
        vec![(closed, Some(State::Closed)), (own, Some(State::Closed))],
        "the scanner heard its own probe"
    );
}

#[test]
fn the_largest_retries_does_not_overflow() {
    // `retries + 1` overflowed (a panic from Python's `scan(..., retries=2**32 - 1)`); now
    // such a value is refused, and the largest accepted one scans.
    let closed = free_port("127.0.0.1:0");
    let opts = Options {
        retries: u32::MAX,
        ..quick()
    };
    assert!(matches!(
        scan("127.0.0.1", &[closed], &opts, &Cancel::new(), None),
        Err(crate::Error::Value(_))
    ));
    let opts = Options {
        retries: super::MAX_RETRIES,
        ..quick()
    };
    let r = scan("127.0.0.1", &[closed], &opts, &Cancel::new(), None).unwrap();
    assert_eq!(r[0].state, State::Closed);
}
