//! Engine tests over real loopback sockets.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::guard::{GuardConfig, RateLimit};
use super::*;
use crate::cancel::{Cancel, TICK};
use crate::error::Error;

fn config(ports: Vec<u16>) -> EchoConfig {
    EchoConfig {
        host: "127.0.0.1".into(),
        ports: PortChoice::List(ports),
        quiet: true,
        ..EchoConfig::default()
    }
}

/// Runs `server` in a thread; returns its stop token and join handle.
fn spawn(server: &Arc<EchoServer>) -> (Cancel, std::thread::JoinHandle<crate::Result<End>>) {
    let cancel = Cancel::new();
    let token = cancel.clone();
    let s = Arc::clone(server);
    (cancel, std::thread::spawn(move || s.run(&token)))
}

fn client() -> UdpSocket {
    let c = UdpSocket::bind("127.0.0.1:0").unwrap();
    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    c
}

fn to(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn ask(c: &UdpSocket, port: u16, data: &[u8]) -> Vec<u8> {
    c.send_to(data, to(port)).unwrap();
    let mut buf = vec![0u8; 70000];
    let (n, from) = c.recv_from(&mut buf).unwrap();
    assert_eq!(
        from.port(),
        port,
        "the reply leaves from the socket that received"
    );
    buf.truncate(n);
    buf
}

#[test]
fn echoes_counts_truncates_and_stops_on_the_sentinel() {
    let server = Arc::new(
        EchoServer::bind(EchoConfig {
            bufsize: 8,
            ..config(vec![0])
        })
        .unwrap(),
    );
    let port = server.ports()[0];
    let (_cancel, handle) = spawn(&server);
    let (a, b) = (client(), client());
    assert_eq!(ask(&a, port, b"hola\n"), b"hola\n");
    assert_eq!(ask(&b, port, b""), b"");
    assert_eq!(ask(&a, port, b"0123456789"), b"01234567");
    a.send_to(b" .\r\n", to(port)).unwrap();
    assert_eq!(handle.join().unwrap().unwrap(), End::Sentinel);
    let mut buf = [0u8; 16];
    a.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    assert!(a.recv(&mut buf).is_err(), "the sentinel is not echoed");
    let s = server.stats();
    assert_eq!(
        (s.datagrams, s.bytes, s.clients, s.drops),
        (4, 5 + 8 + 4, 2, 0)
    );
}

#[test]
fn reply_stop_answers_the_sentinel_and_no_stop_echoes_it() {
    let cfg = EchoConfig {
        reply_stop: true,
        ..config(vec![0])
    };
    let server = Arc::new(EchoServer::bind(cfg).unwrap());
    let port = server.ports()[0];
    let (_c, handle) = spawn(&server);
    let a = client();
    assert_eq!(ask(&a, port, b".\n"), b".");
    assert_eq!(handle.join().unwrap().unwrap(), End::Sentinel);

    let server = Arc::new(
        EchoServer::bind(EchoConfig {
            stop: None,
            ..config(vec![0])
        })
        .unwrap(),
    );
    let port = server.ports()[0];
    let (cancel, handle) = spawn(&server);
    assert_eq!(ask(&a, port, b".\n"), b".\n");
    cancel.stop();
    assert!(matches!(handle.join().unwrap(), Err(Error::Interrupted)));
}

#[test]
fn many_ports_reply_from_the_receiving_socket_and_cancel_is_prompt() {
    let server = Arc::new(EchoServer::bind(config(vec![0; 50])).unwrap());
    let ports = server.ports().to_vec();
    let (cancel, handle) = spawn(&server);
    let c = client();
    for &p in &ports {
        assert_eq!(
            ask(&c, p, p.to_string().as_bytes()),
            p.to_string().as_bytes()
        );
    }
    let t = Instant::now();
    cancel.stop();
    assert!(matches!(handle.join().unwrap(), Err(Error::Interrupted)));
    assert!(t.elapsed() < TICK * 3);
    assert_eq!(server.stats().datagrams, 50);
    assert_eq!(server.stats().clients, 1);
}

#[test]
fn workers_share_the_load_and_stop_together() {
    let server = Arc::new(
        EchoServer::bind(EchoConfig {
            workers: 3,
            ..config(vec![0, 0])
        })
        .unwrap(),
    );
    let ports = server.ports().to_vec();
    let (_c, handle) = spawn(&server);
    let clients: Vec<UdpSocket> = (0..12).map(|_| client()).collect();
    for c in &clients {
        for &p in &ports {
            assert_eq!(ask(c, p, b"w"), b"w");
        }
    }
    clients[0].send_to(b".", to(ports[1])).unwrap();
    assert_eq!(handle.join().unwrap().unwrap(), End::Sentinel);
    let s = server.stats();
    assert_eq!((s.datagrams, s.clients), (25, 12));
}

#[test]
fn delay_holds_each_reply_without_blocking_others_and_keeps_order() {
    let delay = Duration::from_millis(300);
    let server = Arc::new(
        EchoServer::bind(EchoConfig {
            delay,
            ..config(vec![0, 0])
        })
        .unwrap(),
    );
    let ports = server.ports().to_vec();
    let (cancel, handle) = spawn(&server);
    let (a, b) = (client(), client());
    let t = Instant::now();
    for i in 0..5u8 {
        a.send_to(&[i], to(ports[0])).unwrap();
    }
    b.send_to(b"b", to(ports[1])).unwrap();
    let mut buf = [0u8; 8];
    for i in 0..5u8 {
        let n = a.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], &[i], "replies in the order received");
    }
    let (n, from) = b.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from.port()), (&b"b"[..], ports[1]));
    let el = t.elapsed();
    assert!(
        el >= delay && el < delay * 2,
        "all six replies after one delay, not six: {el:?}"
    );
    cancel.stop();
    assert!(handle.join().unwrap().is_err());
}

#[test]
fn idle_timeout_ends_the_run_and_activity_postpones_it() {
    let idle = Duration::from_millis(300);
    let server = Arc::new(
        EchoServer::bind(EchoConfig {
            idle_timeout: Some(idle),
            ..config(vec![0])
        })
        .unwrap(),
    );
    let port = server.ports()[0];
    let t = Instant::now();
    let (_c, handle) = spawn(&server);
    let c = client();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(ask(&c, port, b"x"), b"x");
    assert_eq!(handle.join().unwrap().unwrap(), End::Idle);
    let el = t.elapsed();
    assert!(
        el >= Duration::from_millis(500) && el < Duration::from_millis(500) + TICK * 4,
        "{el:?}"
    );
}

#[test]
fn log_keeps_every_datagram_of_a_burst() {
    let path = std::env::temp_dir().join(format!("udpeco-burst-{}.log", std::process::id()));
    let cfg = EchoConfig {
        log: Some(path.clone()),
        idle_timeout: Some(Duration::from_millis(300)),
        // One sender at full speed: beyond the default per-source rate limit.
        guard: crate::echo::guard::GuardConfig {
            rate: None,
            ..crate::echo::guard::GuardConfig::default()
        },
        ..config(vec![0])
    };
    let server = Arc::new(EchoServer::bind(cfg).unwrap());
    let port = server.ports()[0];
    let (_c, handle) = spawn(&server);
    let c = client();
    for i in 0..20_000 {
        c.send_to(format!("m{i}\n").as_bytes(), to(port)).unwrap();
        if i % 1000 == 999 {
            // Brief pauses keep the burst within a default-sized receive buffer where
            // SO_RCVBUFFORCE is not allowed (not root); as root it is not needed.
            std::thread::sleep(Duration::from_micros(500));
        }
    }
    c.send_to(b"\xff\xfeok", to(port)).unwrap();
    assert_eq!(handle.join().unwrap().unwrap(), End::Idle);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 20_001);
    assert_eq!(lines[0], "m0");
    assert_eq!(lines[19_999], "m19999");
    assert_eq!(lines[20_000], "\\xff\\xfeok");
    assert_eq!(server.stats().drops, 0);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn ipv6_and_random_port() {
    let cfg = EchoConfig {
        host: "::1".into(),
        ports: PortChoice::Random(61000, 61999),
        ..config(vec![])
    };
    let Ok(server) = EchoServer::bind(cfg) else {
        return; // no IPv6 here
    };
    let server = Arc::new(server);
    let port = server.ports()[0];
    assert!((61000..=61999).contains(&port));
    let (cancel, handle) = spawn(&server);
    let c = UdpSocket::bind("[::1]:0").unwrap();
    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    c.send_to(
        b"seis",
        SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port)),
    )
    .unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(c.recv(&mut buf).unwrap(), 4);
    cancel.stop();
    let _ = handle.join();
}

#[test]
fn a_second_concurrent_run_is_refused() {
    let server = Arc::new(EchoServer::bind(config(vec![0])).unwrap());
    let (cancel, handle) = spawn(&server);
    std::thread::sleep(Duration::from_millis(50));
    assert!(matches!(server.run(&Cancel::new()), Err(Error::Value(_))));
    cancel.stop();
    let _ = handle.join();
}

#[test]
fn a_sentinel_during_a_delay_lets_waiting_replies_leave_on_time_then_answers_it() {
    let delay = Duration::from_millis(200);
    let cfg = EchoConfig {
        delay,
        reply_stop: true,
        ..config(vec![0])
    };
    let server = Arc::new(EchoServer::bind(cfg).unwrap());
    let port = server.ports()[0];
    let (_c, handle) = spawn(&server);
    let c = client();
    let t = Instant::now();
    c.send_to(b"uno", to(port)).unwrap();
    c.send_to(b".", to(port)).unwrap();
    let mut buf = [0u8; 8];
    let n = c.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"uno");
    assert!(t.elapsed() >= delay);
    let n = c.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b".");
    assert_eq!(handle.join().unwrap().unwrap(), End::Sentinel);
}

/// Sends `segments` (all of one size but maybe the last) from `c` to `port` as one GSO
/// train, which a server with `UDP_GRO` on receives whole.
#[cfg(target_os = "linux")]
fn send_train(c: &UdpSocket, port: u16, segments: &[&[u8]]) {
    let data: Vec<u8> = segments.concat();
    let size = u16::try_from(segments[0].len()).unwrap();
    let (raw, len) = crate::addr::to_raw(&to(port));
    let sent = crate::sys::send_segments(
        std::os::fd::AsRawFd::as_raw_fd(c),
        &data,
        size,
        Some((&raw, len)),
        0,
    )
    .unwrap();
    assert_eq!(sent, data.len());
}

#[cfg(target_os = "linux")]
fn recv_all(c: &UdpSocket, count: usize) -> Vec<Vec<u8>> {
    let mut buf = vec![0u8; 70000];
    (0..count)
        .map(|_| {
            let n = c.recv(&mut buf).unwrap();
            buf[..n].to_vec()
        })
        .collect()
}

#[test]
#[cfg(target_os = "linux")]
fn gso_trains_are_split_truncated_counted_and_stopped_like_single_datagrams() {
    let server = Arc::new(
        EchoServer::bind(EchoConfig {
            bufsize: 8,
            guard: GuardConfig::off(),
            ..config(vec![0])
        })
        .unwrap(),
    );
    let port = server.ports()[0];
    let (_cancel, handle) = spawn(&server);
    let c = client();
    // The server is up once it answers.
    assert_eq!(ask(&c, port, b"up"), b"up");
    // 100 segments of 12 bytes and a last one of 5: more than one batch of 64, each
    // datagram truncated to 8 bytes, answered in order.
    let segs: Vec<Vec<u8>> = (0..100u8)
        .map(|k| vec![k; 12])
        .chain([vec![200; 5]])
        .collect();
    let refs: Vec<&[u8]> = segs.iter().map(Vec::as_slice).collect();
    send_train(&c, port, &refs[..64]);
    send_train(&c, port, &refs[64..]);
    let got = recv_all(&c, segs.len());
    for (k, (r, s)) in got.iter().zip(&segs).enumerate() {
        assert_eq!(r.as_slice(), &s[..s.len().min(8)], "reply {k}");
    }
    assert!(server.gro_trains() >= 1, "the trains arrived whole");
    // The stop text inside a train: what precedes it is answered, it and the rest are not.
    send_train(&c, port, &[b"ab", b" .", b"cd"]);
    assert_eq!(recv_all(&c, 1), vec![b"ab".to_vec()]);
    assert_eq!(handle.join().unwrap().unwrap(), End::Sentinel);
    c.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buf = [0u8; 16];
    assert!(c.recv(&mut buf).is_err(), "nothing after the stop text");
    let s = server.stats();
    // "up", 101 segments, "ab" and the stop text.
    assert_eq!(
        (s.datagrams, s.bytes, s.drops),
        (1 + 101 + 2, 2 + 100 * 8 + 5 + 2 + 2, 0)
    );
}

#[test]
#[cfg(target_os = "linux")]
fn the_per_source_limit_counts_each_datagram_of_a_train() {
    let mut guard = GuardConfig::off();
    guard.rate = Some(RateLimit {
        per_sec: 1.0,
        burst: 10.0,
    });
    let server = Arc::new(
        EchoServer::bind(EchoConfig {
            guard,
            ..config(vec![0])
        })
        .unwrap(),
    );
    let port = server.ports()[0];
    let (cancel, handle) = spawn(&server);
    let c = client();
    assert_eq!(ask(&c, port, b"up"), b"up");
    let segs: Vec<Vec<u8>> = (0..40u8).map(|k| vec![k; 16]).collect();
    let refs: Vec<&[u8]> = segs.iter().map(Vec::as_slice).collect();
    send_train(&c, port, &refs);
    // The burst of 10 less the "up": the first 9 of the train.
    let got = recv_all(&c, 9);
    assert_eq!(got, segs[..9].to_vec());
    c.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buf = [0u8; 64];
    assert!(c.recv(&mut buf).is_err(), "the rest is dropped");
    assert!(server.gro_trains() >= 1, "the train arrived whole");
    cancel.stop();
    assert!(matches!(handle.join().unwrap(), Err(Error::Interrupted)));
    let s = server.stats();
    assert_eq!(s.datagrams, 10);
    assert_eq!(s.guarded.iter().sum::<u64>(), 31);
}
