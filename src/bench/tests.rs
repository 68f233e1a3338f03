//! Tests of the load generator against echo peers running in threads of the test.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::*;

/// An echo peer on loopback that skips every `drop_every`-th datagram (0: none).
struct Peer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Peer {
    fn start(drop_every: u64) -> Peer {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let addr = sock.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            let mut n = 0u64;
            while !flag.load(Ordering::Relaxed) {
                if let Ok((len, from)) = sock.recv_from(&mut buf) {
                    n += 1;
                    if drop_every == 0 || n % drop_every != 0 {
                        let _ = sock.send_to(&buf[..len], from);
                    }
                }
            }
        });
        Peer {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

fn cfg(ms: u64) -> BenchConfig {
    BenchConfig {
        duration: Duration::from_millis(ms),
        ..BenchConfig::default()
    }
}

#[allow(clippy::unnecessary_wraps)]
fn no_progress(_: &Progress) -> Result<()> {
    Ok(())
}

#[test]
fn closed_loop_against_an_echo_peer() {
    let peer = Peer::start(0);
    for portable in [false, true] {
        let c = BenchConfig {
            window: Some(8),
            portable,
            ..cfg(300)
        };
        let r = run(peer.addr, &c, &Cancel::new(), &mut no_progress).unwrap();
        assert!(r.received > 100, "{r:?}");
        assert_eq!(r.lost, 0, "{r:?}");
        assert_eq!(r.sent, r.received);
        assert!(r.rate > 300.0, "{r:?}");
        let l = r.latency;
        assert!(l.min <= l.p50 && l.p50 <= l.p90 && l.p90 <= l.p99);
        assert!(l.p99 <= l.p999 && l.p999 <= l.p9999 && l.p9999 <= l.max);
        assert_eq!(l.count, r.received);
        assert_eq!(r.uncorrected.p50, l.p50, "closed loop: due when sent");
        assert_eq!(r.duplicates + r.out_of_order + r.stray, 0, "{r:?}");
        assert_eq!(r.gso, !portable && cfg!(target_os = "linux"), "{r:?}");
        assert!(r.elapsed >= Duration::from_millis(300));
    }
}

#[test]
fn window_one_is_ping_pong() {
    let peer = Peer::start(0);
    let c = BenchConfig {
        window: Some(1),
        ..cfg(200)
    };
    let r = run(peer.addr, &c, &Cancel::new(), &mut no_progress).unwrap();
    assert!(r.received > 50);
    assert_eq!(r.lost, 0);
}

#[test]
fn dropped_datagrams_are_counted_lost() {
    let peer = Peer::start(10);
    let c = BenchConfig {
        window: Some(4),
        ..cfg(400)
    };
    let r = run(peer.addr, &c, &Cancel::new(), &mut no_progress).unwrap();
    assert_eq!(r.lost, r.sent - r.received);
    // Every tenth datagram is dropped by the peer.
    #[allow(clippy::cast_precision_loss)]
    let lost_share = r.lost as f64 / r.sent as f64;
    assert!((0.07..=0.13).contains(&lost_share), "{r:?}");
}

#[test]
fn open_loop_keeps_its_rate() {
    let peer = Peer::start(0);
    let c = BenchConfig {
        rate: Some(2000.0),
        ..cfg(500)
    };
    let r = run(peer.addr, &c, &Cancel::new(), &mut no_progress).unwrap();
    assert!((900..=1100).contains(&r.sent), "{r:?}");
    assert_eq!(r.lost, 0, "{r:?}");
}

#[test]
fn progress_is_reported_and_can_stop_the_run() {
    let peer = Peer::start(0);
    let c = BenchConfig {
        progress_every: Duration::from_millis(100),
        ..cfg(2000)
    };
    let mut seen = Vec::new();
    let t = Instant::now();
    let r = run(peer.addr, &c, &Cancel::new(), &mut |p: &Progress| {
        seen.push(p.clone());
        if seen.len() == 3 {
            Err(Error::Value("enough".into()))
        } else {
            Ok(())
        }
    });
    assert!(matches!(r, Err(Error::Value(_))));
    assert!(t.elapsed() < Duration::from_secs(1));
    assert_eq!(seen.len(), 3);
    assert!(seen[2].sent >= seen[1].sent && seen[1].received > 0 && seen[1].rate > 0.0);
}

#[test]
fn closed_port_is_connection_refused() {
    let free = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = free.local_addr().unwrap();
    drop(free);
    let err = run(addr, &cfg(300), &Cancel::new(), &mut no_progress).unwrap_err();
    assert_eq!(err.errno(), Some(libc::ECONNREFUSED));
}

#[test]
fn a_stop_from_another_thread_ends_the_run_within_a_tick() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let cancel = Cancel::new();
    let other = cancel.clone();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        other.stop();
        Instant::now()
    });
    let r = run(
        silent.local_addr().unwrap(),
        &cfg(5000),
        &cancel,
        &mut no_progress,
    );
    let stopped_at = stopper.join().unwrap();
    assert!(matches!(r, Err(Error::Interrupted)));
    assert!(stopped_at.elapsed() < TICK_BOUND);
}

const TICK_BOUND: Duration = Duration::from_millis(150);

#[test]
fn silent_server_loses_everything_sent() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let r = run(
        silent.local_addr().unwrap(),
        &cfg(200),
        &Cancel::new(),
        &mut no_progress,
    )
    .unwrap();
    assert_eq!(r.received, 0);
    assert!(
        r.sent >= 64,
        "windows are refilled after each silence: {r:?}"
    );
    assert_eq!(r.lost, r.sent);
    assert_eq!(r.latency.p50, 0);
}

#[test]
fn bad_configurations_are_value_errors() {
    let a: SocketAddr = "127.0.0.1:9".parse().unwrap();
    for c in [
        BenchConfig {
            window: Some(0),
            ..cfg(10)
        },
        BenchConfig { size: 7, ..cfg(10) },
        BenchConfig {
            size: 70_000,
            ..cfg(10)
        },
        BenchConfig {
            rate: Some(0.0),
            ..cfg(10)
        },
        BenchConfig {
            rate: Some(f64::NAN),
            ..cfg(10)
        },
        BenchConfig {
            interval: Some(Duration::from_millis(10)),
            ..cfg(10)
        },
        cfg(0),
    ] {
        assert!(
            matches!(
                run(a, &c, &Cancel::new(), &mut no_progress),
                Err(Error::Value(_))
            ),
            "{c:?}"
        );
    }
}

#[test]
fn warmup_is_left_out_and_intervals_are_kept() {
    let peer = Peer::start(0);
    let c = BenchConfig {
        rate: Some(1000.0),
        warmup: Duration::from_millis(300),
        interval: Some(Duration::from_millis(200)),
        ..cfg(600)
    };
    let mut calls = 0;
    let r = run(peer.addr, &c, &Cancel::new(), &mut |p: &Progress| {
        calls += 1;
        assert!(p.elapsed <= Duration::from_millis(700), "{p:?}");
        Ok(())
    })
    .unwrap();
    // 600 ms at 1000/s, not 900 ms: the warm-up's datagrams are not counted.
    assert!((540..=660).contains(&r.sent), "{r:?}");
    assert_eq!(r.lost, 0, "{r:?}");
    assert_eq!(r.warmup, Duration::from_millis(300));
    assert_eq!(calls, 2);
    assert_eq!(r.intervals.len(), 3, "{:?}", r.intervals);
    let total: u64 = r.intervals.iter().map(|i| i.counts.sent).sum();
    assert_eq!(total, r.sent);
    assert_eq!(r.intervals[1].start, r.intervals[0].end);
    assert!(r.intervals.iter().all(|i| i.latency.count > 0));
}

#[test]
fn both_batching_against_the_echo_engine_loses_and_mixes_nothing() {
    use crate::echo::{EchoConfig, EchoServer, PortChoice};
    for gso in [true, false] {
        let server = Arc::new(
            EchoServer::bind(EchoConfig {
                host: "127.0.0.1".into(),
                ports: PortChoice::List(vec![0]),
                quiet: true,
                gso,
                // One source sends far more than the default per-source rate limit allows.
                guard: crate::echo::guard::GuardConfig::off(),
                ..EchoConfig::default()
            })
            .unwrap(),
        );
        let port = server.ports()[0];
        let cancel = Cancel::new();
        let (token, s) = (cancel.clone(), Arc::clone(&server));
        let thread = std::thread::spawn(move || s.run(&token));
        let c = BenchConfig {
            size: 100,
            gso,
            ..cfg(300)
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let r = run(addr, &c, &Cancel::new(), &mut no_progress).unwrap();
        cancel.stop();
        let end = thread.join().unwrap();
        assert!(matches!(end, Err(Error::Interrupted)), "{end:?}");
        assert!(r.received > 500, "{r:?}");
        assert_eq!(r.lost, 0, "{r:?}");
        assert_eq!(r.duplicates + r.out_of_order + r.stray + r.late, 0, "{r:?}");
        let linux = cfg!(target_os = "linux");
        assert_eq!((r.gso, r.gro), (gso && linux, gso && linux), "{r:?}");
    }
}
