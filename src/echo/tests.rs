//! Engine tests over real loopback sockets.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
