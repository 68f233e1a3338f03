//! The UDP port scanner: many ports at once, nmap's verdicts, ICMP read from the error queue.
//!
//! A closed UDP port answers with ICMP port unreachable. An unconnected socket with
//! `IP_RECVERR` (`IPV6_RECVERR`) receives those errors in its error queue, each naming the
//! destination of the probe that caused it, so one socket can probe thousands of ports at once
//! and still tell which port each error is about. [`scan`] returns, for every port, `open` (a
//! datagram came back, with its bytes and round-trip time), `closed` (port unreachable),
//! `filtered` (another ICMP unreachable code) or `open|filtered` (silence after every probe).
//!
//! Map: `sock` (the probe socket and batch I/O), `engine`
//! (the loop), `evidence` (silence vs. rate-limited ICMP), `pacer`, `table`,
//! `verdict`. Batched I/O is `crate::mmsg`'s, the host's rule [`crate::host`]'s.

mod engine;
mod evidence;
mod pacer;
mod parallel;
pub(crate) mod probes;
mod sock;
mod table;
mod verdict;

use std::net::IpAddr;
use std::time::Duration;

use crate::cancel::Cancel;
use crate::error::{Error, Result};

pub use verdict::State;

/// The most source addresses one scan probes from (one engine, on its own thread, each).
pub const MAX_SOURCES: usize = 64;

/// How many probes may wait for an answer at once by default.
pub const DEFAULT_CONCURRENCY: usize = 4096;
/// The highest `rate` accepted, in probes per second.
pub const MAX_RATE: f64 = 1e9;
/// The most `retries` accepted.
pub const MAX_RETRIES: u32 = 100;

/// A progress callback: `(ports with a verdict, ports in all, ports found open since the last
/// call)`, called about every [`crate::cancel::TICK`]; returning `true` stops the scan.
pub type Progress<'a> = &'a (dyn Fn(usize, usize, &[PortResult]) -> bool + Sync);

/// How to scan.
#[derive(Clone, Debug)]
pub struct Options {
    /// How long to wait for an answer to each probe.
    pub timeout: Duration,
    /// The generic probe's payload (every port outside the protocol table, or every port).
    pub probe: Vec<u8>,
    /// Send each well-known port its protocol's probes (`probes`) instead of `probe`.
    pub protocols: bool,
    /// More (port, payload) pairs, sent after the port's own (nmap's `nmap-payloads`).
    pub extra_payloads: Vec<(u16, Vec<u8>)>,
    /// Probes after the first one before a silent port is called `open|filtered` (at least 1).
    pub retries: u32,
    /// The most probes waiting for an answer at once.
    pub concurrency: usize,
    /// The most probes per second, if limited.
    pub rate: Option<f64>,
    /// Local addresses to probe from (none: the kernel's choice). A target limits its ICMP
    /// errors per peer address, so with several the ports are shared out between them, one
    /// engine (socket, evidence, pace) per address, and the rate-limited part of a scan goes
    /// that many times faster.
    pub sources: Vec<IpAddr>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_millis(500),
            probe: b"udpeco".to_vec(),
            protocols: true,
            extra_payloads: Vec::new(),
            retries: 1,
            concurrency: DEFAULT_CONCURRENCY,
            rate: None,
            sources: Vec::new(),
        }
    }
}

impl Options {
    /// Checks the options, with a one-line message for each mistake.
    ///
    /// # Errors
    /// [`Error::Value`] for a timeout or rate that is not a positive number, fewer than one
    /// retry, or a concurrency of 0.
    pub fn validate(&self) -> Result<()> {
        if self.timeout.is_zero() {
            return Err(Error::Value("timeout must be positive".into()));
        }
        if self.retries > MAX_RETRIES {
            return Err(Error::Value(format!(
                "retries must be at most {MAX_RETRIES}, not {}",
                self.retries
            )));
        }
        if self.retries < 1 {
            return Err(Error::Value(
                "retries must be at least 1 (a port is always probed again before it is \
                 called open|filtered)"
                    .into(),
            ));
        }
        if self.concurrency == 0 {
            return Err(Error::Value("concurrency must be at least 1".into()));
        }
        if self.sources.len() > MAX_SOURCES {
            return Err(Error::Value(format!(
                "at most {MAX_SOURCES} source addresses"
            )));
        }
        if let Some(r) = self.rate {
            if !(r > 0.0 && r <= MAX_RATE) {
                return Err(Error::Value(format!(
                    "rate must be above 0 and at most {MAX_RATE:e} probes per second, not {r}"
                )));
            }
        }
        Ok(())
    }
}

/// The verdict for one port.
#[derive(Clone, Debug, PartialEq)]
pub struct PortResult {
    /// The port.
    pub port: u16,
    /// Its verdict.
    pub state: State,
    /// The first datagram the port sent back (open ports only).
    pub reply: Option<Vec<u8>>,
    /// Round-trip time of that answer (open ports only).
    pub rtt: Option<Duration>,
    /// The service named by a reply that answered one of the port's protocol probes.
    pub service: Option<&'static str>,
    /// Why the verdict, in nmap's `--reason` words (`udp-response`, `port-unreach`, ...).
    pub reason: &'static str,
}

impl From<&table::Slot> for PortResult {
    fn from(s: &table::Slot) -> Self {
        PortResult {
            port: s.port,
            state: s.state.unwrap_or(State::OpenFiltered),
            reply: s.reply.clone(),
            rtt: s.rtt,
            service: s.service,
            reason: s.reason,
        }
    }
}

/// Scans `ports` of `host` (a name, resolved once, or an IPv4/IPv6 literal).
///
/// Results come in the order of `ports`, each port once.
///
/// # Errors
/// [`Error::Gai`] when the name does not resolve, [`Error::Value`] for bad options,
/// [`Error::Interrupted`] when `cancel` says stop, [`Error::Io`] when the socket fails.
pub fn scan(
    host: &str,
    ports: &[u16],
    opts: &Options,
    cancel: &Cancel,
    progress: Option<Progress<'_>>,
) -> Result<Vec<PortResult>> {
    opts.validate()?;
    let target = crate::host::resolve(host, crate::host::Family::Any, crate::host::Purpose::Reach)?;
    scan_addr(target, ports, opts, cancel, progress)
}

/// Like [`scan`], for an address already resolved.
///
/// # Errors
/// As [`scan`], without name resolution.
pub fn scan_addr(
    target: IpAddr,
    ports: &[u16],
    opts: &Options,
    cancel: &Cancel,
    progress: Option<Progress<'_>>,
) -> Result<Vec<PortResult>> {
    opts.validate()?;
    if opts.sources.len() > 1 {
        return parallel::scan(target, ports, opts, cancel, progress, opts.sources.len());
    }
    if ports.len() >= parallel::PARALLEL_FROM {
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
        if workers > 1 {
            return parallel::scan(target, ports, opts, cancel, progress, workers);
        }
    }
    scan_one(target, ports, opts, cancel, progress)
}

/// One engine, one socket, every port.
fn scan_one(
    target: IpAddr,
    ports: &[u16],
    opts: &Options,
    cancel: &Cancel,
    progress: Option<Progress<'_>>,
) -> Result<Vec<PortResult>> {
    let mut engine = engine::Engine::new(target, ports, opts)?;
    engine.run(cancel, progress)?;
    Ok(engine
        .table
        .slots
        .into_iter()
        .map(|s| PortResult {
            port: s.port,
            state: s.state.unwrap_or(State::OpenFiltered),
            reply: s.reply,
            rtt: s.rtt,
            service: s.service,
            reason: s.reason,
        })
        .collect())
}

#[cfg(test)]
mod tests;
