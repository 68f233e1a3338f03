//! Large scans split over two engines on two cores, and scans from several source addresses
//! (one engine each).
//!
//! Most of a scan's time is the kernel's: each probe to a closed port makes the target's
//! stack build an ICMP error, and on loopback (or a fast link) that work runs on the sending
//! core. Two engines, each with its own socket and half of the ports (interleaved), share it
//! between two cores. The ports the engines' own sockets are bound to are scanned last, by
//! one more engine, once those sockets are closed (a probe there would reach the scanner).
//! Progress and open ports from both are merged into one report; a stop from either (Ctrl+C
//! is seen on the calling thread) stops both.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use super::engine::Engine;
use super::sock::ProbeSocket;
use super::{scan_one, Options, PortResult, Progress};
use crate::cancel::Cancel;
use crate::error::{Error, Result};

/// Scans of at least this many ports are split.
pub(super) const PARALLEL_FROM: usize = 8192;

/// Scans `ports` with `workers` engines at once (engine `i` probes from source address
/// `i % sources` when [`Options::sources`] is given); results in the order of `ports`.
pub(super) fn scan(
    target: IpAddr,
    ports: &[u16],
    opts: &Options,
    cancel: &Cancel,
    progress: Option<Progress<'_>>,
    workers: usize,
) -> Result<Vec<PortResult>> {
    let mut seen = vec![false; 65536];
    let unique: Vec<u16> = ports
        .iter()
        .copied()
        .filter(|&p| !std::mem::replace(&mut seen[usize::from(p)], true))
        .collect();
    let total = unique.len();
    let socks = (0..workers)
        .map(|i| {
            let source = (!opts.sources.is_empty()).then(|| opts.sources[i % opts.sources.len()]);
            ProbeSocket::open_pair(target, source)
        })
        .collect::<Result<Vec<_>>>()?;
    let own: Vec<u16> = socks
        .iter()
        .map(ProbeSocket::local_port)
        .collect::<Result<_>>()?;
    let mut shares: Vec<Vec<u16>> = vec![Vec::with_capacity(total / workers + 1); workers];
    let mut last = Vec::new();
    for (i, &p) in unique.iter().enumerate() {
        if own.contains(&p) {
            last.push(p);
        } else {
            shares[i % workers].push(p);
        }
    }
    let done: Vec<AtomicUsize> = (0..=workers).map(|_| AtomicUsize::new(0)).collect();
    let pending: Mutex<Vec<PortResult>> = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    let rtt = AtomicU64::new(0);
    let report = |who: usize, d: usize, open: &[PortResult]| -> bool {
        done[who].store(d, Ordering::Relaxed);
        let mut queued = pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        queued.extend_from_slice(open);
        if let Some(user) = progress {
            let sum = done.iter().map(|a| a.load(Ordering::Relaxed)).sum();
            let batch = std::mem::take(&mut *queued);
            if user(sum, total, &batch) {
                stop.store(true, Ordering::Relaxed);
            }
        }
        stop.load(Ordering::Relaxed)
    };
    let reporters: Vec<_> = (0..=workers)
        .map(|who| move |d: usize, _: usize, open: &[PortResult]| report(who, d, open))
        .collect();
    let mut results: Vec<Option<PortResult>> = vec![None; 65536];
    let outcomes: Vec<Result<Vec<PortResult>>> = std::thread::scope(|scope| {
        let mut socks = socks.into_iter();
        let first = socks.next();
        let handles: Vec<_> = socks
            .zip(shares.iter().skip(1))
            .zip(reporters.iter().skip(1))
            .map(|((sock, share), rep)| {
                let cb: Progress<'_> = rep;
                let (stop, rtt) = (&stop, &rtt);
                scope.spawn(move || {
                    let r = run(sock, target, share, opts, cancel, cb, rtt);
                    if r.is_err() {
                        stop.store(true, Ordering::Relaxed);
                    }
                    r
                })
            })
            .collect();
        // The first engine runs on the calling thread, where Ctrl+C is seen.
        let mut out = vec![match first {
            Some(sock) => run(sock, target, &shares[0], opts, cancel, &reporters[0], &rtt),
            None => Ok(Vec::new()),
        }];
        if out[0].is_err() {
            cancel.stop();
        }
        out.extend(handles.into_iter().map(|h| {
            h.join()
                .unwrap_or_else(|_| Err(Error::Value("scan worker panicked".into())))
        }));
        out
    });
    for outcome in outcomes {
        for r in outcome? {
            let at = usize::from(r.port);
            results[at] = Some(r);
        }
    }
    if !last.is_empty() {
        let rep: Progress<'_> = &reporters[workers];
        for r in scan_one(target, &last, opts, cancel, Some(rep))? {
            let at = usize::from(r.port);
            results[at] = Some(r);
        }
    }
    Ok(unique
        .iter()
        .filter_map(|&p| results[usize::from(p)].take())
        .collect())
}

fn run(
    sock: ProbeSocket,
    target: IpAddr,
    ports: &[u16],
    opts: &Options,
    cancel: &Cancel,
    progress: Progress<'_>,
    rtt: &AtomicU64,
) -> Result<Vec<PortResult>> {
    let mut engine = Engine::with_socket(sock, target, ports, opts, rtt);
    engine.run(cancel, Some(progress))?;
    Ok(engine.table.slots.iter().map(PortResult::from).collect())
}
