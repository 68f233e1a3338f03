//! The loop and reflection guard: which datagrams an echo server must not answer.
//!
//! An echo server answers whatever address a datagram claims to come from, so one spoofed
//! datagram can make it talk to itself or to another reflector forever (CERT CA-1996-01).
//! [`Guard::check`] drops, before anything else looks at it, a datagram:
//!
//! - `self`: whose source port is one of this server's own ports, from any address, as
//!   FreeBSD inetd's `check_loop` refuses a source port equal to any of its datagram
//!   services' ports (it came from this server itself, through any local address of a
//!   `0.0.0.0` server, or from another echo server on the same port);
//! - `port0`: from source port 0 (no real socket sends from it);
//! - `reflector_port`: from a port of [`REFLECTOR_PORTS`];
//! - `denied` / `not_allowed`: from an address of the deny list, or outside the allow list;
//! - `rate_limited`: beyond the per-source token bucket ([`RateLimit`]);
//! - `table_full`: from a new source while the per-source table is full of active sources.
//!
//! Each worker has its own [`Guard`] (no lock on the hot path); the counters are shared.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::addr::AddrKey;
use crate::error::{Error, Result};

/// Source ports never answered with the guard on: every port below 1024 (xinetd's
/// `bad_port_check` and OpenBSD inetd's `dg_badinput` refuse them all: echo 7, discard 9,
/// daytime 13, qotd 17, chargen 19, time 37 - `NetBSD` inetd's `bad_ports` -, DNS 53, NTP 123,
/// SNMP 161...), NFS 2049 (OpenBSD's `dg_badinput`), and the reflecting services above 1023
/// that UDP amplification attacks use: SSDP 1900, WS-Discovery 3702, mDNS 5353, memcached
/// 11211.
pub(crate) const REFLECTOR_PORTS: &str = "1-1023,1900,2049,3702,5353,11211";
const HIGH_REFLECTORS: [u16; 5] = [1900, 2049, 3702, 5353, 11211];

/// Default sustained datagrams per second from one source address: far beyond anything a
/// person types, far below an echo loop (100,000+ a second).
pub(crate) const DEFAULT_RATE: f64 = 1000.0;
/// Default burst: datagrams one source may send at once before the rate applies.
pub(crate) const DEFAULT_BURST: f64 = 2000.0;
/// The largest rate or burst accepted.
pub(crate) const MAX_RATE: f64 = 1e9;
/// Source addresses remembered by each worker for rate limiting.
pub(crate) const MAX_SOURCES: usize = 65_536;

/// Why a datagram was dropped by the guard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    /// Source port is one of the server's own ports.
    SelfPort = 0,
    /// Source port 0.
    Port0,
    /// Source port of a reflecting service.
    ReflectorPort,
    /// Source address on the deny list.
    Denied,
    /// Source address not on the allow list.
    NotAllowed,
    /// Over the per-source rate.
    RateLimited,
    /// New source while the per-source table was full.
    TableFull,
}

impl Reason {
    /// Every reason, in counter order.
    pub(crate) const ALL: [Reason; 7] = [
        Reason::SelfPort,
        Reason::Port0,
        Reason::ReflectorPort,
        Reason::Denied,
        Reason::NotAllowed,
        Reason::RateLimited,
        Reason::TableFull,
    ];

    /// The counter's name (stats dict key, summary line).
    #[must_use]
    pub(crate) fn name(self) -> &'static str {
        match self {
            Reason::SelfPort => "self",
            Reason::Port0 => "port0",
            Reason::ReflectorPort => "reflector_port",
            Reason::Denied => "denied",
            Reason::NotAllowed => "not_allowed",
            Reason::RateLimited => "rate_limited",
            Reason::TableFull => "table_full",
        }
    }
}

/// A token bucket: `per_sec` datagrams a second on average, `burst` at once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Sustained datagrams per second.
    pub per_sec: f64,
    /// Bucket size.
    pub burst: f64,
}

impl RateLimit {
    /// Checks the values.
    ///
    /// # Errors
    /// [`Error::Value`] naming the limits.
    pub fn new(per_sec: f64, burst: f64) -> Result<Self> {
        if !(per_sec > 0.0 && per_sec <= MAX_RATE) {
            return Err(Error::Value(format!(
                "rate limit must be more than 0 and at most {MAX_RATE:e} datagrams/s, not {per_sec}"
            )));
        }
        if !(1.0..=MAX_RATE).contains(&burst) {
            return Err(Error::Value(format!(
                "burst must be 1-{MAX_RATE:e} datagrams, not {burst}"
            )));
        }
        Ok(RateLimit { per_sec, burst })
    }
}

/// An address block: an address and a prefix length (IPv4 addresses as IPv4-mapped IPv6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    net: u128,
    mask: u128,
}

impl Cidr {
    /// Parses `10.0.0.0/8`, `192.168.1.5`, `::1`, `fe80::/10`.
    ///
    /// # Errors
    /// [`Error::Value`] with the text and what is expected.
    pub fn parse(text: &str) -> Result<Self> {
        let t = text.trim();
        let bad = || {
            Error::Value(format!(
                "invalid address {t:?}: expected an IP address or ADDRESS/PREFIX (10.0.0.0/8)"
            ))
        };
        let (ip, prefix) = match t.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u32>().map_err(|_| bad())?)),
            None => (t, None),
        };
        let ip: IpAddr = ip
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| bad())?;
        let (bits, max) = match ip {
            IpAddr::V4(_) => (prefix.unwrap_or(32) + 96, 32),
            IpAddr::V6(_) => (prefix.unwrap_or(128), 128),
        };
        if prefix.is_some_and(|p| p > max) {
            return Err(Error::Value(format!(
                "invalid address {t:?}: the prefix must be 0-{max}"
            )));
        }
        let mask = if bits == 0 {
            0
        } else {
            u128::MAX << (128 - bits)
        };
        Ok(Cidr {
            net: ip_bits(ip) & mask,
            mask,
        })
    }

    /// Parses a comma (or whitespace) separated list; `#` starts a comment (for files).
    ///
    /// # Errors
    /// The first entry's error.
    pub fn parse_list(text: &str) -> Result<Vec<Self>> {
        text.lines()
            .map(|l| l.split('#').next().unwrap_or(""))
            .flat_map(|l| l.split(|c: char| c == ',' || c.is_whitespace()))
            .filter(|w| !w.is_empty())
            .map(Cidr::parse)
            .collect()
    }

    fn contains(&self, ip: u128) -> bool {
        ip & self.mask == self.net
    }
}

/// An address as 128 bits, IPv4 (and IPv4-mapped IPv6) as `::ffff:a.b.c.d`.
fn ip_bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().to_bits(),
        IpAddr::V6(v6) => v6.to_bits(),
    }
}

/// What the guard checks.
#[derive(Clone, Debug, PartialEq)]
pub struct GuardConfig {
    /// Drop datagrams from the server's own ports, port 0 and [`REFLECTOR_PORTS`].
    pub loop_checks: bool,
    /// The per-source rate limit, if any.
    pub rate: Option<RateLimit>,
    /// Only these sources are answered (empty: all).
    pub allow: Vec<Cidr>,
    /// These sources are never answered.
    pub deny: Vec<Cidr>,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            loop_checks: true,
            rate: Some(RateLimit {
                per_sec: DEFAULT_RATE,
                burst: DEFAULT_BURST,
            }),
            allow: Vec::new(),
            deny: Vec::new(),
        }
    }
}

impl GuardConfig {
    /// No check at all (`--no-guard`).
    #[must_use]
    pub fn off() -> Self {
        GuardConfig {
            loop_checks: false,
            rate: None,
            allow: Vec::new(),
            deny: Vec::new(),
        }
    }

    fn is_off(&self) -> bool {
        !self.loop_checks && self.rate.is_none() && self.allow.is_empty() && self.deny.is_empty()
    }
}

/// The guard's counters, shared by the workers.
#[derive(Debug, Default)]
pub(crate) struct GuardCounters([AtomicU64; 7]);

impl GuardCounters {
    fn add(&self, counts: &[u64; 7]) {
        for (c, &n) in self.0.iter().zip(counts) {
            if n > 0 {
                c.fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    /// The counts, in [`Reason::ALL`] order.
    #[must_use]
    pub(crate) fn snapshot(&self) -> [u64; 7] {
        std::array::from_fn(|i| self.0[i].load(Ordering::Relaxed))
    }
}

/// One source's bucket.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// One worker's guard.
#[derive(Debug)]
pub(crate) struct Guard {
    cfg: GuardConfig,
    off: bool,
    /// A rate limit or an address list is set (else only the port checks apply).
    lists_or_rate: bool,
    own: Vec<u64>,
    sources: HashMap<u128, Bucket>,
    last_sweep: Option<Instant>,
    counts: [u64; 7],
}

impl Guard {
    /// A guard for a server bound to `ports`.
    #[must_use]
    pub(crate) fn new(cfg: &GuardConfig, ports: &[u16]) -> Self {
        let mut own = vec![0u64; 1024];
        for &p in ports {
            own[usize::from(p) / 64] |= 1 << (p % 64);
        }
        Guard {
            off: cfg.is_off(),
            lists_or_rate: cfg.rate.is_some() || !cfg.allow.is_empty() || !cfg.deny.is_empty(),
            cfg: cfg.clone(),
            own,
            sources: HashMap::new(),
            last_sweep: None,
            counts: [0; 7],
        }
    }

    /// True when the guard checks nothing.
    #[must_use]
    pub(crate) fn is_off(&self) -> bool {
        self.off
    }

    /// Whether a datagram from `key` received at `now` may be answered; a drop is counted.
    #[inline]
    #[cfg(test)]
    pub(crate) fn check(&mut self, key: AddrKey, now: Instant) -> bool {
        self.check_run(key, 1, now) == 1
    }

    /// How many of `count` datagrams from `key` received together at `now` may be answered:
    /// the first ones, as if each were checked in turn with [`Guard::check`] (one verdict and
    /// one table lookup for the whole run); the drops are counted.
    #[inline]
    pub(crate) fn check_run(&mut self, key: AddrKey, count: usize, now: Instant) -> usize {
        if self.off || count == 0 {
            return count;
        }
        let (ok, reason) = self.verdict(key, count, now);
        if ok < count {
            self.counts[reason as usize] += (count - ok) as u64;
        }
        ok
    }

    /// How many of `count` datagrams from `key` pass, and why the others do not.
    fn verdict(&mut self, key: AddrKey, count: usize, now: Instant) -> (usize, Reason) {
        let port = key.port();
        if self.cfg.loop_checks {
            if port == 0 {
                return (0, Reason::Port0);
            }
            if self.own[usize::from(port) / 64] & (1 << (port % 64)) != 0 {
                return (0, Reason::SelfPort);
            }
            if port < 1024 || HIGH_REFLECTORS.contains(&port) {
                return (0, Reason::ReflectorPort);
            }
        }
        if !self.lists_or_rate {
            return (count, Reason::RateLimited);
        }
        let ip = ip_bits(key.ip());
        if self.cfg.deny.iter().any(|c| c.contains(ip)) {
            return (0, Reason::Denied);
        }
        if !self.cfg.allow.is_empty() && !self.cfg.allow.iter().any(|c| c.contains(ip)) {
            return (0, Reason::NotAllowed);
        }
        match self.cfg.rate {
            Some(rate) => self.take_tokens(ip, rate, count, now),
            None => (count, Reason::RateLimited),
        }
    }

    /// Takes up to `count` tokens from `ip`'s bucket: how many it had, or why none.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    fn take_tokens(
        &mut self,
        ip: u128,
        rate: RateLimit,
        count: usize,
        now: Instant,
    ) -> (usize, Reason) {
        if !self.sources.contains_key(&ip) && self.sources.len() >= MAX_SOURCES {
            self.sweep(rate, now);
            if self.sources.len() >= MAX_SOURCES {
                return (0, Reason::TableFull);
            }
        }
        let b = self.sources.entry(ip).or_insert(Bucket {
            tokens: rate.burst,
            last: now,
        });
        let dt = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + dt * rate.per_sec).min(rate.burst);
        b.last = now;
        // `tokens` is 0..=burst (at most 1e9): the floor fits a usize.
        let ok = (b.tokens.max(0.0).floor() as usize).min(count);
        b.tokens -= ok as f64;
        (ok, Reason::RateLimited)
    }

    /// Forgets sources whose bucket has refilled (they are as good as new); at most once per
    /// 50 ms, so that a flood of new sources cannot make every datagram scan the table.
    fn sweep(&mut self, rate: RateLimit, now: Instant) {
        if self
            .last_sweep
            .is_some_and(|t| now.saturating_duration_since(t) < Duration::from_millis(50))
        {
            return;
        }
        self.last_sweep = Some(now);
        self.sources.retain(|_, b| {
            b.tokens + now.saturating_duration_since(b.last).as_secs_f64() * rate.per_sec
                < rate.burst
        });
    }

    /// Adds this worker's drops to the shared counters.
    pub(crate) fn publish(&mut self, counters: &GuardCounters) {
        if self.counts.iter().any(|&n| n > 0) {
            counters.add(&self.counts);
            self.counts = [0; 7];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn key(s: &str) -> AddrKey {
        let a: SocketAddr = s.parse().unwrap();
        let (raw, _) = crate::addr::to_raw(&a);
        crate::addr::raw_key(&raw)
    }

    #[test]
    fn loop_ports_lists_and_rate() {
        let now = Instant::now();
        let cfg = GuardConfig {
            rate: Some(RateLimit::new(10.0, 3.0).unwrap()),
            deny: Cidr::parse_list("10.0.0.0/8, 192.168.1.5").unwrap(),
            ..GuardConfig::default()
        };
        let mut g = Guard::new(&cfg, &[44444]);
        assert!(!g.check(key("127.0.0.1:44444"), now));
        assert!(!g.check(key("[::ffff:8.8.8.8]:44444"), now));
        assert!(!g.check(key("1.2.3.4:0"), now));
        assert!(!g.check(key("1.2.3.4:19"), now));
        assert!(!g.check(key("1.2.3.4:11211"), now));
        assert!(!g.check(key("10.9.9.9:5000"), now));
        assert!(!g.check(key("[::ffff:192.168.1.5]:5000"), now));
        assert!(g.check(key("192.168.1.6:5000"), now));
        for _ in 0..3 {
            assert!(g.check(key("5.5.5.5:5000"), now));
        }
        assert!(!g.check(key("5.5.5.5:5001"), now), "per address, any port");
        assert!(g.check(key("5.5.5.5:5001"), now + Duration::from_millis(150)));
        let counters = GuardCounters::default();
        g.publish(&counters);
        assert_eq!(counters.snapshot(), [2, 1, 2, 2, 0, 1, 0]);
        let mut allow = Guard::new(
            &GuardConfig {
                allow: Cidr::parse_list("::1\n127.0.0.0/8 # loopback").unwrap(),
                ..GuardConfig::off()
            },
            &[7],
        );
        assert!(allow.check(key("127.1.2.3:7"), now), "loop checks off");
        assert!(allow.check(key("[::1]:9"), now));
        assert!(!allow.check(key("8.8.8.8:5000"), now));
        assert!(Cidr::parse("1.2.3.4/33").is_err());
        assert!(Cidr::parse("nope").is_err());
        assert!(RateLimit::new(0.0, 1.0).is_err());
    }

    #[test]
    fn a_run_gets_the_verdicts_of_its_datagrams_one_by_one() {
        let now = Instant::now();
        let cfg = GuardConfig {
            rate: Some(RateLimit::new(10.0, 5.0).unwrap()),
            ..GuardConfig::default()
        };
        let (mut one, mut run) = (Guard::new(&cfg, &[7000]), Guard::new(&cfg, &[7000]));
        for (addr, count, later_ms) in [
            ("5.5.5.5:5000", 3, 0),
            ("5.5.5.5:5001", 4, 0),
            ("6.6.6.6:5000", 0, 0),
            ("5.5.5.5:5000", 9, 250),
            ("127.0.0.1:7000", 4, 250),
            ("1.2.3.4:53", 2, 250),
        ] {
            let at = now + Duration::from_millis(later_ms);
            let each = (0..count).filter(|_| one.check(key(addr), at)).count();
            assert_eq!(run.check_run(key(addr), count, at), each, "{addr} x{count}");
        }
        let (a, b) = (GuardCounters::default(), GuardCounters::default());
        one.publish(&a);
        run.publish(&b);
        assert_eq!(a.snapshot(), b.snapshot());
        assert_eq!(b.snapshot(), [4, 0, 2, 0, 0, 9, 0]);
        let mut off = Guard::new(&GuardConfig::off(), &[7000]);
        assert_eq!(off.check_run(key("127.0.0.1:7000"), 5, now), 5);
    }

    #[test]
    fn the_source_table_is_bounded() {
        let now = Instant::now();
        let cfg = GuardConfig {
            rate: Some(RateLimit::new(1.0, 2.0).unwrap()),
            ..GuardConfig::default()
        };
        let mut g = Guard::new(&cfg, &[]);
        for i in 0..MAX_SOURCES + 10 {
            let ip = std::net::Ipv4Addr::from(0x0a00_0000 + u32::try_from(i).unwrap());
            g.check(key(&format!("{ip}:5000")), now);
        }
        assert_eq!(g.sources.len(), MAX_SOURCES);
        assert_eq!(g.counts[Reason::TableFull as usize], 10);
        // Once the buckets have refilled, new sources take their place.
        assert!(g.check(key("9.9.9.9:5000"), now + Duration::from_secs(5)));
        assert_eq!(g.sources.len(), 1);
    }
}
