//! The proxy with real sockets on loopback: a target behind it, clients in front.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::*;
use crate::cancel::Cancel;

/// A running proxy, stopped and joined on drop.
struct Running {
    proxy: Arc<Proxy>,
    stop: Cancel,
    thread: Option<JoinHandle<Result<()>>>,
}

impl Running {
    fn start(cfg: ProxyConfig) -> Self {
        let proxy = Arc::new(Proxy::bind(cfg).unwrap());
        let stop = Cancel::new();
        let (p, s) = (Arc::clone(&proxy), stop.clone());
        let thread = Some(std::thread::spawn(move || p.run(&s)));
        Running {
            proxy,
            stop,
            thread,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.proxy.local_addr()
    }

    /// Waits until `done(stats)` holds (or 5 s pass), then returns the stats.
    fn wait_for(&self, done: impl Fn(&Stats) -> bool) -> Stats {
        let end = Instant::now() + Duration::from_secs(5);
        loop {
            let s = self.proxy.stats();
            if done(&s) || Instant::now() > end {
                return s;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// An echo target in a thread, answering until its socket has been idle for 2 s.
fn echo_target() -> SocketAddr {
    let s = UdpSocket::bind(loopback()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let addr = s.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = s.recv_from(&mut buf) {
            let _ = s.send_to(&buf[..n], from);
        }
    });
    addr
}

/// Sends `n` numbered datagrams through `proxy` to a sink and returns the numbers the sink
/// got, in order of arrival.
fn through(cfg: ProxyConfig, sink: &UdpSocket, n: u32) -> (Vec<u32>, Stats) {
    let run = Running::start(cfg);
    let reader = sink.try_clone().unwrap();
    socket2::SockRef::from(&reader)
        .set_recv_buffer_size(1 << 22)
        .unwrap();
    // The sink reads in its own thread, so its receive buffer never overflows; it stops
    // after 300 ms of silence.
    let collected = std::thread::spawn(move || {
        reader
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 16];
        while let Ok(len) = reader.recv(&mut buf) {
            got.push(u32::from_be_bytes(buf[..len].try_into().unwrap()));
        }
        got
    });
    let client = UdpSocket::bind(loopback()).unwrap();
    for i in 0..n {
        client.send_to(&i.to_be_bytes(), run.addr()).unwrap();
        if i % 32 == 31 {
            // Do not overrun the proxy's receive buffer.
            std::thread::sleep(Duration::from_micros(500));
        }
    }
    let got = collected.join().unwrap();
    let stats = run.wait_for(|s| s.up.received == u64::from(n) && s.queued_bytes == 0);
    (got, stats)
}

#[test]
fn forwards_both_ways_and_each_client_gets_its_own_replies() {
    let run = Running::start(ProxyConfig::new(loopback(), echo_target()));
    let a = UdpSocket::bind(loopback()).unwrap();
    let b = UdpSocket::bind(loopback()).unwrap();
    for s in [&a, &b] {
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    }
    let mut buf = [0u8; 64];
    for i in 0..5 {
        a.send_to(format!("a{i}").as_bytes(), run.addr()).unwrap();
        b.send_to(format!("b{i}").as_bytes(), run.addr()).unwrap();
        let (n, from) = a.recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from), (format!("a{i}").as_bytes(), run.addr()));
        let n = b.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], format!("b{i}").as_bytes());
    }
    let s = run.wait_for(|s| s.down.forwarded == 10);
    assert_eq!((s.clients, s.up.received, s.up.forwarded), (2, 10, 10));
    assert_eq!(
        (s.down.received, s.down.forwarded, s.up.dropped),
        (10, 10, 0)
    );
}

#[test]
fn loss_rate_and_seed_reproducibility() {
    let sink = UdpSocket::bind(loopback()).unwrap();
    let imp = Impairment {
        loss: 0.3,
        ..Impairment::default()
    };
    let mut cfg =
        ProxyConfig::new(loopback(), sink.local_addr().unwrap()).impair(imp, Directions::Up);
    cfg.seed = 42;
    let (first, stats) = through(cfg.clone(), &sink, 2000);
    assert_eq!(stats.up.received, 2000);
    assert_eq!(stats.up.dropped + stats.up.forwarded, 2000);
    assert_eq!(first.len() as u64, stats.up.forwarded);
    assert!((500..700).contains(&stats.up.dropped), "{stats:?}");
    let (again, _) = through(cfg.clone(), &sink, 2000);
    assert_eq!(first, again, "same seed, same datagrams dropped");
    cfg.seed = 43;
    let (other, _) = through(cfg, &sink, 2000);
    assert_ne!(first, other);
}

#[test]
fn reorder_swaps_neighbours_and_dup_sends_twice() {
    let sink = UdpSocket::bind(loopback()).unwrap();
    let imp = Impairment {
        reorder: 0.2,
        dup: 0.1,
        ..Impairment::default()
    };
    let mut cfg =
        ProxyConfig::new(loopback(), sink.local_addr().unwrap()).impair(imp, Directions::Up);
    cfg.seed = 5;
    let (got, s) = through(cfg, &sink, 1000);
    assert_eq!(got.len() as u64, s.up.forwarded, "{s:?}");
    assert_eq!(s.up.forwarded, 1000 + s.up.duplicated - s.up.send_errors);
    assert!((60..140).contains(&s.up.duplicated), "{s:?}");
    assert!((140..260).contains(&s.up.reordered), "{s:?}");
    let inversions = got.windows(2).filter(|w| w[1] < w[0]).count() as u64;
    assert!(inversions >= s.up.reordered, "{inversions} {s:?}");
}

#[test]
fn delay_holds_and_the_queue_is_bounded_in_bytes() {
    let sink = UdpSocket::bind(loopback()).unwrap();
    let imp = Impairment {
        delay: Duration::from_millis(300),
        ..Impairment::default()
    };
    let mut cfg =
        ProxyConfig::new(loopback(), sink.local_addr().unwrap()).impair(imp, Directions::Both);
    cfg.queue_bytes = 10_000;
    let run = Running::start(cfg);
    let client = UdpSocket::bind(loopback()).unwrap();
    let t = Instant::now();
    for _ in 0..50 {
        client.send_to(&[7u8; 1000], run.addr()).unwrap();
    }
    let s = run.wait_for(|s| s.up.received == 50);
    assert_eq!((s.up.delayed, s.up.overflow), (10, 40), "{s:?}");
    assert!(s.queued_bytes <= 10_000);
    sink.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut buf = [0u8; 2000];
    assert_eq!(sink.recv(&mut buf).unwrap(), 1000);
    assert!(t.elapsed() >= Duration::from_millis(300));
    let s = run.wait_for(|s| s.up.forwarded == 10 && s.queued_bytes == 0);
    assert_eq!((s.up.forwarded, s.queued_bytes), (10, 0));
}

#[test]
fn stop_ends_the_loop_within_a_tick() {
    let run = Running::start(ProxyConfig::new(loopback(), echo_target()));
    let mut run = run;
    let t = Instant::now();
    run.stop.stop();
    let r = run.thread.take().unwrap().join().unwrap();
    assert!(matches!(r, Err(Error::Interrupted)));
    assert!(t.elapsed() < Duration::from_millis(200));
}

#[test]
fn the_proxy_cannot_be_its_own_target() {
    let busy = UdpSocket::bind(loopback()).unwrap();
    let port = busy.local_addr().unwrap().port();
    drop(busy);
    let mut cfg = ProxyConfig::new(loopback(), loopback());
    cfg.listen.set_port(port);
    cfg.target.set_port(port);
    match Proxy::bind(cfg) {
        Err(Error::Value(m)) => assert!(m.contains("the proxy itself"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn endpoints_and_limits() {
    assert_eq!(
        split_endpoint("127.0.0.1:80", None).unwrap(),
        ("127.0.0.1".to_owned(), 80)
    );
    assert_eq!(
        split_endpoint("[::1]:7", None).unwrap(),
        ("[::1]".to_owned(), 7)
    );
    assert_eq!(
        split_endpoint("9000", Some("127.0.0.1")).unwrap(),
        ("127.0.0.1".to_owned(), 9000)
    );
    assert!(split_endpoint("9000", None).is_err());
    assert!(split_endpoint("::1:7", None).is_err());
    assert!(split_endpoint("h:70000", None).is_err());
    assert!(probability("loss", 1.5).is_err() && probability("loss", f64::NAN).is_err());
    assert!(delay_secs("delay", -1.0).is_err() && delay_secs("delay", 1e308).is_err());
    let mut cfg = ProxyConfig::new(loopback(), loopback());
    cfg.queue_bytes = 0;
    assert!(matches!(Proxy::bind(cfg), Err(Error::Value(_))));
}
